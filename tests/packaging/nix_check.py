#!/usr/bin/env python3
"""What can be checked of the Nix files without Nix's binary cache.

Always (packaging.nix_parse): every .nix file of the tree parses with
`nix-instantiate --parse`, which also rejects names bound nowhere (the
files use no `with`, so every name is checked), and flake.nix's inputs
evaluate.

With --nixpkgs-lib (packaging.nix_module, registered when CMake is given
NL_NIXPKGS_LIB, a checkout of nixpkgs' lib/): tests/packaging/nix_eval.nix
evaluates the flake's outputs and its NixOS module with the real module
system and stand-in packages, and this script checks that
  * the package's version is CMake's, CAF is 0.17.6 by its NAR hash;
  * the module's settings carry the defaults and the TLS file options,
    its service has the Debian unit's sandbox key for key, runs as the
    nightlight user on the generated config, the data directory is made by
    tmpfiles and the only writable path, the firewall opens the port only
    when asked, and wrong TLS or data-dir options fail their assertions;
  * the real nightlight binary accepts the YAML the module would write
    (plain, and with TLS files and mutual TLS) and answers /-/ready.
Nothing is built or fetched: whether nixpkgs' packages build Nightlight is
not checked here.
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "e2e"))
import mtls_common as m  # noqa: E402
import nlharness as h  # noqa: E402

ROOT = h.REPO_ROOT
# Debian's nix-bin has no nixbld group configured; evaluation needs none.
NIX_ENV = dict(os.environ, NIX_CONFIG="build-users-group =")


def nix(*args):
    return subprocess.run(["nix-instantiate"] + list(args), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          text=True, env=NIX_ENV, cwd=ROOT, timeout=300)


def nix_files():
    r = subprocess.run(["git", "-C", ROOT, "ls-files", "--cached", "--others", "--exclude-standard", "*.nix"],
                       stdout=subprocess.PIPE, text=True, check=True)
    return sorted(set(r.stdout.split()))


def parse_checks(checks):
    files = nix_files()
    checks.check("the tree has flake.nix and packaging/nix/{package,caf,module}.nix",
                 {"flake.nix", "packaging/nix/package.nix", "packaging/nix/caf.nix",
                  "packaging/nix/module.nix"} <= set(files), files)
    for f in files:
        r = nix("--parse", f)
        checks.check("nix-instantiate --parse %s" % f, r.returncode == 0, r.stderr)
    r = nix("--eval", "--strict", "--json", "-E", "(import ./flake.nix).inputs")
    checks.check("flake.nix's inputs evaluate to a nixpkgs release branch",
                 r.returncode == 0 and json.loads(r.stdout)["nixpkgs"]["url"].startswith("github:NixOS/nixpkgs/nixos-"),
                 r.stdout + r.stderr)


def debian_unit_service():
    """The [Service] keys of the Debian unit, values as systemd reads them."""
    out = {}
    section = None
    with open(os.path.join(ROOT, "packaging/debian/nightlight.service")) as f:
        for line in f:
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            if line.startswith("["):
                section = line
            elif section == "[Service]":
                k, v = line.split("=", 1)
                out.setdefault(k, []).append(v)
    return out


def systemd_value(v):
    """A NixOS serviceConfig value as the unit file line(s) NixOS writes."""
    if isinstance(v, bool):
        return ["true" if v else "false"]
    if isinstance(v, list):
        return [systemd_value(x)[0] for x in v]
    return [str(v)]


def same_sandbox(nixos, debian):
    """Keys whose values differ (or are missing); paths to programs differ by design."""
    diffs = []
    for k, v in debian.items():
        if k in ("ExecStart", "ExecReload"):
            continue
        nv = systemd_value(nixos[k]) if k in nixos else None
        # One `RestrictAddressFamilies=a b c` line == a list of a, b, c.
        if nv is not None and len(v) == 1 and len(nv) > 1:
            nv = [" ".join(nv)]
        if nv != v:
            diffs.append("%s: debian %r, nixos %r" % (k, v, nv))
    diffs += ["%s only in the NixOS module" % k for k in nixos if k not in debian]
    return diffs


class RenderedConfig(h.Server):
    """nightlight on the settings the module renders, with the listen
    address, data directory and TLS files moved into a scratch directory."""

    name = "nightlight"

    def __init__(self, binary, workdir, settings, certs=None):
        super().__init__(workdir, None)
        self.binary = binary
        self.settings = json.loads(json.dumps(settings))
        self.certs = certs
        self.config_path = os.path.join(workdir, "rendered.yaml")
        self.port_changed()

    def port_changed(self):
        s = self.settings
        s["server"]["http_addr"] = "127.0.0.1:%d" % self.port
        s["storage"]["data_dir"] = os.path.join(self.workdir, "data")
        for key, name in (("cert_file", "server.pem"), ("key_file", "server-key.pem"), ("ca_file", "ca.pem")):
            if key in s.get("tls", {}):
                s["tls"][key] = os.path.join(self.certs, name)
        with open(self.config_path, "w") as f:
            json.dump(s, f)  # what pkgs.formats.yaml writes, in YAML's JSON subset

    def command(self):
        return [self.binary, "--config", self.config_path]

    def wait_ready(self, timeout):
        if self.certs is None:
            return super().wait_ready(timeout)

        def ready():
            if self.proc.poll() is not None:
                raise RuntimeError("exited with %s:\n%s" % (self.proc.returncode, self.log_tail()))
            return m.https(self.port, "GET", "/-/ready", self.certs, "reader", timeout=2.0).status == 200
        h.wait_until("nightlight ready over mTLS", ready, timeout, 0.1)


def module_checks(checks, lib, nightlight):
    r = nix("--eval", "--strict", "--json", "tests/packaging/nix_eval.nix",
            "--arg", "lib", "import %s" % os.path.abspath(lib), "--arg", "root", "./.")
    if not checks.check("tests/packaging/nix_eval.nix evaluates with nixpkgs' lib", r.returncode == 0, r.stderr):
        return
    e = json.loads(r.stdout)

    cmake_version = subprocess.run(["sed", "-n", r"s/^project(nightlight VERSION \([0-9.]*\) .*/\1/p",
                                    os.path.join(ROOT, "CMakeLists.txt")], stdout=subprocess.PIPE,
                                   text=True).stdout.strip()
    pkg = e["package"]
    checks.check("packages.default is nightlight at CMake's version %s (overlay and devShell too)" % cmake_version,
                 pkg["pname"] == "nightlight" and pkg["version"] == cmake_version
                 and e["overlay"] == cmake_version and e["devShell"] == ["nightlight-" + cmake_version], e)
    checks.check("it builds against CAF 0.17.6 from actor-framework/actor-framework by NAR hash",
                 pkg["caf"] == {"version": "0.17.6", "owner": "actor-framework", "repo": "actor-framework",
                                "rev": "0.17.6", "hash": "sha256-31bQuAb0qYRfTjMdWpgLq4GpVVX0Vzj2Zra33ZgU8Q4="}
                 and "actor-framework-0.17.6" in pkg["buildInputs"], pkg)

    checks.check("a system without services.nightlight.enable gets nothing", e["disabled"] == {"failedAssertions": []},
                 e["disabled"])
    plain = e["plain"]
    checks.check("enabled with no options: no failed assertion", plain["failedAssertions"] == [], plain)
    checks.check("the default settings: data in /var/lib/nightlight, HTTP on 127.0.0.1:9101, nothing else",
                 plain["settings"] == {"server": {"http_addr": "127.0.0.1:9101"},
                                       "storage": {"data_dir": "/var/lib/nightlight"}}, plain["settings"])
    sc = plain["serviceConfig"]
    checks.check("the service runs the package's nightlight on the generated YAML as user nightlight",
                 sc["ExecStart"].endswith("-nightlight-%s/bin/nightlight --config "
                                          "/nix/store/00000000000000000000000000000000-nightlight.yaml" % cmake_version)
                 and sc["User"] == "nightlight" and sc["Group"] == "nightlight"
                 and plain["wantedBy"] == ["multi-user.target"], sc)
    checks.check("ExecReload sends SIGHUP", sc["ExecReload"].endswith("/bin/kill -HUP $MAINPID"), sc["ExecReload"])
    diffs = same_sandbox(sc, debian_unit_service())
    checks.check("its [Service] settings equal the Debian unit's, key for key", not diffs, "\n".join(diffs))
    checks.check("system user and group nightlight, home = data directory",
                 plain["user"]["isSystemUser"] and plain["user"]["home"] == "/var/lib/nightlight"
                 and plain["user"]["group"] == "nightlight" and plain["group"], plain["user"])
    checks.check("tmpfiles makes the data directory 0750 nightlight:nightlight",
                 plain["tmpfiles"] == ["d /var/lib/nightlight 0750 nightlight nightlight - -"], plain["tmpfiles"])
    checks.check("no firewall port unless openFirewall", plain["firewall"] == [], plain["firewall"])
    checks.check("nightlight-tsdb's package is in systemPackages",
                 plain["systemPackages"] == ["nightlight-" + cmake_version], plain["systemPackages"])

    tls = e["tls"]
    checks.check("TLS file options land in settings.tls next to the freeform keys",
                 tls.get("settings", {}).get("tls") == {
                     "cert_file": "/etc/nightlight/server.pem", "key_file": "/etc/nightlight/server-key.pem",
                     "ca_file": "/etc/nightlight/ca.pem", "require_client_cert": True,
                     "allowed_writers": ["writer"]}, tls)
    checks.check("a moved data directory is the writable path, the user's home and made by tmpfiles",
                 tls.get("serviceConfig", {}).get("ReadWritePaths") == ["/srv/nightlight"]
                 and tls["user"]["home"] == "/srv/nightlight"
                 and tls["tmpfiles"] == ["d /srv/nightlight 0750 nightlight nightlight - -"], tls)
    checks.check("openFirewall opens the port of server.http_addr", tls.get("firewall") == [9443], tls.get("firewall"))
    checks.check("keyFile without certFile fails an assertion",
                 e["keyWithoutCert"]["failedAssertions"] == ["services.nightlight.tls: certFile and keyFile go together."],
                 e["keyWithoutCert"])
    checks.check("a relative data_dir fails an assertion",
                 any("data_dir must be an absolute path" in a for a in e["relativeDataDir"]["failedAssertions"]),
                 e["relativeDataDir"])

    with tempfile.TemporaryDirectory(prefix="nl-nix-") as work:
        for name, settings, certs in (("plain", plain["settings"], None),
                                      ("tls", tls["settings"], m.make_certs(os.path.join(work, "certs")))):
            d = os.path.join(work, name)
            os.makedirs(d)
            server = RenderedConfig(nightlight, d, settings, certs)
            try:
                server.start()
                ok, detail = True, ""
            except (RuntimeError, AssertionError) as err:
                ok, detail = False, "%s\n%s" % (err, server.log_tail())
            finally:
                rc = server.stop()
            checks.check("nightlight accepts the module's %s settings and answers /-/ready" % name, ok, detail)
            checks.check("and stops cleanly (%s)" % name, rc == 0, rc)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--nixpkgs-lib", help="nixpkgs' lib/ directory: also evaluate the flake and the module")
    ap.add_argument("--nightlight", help="the nightlight binary (with --nixpkgs-lib)")
    args = ap.parse_args()
    checks = h.Checks()
    if not checks.check("nix-instantiate is installed (Debian's nix-bin)",
                        subprocess.run(["sh", "-c", "command -v nix-instantiate"],
                                       stdout=subprocess.DEVNULL).returncode == 0):
        return checks.finish()
    parse_checks(checks)
    if args.nixpkgs_lib:
        if checks.check("--nixpkgs-lib is nixpkgs' lib/ and --nightlight is given",
                        os.path.exists(os.path.join(args.nixpkgs_lib, "modules.nix")) and args.nightlight,
                        args.nixpkgs_lib):
            module_checks(checks, args.nixpkgs_lib, args.nightlight)
    return checks.finish()


if __name__ == "__main__":
    sys.exit(main())
