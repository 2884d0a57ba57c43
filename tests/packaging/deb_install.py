#!/usr/bin/env python3
"""The Debian package, installed into a Debian 12 chroot (the host is left alone).

scripts/package-deb.sh packages the binaries of the build tree; then, in an
overlay on a `debootstrap --variant=minbase bookworm` tree with systemd
installed (made once and cached in the build directory; each run starts
from it unchanged):
  * `apt install ./nightlight_<version>_<arch>.deb` installs it with its
    dependencies from Debian's mirror;
  * `dpkg -L` lists the programs, the conffile, the unit, the manual pages
    and the data directory; the system user exists and owns the data
    directory (0750);
  * `systemd-analyze verify` accepts the unit and `systemd-analyze
    security` rates its sandbox below 2.0 (systemd does not run here, so
    the unit itself is not started);
  * the unit's ExecStart runs as its User with no new privileges, no
    capabilities and its SystemCallFilter (run_as_unit.py; a forbidden
    call kills it), in a private network namespace, with the chroot
    read-only except ReadWritePaths and a private /tmp (as ProtectSystem=
    strict and PrivateTmp would have it): it answers /-/ready, stores a
    remote-written sample and answers a query with it, survives SIGHUP
    (ExecReload) and stops with exit code 0 on SIGTERM;
  * `apt remove` keeps the configuration and the data, a reinstall uses
    them again, `apt purge` removes every file of the package, the
    configuration and the data directory (the system user is kept);
  * lintian reports no error or warning other than the placeholder
    maintainer address.
Needs root (chroot, mounts, namespaces) and Debian's mirror; without them
it fails.
"""

import argparse
import importlib.util
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "e2e"))
import nlharness as h  # noqa: E402

REPO_ROOT = h.REPO_ROOT
MIRROR = os.environ.get("NL_DEBIAN_MIRROR", "http://deb.debian.org/debian")
CHROOT_ENV = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "HOME": "/root", "LC_ALL": "C",
              "DEBIAN_FRONTEND": "noninteractive"}
PORT = 9101  # the installed default configuration's server.http_addr
# Lintian findings allowed to remain: the maintainer address is a
# placeholder until the project has a public one.
LINTIAN_ALLOWED = {"bogus-mail-host", "bogus-mail-host-in-debian-changelog"}


def run(cmd, timeout=600, check=False, **kw):
    h.log("$", " ".join(shlex.quote(c) for c in cmd))
    r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                       timeout=timeout, **kw)
    if check and r.returncode != 0:
        raise RuntimeError("%s exited %d:\n%s" % (cmd[0], r.returncode, r.stdout[-4000:]))
    return r


def in_chroot(root, cmd, **kw):
    return run(["chroot", root] + cmd, env=CHROOT_ENV, **kw)


def parse_unit(path):
    """The [Service] section of a unit file: key -> list of values."""
    out, section = {}, None
    with open(path) as f:
        for line in f:
            line = line.strip()
            if not line or line[0] in "#;":
                continue
            if line.startswith("["):
                section = line.strip("[]")
            elif section == "Service" and "=" in line:
                k, v = line.split("=", 1)
                out.setdefault(k.strip(), []).append(v.strip())
    return out


# --------------------------------------------------------------------------
# The chroot


def base_chroot(cache):
    """The pristine tree, made once per build directory: bookworm minbase
    plus systemd (installed, never running), as on a Debian 12 server."""
    done = os.path.join(cache, ".nl-complete")
    if os.path.exists(done):
        return cache
    shutil.rmtree(cache, ignore_errors=True)
    t0 = time.time()
    run(["debootstrap", "--variant=minbase", "bookworm", cache, MIRROR], timeout=1200, check=True)
    h.log("debootstrap took %.0f s" % (time.time() - t0))
    t0 = time.time()
    shutil.copy("/etc/resolv.conf", os.path.join(cache, "etc/resolv.conf"))
    mount_proc(cache)
    try:
        in_chroot(cache, ["apt-get", "install", "-y", "-q", "--no-install-recommends", "systemd"],
                  check=True)
        in_chroot(cache, ["apt-get", "clean"], check=True)
    finally:
        umount_proc(cache)
    h.log("systemd installed in %.0f s" % (time.time() - t0))
    open(done, "w").close()
    return cache


def fresh_root(base, work):
    """An overlay on the pristine tree: each run starts from it unchanged
    and writes only to chroot.upper (no 200 MB copy)."""
    root = os.path.join(work, "chroot")
    release_root(root)
    for d in ("chroot.upper", "chroot.work"):
        shutil.rmtree(os.path.join(work, d), ignore_errors=True)
        os.makedirs(os.path.join(work, d))
    os.makedirs(root, exist_ok=True)
    run(["mount", "-t", "overlay", "overlay", "-o", "lowerdir=%s,upperdir=%s,workdir=%s"
         % (base, os.path.join(work, "chroot.upper"), os.path.join(work, "chroot.work")), root], check=True)
    return root


def release_root(root):
    umount_proc(root)
    if os.path.ismount(root):
        run(["umount", "--lazy", root])


def mount_proc(root):
    run(["mount", "-t", "proc", "proc", os.path.join(root, "proc")], check=True)


def umount_proc(root):
    p = os.path.join(root, "proc")
    if os.path.ismount(p):
        run(["umount", "--lazy", p])


# --------------------------------------------------------------------------
# Serving: runs in `unshare --net --mount` (see serve_in_sandbox)


def serve(root, log_path):
    """Starts the unit's ExecStart in the chroot as systemd would run it
    (approximately), checks it, stops it. Prints PASS/FAIL lines; exit code
    1 on any failure."""
    checks = h.Checks()
    unit_path = os.path.join(root, "lib/systemd/system/nightlight.service")
    unit = parse_unit(unit_path)
    argv = shlex.split(unit["ExecStart"][0])
    user = unit["User"][0]
    run(["ip", "link", "set", "lo", "up"], check=True)
    # ProtectSystem=strict + ReadWritePaths: everything read-only except
    # those paths; PrivateTmp: an empty /tmp and /var/tmp of its own.
    run(["mount", "--bind", root, root], check=True)
    run(["mount", "-o", "remount,bind,ro", root], check=True)
    for p in unit["ReadWritePaths"][0].split():
        run(["mount", "--bind", root + p, root + p], check=True)
        run(["mount", "-o", "remount,bind,rw", root + p], check=True)
    for p in ("/tmp", "/var/tmp"):
        run(["mount", "-t", "tmpfs", "tmpfs", root + p], check=True)
    mount_proc(root)
    checks.check("the chroot is read-only outside ReadWritePaths",
                 in_chroot(root, ["touch", "/etc/nightlight/probe"]).returncode != 0)

    # User=, Group=, NoNewPrivileges=, no capabilities and the
    # SystemCallFilter= (a forbidden call kills it), see run_as_unit.py.
    cmd = [sys.executable, os.path.join(HERE, "run_as_unit.py"), "--unit", unit_path, "--root", root,
           "--"] + argv
    h.log("$", " ".join(cmd))
    with open(log_path, "w") as logf:
        proc = subprocess.Popen(cmd, stdout=logf, stderr=subprocess.STDOUT, env=CHROOT_ENV)
    try:
        # Stop waiting early if it died.
        h.eventually(lambda: proc.poll() is not None or h.request(PORT, "GET", "/-/ready").status == 200, 30)
        if not checks.check("the installed server answers /-/ready with the installed configuration",
                            proc.poll() is None and h.request(PORT, "GET", "/-/ready").status == 200,
                            tail(log_path)):
            return checks.finish()

        with open("/proc/%d/status" % proc.pid) as f:
            status = dict(line.rstrip("\n").split(":\t", 1) for line in f if ":\t" in line)
        uid = in_chroot(root, ["id", "-u", user], check=True).stdout.strip()
        checks.check("it runs as %s with no capabilities, no new privileges and a seccomp filter" % user,
                     status.get("Uid", "").split() == [uid] * 4 and status.get("CapEff") == "0" * 16
                     and status.get("CapBnd") == "0" * 16 and status.get("NoNewPrivs") == "1"
                     and status.get("Seccomp") == "2", status)

        now = h.now_ms()
        labels = h.labels_of("nl_package_test", job="deb")
        r = h.remote_write(PORT, h.encode_series([(labels, [(now, 42.5)])]))
        checks.check("a remote write is acknowledged (204)", r.status == 204, r)
        result = h.query(PORT, 'nl_package_test{job="deb"}', now / 1000.0)["result"]
        checks.check("a query answers the written sample",
                     [s["value"][1] for s in result] == ["42.5"], result)
        data = os.path.join(root, "var/lib/nightlight")
        st = [os.stat(os.path.join(data, n)) for n in ("wal", "LOCK") if os.path.exists(os.path.join(data, n))]
        checks.check("the WAL and LOCK are in /var/lib/nightlight, owned by the service user",
                     len(st) == 2 and all(s.st_uid == int(uid) for s in st), os.listdir(data))

        proc.send_signal(signal.SIGHUP)  # ExecReload
        time.sleep(1.0)
        checks.check("SIGHUP (systemctl reload) leaves the server running and ready",
                     proc.poll() is None and h.request(PORT, "GET", "/-/ready").status == 200,
                     tail(log_path))

        proc.send_signal(signal.SIGTERM)
        try:
            rc = proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            rc = None
        checks.check("SIGTERM stops it with exit code 0", rc == 0, "rc %r\n%s" % (rc, tail(log_path)))
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    with open(log_path) as f:
        log_text = f.read()
    checks.check("its log names the installed configuration and data directory",
                 "with /etc/nightlight/nightlight.yaml" in log_text
                 and "data in /var/lib/nightlight" in log_text, log_text[-2000:])
    return checks.finish()


def tail(path, n=20):
    try:
        with open(path) as f:
            return "".join(f.readlines()[-n:])
    except OSError as e:
        return str(e)


def serve_in_sandbox(root, log_path, checks):
    r = subprocess.run(["unshare", "--net", "--mount", "--propagation", "private", "--",
                        sys.executable, os.path.abspath(__file__), "--serve", root, "--log", log_path],
                       timeout=180)
    checks.check("the server checks passed (lines above)", r.returncode == 0, "exit %d" % r.returncode)


# --------------------------------------------------------------------------


def installed_files(root):
    r = in_chroot(root, ["dpkg", "-L", "nightlight"])
    return r.returncode, r.stdout.split()


def package_status(root):
    r = in_chroot(root, ["dpkg-query", "-W", "-f", "${db:Status-Abbrev}", "nightlight"])
    return r.stdout.strip() if r.returncode == 0 else "not known"


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--build-dir", help="CMake build tree whose binaries are packaged")
    ap.add_argument("--serve", help=argparse.SUPPRESS)
    ap.add_argument("--log", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.serve:
        return serve(args.serve, args.log)

    checks = h.Checks()
    missing = [t for t in ("debootstrap", "chroot", "unshare", "ip", "systemd-analyze", "dpkg-deb",
                           "dpkg-shlibdeps", "lintian") if shutil.which(t) is None]
    if importlib.util.find_spec("seccomp") is None:  # run_as_unit.py needs it
        missing.append("python3-seccomp")
    if os.geteuid() != 0 or missing:
        checks.check("runs as root with debootstrap, lintian, systemd-analyze, unshare, ip, python3-seccomp",
                     False, "euid %d, missing: %s (scripts/install-deps.sh installs them)"
                     % (os.geteuid(), " ".join(missing)))
        return checks.finish()

    build = os.path.abspath(args.build_dir)
    work = os.path.join(build, "packaging")
    os.makedirs(work, exist_ok=True)
    t0 = time.time()
    r = run(["bash", os.path.join(REPO_ROOT, "scripts/package-deb.sh"), "--build-dir", build,
             "--out", work, "--no-lintian"], timeout=1800)
    if not checks.check("scripts/package-deb.sh builds the package", r.returncode == 0, r.stdout[-3000:]):
        return checks.finish()
    deb = r.stdout.strip().splitlines()[-1]
    version = re.search(r"nightlight_([^_]+)_", os.path.basename(deb)).group(1)
    h.log("built %s in %.0f s" % (deb, time.time() - t0))

    r = run(["lintian", deb])
    tags = {m.group(2) for m in re.finditer(r"^([EW]): nightlight: (\S+)", r.stdout, re.M)}
    checks.check("lintian: no errors or warnings besides the placeholder maintainer address",
                 tags <= LINTIAN_ALLOWED, r.stdout)

    t0 = time.time()
    try:
        base = base_chroot(os.path.join(work, "bookworm-minbase"))
    except (RuntimeError, subprocess.TimeoutExpired) as e:
        checks.check("debootstrap --variant=minbase bookworm from %s, then systemd" % MIRROR, False, e)
        return checks.finish()
    root = fresh_root(base, work)
    shutil.copy("/etc/resolv.conf", os.path.join(root, "etc/resolv.conf"))
    shutil.copy(deb, os.path.join(root, "tmp"))
    h.log("chroot ready in %.0f s" % (time.time() - t0))

    mount_proc(root)
    try:
        t0 = time.time()
        r = in_chroot(root, ["apt-get", "update", "-q"])
        checks.check("apt-get update in the chroot", r.returncode == 0, r.stdout[-2000:])
        install = ["sh", "-c", "cd /tmp && apt install -y ./" + os.path.basename(deb)]
        r = in_chroot(root, install)
        if not checks.check("apt install ./%s" % os.path.basename(deb), r.returncode == 0, r.stdout[-4000:]):
            return checks.finish()
        h.log("installed in %.0f s" % (time.time() - t0))

        rc, files = installed_files(root)
        expected = ["/usr/bin/nightlight", "/usr/bin/nightlight-tsdb", "/etc/nightlight/nightlight.yaml",
                    "/lib/systemd/system/nightlight.service", "/usr/share/man/man1/nightlight.1.gz",
                    "/usr/share/man/man1/nightlight-tsdb.1.gz", "/usr/share/doc/nightlight/copyright",
                    "/usr/share/doc/nightlight/changelog.gz", "/var/lib/nightlight"]
        checks.check("dpkg -L lists the programs, conffile, unit, manual pages and data directory",
                     rc == 0 and all(f in files for f in expected),
                     "missing: %s" % [f for f in expected if f not in files])
        r = in_chroot(root, ["dpkg-query", "-W", "-f", "${Conffiles}", "nightlight"])
        checks.check("/etc/nightlight/nightlight.yaml is a conffile",
                     "/etc/nightlight/nightlight.yaml " in r.stdout, r.stdout)
        with open(os.path.join(root, "etc/nightlight/nightlight.yaml")) as f:
            config = f.read()
        checks.check("the default configuration keeps its data in /var/lib/nightlight",
                     "\n  data_dir: /var/lib/nightlight\n" in config, config)
        r = in_chroot(root, ["nightlight", "--version"])
        checks.check("nightlight --version names the package's version",
                     r.returncode == 0 and r.stdout.strip() == "nightlight " + version, r.stdout)
        r = in_chroot(root, ["nightlight-tsdb", "help"])
        checks.check("nightlight-tsdb runs", r.returncode == 0 and "check DIR" in r.stdout, r.stdout)

        pw = in_chroot(root, ["getent", "passwd", "nightlight"]).stdout.strip().split(":")
        checks.check("system user nightlight: uid < 1000, home /var/lib/nightlight, no login shell",
                     len(pw) == 7 and int(pw[2]) < 1000 and pw[5] == "/var/lib/nightlight"
                     and pw[6] in ("/usr/sbin/nologin", "/bin/false"), pw)
        st = os.stat(os.path.join(root, "var/lib/nightlight"))
        checks.check("/var/lib/nightlight belongs to nightlight:nightlight, mode 0750",
                     len(pw) == 7 and st.st_uid == int(pw[2]) and st.st_gid == int(pw[3])
                     and (st.st_mode & 0o7777) == 0o750, "uid %d gid %d mode %o" % (st.st_uid, st.st_gid, st.st_mode))

        wants = os.path.join(root, "etc/systemd/system/multi-user.target.wants/nightlight.service")
        checks.check("postinst enabled the service (multi-user.target.wants)",
                     os.path.islink(wants) and os.readlink(wants) == "/lib/systemd/system/nightlight.service",
                     os.path.islink(wants) and os.readlink(wants))
        unit = os.path.join(root, "lib/systemd/system/nightlight.service")
        # --man=no: man-db is not in the minbase chroot; the pages are
        # checked by lintian and listed above.
        r = run(["systemd-analyze", "verify", "--man=no", "--root=" + root, unit])
        checks.check("systemd-analyze verify accepts nightlight.service", r.returncode == 0 and not r.stdout.strip(),
                     r.stdout)
        r = run(["systemd-analyze", "security", "--offline=true", "--root=" + root, unit])
        m = re.search(r"Overall exposure level for nightlight\.service: ([0-9.]+)", r.stdout)
        checks.check("systemd-analyze security: exposure below 2.0", m is not None and float(m.group(1)) < 2.0,
                     r.stdout[-3000:])
        if m:
            h.log("systemd-analyze security exposure: %s" % m.group(1))

        umount_proc(root)
        serve_in_sandbox(root, os.path.join(work, "server.log"), checks)
        mount_proc(root)

        r = in_chroot(root, ["apt-get", "remove", "-y", "nightlight"])
        checks.check("apt-get remove", r.returncode == 0, r.stdout[-2000:])
        checks.check("after remove: the programs are gone, the package is in state rc",
                     not os.path.exists(os.path.join(root, "usr/bin/nightlight"))
                     and package_status(root) == "rc", package_status(root))
        checks.check("after remove: the configuration and the data are kept",
                     os.path.exists(os.path.join(root, "etc/nightlight/nightlight.yaml"))
                     and os.path.isdir(os.path.join(root, "var/lib/nightlight/wal")))

        r = in_chroot(root, install)
        checks.check("reinstall after remove", r.returncode == 0 and package_status(root) == "ii", r.stdout[-2000:])

        r = in_chroot(root, ["apt-get", "purge", "-y", "nightlight"])
        checks.check("apt-get purge", r.returncode == 0, r.stdout[-2000:])
        left = [f for f in files if not os.path.isdir(root + f) and os.path.lexists(root + f)]
        checks.check("after purge: no file of the package is left", not left, left)
        checks.check("after purge: /etc/nightlight and /var/lib/nightlight are gone",
                     not os.path.exists(os.path.join(root, "etc/nightlight"))
                     and not os.path.exists(os.path.join(root, "var/lib/nightlight")))
        checks.check("after purge: the service is no longer enabled", not os.path.lexists(wants))
        checks.check("after purge: dpkg no longer knows the package",
                     package_status(root) in ("not known", "un", "pn"), package_status(root))
        checks.check("after purge: the system user is kept (Debian practice)",
                     in_chroot(root, ["getent", "passwd", "nightlight"]).returncode == 0)
    finally:
        release_root(root)
    return checks.finish()


if __name__ == "__main__":
    sys.exit(main())
