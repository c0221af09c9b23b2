"""Turn the OCI ``linux.seccomp`` object into a BPF program (compiled in the parent)."""

from __future__ import annotations

import errno
import os

from dockyard.errors import InvalidArgument, NotImplemented_
from dockyard.runtime.spec import Seccomp
from dockyard.sys import seccomp as scmp

_OPS = {
    "SCMP_CMP_NE": scmp.CMP_NE, "SCMP_CMP_LT": scmp.CMP_LT, "SCMP_CMP_LE": scmp.CMP_LE,
    "SCMP_CMP_EQ": scmp.CMP_EQ, "SCMP_CMP_GE": scmp.CMP_GE, "SCMP_CMP_GT": scmp.CMP_GT,
    "SCMP_CMP_MASKED_EQ": scmp.CMP_MASKED_EQ,
}


def action_value(action: str, errno_ret: int | None) -> int:
    """The libseccomp action word for an OCI action name."""
    if action in ("SCMP_ACT_KILL", "SCMP_ACT_KILL_THREAD"):
        return scmp.ACT_KILL_THREAD
    if action == "SCMP_ACT_KILL_PROCESS":
        return scmp.ACT_KILL_PROCESS
    if action == "SCMP_ACT_TRAP":
        return scmp.ACT_TRAP
    if action == "SCMP_ACT_ERRNO":
        return scmp.ACT_ERRNO_BASE | ((errno.EPERM if errno_ret is None else errno_ret) & 0xFFFF)
    if action == "SCMP_ACT_TRACE":
        return scmp.ACT_TRACE_BASE | ((errno.EPERM if errno_ret is None else errno_ret) & 0xFFFF)
    if action == "SCMP_ACT_ALLOW":
        return scmp.ACT_ALLOW
    if action == "SCMP_ACT_LOG":
        return scmp.ACT_LOG
    if action == "SCMP_ACT_NOTIFY":
        raise NotImplemented_("seccomp: SCMP_ACT_NOTIFY needs a listener, which is not supported")
    raise InvalidArgument(f"seccomp: unknown action {action!r}")


def arch_name(oci_arch: str) -> str:
    """``SCMP_ARCH_X86_64`` → libseccomp's ``x86_64``."""
    if not oci_arch.startswith("SCMP_ARCH_"):
        raise InvalidArgument(f"seccomp: unknown architecture {oci_arch!r}")
    return oci_arch.removeprefix("SCMP_ARCH_").lower()


def rules(config: Seccomp) -> list[scmp.Rule]:
    out: list[scmp.Rule] = []
    for entry in config.syscalls:
        action = action_value(entry.action, entry.errno_ret)
        conds = tuple(scmp.ArgCondition(a.index, _OPS[a.op], a.value, a.value_two) for a in entry.args)
        out.extend(scmp.Rule(name, action, conds) for name in entry.names)
    return out


CACHE_DIR = ".seccomp-cache"  # under the runtime root: not a container (no state.json in it)


def compile_filter_cached(config: Seccomp, root: str) -> bytes:
    """``compile_filter`` memoised on disk: every container and exec of one profile (Docker's
    default, mostly) compiles to the same program, and compiling costs more than the rest of an
    exec. A file holds the whole key (the profile and the kernel, whose supported actions
    libseccomp asks for) and is used only when it matches exactly: the CRC in its name just finds
    it (no hashlib: importing it costs as much as compiling)."""
    import struct
    import zlib

    key = f"{scmp.PROGRAM_LAYOUT}\0{os.uname().release}\0{config!r}".encode()
    directory = os.path.join(root, CACHE_DIR)
    path = os.path.join(directory, f"{zlib.crc32(key):08x}-{len(key)}.bpf")
    try:
        with open(path, "rb") as f:
            data = f.read()
        (size,) = struct.unpack_from("<Q", data)
        bpf = data[8 + size:]
        if data[8:8 + size] == key and bpf and len(bpf) % 8 == 0:  # whole sock_filter instructions
            return bpf
    except (OSError, struct.error):
        pass
    bpf = compile_filter(config)
    try:
        os.makedirs(directory, mode=0o700, exist_ok=True)
        tmp = f"{path}.{os.getpid()}"
        with open(tmp, "wb") as f:
            f.write(struct.pack("<Q", len(key)) + key + bpf)
        os.replace(tmp, path)
    except OSError:
        pass  # a cache, not a requirement
    return bpf


def compile_filter(config: Seccomp) -> bytes:
    default = action_value(config.default_action, config.default_errno_ret)
    try:
        return scmp.compile_bpf(default, [arch_name(a) for a in config.architectures], rules(config))
    except OSError as exc:
        raise InvalidArgument(f"seccomp: {exc.strerror or exc}") from exc
