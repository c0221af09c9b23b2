"""Namespace, process and credential syscalls the runtime needs, via ctypes.

Python 3.11 has no os.unshare/os.setns, and pivot_root, capset, prctl and personality are not in
``os`` at all. Every wrapper raises OSError with the errno, so callers can report the step.
"""

from __future__ import annotations

import _socket
import ctypes
import fcntl
import os
import struct

CLONE_NEWTIME = 0x80
CLONE_NEWNS = 0x20000
CLONE_NEWCGROUP = 0x2000000
CLONE_NEWUTS = 0x4000000
CLONE_NEWIPC = 0x8000000
CLONE_NEWUSER = 0x10000000
CLONE_NEWPID = 0x20000000
CLONE_NEWNET = 0x40000000

PR_SET_PDEATHSIG = 1
PR_SET_DUMPABLE = 4
PR_SET_KEEPCAPS = 8
PR_SET_NAME = 15
PR_CAPBSET_READ = 23
PR_CAPBSET_DROP = 24
PR_SET_CHILD_SUBREAPER = 36
PR_SET_NO_NEW_PRIVS = 38
PR_GET_NO_NEW_PRIVS = 39
PR_CAP_AMBIENT = 47
PR_CAP_AMBIENT_RAISE = 2
PR_CAP_AMBIENT_CLEAR_ALL = 4
PR_SET_SECCOMP = 22
SECCOMP_MODE_FILTER = 2

SYS_PIVOT_ROOT = 155
SYS_CAPGET = 125
SYS_CAPSET = 126
SYS_SECCOMP = 317
SYS_CLOSE_RANGE = 436
SYS_CLONE3 = 435
CLONE_INTO_CGROUP = 0x200000000
SIGCHLD = 17
SECCOMP_SET_MODE_FILTER = 1
SECCOMP_FILTER_FLAG_TSYNC = 1
CLOSE_RANGE_CLOEXEC = 4

_LINUX_CAPABILITY_VERSION_3 = 0x20080522

_libc = ctypes.CDLL(None, use_errno=True)
_libc.syscall.restype = ctypes.c_long
_libc.prctl.restype = ctypes.c_int
_libc.prctl.argtypes = [ctypes.c_int, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong]
# The same libc, called with the GIL held: clone3 must not let another thread run across the fork.
_libc_gil = ctypes.PyDLL(None, use_errno=True)
_libc_gil.syscall.restype = ctypes.c_long
# struct clone_args: flags, pidfd, child_tid, parent_tid, exit_signal, stack, stack_size, tls,
# set_tid, set_tid_size, cgroup
_CLONE_ARGS = struct.Struct("=11Q")


def _check(rc: int, what: str, path: str | None = None) -> int:
    if rc < 0:
        err = ctypes.get_errno()
        raise OSError(err, f"{what}: {os.strerror(err)}", path)
    return rc


def unshare(flags: int) -> None:
    _check(_libc.unshare(ctypes.c_int(flags)), "unshare")


def setns(fd: int, nstype: int = 0) -> None:
    _check(_libc.setns(ctypes.c_int(fd), ctypes.c_int(nstype)), "setns")


def pivot_root(new_root: str, put_old: str) -> None:
    _check(int(_libc.syscall(ctypes.c_long(SYS_PIVOT_ROOT), new_root.encode(), put_old.encode())),
           "pivot_root", new_root)


def sethostname(name: str) -> None:
    raw = name.encode()
    _check(_libc.sethostname(raw, ctypes.c_size_t(len(raw))), "sethostname")


def setdomainname(name: str) -> None:
    raw = name.encode()
    _check(_libc.setdomainname(raw, ctypes.c_size_t(len(raw))), "setdomainname")


def prctl(option: int, arg2: int = 0, arg3: int = 0, arg4: int = 0, arg5: int = 0) -> int:
    return _check(_libc.prctl(option, arg2, arg3, arg4, arg5), f"prctl({option})")


def personality(persona: int) -> None:
    _check(_libc.personality(ctypes.c_ulong(persona)), "personality")


class _CapHeader(ctypes.Structure):
    _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]


class _CapData(ctypes.Structure):
    _fields_ = [("effective", ctypes.c_uint32), ("permitted", ctypes.c_uint32),
                ("inheritable", ctypes.c_uint32)]


def capset(effective: int, permitted: int, inheritable: int) -> None:
    """Set the three per-thread capability sets of the calling process (64-bit masks)."""
    header = _CapHeader(_LINUX_CAPABILITY_VERSION_3, 0)
    data = (_CapData * 2)()
    for i in range(2):
        shift = 32 * i
        data[i].effective = (effective >> shift) & 0xFFFFFFFF
        data[i].permitted = (permitted >> shift) & 0xFFFFFFFF
        data[i].inheritable = (inheritable >> shift) & 0xFFFFFFFF
    _check(int(_libc.syscall(ctypes.c_long(SYS_CAPSET), ctypes.byref(header), data)), "capset")


def capget() -> tuple[int, int, int]:
    """(effective, permitted, inheritable) of the calling process."""
    header = _CapHeader(_LINUX_CAPABILITY_VERSION_3, 0)
    data = (_CapData * 2)()
    _check(int(_libc.syscall(ctypes.c_long(SYS_CAPGET), ctypes.byref(header), data)), "capget")
    eff = data[0].effective | (data[1].effective << 32)
    prm = data[0].permitted | (data[1].permitted << 32)
    inh = data[0].inheritable | (data[1].inheritable << 32)
    return eff, prm, inh


def capbset_drop(cap: int) -> None:
    prctl(PR_CAPBSET_DROP, cap)


def capbset_read(cap: int) -> bool:
    return bool(_libc.prctl(PR_CAPBSET_READ, cap, 0, 0, 0) == 1)


def ambient_raise(cap: int) -> None:
    prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, cap)


def ambient_clear_all() -> None:
    prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL)


def set_no_new_privs() -> None:
    prctl(PR_SET_NO_NEW_PRIVS, 1)


def set_dumpable(dumpable: bool) -> None:
    prctl(PR_SET_DUMPABLE, 1 if dumpable else 0)


def set_keepcaps(keep: bool) -> None:
    prctl(PR_SET_KEEPCAPS, 1 if keep else 0)


def set_child_subreaper() -> None:
    prctl(PR_SET_CHILD_SUBREAPER, 1)


def set_pdeathsig(sig: int) -> None:
    prctl(PR_SET_PDEATHSIG, sig)


class _SockFprog(ctypes.Structure):
    _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_void_p)]


def seccomp_load_bpf(program: bytes) -> None:
    """Install a classic-BPF seccomp filter (8 bytes per instruction)."""
    if len(program) % 8:
        raise OSError(22, "seccomp program length is not a multiple of 8")
    buf = ctypes.create_string_buffer(program, len(program))
    prog = _SockFprog(len(program) // 8, ctypes.addressof(buf))
    _check(int(_libc.syscall(ctypes.c_long(SYS_SECCOMP), ctypes.c_uint(SECCOMP_SET_MODE_FILTER),
                             ctypes.c_uint(0), ctypes.byref(prog))), "seccomp")


SIOCGIFFLAGS = 0x8913
SIOCSIFFLAGS = 0x8914
IFF_UP = 0x1


def set_link_up(name: str = "lo") -> None:
    """Bring a network interface of the current network namespace up (as runc does for ``lo``)."""
    sock = _socket.socket(_socket.AF_INET, _socket.SOCK_DGRAM, 0)
    try:
        req = struct.pack("16sH22x", name.encode(), 0)
        flags = struct.unpack_from("H", fcntl.ioctl(sock.fileno(), SIOCGIFFLAGS, req), 16)[0]
        if not flags & IFF_UP:
            fcntl.ioctl(sock.fileno(), SIOCSIFFLAGS, struct.pack("16sH22x", name.encode(), flags | IFF_UP))
    except OSError as exc:
        raise OSError(exc.errno, f"bringing {name} up: {os.strerror(exc.errno or 0)}") from exc
    finally:
        sock.close()


def fork_into_cgroup(cgroup_fd: int) -> int:
    """``os.fork()`` whose child is born in the cgroup2 directory ``cgroup_fd`` (clone3 with
    CLONE_INTO_CGROUP), instead of being migrated there afterwards: a migration through
    ``cgroup.procs`` takes the global threadgroup lock, whose write side waits for an RCU grace
    period (5-10 ms here). For single-threaded callers only (like any fork of a Python process
    that goes on to exec). Raises OSError when the kernel cannot (ENOSYS before 5.7)."""
    args = ctypes.create_string_buffer(_CLONE_ARGS.pack(CLONE_INTO_CGROUP, 0, 0, 0, SIGCHLD, 0, 0, 0, 0, 0,
                                                        cgroup_fd), _CLONE_ARGS.size)
    api = ctypes.pythonapi
    api.PyOS_BeforeFork()  # what os.fork does around fork(2): import lock, at-fork hooks
    pid = int(_libc_gil.syscall(ctypes.c_long(SYS_CLONE3), args, ctypes.c_size_t(_CLONE_ARGS.size)))
    if pid == 0:
        api.PyOS_AfterFork_Child()
        return 0
    err = ctypes.get_errno()
    api.PyOS_AfterFork_Parent()
    if pid < 0:
        raise OSError(err, f"clone3: {os.strerror(err)}")
    return pid


def close_range_cloexec(first: int) -> None:
    """Mark every fd >= first close-on-exec (cheap even with a high fd limit)."""
    _check(int(_libc.syscall(ctypes.c_long(SYS_CLOSE_RANGE), ctypes.c_uint(first),
                             ctypes.c_uint(0xFFFFFFFF), ctypes.c_uint(CLOSE_RANGE_CLOEXEC))), "close_range")


__all__ = [
    "CLONE_NEWCGROUP", "CLONE_NEWIPC", "CLONE_NEWNET", "CLONE_NEWNS", "CLONE_NEWPID", "CLONE_NEWTIME",
    "CLONE_NEWUSER", "CLONE_NEWUTS", "ambient_clear_all", "ambient_raise", "capbset_drop", "capbset_read",
    "capget", "capset", "close_range_cloexec", "fork_into_cgroup", "personality", "pivot_root", "prctl", "seccomp_load_bpf",
    "set_child_subreaper", "set_dumpable", "set_keepcaps", "set_link_up", "set_no_new_privs",
    "set_pdeathsig",
    "setdomainname", "sethostname", "setns", "unshare",
]


def set_process_name(name: str) -> None:
    """The task's comm, what ps shows for it (15 bytes at most)."""
    buf = ctypes.create_string_buffer(name.encode()[:15])
    prctl(PR_SET_NAME, ctypes.addressof(buf))
