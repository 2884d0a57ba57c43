#!/usr/bin/env bash
# Builds the Debian package nightlight_<version>_<arch>.deb: the server and
# nightlight-tsdb (from CMake's install rules, stripped), the manual pages,
# /etc/nightlight/nightlight.yaml (a conffile: conf/nightlight.yaml with
# data_dir /var/lib/nightlight), the systemd unit, the data directory and
# the maintainer scripts of packaging/debian/.
#
# dpkg-deb on a staged tree, not CPack: Depends and the control file come
# from Debian's own dpkg-shlibdeps and dpkg-gencontrol (as debhelper would
# produce them), and the Debian-only files (/etc, the unit, conffiles,
# maintainer scripts) stay out of CMake's install rules, which the Nix
# package uses too.
#
# usage: scripts/package-deb.sh [--build-dir DIR] [--out DIR] [--no-lintian]
#   --build-dir DIR  package the binaries of this CMake build tree (the
#                    two programs are brought up to date in it). Default:
#                    build-deb/, a Release tree configured with Debian's
#                    hardening flags (dpkg-buildflags).
#   --out DIR        where the .deb is written (default: the build dir)
#   --no-lintian     skip lintian (otherwise run when installed; its
#                    findings are printed, they do not fail the script)
# Prints the path of the .deb as its last line.
set -euo pipefail
src=$(cd "$(dirname "$0")/.." && pwd)
build=""
out=""
lintian=1
while (($#)); do
  case "$1" in
    --build-dir) build=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    --no-lintian) lintian=0; shift ;;
    *) echo "package-deb.sh: unknown argument $1" >&2; exit 2 ;;
  esac
done
for tool in dpkg-deb dpkg-shlibdeps dpkg-gencontrol dpkg-parsechangelog cmake; do
  command -v "$tool" >/dev/null || { echo "package-deb.sh: $tool is missing (scripts/install-deps.sh installs it)" >&2; exit 1; }
done

if [[ -z $build ]]; then
  build=$src/build-deb
  if [[ ! -f $build/CMakeCache.txt ]]; then
    export DEB_BUILD_MAINT_OPTIONS=hardening=+all
    CXXFLAGS="$(dpkg-buildflags --get CXXFLAGS) $(dpkg-buildflags --get CPPFLAGS)" \
    LDFLAGS="$(dpkg-buildflags --get LDFLAGS)" \
      cmake -S "$src" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
  fi
fi
build=$(cd "$build" && pwd)
out=$(mkdir -p "${out:-$build}" && cd "${out:-$build}" && pwd)
cmake --build "$build" --target nightlight nightlight-tsdb -- ${JOBS:+-j"$JOBS"} >&2

# The version is CMake's; the changelog must have an entry for it.
version=$(sed -n 's/^CMAKE_PROJECT_VERSION:STATIC=//p' "$build/CMakeCache.txt")
changelog_version=$(dpkg-parsechangelog -l "$src/packaging/debian/changelog" -S Version)
if [[ -z $version || $version != "$changelog_version" ]]; then
  echo "package-deb.sh: CMake version '$version' but packaging/debian/changelog starts with '$changelog_version';" \
       "add a changelog entry for $version" >&2
  exit 1
fi
SOURCE_DATE_EPOCH=$(dpkg-parsechangelog -l "$src/packaging/debian/changelog" -S Timestamp)
export SOURCE_DATE_EPOCH

# Stage the package tree. dpkg-shlibdeps and dpkg-gencontrol want a
# debian/ directory with control and changelog below the current one.
work=$build/deb
rm -rf "$work"
root=$work/debian/nightlight
mkdir -p "$root/DEBIAN"
cp "$src/packaging/debian/control" "$src/packaging/debian/changelog" "$work/debian/"
umask 022
DESTDIR=$root cmake --install "$build" --prefix /usr >/dev/null
# As dh_strip does: no symbols, no debug info, no .comment/.note.
strip --remove-section=.comment --remove-section=.note "$root/usr/bin/nightlight" "$root/usr/bin/nightlight-tsdb"
gzip -9n "$root"/usr/share/man/man1/*.1

install -d "$root/etc/nightlight" "$root/lib/systemd/system" "$root/var/lib/nightlight"
# The package's configuration: every key at its default, data in /var/lib.
sed -e 's|^  data_dir: ./data$|  data_dir: /var/lib/nightlight|' \
    -e 's|^# Reference: README.md, "Configuration"\.|# Reference: nightlight(1), /usr/share/doc/nightlight/README.md.gz ("Configuration").|' \
    "$src/conf/nightlight.yaml" > "$root/etc/nightlight/nightlight.yaml"
if ! grep -q '^  data_dir: /var/lib/nightlight$' "$root/etc/nightlight/nightlight.yaml"; then
  echo "package-deb.sh: conf/nightlight.yaml has no '  data_dir: ./data' line to point at /var/lib/nightlight" >&2
  exit 1
fi
install -m 0644 "$src/packaging/debian/nightlight.service" "$root/lib/systemd/system/"

doc=$root/usr/share/doc/nightlight
install -d "$doc/examples"
install -m 0644 "$src/packaging/debian/copyright" "$doc/"
gzip -9nc "$src/packaging/debian/changelog" > "$doc/changelog.gz"
gzip -9nc "$src/README.md" > "$doc/README.md.gz"
install -m 0644 "$src/conf/nightlight-mtls.yaml" "$doc/examples/"

for script in postinst prerm postrm; do
  install -m 0755 "$src/packaging/debian/$script" "$root/DEBIAN/"
done
echo /etc/nightlight/nightlight.yaml > "$root/DEBIAN/conffiles"

(
  cd "$work"
  echo "misc:Depends=" > debian/nightlight.substvars
  dpkg-shlibdeps -Tdebian/nightlight.substvars "$root/usr/bin/nightlight" "$root/usr/bin/nightlight-tsdb"
  dpkg-gencontrol -pnightlight -Pdebian/nightlight -Tdebian/nightlight.substvars
  cd "$root"
  find . -path ./DEBIAN -prune -o -type f -printf '%P\0' | sort -z | xargs -0 md5sum > DEBIAN/md5sums
)
chmod 0644 "$root/DEBIAN/control" "$root/DEBIAN/conffiles" "$root/DEBIAN/md5sums"

# Same inputs, same bytes: every mtime is the changelog entry's date.
find "$root" -exec touch --no-dereference --date="@$SOURCE_DATE_EPOCH" {} +
arch=$(sed -n "s/^Architecture: //p" "$root/DEBIAN/control")
deb=$out/nightlight_${version}_${arch}.deb
dpkg-deb --root-owner-group -Zxz --build "$root" "$deb" >&2

if ((lintian)) && command -v lintian >/dev/null; then
  echo "lintian:" >&2
  lintian --info --display-info "$deb" >&2 || true
fi
echo "$deb"
