#!/usr/bin/env bash
# Makes a private CA and certificates for running Nightlight with mutual TLS
# on one machine (development, tests). NOT for production: keys are
# unencrypted and the CA lives next to them.
#
#   scripts/gen-dev-certs.sh [--test-set] [DIR]      (DIR defaults to ./certs)
#
# Always written to DIR:
#   ca.pem / ca-key.pem          the CA that signs everything below
#   server.pem / server-key.pem  serverAuth, SANs DNS:localhost, IP:127.0.0.1, IP:::1
#   writer.pem / writer-key.pem  clientAuth, CN=writer, DNS SAN writer
#   reader.pem / reader-key.pem  clientAuth, CN=reader, DNS SAN reader
# With --test-set, also the certificates a server must refuse:
#   other-ca.pem, other.pem / other-key.pem    client cert from an unrelated CA
#   expired.pem / expired-key.pem              valid 2020-01-01 .. 2020-01-02
#   future.pem / future-key.pem                valid from 2099-01-01
#   noclientauth.pem / noclientauth-key.pem    extendedKeyUsage serverAuth only
set -euo pipefail

test_set=0
dir=./certs
for arg in "$@"; do
  case "$arg" in
    --test-set) test_set=1 ;;
    -h|--help) sed -n '2,18p' "$0"; exit 0 ;;
    -*) echo "gen-dev-certs.sh: unknown option $arg" >&2; exit 2 ;;
    *) dir=$arg ;;
  esac
done
mkdir -p "$dir"
dir=$(cd "$dir" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# P-256 keys: small, fast handshakes, accepted by Go, curl and OpenSSL.
new_key() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1" 2>/dev/null; }

# make_ca NAME SUBJECT
make_ca() {
  new_key "$dir/$1-key.pem"
  openssl req -x509 -new -key "$dir/$1-key.pem" -subj "$2" -days 3650 \
    -addext "basicConstraints=critical,CA:TRUE" \
    -addext "keyUsage=critical,keyCertSign,cRLSign" \
    -out "$dir/$1.pem" 2>/dev/null
}

# sign CA NAME SUBJECT EXTENSIONS [STARTDATE ENDDATE]
# `openssl ca` is used (not `x509 -req`) because it is the only 3.0 command
# that takes explicit start and end dates, which the expired and not-yet-valid
# test certificates need (faketime is not available).
sign() {
  local ca=$1 name=$2 subj=$3 ext=$4 start=${5:-} end=${6:-}
  new_key "$dir/$name-key.pem"
  openssl req -new -key "$dir/$name-key.pem" -subj "$subj" -out "$work/$name.csr" 2>/dev/null
  local db="$work/db-$ca"
  if [ ! -d "$db" ]; then
    mkdir -p "$db/new"; : > "$db/index.txt"
    openssl rand -hex 16 > "$db/serial"
  fi
  cat > "$work/$name.cnf" <<EOF
[ca]
default_ca = dev
[dev]
database = $db/index.txt
new_certs_dir = $db/new
serial = $db/serial
default_md = sha256
policy = anything
unique_subject = no
copy_extensions = none
[anything]
commonName = supplied
[ext]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature,keyEncipherment
$ext
EOF
  local dates=(-days 825)
  if [ -n "$start" ]; then dates=(-startdate "$start" -enddate "$end"); fi
  openssl ca -batch -config "$work/$name.cnf" -extensions ext -notext \
    -cert "$dir/$ca.pem" -keyfile "$dir/$ca-key.pem" "${dates[@]}" \
    -in "$work/$name.csr" -out "$dir/$name.pem" 2>"$work/$name.err" \
    || { cat "$work/$name.err" >&2; exit 1; }
}

client_ext() { printf 'extendedKeyUsage = clientAuth\nsubjectAltName = DNS:%s\n' "$1"; }

make_ca ca "/CN=Nightlight dev CA"
sign ca server "/CN=localhost" \
  "$(printf 'extendedKeyUsage = serverAuth\nsubjectAltName = DNS:localhost,IP:127.0.0.1,IP:::1')"
sign ca writer "/CN=writer" "$(client_ext writer)"
sign ca reader "/CN=reader" "$(client_ext reader)"

if [ "$test_set" = 1 ]; then
  make_ca other-ca "/CN=Some other CA"
  sign other-ca other "/CN=writer" "$(client_ext writer)"
  sign ca expired "/CN=writer" "$(client_ext writer)" 20200101000000Z 20200102000000Z
  sign ca future "/CN=writer" "$(client_ext writer)" 20990101000000Z 20991231000000Z
  sign ca noclientauth "/CN=writer" \
    "$(printf 'extendedKeyUsage = serverAuth\nsubjectAltName = DNS:writer')"
fi
chmod 600 "$dir"/*-key.pem
echo "certificates written to $dir"
