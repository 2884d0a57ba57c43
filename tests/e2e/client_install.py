#!/usr/bin/env python3
"""`cmake --install` of the client library into a temporary prefix, then an
outside CMake project (tests/e2e/client_install/) that finds it with
find_package(nightlight-api), links nightlight::api, builds and runs.

Checks that the install holds the public headers, the static libraries and
the package files, and no server internals; that a plain `cmake --install`
(the server package's) leaves the library out; that the outside project
configures and builds against the prefix alone; and that both clients work
from it (errors for a port where nothing listens, a missing CA file). Reuses
the already built library, so it takes seconds."""

import glob
import os
import shutil
import subprocess
import sys

import nlharness as h

CHECKS = h.Checks()
HERE = os.path.dirname(os.path.abspath(__file__))


def run(name, cmd, **kw):
    p = subprocess.run(cmd, capture_output=True, timeout=600, **kw)
    out = (p.stdout + p.stderr).decode("utf-8", "replace")
    CHECKS.check(name, p.returncode == 0, "%s -> %d\n%s" % (" ".join(cmd), p.returncode, out[-3000:]))
    return p.returncode == 0, out


def main():
    p = h.arg_parser(__doc__)
    p.add_argument("--build-dir", required=True, help="the Nightlight build tree")
    args = p.parse_args()
    with h.Workdir(args.keep) as work:
        prefix = os.path.join(work, "prefix")
        ok, _ = run("cmake --install of the nightlight-api component",
                    ["cmake", "--install", args.build_dir, "--prefix", prefix,
                     "--component", "nightlight-api"])
        if not ok:
            return CHECKS.finish()
        installed = sorted(os.path.relpath(f, prefix)
                           for f in glob.glob(os.path.join(prefix, "**"), recursive=True)
                           if os.path.isfile(f))
        h.log("installed:\n  " + "\n  ".join(installed))
        headers = {os.path.basename(f) for f in installed if f.startswith("include/")}
        CHECKS.check("public headers under include/nightlight/api/",
                     headers == {"error.hpp", "query_client.hpp", "remote_write_client.hpp",
                                 "tls_options.hpp", "types.hpp"}
                     and all(f.startswith("include/nightlight/api/")
                             for f in installed if f.startswith("include/")),
                     "%r" % sorted(headers))
        CHECKS.check("static libraries and the CMake package",
                     any(f.endswith("/libnightlight-api.a") for f in installed)
                     and any(f.endswith("/libnl_query_proto.a") for f in installed)
                     and any(f.endswith("/libnl_query_pb.a") for f in installed)
                     and any(f.endswith("cmake/nightlight-api/nightlight-api-config.cmake")
                             for f in installed)
                     and any(f.endswith("cmake/nightlight-api/nightlight-api-config-version.cmake")
                             for f in installed), "%r" % installed)
        CHECKS.check("nothing of the server is installed",
                     not any("nightlight-tsdb" in f or f.endswith("/nightlight") or "protocol/" in f
                             or "storage/" in f for f in installed), "%r" % installed)
        # The public headers stand alone: nothing but the standard library
        # and each other.
        for f in installed:
            if f.endswith(".hpp"):
                with open(os.path.join(prefix, f)) as fh:
                    includes = [l for l in fh if l.startswith("#include")]
                bad = [l.strip() for l in includes
                       if '"' not in l and not l.split("<")[1].split(">")[0].replace("_", "").isalpha()]
                CHECKS.check("%s includes only the standard library and its siblings" % f, not bad,
                             "%r" % bad)

        # A plain install (no component: what scripts/package-deb.sh runs for
        # the server package) leaves the library out. protocol/client's own
        # install script is run alone so the server binaries are not copied.
        plain = os.path.join(work, "plain")
        script = os.path.join(args.build_dir, "protocol", "client", "cmake_install.cmake")
        ok, _ = run("protocol/client's install script runs without a component",
                    ["cmake", "-DCMAKE_INSTALL_PREFIX=" + plain, "-P", script])
        leaked = [os.path.relpath(os.path.join(d, f), plain)
                  for d, _, files in os.walk(plain) for f in files]
        CHECKS.check("a plain cmake --install leaves the library out (own component)",
                     ok and not leaked, "%r" % leaked)

        build = os.path.join(work, "consumer")
        configure = ["cmake", "-S", os.path.join(HERE, "client_install"), "-B", build, "-G", "Ninja",
                     "-DCMAKE_PREFIX_PATH=" + prefix, "-DCMAKE_BUILD_TYPE=RelWithDebInfo"]
        if shutil.which("ccache"):
            configure.append("-DCMAKE_CXX_COMPILER_LAUNCHER=ccache")
        ok, _ = run("outside project configures with find_package(nightlight-api)", configure)
        if ok:
            ok, _ = run("outside project builds and links nightlight::api",
                        ["cmake", "--build", build, "-j1"])
        if ok:
            port = str(h.free_port())
            ok, out = run("the outside program uses both clients",
                          [os.path.join(build, "consumer"), port])
            if ok:
                h.log(out)
    return CHECKS.finish()


if __name__ == "__main__":
    sys.exit(main())
