"""Process-level prctl calls the shim needs (ctypes lives only in dockyard.sys)."""

from __future__ import annotations

import ctypes
import os

PR_SET_PDEATHSIG = 1
PR_SET_CHILD_SUBREAPER = 36
PR_GET_CHILD_SUBREAPER = 37

_libc = ctypes.CDLL(None, use_errno=True)
_libc.prctl.restype = ctypes.c_int
_libc.prctl.argtypes = [ctypes.c_int, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong]


def _prctl(option: int, arg2: int = 0) -> int:
    rc = int(_libc.prctl(option, arg2, 0, 0, 0))
    if rc < 0:
        err = ctypes.get_errno()
        raise OSError(err, f"prctl({option}): {os.strerror(err)}")
    return rc


def set_child_subreaper(enabled: bool = True) -> None:
    """Orphaned descendants (the container init once `runtime create` exits) reparent to us."""
    _prctl(PR_SET_CHILD_SUBREAPER, 1 if enabled else 0)


def is_child_subreaper() -> bool:
    value = ctypes.c_int(0)
    rc = int(_libc.prctl(PR_GET_CHILD_SUBREAPER, ctypes.addressof(value), 0, 0, 0))
    if rc < 0:
        err = ctypes.get_errno()
        raise OSError(err, f"prctl(PR_GET_CHILD_SUBREAPER): {os.strerror(err)}")
    return value.value != 0


def set_parent_death_signal(signo: int) -> None:
    """Receive ``signo`` when the thread that forked us exits (0 clears it; forks do not inherit it)."""
    _prctl(PR_SET_PDEATHSIG, signo)


def rewrite_cmdline(args: list[str]) -> bool:
    """Show ``args`` as this process's /proc/<pid>/cmdline (what ps and pgrep read).

    A forked process keeps its parent's command line; this writes the new one over the original
    argument area through /proc/self/mem (no privilege needed for our own memory). It has to fit in
    that area: a longer one is cut; the rest is NUL-filled. Python's sys.argv is a copy, untouched.
    """
    try:
        with open("/proc/self/stat", "rb") as f:
            fields = f.read().rsplit(b")", 1)[1].split()
        start, end = int(fields[45]), int(fields[46])  # arg_start, arg_end: fields 48 and 49
        room = end - start
        data = b"\0".join(os.fsencode(a) for a in args)[: max(room - 1, 0)] + b"\0"
        with open("/proc/self/mem", "r+b", buffering=0) as mem:
            mem.seek(start)
            mem.write(data.ljust(room, b"\0"))
        return True
    except (OSError, ValueError, IndexError):
        return False


M_ARENA_MAX = -8


def limit_malloc_arenas(count: int) -> bool:
    """Cap glibc's malloc arenas (one per thread by default, up to 8 per CPU, each keeping the
    memory it once held): a daemon whose worker threads come and go stays small. Call it early."""
    try:
        return int(_libc.mallopt(M_ARENA_MAX, count)) == 1
    except AttributeError:  # not glibc
        return False


def trim_heap() -> None:
    """Give free heap memory back to the system (glibc's malloc_trim)."""
    try:
        _libc.malloc_trim(0)
    except AttributeError:
        pass
