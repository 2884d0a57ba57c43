#!/usr/bin/env python3
"""Runs a command under the process restrictions of a systemd unit, without
systemd (the test machines do not run it as PID 1).

From the unit's [Service] section it applies, in this order: a chroot
(--root, standing in for the installed system), User= and Group= with the
user's supplementary groups, NoNewPrivileges=, an empty
CapabilityBoundingSet= and AmbientCapabilities=, and SystemCallFilter= for
the native architecture (SystemCallArchitectures=native), its groups
expanded by `systemd-analyze syscall-filter` of the host (same systemd as
Debian 12), together with the argument checks systemd adds to that filter
for RestrictAddressFamilies= and MemoryDenyWriteExecute=. A call outside the
filter kills the process (SIGSYS) instead of failing with the unit's
SystemCallErrorNumber= or EAFNOSUPPORT, so that no forbidden call goes
unnoticed. Then it execs the command: same pid, so signals sent to the
started process reach it.

The mount-related settings (ProtectSystem=, ReadWritePaths=, PrivateTmp=)
need a mount namespace and are set up by the caller.

usage: run_as_unit.py --unit FILE [--root DIR] [--filter-only] -- COMMAND [ARG...]

With --filter-only it wraps the server for the end-to-end tests, to see
whether any of their code paths needs a call the filter forbids: give
tests/e2e/*.py as --nightlight a script that runs
  exec /usr/bin/python3 tests/packaging/run_as_unit.py --filter-only \
      --unit packaging/debian/nightlight.service -- build/actors/nightlight "$@"
"""

import argparse
import ctypes
import grp
import mmap
import os
import pwd
import re
import socket
import subprocess

import seccomp

PR_CAPBSET_DROP = 24
PR_SET_NO_NEW_PRIVS = 38
SHM_EXEC = 0o100000


def service_section(path):
    out = {}
    section = None
    with open(path) as f:
        for line in f:
            line = line.strip()
            if not line or line[0] in "#;":
                continue
            if line.startswith("["):
                section = line
            elif section == "[Service]" and "=" in line:
                k, v = line.split("=", 1)
                out.setdefault(k.strip(), []).append(v.strip())
    return out


def syscall_groups():
    """{"@group": [members, including "@subgroups"]} as this systemd knows them."""
    text = subprocess.run(["systemd-analyze", "syscall-filter"], stdout=subprocess.PIPE,
                          stderr=subprocess.DEVNULL, text=True, check=True).stdout
    groups, current = {}, None
    for line in text.splitlines():
        if re.match(r"^@\S+$", line):
            current = groups.setdefault(line, [])
        elif current is not None and re.match(r"^\s+[@a-z_0-9-]+$", line):
            current.append(line.strip())
    return groups


def expand(names, groups, seen=None):
    seen = set() if seen is None else seen
    out = set()
    for name in names:
        if name.startswith("@"):
            if name not in groups:
                raise SystemExit("run_as_unit: unknown system-call group %s" % name)
            if name not in seen:
                seen.add(name)
                out |= expand(groups[name], groups, seen)
        else:
            out.add(name)
    return out


def allowed_syscalls(unit):
    """The allow list systemd builds from the SystemCallFilter= lines: the
    first line sets the list (a list without ~ is an allow list), each
    later line adds to it or, with ~, removes from it."""
    lines = unit.get("SystemCallFilter", [])
    if not lines or lines[0].startswith("~"):
        raise SystemExit("run_as_unit: the unit has no allow-list SystemCallFilter=")
    groups = syscall_groups()
    allowed = set()
    for line in lines:
        deny = line.startswith("~")
        names = expand(line.lstrip("~").split(), groups)
        allowed = allowed - names if deny else allowed | names
    return allowed


def argument_rules(unit):
    """Calls allowed only with some arguments, as systemd filters them:
    RestrictAddressFamilies= limits socket()'s family; MemoryDenyWriteExecute=
    refuses mappings both writable and executable and making memory
    executable later. {syscall: [rule arguments, ...]}, any one suffices."""
    rules = {}
    families = unit.get("RestrictAddressFamilies")
    if families:
        rules["socket"] = [(seccomp.Arg(0, seccomp.EQ, getattr(socket, f)),) for f in families[0].split()]
    if unit.get("MemoryDenyWriteExecute") == ["true"]:
        no_exec = (seccomp.Arg(2, seccomp.MASKED_EQ, mmap.PROT_EXEC, 0),)
        no_write = (seccomp.Arg(2, seccomp.MASKED_EQ, mmap.PROT_WRITE, 0),)
        rules["mmap"] = [no_exec, no_write]
        rules["mprotect"] = [no_exec]
        rules["pkey_mprotect"] = [no_exec]
        rules["shmat"] = [(seccomp.Arg(2, seccomp.MASKED_EQ, SHM_EXEC, 0),)]
    return rules


def drop_privileges(unit):
    libc = ctypes.CDLL(None, use_errno=True)
    user = unit["User"][0]
    group = unit.get("Group", [None])[0]
    pw = pwd.getpwnam(user)
    gid = grp.getgrnam(group).gr_gid if group else pw.pw_gid
    if unit.get("CapabilityBoundingSet") != [""] or unit.get("NoNewPrivileges") != ["true"]:
        raise SystemExit("run_as_unit: expected NoNewPrivileges=true and an empty CapabilityBoundingSet=")
    with open("/proc/sys/kernel/cap_last_cap") as f:
        last_cap = int(f.read())
    for cap in range(last_cap + 1):
        if libc.prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0:
            raise OSError(ctypes.get_errno(), "PR_CAPBSET_DROP")
    os.setgroups(os.getgrouplist(user, gid))
    os.setresgid(gid, gid, gid)
    os.setresuid(pw.pw_uid, pw.pw_uid, pw.pw_uid)  # clears every capability
    if libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "PR_SET_NO_NEW_PRIVS")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--unit", required=True)
    ap.add_argument("--root", help="chroot into this directory first")
    ap.add_argument("--filter-only", action="store_true",
                    help="apply only SystemCallFilter= (keep the current user)")
    ap.add_argument("command", nargs=argparse.REMAINDER)
    args = ap.parse_args()
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    unit = service_section(args.unit)
    allowed = allowed_syscalls(unit)
    if unit.get("SystemCallArchitectures") != ["native"]:
        raise SystemExit("run_as_unit: expected SystemCallArchitectures=native")

    if args.root:
        os.chroot(args.root)
        os.chdir("/")
    if not args.filter_only:
        drop_privileges(unit)
    filt = seccomp.SyscallFilter(defaction=seccomp.KILL_PROCESS)
    conditional = argument_rules(unit)
    for name in sorted(allowed):
        for args in conditional.get(name, [()]):
            try:
                filt.add_rule(seccomp.ALLOW, name, *args)
            except (ValueError, RuntimeError):
                pass  # not a system call of this architecture (e.g. arm_fadvise64_64)
    filt.load()
    os.execv(command[0], command)


if __name__ == "__main__":
    main()
