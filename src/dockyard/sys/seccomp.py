"""Compile seccomp filters to classic BPF with libseccomp (libseccomp.so.2 via ctypes).

The runtime compiles in its own (host) context and only loads the resulting bytes inside the
container, so the container never needs the library and the parent sees every compile error.
"""

from __future__ import annotations

import ctypes
import os

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Sequence
    from typing import NamedTuple
else:
    from dockyard.namedtuples import NamedTuple

ACT_KILL_PROCESS = 0x80000000
ACT_KILL_THREAD = 0x00000000
ACT_TRAP = 0x00030000
ACT_ERRNO_BASE = 0x00050000
ACT_TRACE_BASE = 0x7FF00000
ACT_LOG = 0x7FFC0000
ACT_ALLOW = 0x7FFF0000
ACT_NOTIFY = 0x7FC00000

CMP_NE = 1
CMP_LT = 2
CMP_LE = 3
CMP_EQ = 4
CMP_GE = 5
CMP_GT = 6
CMP_MASKED_EQ = 7

_FLTATR_ACT_BADARCH = 2
_FLTATR_CTL_NNP = 3
_FLTATR_CTL_OPTIMIZE = 8  # libseccomp >= 2.5
_OPTIMIZE_BINARY_TREE = 2
PROGRAM_LAYOUT = "binary-tree"  # part of a compiled program's cache key


class _ArgCmp(ctypes.Structure):
    _fields_ = [("arg", ctypes.c_uint), ("op", ctypes.c_int), ("datum_a", ctypes.c_uint64),
                ("datum_b", ctypes.c_uint64)]


class ArgCondition(NamedTuple):
    arg: int  # which syscall argument (0-5)
    op: int
    value: int
    value_two: int = 0


class Rule(NamedTuple):
    syscall: str
    action: int
    conditions: tuple[ArgCondition, ...] = ()


_lib: ctypes.CDLL | None = None


def _load() -> ctypes.CDLL:
    global _lib
    if _lib is None:
        try:
            # The soname first: find_library runs `ldconfig -p`, a process per runtime command.
            lib = ctypes.CDLL("libseccomp.so.2", use_errno=True)
        except OSError:
            from ctypes.util import find_library  # here only: it brings shutil, tempfile and compressors

            lib = ctypes.CDLL(find_library("seccomp") or "libseccomp.so", use_errno=True)
        lib.seccomp_init.restype = ctypes.c_void_p
        lib.seccomp_init.argtypes = [ctypes.c_uint32]
        lib.seccomp_release.argtypes = [ctypes.c_void_p]
        lib.seccomp_arch_add.argtypes = [ctypes.c_void_p, ctypes.c_uint32]
        lib.seccomp_arch_resolve_name.restype = ctypes.c_uint32
        lib.seccomp_arch_resolve_name.argtypes = [ctypes.c_char_p]
        lib.seccomp_syscall_resolve_name.argtypes = [ctypes.c_char_p]
        lib.seccomp_rule_add_array.argtypes = [ctypes.c_void_p, ctypes.c_uint32, ctypes.c_int, ctypes.c_uint,
                                               ctypes.POINTER(_ArgCmp)]
        lib.seccomp_attr_set.argtypes = [ctypes.c_void_p, ctypes.c_int, ctypes.c_uint32]
        lib.seccomp_export_bpf.argtypes = [ctypes.c_void_p, ctypes.c_int]
        _lib = lib
    return _lib


def available() -> bool:
    try:
        _load()
    except OSError:
        return False
    return True


def syscall_number(name: str) -> int | None:
    """The native syscall number of ``name``, or None when this architecture lacks it."""
    nr = int(_load().seccomp_syscall_resolve_name(name.encode()))
    return None if nr < 0 else nr


def arch_token(name: str) -> int | None:
    """libseccomp's token for an architecture name such as ``x86_64``."""
    token = int(_load().seccomp_arch_resolve_name(name.encode()))
    return token or None


def compile_bpf(default_action: int, architectures: Sequence[str], rules: Sequence[Rule],
                bad_arch_action: int | None = None) -> bytes:
    """Build the filter and export it as raw BPF; unknown syscall names are skipped (like runc)."""
    lib = _load()
    ctx = lib.seccomp_init(ctypes.c_uint32(default_action))
    if not ctx:
        raise OSError(22, f"seccomp_init: invalid default action {default_action:#x}")
    try:
        # The kernel, not libseccomp, decides about no_new_privs: the runtime sets it itself.
        lib.seccomp_attr_set(ctx, _FLTATR_CTL_NNP, 0)
        # Syscalls sorted into a binary tree rather than tested one after another: the kernel
        # loads the program faster (it walks it for every syscall number to build its allow
        # cache) and each filtered syscall takes fewer steps. Older libseccomp: a linear program.
        lib.seccomp_attr_set(ctx, _FLTATR_CTL_OPTIMIZE, _OPTIMIZE_BINARY_TREE)
        if bad_arch_action is not None:
            _rc(lib.seccomp_attr_set(ctx, _FLTATR_ACT_BADARCH, ctypes.c_uint32(bad_arch_action)),
                "seccomp_attr_set badarch")
        for arch in architectures:
            token = arch_token(arch)
            if token is None:
                raise OSError(22, f"seccomp: unknown architecture {arch!r}")
            rc = int(lib.seccomp_arch_add(ctx, token))
            if rc < 0 and -rc != 17:  # EEXIST: the native arch is always present
                raise OSError(-rc, f"seccomp_arch_add {arch}: {os.strerror(-rc)}")
        for rule in rules:
            if rule.action == default_action:
                continue  # libseccomp refuses rules equal to the default action
            nr = int(lib.seccomp_syscall_resolve_name(rule.syscall.encode()))
            if nr < 0:
                continue
            for group in _split_conditions(rule.conditions):
                arr = (_ArgCmp * max(1, len(group)))()
                for i, cond in enumerate(group):
                    arr[i] = _ArgCmp(cond.arg, cond.op, cond.value, cond.value_two)
                rc = int(lib.seccomp_rule_add_array(ctx, ctypes.c_uint32(rule.action), nr,
                                                    ctypes.c_uint(len(group)), arr))
                if rc < 0:
                    raise OSError(-rc, f"seccomp rule for {rule.syscall}: {os.strerror(-rc)}")
        fd = os.memfd_create("seccomp-bpf", os.MFD_CLOEXEC)
        try:
            _rc(lib.seccomp_export_bpf(ctx, fd), "seccomp_export_bpf")
            os.lseek(fd, 0, os.SEEK_SET)
            chunks = []
            while chunk := os.read(fd, 65536):
                chunks.append(chunk)
            return b"".join(chunks)
        finally:
            os.close(fd)
    finally:
        lib.seccomp_release(ctx)


def _split_conditions(conditions: tuple[ArgCondition, ...]) -> list[tuple[ArgCondition, ...]]:
    """libseccomp allows one comparison per argument in a rule; repeated ones become separate rules (OR)."""
    if len({c.arg for c in conditions}) == len(conditions):
        return [conditions]
    return [(c,) for c in conditions]


def _rc(rc: int, what: str) -> None:
    if rc < 0:
        raise OSError(-rc, f"{what}: {os.strerror(-rc)}")


__all__ = [
    "ACT_ALLOW", "ACT_ERRNO_BASE", "ACT_KILL_PROCESS", "ACT_KILL_THREAD", "ACT_LOG", "ACT_NOTIFY",
    "ACT_TRACE_BASE", "ACT_TRAP", "CMP_EQ", "CMP_GE", "CMP_GT", "CMP_LE", "CMP_LT", "CMP_MASKED_EQ",
    "CMP_NE", "PROGRAM_LAYOUT", "ArgCondition", "Rule", "arch_token", "available", "compile_bpf", "syscall_number",
]
