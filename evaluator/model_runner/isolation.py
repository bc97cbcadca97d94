"""The isolation layers the sandboxed child sets up on itself (Linux only, stdlib only: child.py loads
this file by path, without the evaluator package).

Each layer returns `(kind, detail)`: `kind` is the short name kept in the run's isolation record
(`"netns"`, `"landlock"`, `"pdeathsig"`, or `"none"` when the host refused), `detail` says what was
done or why it failed, for the operator. The child refuses to run a model when a layer is `"none"`
unless the caller allowed a weaker sandbox (`RunLimits.allow_weak_sandbox`).

- `arm_parent_death(parent)`: PR_SET_PDEATHSIG = SIGKILL, then exit at once if the parent is already
  gone (it may have died before the signal was armed). Linux clears the setting when the process
  changes its credentials, so the child arms it again after dropping to `nobody`.
- `isolate_network()`: a new network namespace (only a loopback device, down).
- `restrict_filesystem(read_write, read_only)`: Landlock. Afterwards the process can read only the
  listed trees and write only the `read_write` ones, whatever its uid; it cannot undo this, and it
  also holds for processes it starts.
"""

from __future__ import annotations

import ctypes
import glob
import os
import signal
import stat
import sys
import sysconfig

CLONE_NEWNET = 0x40000000
CLONE_NEWUSER = 0x10000000
PR_SET_PDEATHSIG = 1
PR_SET_NO_NEW_PRIVS = 38
PARENT_GONE_EXIT = 5  # the child's exit status when its parent died before the signal was armed

# Landlock (linux/landlock.h). System call numbers are the same on x86-64 and arm64.
_SYS_LANDLOCK_CREATE_RULESET = 444
_SYS_LANDLOCK_ADD_RULE = 445
_SYS_LANDLOCK_RESTRICT_SELF = 446
_CREATE_RULESET_VERSION = 1
_RULE_PATH_BENEATH = 1
_EXECUTE, _WRITE_FILE, _READ_FILE, _READ_DIR = 1 << 0, 1 << 1, 1 << 2, 1 << 3
_REMOVE_DIR, _REMOVE_FILE, _MAKE_CHAR, _MAKE_DIR = 1 << 4, 1 << 5, 1 << 6, 1 << 7
_MAKE_REG, _MAKE_SOCK, _MAKE_FIFO, _MAKE_BLOCK, _MAKE_SYM = 1 << 8, 1 << 9, 1 << 10, 1 << 11, 1 << 12
_REFER, _TRUNCATE, _IOCTL_DEV = 1 << 13, 1 << 14, 1 << 15
_NET_BIND_TCP, _NET_CONNECT_TCP = 1, 2
_SCOPE_ABSTRACT_UNIX_SOCKET, _SCOPE_SIGNAL = 1, 2
# Rights Landlock accepts on a regular file (the others only make sense on directories).
_FILE_RIGHTS = _EXECUTE | _WRITE_FILE | _READ_FILE | _TRUNCATE | _IOCTL_DEV
_READ = _EXECUTE | _READ_FILE | _READ_DIR
_WRITE = _WRITE_FILE | _REMOVE_DIR | _REMOVE_FILE | _MAKE_DIR | _MAKE_REG | _MAKE_SYM | _REFER | _TRUNCATE

# Read-only system trees the runtimes may open after confinement (shared libraries loaded lazily,
# CPU topology for thread pools, the process's own /proc entry for its memory high-water mark).
_SYSTEM_READ = (
    "/usr/lib",
    "/usr/lib64",
    "/usr/local/lib",
    "/lib",
    "/lib64",
    "/etc/ld.so.cache",
    "/sys/devices/system/cpu",
    "/proc/self",
    "/dev/null",
    "/dev/zero",
    "/dev/urandom",
)


class _RulesetAttr(ctypes.Structure):
    _fields_ = [
        ("handled_access_fs", ctypes.c_uint64),
        ("handled_access_net", ctypes.c_uint64),
        ("scoped", ctypes.c_uint64),
    ]


class _PathBeneathAttr(ctypes.Structure):
    _pack_ = 1
    _fields_ = [("allowed_access", ctypes.c_uint64), ("parent_fd", ctypes.c_int32)]


def _libc() -> ctypes.CDLL:
    libc = ctypes.CDLL(None, use_errno=True)
    libc.syscall.restype = ctypes.c_long
    return libc


def _errno_text() -> str:
    return os.strerror(ctypes.get_errno())


def arm_parent_death(parent: int) -> tuple[str, str]:
    """SIGKILL this process when `parent` (the thread that started it) dies; exit now if it is gone."""
    if _libc().prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0) != 0:
        return "none", f"prctl(PR_SET_PDEATHSIG) failed ({_errno_text()})"
    # Armed only now: a parent that died since the fork has left us with another parent.
    if os.getppid() != parent:
        os._exit(PARENT_GONE_EXIT)
    return "pdeathsig", "SIGKILL when the parent dies"


def isolate_network(enabled: bool = True) -> tuple[str, str]:
    """Move into a new network namespace: no interface but a loopback device that is down."""
    if not enabled:
        return "none", "disabled by the caller"
    libc = _libc()
    if libc.unshare(CLONE_NEWNET) == 0:
        return "netns", "new network namespace (loopback only, down)"
    first = _errno_text()
    # Unprivileged hosts may still allow a user namespace that owns a network namespace.
    if os.getuid() != 0 and libc.unshare(CLONE_NEWUSER | CLONE_NEWNET) == 0:
        return "user+netns", "new user + network namespace (loopback only, down)"
    return "none", f"unshare(CLONE_NEWNET) failed ({first})"


def set_no_new_privs() -> bool:
    return _libc().prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == 0


def landlock_abi() -> int:
    """The kernel's Landlock ABI version, or 0 when Landlock is absent or disabled."""
    version = _libc().syscall(
        _SYS_LANDLOCK_CREATE_RULESET, None, ctypes.c_size_t(0), ctypes.c_uint32(_CREATE_RULESET_VERSION)
    )
    return max(int(version), 0)


def runtime_read_paths(extra: list[str] | tuple[str, ...] = ()) -> list[str]:
    """What the child's Python needs to read: the standard library (with lib-dynload), the
    site-packages of this interpreter, the system's shared libraries, and `extra`."""
    paths = sysconfig.get_paths()
    trees = {paths[k] for k in ("stdlib", "platstdlib", "purelib", "platlib")}
    trees.add(os.path.dirname(os.path.realpath(sys.executable)))
    return sorted(trees) + list(_SYSTEM_READ) + list(extra)


def gpu_device_paths() -> list[str]:
    """The NVIDIA device files and driver information CUDA opens (none on a host without a GPU)."""
    devices = glob.glob("/dev/nvidia*")
    return (devices + ["/proc/driver/nvidia", "/sys"]) if devices else []


def restrict_filesystem(
    read_write: list[str], read_only: list[str], devices: list[str] = ()
) -> tuple[str, str]:
    """Landlock this process: read and write only beneath `read_write`, read beneath `read_only`
    (missing paths are skipped), read, write and ioctl on `devices`. Needs no_new_privs (or root)."""
    abi = landlock_abi()
    if abi < 1:
        return "none", f"Landlock is not available on this kernel ({_errno_text()})"
    libc = _libc()
    fs = (1 << 13) - 1 | (_REFER if abi >= 2 else 0) | (_TRUNCATE if abi >= 3 else 0)
    fs |= _IOCTL_DEV if abi >= 5 else 0
    attr = _RulesetAttr(handled_access_fs=fs)
    size = 8
    if abi >= 4:
        # No TCP bind or connect at all: a second wall behind the network namespace.
        attr.handled_access_net, size = _NET_BIND_TCP | _NET_CONNECT_TCP, 16
    if abi >= 6:
        # No signals to, and no abstract unix sockets of, processes outside the sandbox.
        attr.scoped, size = _SCOPE_ABSTRACT_UNIX_SOCKET | _SCOPE_SIGNAL, 24
    ruleset = libc.syscall(_SYS_LANDLOCK_CREATE_RULESET, ctypes.byref(attr), ctypes.c_size_t(size), 0)
    if ruleset < 0:
        return "none", f"landlock_create_ruleset failed ({_errno_text()})"
    try:
        rules = [(p, _READ | _WRITE) for p in read_write] + [(p, _READ) for p in read_only]
        rules += [(p, _READ | _WRITE_FILE | _IOCTL_DEV) for p in devices]
        for path, rights in rules:
            failed = _add_rule(libc, ruleset, path, rights & fs)
            if failed:
                return "none", failed
        if libc.syscall(_SYS_LANDLOCK_RESTRICT_SELF, ruleset, 0) != 0:
            return "none", f"landlock_restrict_self failed ({_errno_text()})"
    finally:
        os.close(ruleset)
    return (
        "landlock",
        f"Landlock ABI {abi}: reads only the runtime and the scratch folder, writes only the latter",
    )


def _add_rule(libc: ctypes.CDLL, ruleset: int, path: str, rights: int) -> str | None:
    try:
        fd = os.open(path, os.O_PATH | os.O_CLOEXEC)
    except FileNotFoundError:
        return None  # e.g. /lib64 on a host without it
    except OSError as exc:
        return f"cannot open a Landlock rule's path ({exc.strerror})"
    try:
        if not stat.S_ISDIR(os.fstat(fd).st_mode):
            rights &= _FILE_RIGHTS
        rule = _PathBeneathAttr(allowed_access=rights, parent_fd=fd)
        if libc.syscall(_SYS_LANDLOCK_ADD_RULE, ruleset, _RULE_PATH_BENEATH, ctypes.byref(rule), 0) != 0:
            return f"landlock_add_rule failed ({_errno_text()})"
    finally:
        os.close(fd)
    return None
