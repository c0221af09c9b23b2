from __future__ import annotations

import errno
import json
import os
from pathlib import Path

import pytest

from dockyard.errors import InvalidArgument
from dockyard.runtime.seccomp import action_value, arch_name, compile_filter, rules
from dockyard.runtime.spec import Seccomp, SeccompArg, SeccompSyscall
from dockyard.sys import seccomp as scmp

pytestmark = pytest.mark.skipif(not scmp.available(), reason="libseccomp not installed")


def test_actions_and_arches() -> None:
    assert action_value("SCMP_ACT_ERRNO", None) == scmp.ACT_ERRNO_BASE | errno.EPERM
    assert action_value("SCMP_ACT_ERRNO", 38) == scmp.ACT_ERRNO_BASE | 38
    assert action_value("SCMP_ACT_KILL", None) == scmp.ACT_KILL_THREAD
    assert arch_name("SCMP_ARCH_X86_64") == "x86_64"
    with pytest.raises(InvalidArgument):
        arch_name("x86")


def test_compile_with_arguments_and_unknown_names() -> None:
    cfg = Seccomp(default_action="SCMP_ACT_ALLOW", architectures=("SCMP_ARCH_X86_64", "SCMP_ARCH_X86"),
                  syscalls=(SeccompSyscall(names=("mkdir", "no_such_syscall"), action="SCMP_ACT_ERRNO", errno_ret=1),
                            SeccompSyscall(names=("personality",), action="SCMP_ACT_ERRNO",
                                           args=(SeccompArg(0, 0, "SCMP_CMP_EQ"), SeccompArg(0, 8, "SCMP_CMP_EQ")))))
    assert len(rules(cfg)) == 3
    bpf = compile_filter(cfg)
    assert bpf and len(bpf) % 8 == 0


def _docker_profile_as_oci(raw: dict[str, object]) -> Seccomp:
    """A minimal engine-side conversion: unconditional rules and arch map for the native arch only."""
    syscalls = []
    for entry in raw["syscalls"]:  # type: ignore[union-attr]
        assert isinstance(entry, dict)
        if entry.get("includes") or entry.get("excludes"):
            continue
        args = tuple(SeccompArg(a["index"], a["value"], a["op"], a.get("valueTwo", 0)) for a in entry.get("args") or [])
        syscalls.append(SeccompSyscall(names=tuple(entry["names"]), action=entry["action"],
                                       errno_ret=entry.get("errnoRet"), args=args))
    return Seccomp(default_action=str(raw["defaultAction"]), default_errno_ret=raw.get("defaultErrnoRet"),  # type: ignore[arg-type]
                   architectures=("SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"), syscalls=tuple(syscalls))


def test_docker_default_profile_compiles() -> None:
    path = Path("/work/shared/specs/seccomp-default.json")
    if not path.exists():
        pytest.skip("no Docker profile here")
    bpf = compile_filter(_docker_profile_as_oci(json.loads(path.read_text())))
    assert len(bpf) > 800


def test_compiled_filter_blocks_in_a_child(tmp_path: Path) -> None:
    bpf = compile_filter(Seccomp(default_action="SCMP_ACT_ALLOW",
                                 syscalls=(SeccompSyscall(names=("mkdir", "mkdirat"), action="SCMP_ACT_ERRNO",
                                                          errno_ret=42),)))
    from dockyard.sys import linux

    pid = os.fork()
    if pid == 0:
        try:
            linux.set_no_new_privs()
            linux.seccomp_load_bpf(bpf)
            try:
                os.mkdir(tmp_path / "blocked")
                os._exit(1)
            except OSError as exc:
                os._exit(0 if exc.errno == 42 else 2)
        except BaseException:
            os._exit(3)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0


def test_compiled_programs_are_cached_per_profile(tmp_path: Path) -> None:
    from dockyard.runtime.seccomp import CACHE_DIR, compile_filter_cached

    deny_mkdir = Seccomp(default_action="SCMP_ACT_ALLOW", architectures=("SCMP_ARCH_X86_64",),
                         syscalls=(SeccompSyscall(names=("mkdir",), action="SCMP_ACT_ERRNO"),))
    deny_rmdir = Seccomp(default_action="SCMP_ACT_ALLOW", architectures=("SCMP_ARCH_X86_64",),
                         syscalls=(SeccompSyscall(names=("rmdir",), action="SCMP_ACT_ERRNO"),))
    first = compile_filter_cached(deny_mkdir, str(tmp_path))
    assert first == compile_filter(deny_mkdir)
    [cached] = (tmp_path / CACHE_DIR).iterdir()
    assert compile_filter_cached(deny_mkdir, str(tmp_path)) == first
    assert compile_filter_cached(deny_rmdir, str(tmp_path)) == compile_filter(deny_rmdir) != first
    # A file whose stored key is not the profile's (a CRC collision, or damage) is never used.
    data = bytearray(cached.read_bytes())
    data[20] ^= 0xFF
    cached.write_bytes(bytes(data))
    assert compile_filter_cached(deny_mkdir, str(tmp_path)) == first
    cached.write_bytes(b"\x01")
    assert compile_filter_cached(deny_mkdir, str(tmp_path)) == first
