from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from dockyard.engine.spec.default_profile import DEFAULT_PROFILE
from dockyard.engine.spec.defaults import ALL_CAPS, DEFAULT_CAPS
from dockyard.engine.spec.seccomp import default_profile, load_profile, native_arch, parse_kernel, to_oci
from dockyard.errors import InvalidArgument

SHARED = Path("/work/shared/specs/seccomp-default.json")


def _rules_for(spec: dict[str, Any], name: str) -> list[dict[str, Any]]:
    return [r for r in spec["syscalls"] if name in r["names"]]


def _default(caps: tuple[str, ...] | list[str] = DEFAULT_CAPS, arch: str = "amd64",
             kernel: tuple[int, int] | None = (6, 1)) -> dict[str, Any]:
    out = to_oci(default_profile(), arch=arch, caps=caps, kernel=kernel)
    assert out is not None
    return out


@pytest.mark.skipif(not SHARED.exists(), reason="shared seccomp profile not present")
def test_embedded_profile_equals_the_shared_json() -> None:
    assert json.loads(SHARED.read_text()) == DEFAULT_PROFILE


def test_defaults_and_x86_64_arch_mapping() -> None:
    spec = _default()
    assert spec["defaultAction"] == "SCMP_ACT_ERRNO" and spec["defaultErrnoRet"] == 1
    assert spec["architectures"] == ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"]
    assert _default(arch="arm64")["architectures"] == ["SCMP_ARCH_AARCH64", "SCMP_ARCH_ARM"]
    assert _default(arch="riscv64")["architectures"] == ["SCMP_ARCH_RISCV64"]
    assert native_arch("x86_64") == "amd64" and native_arch("aarch64") == "arm64"


def test_arch_gated_rules() -> None:
    amd = _default()
    assert _rules_for(amd, "arch_prctl") and _rules_for(amd, "modify_ldt")
    assert not _rules_for(amd, "s390_runtime_instr") and not _rules_for(amd, "cacheflush")
    arm = _default(arch="arm64")
    assert _rules_for(arm, "cacheflush") and not _rules_for(arm, "arch_prctl")


def test_ptrace_needs_kernel_4_8_and_process_vm_also_cap_sys_ptrace() -> None:
    assert _rules_for(_default(), "ptrace")
    assert not _rules_for(_default(kernel=(4, 4)), "ptrace")
    # process_vm_readv: allowed on 4.8+, or with CAP_SYS_PTRACE on older kernels.
    old = _default(kernel=(4, 4))
    assert not _rules_for(old, "process_vm_readv")
    assert _rules_for(_default(caps=[*DEFAULT_CAPS, "CAP_SYS_PTRACE"], kernel=(4, 4)), "process_vm_readv")
    assert not _rules_for(_default(), "kcmp")
    assert _rules_for(_default(caps=[*DEFAULT_CAPS, "CAP_SYS_PTRACE"]), "kcmp")


def test_clone_argument_rule_and_clone3_enosys_without_sys_admin() -> None:
    spec = _default()
    clone = _rules_for(spec, "clone")
    assert clone == [{"names": ["clone"], "action": "SCMP_ACT_ALLOW",
                      "args": [{"index": 0, "value": 0x7E020000, "op": "SCMP_CMP_MASKED_EQ"}]}]
    assert _rules_for(spec, "clone3") == [{"names": ["clone3"], "action": "SCMP_ACT_ERRNO", "errnoRet": 38}]


def test_sys_admin_allows_clone_unconditionally_and_mount() -> None:
    spec = _default(caps=[*DEFAULT_CAPS, "CAP_SYS_ADMIN"])
    clone = _rules_for(spec, "clone")
    assert len(clone) == 1 and "args" not in clone[0] and clone[0]["action"] == "SCMP_ACT_ALLOW"
    clone3 = _rules_for(spec, "clone3")
    assert all(r["action"] == "SCMP_ACT_ALLOW" for r in clone3)
    assert _rules_for(spec, "mount") and _rules_for(spec, "unshare")
    assert not _rules_for(_default(), "mount")


def test_denied_syscalls_fall_to_the_default_errno() -> None:
    """keyctl, kexec_load, pivot_root… have no rule at all: they get defaultAction/EPERM."""
    spec = _default(caps=ALL_CAPS)
    named = {n for r in spec["syscalls"] for n in r["names"]}
    for name in ("keyctl", "add_key", "request_key", "kexec_load", "userfaultfd", "pivot_root", "swapon",
                 "io_uring_setup", "nfsservctl"):
        assert name not in named


def test_socket_and_personality_argument_rules() -> None:
    spec = _default()
    socket = _rules_for(spec, "socket")
    assert [(r["args"][0]["op"], r["args"][0]["value"]) for r in socket] == [
        ("SCMP_CMP_LT", 38), ("SCMP_CMP_EQ", 39), ("SCMP_CMP_GT", 40)]
    assert sorted(r["args"][0]["value"] for r in _rules_for(spec, "personality")) == [
        0, 8, 0x20000, 0x20008, 0xFFFFFFFF]


def test_includes_all_caps_required() -> None:
    profile = load_profile(json.dumps({"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [
        {"names": ["reboot"], "action": "SCMP_ACT_ALLOW", "includes": {"caps": ["CAP_SYS_BOOT", "CAP_SYS_ADMIN"]}},
        {"name": "sync", "action": "SCMP_ACT_ALLOW", "excludes": {"arches": ["amd64"]}},
        {"names": ["getpid"], "action": "SCMP_ACT_LOG", "excludes": {"minKernel": "5.0"}},
    ]}))
    assert to_oci(profile, arch="amd64", caps=["CAP_SYS_BOOT"]) == {"defaultAction": "SCMP_ACT_ERRNO"}
    both = to_oci(profile, arch="arm64", caps=["CAP_SYS_BOOT", "CAP_SYS_ADMIN"], kernel=(4, 19))
    assert both is not None
    assert [r["names"] for r in both["syscalls"]] == [["reboot"], ["sync"], ["getpid"]]
    assert "architectures" not in both


def test_empty_profile_disables_seccomp_and_custom_architectures_pass_through() -> None:
    assert to_oci(load_profile("{}"), arch="amd64", caps=[]) is None
    p = load_profile('{"defaultAction": "SCMP_ACT_ALLOW", "architectures": ["SCMP_ARCH_X86_64"], '
                     '"syscalls": [{"names": ["kill"], "action": "SCMP_ACT_ERRNO", "errnoRet": 13}]}')
    assert to_oci(p, arch="amd64", caps=[]) == {
        "defaultAction": "SCMP_ACT_ALLOW", "architectures": ["SCMP_ARCH_X86_64"],
        "syscalls": [{"names": ["kill"], "action": "SCMP_ACT_ERRNO", "errnoRet": 13}]}


@pytest.mark.parametrize(("text", "message"), [
    ("not json", "Decoding seccomp profile failed"),
    ('{"defaultAction": "SCMP_ACT_NOPE"}', "invalid action"),
    ('{"architectures": ["SCMP_ARCH_X86_64"], "archMap": [{"architecture": "SCMP_ARCH_X86_64"}]}',
     "'architectures' and 'archMap' were specified"),
    ('{"syscalls": [{"name": "a", "names": ["b"], "action": "SCMP_ACT_ALLOW"}]}',
     "'name' and 'names' were specified"),
    ('{"syscalls": [{"names": ["a"], "action": "SCMP_ACT_ALLOW", "args": [{"index": 0, "op": "EQ"}]}]}',
     "invalid operator"),
    ('{"syscalls": [{"names": ["a"], "action": "SCMP_ACT_ALLOW", "includes": {"minKernel": "x"}}]}',
     "invalid kernel version"),
])
def test_bad_profiles(text: str, message: str) -> None:
    with pytest.raises(InvalidArgument, match=message):
        load_profile(text)


def test_parse_kernel() -> None:
    assert parse_kernel("6.1.0-13-amd64") == (6, 1)
    assert parse_kernel("4.8") == (4, 8)
