"""Docker seccomp profiles (moby's format) and their conversion to the OCI ``linux.seccomp`` object.

A profile carries conditions the OCI form does not: ``includes``/``excludes`` on capabilities,
architectures and a minimum kernel, and an ``archMap`` of native → sub-architectures. The
conversion resolves them for one container the way moby does: a rule is dropped when an
excluded architecture/capability matches or the kernel is at least ``excludes.minKernel``; it is
kept only when the architecture is included, *every* included capability is in the bounding set
and the kernel is at least ``includes.minKernel``.
"""

from __future__ import annotations

import json
import platform
import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any

from dockyard.errors import InvalidArgument

ACTIONS = frozenset({
    "SCMP_ACT_KILL", "SCMP_ACT_KILL_PROCESS", "SCMP_ACT_KILL_THREAD", "SCMP_ACT_TRAP", "SCMP_ACT_ERRNO",
    "SCMP_ACT_TRACE", "SCMP_ACT_ALLOW", "SCMP_ACT_LOG", "SCMP_ACT_NOTIFY",
})
OPERATORS = frozenset({
    "SCMP_CMP_NE", "SCMP_CMP_LT", "SCMP_CMP_LE", "SCMP_CMP_EQ", "SCMP_CMP_GE", "SCMP_CMP_GT",
    "SCMP_CMP_MASKED_EQ",
})

# Go/libseccomp native arch names (what ``includes.arches`` uses) → the profile's archMap key.
NATIVE_TO_SECCOMP = {
    "x86": "SCMP_ARCH_X86", "amd64": "SCMP_ARCH_X86_64", "arm": "SCMP_ARCH_ARM", "arm64": "SCMP_ARCH_AARCH64",
    "mips64": "SCMP_ARCH_MIPS64", "mips64n32": "SCMP_ARCH_MIPS64N32", "mipsel64": "SCMP_ARCH_MIPSEL64",
    "mipsel64n32": "SCMP_ARCH_MIPSEL64N32", "mipsle": "SCMP_ARCH_MIPSEL", "ppc": "SCMP_ARCH_PPC",
    "ppc64": "SCMP_ARCH_PPC64", "ppc64le": "SCMP_ARCH_PPC64LE", "s390": "SCMP_ARCH_S390",
    "s390x": "SCMP_ARCH_S390X", "riscv64": "SCMP_ARCH_RISCV64", "loong64": "SCMP_ARCH_LOONGARCH64",
}
# uname -m → native name.
_MACHINE_TO_NATIVE = {
    "x86_64": "amd64", "amd64": "amd64", "i386": "x86", "i686": "x86", "aarch64": "arm64", "arm64": "arm64",
    "armv7l": "arm", "armv6l": "arm", "ppc64le": "ppc64le", "s390x": "s390x", "riscv64": "riscv64",
    "loongarch64": "loong64", "mips64": "mips64",
}

KernelVersion = tuple[int, int]


def native_arch(machine: str | None = None) -> str:
    """The native architecture name of ``machine`` (default: this host), e.g. x86_64 → amd64."""
    m = machine if machine is not None else platform.machine()
    return _MACHINE_TO_NATIVE.get(m, m)


@dataclass(frozen=True, slots=True)
class Filter:
    """An ``includes``/``excludes`` block."""

    caps: tuple[str, ...] = ()
    arches: tuple[str, ...] = ()
    min_kernel: KernelVersion | None = None


@dataclass(frozen=True, slots=True)
class Arg:
    index: int
    value: int
    op: str
    value_two: int = 0


@dataclass(frozen=True, slots=True)
class Rule:
    names: tuple[str, ...]
    action: str
    errno_ret: int | None = None
    args: tuple[Arg, ...] = ()
    includes: Filter = Filter()
    excludes: Filter = Filter()
    comment: str = ""


@dataclass(frozen=True, slots=True)
class ArchMap:
    architecture: str
    sub_architectures: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Profile:
    """A Docker seccomp profile. An empty ``default_action`` with no rules means "no seccomp"."""

    default_action: str = ""
    default_errno_ret: int | None = None
    architectures: tuple[str, ...] = ()
    arch_map: tuple[ArchMap, ...] = ()
    syscalls: tuple[Rule, ...] = ()
    flags: tuple[str, ...] = ()
    listener_path: str = ""
    listener_metadata: str = ""


def _bad(what: str) -> InvalidArgument:
    return InvalidArgument(f"Decoding seccomp profile failed: {what}")


def _strs(obj: Mapping[str, Any], key: str) -> tuple[str, ...]:
    value = obj.get(key)
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise _bad(f"{key} must be a list of strings")
    return tuple(value)


def _int(obj: Mapping[str, Any], key: str, *, optional: bool = False) -> int | None:
    value = obj.get(key)
    if value is None:
        if optional:
            return None
        return 0
    if isinstance(value, bool) or not isinstance(value, int):
        raise _bad(f"{key} must be an integer")
    return value


def _str(obj: Mapping[str, Any], key: str) -> str:
    value = obj.get(key, "")
    if value is None:
        return ""
    if not isinstance(value, str):
        raise _bad(f"{key} must be a string")
    return value


_KERNEL_RE = re.compile(r"^(\d+)\.(\d+)")


def parse_kernel(text: str) -> KernelVersion:
    """``"4.8"`` or ``"6.1.0-13-amd64"`` → (major, minor)."""
    m = _KERNEL_RE.match(text)
    if m is None:
        raise _bad(f"invalid kernel version {text!r}")
    return int(m.group(1)), int(m.group(2))


def _filter(obj: object, key: str) -> Filter:
    if obj is None:
        return Filter()
    if not isinstance(obj, Mapping):
        raise _bad(f"{key} must be an object")
    mk = obj.get("minKernel")
    if mk is not None and not isinstance(mk, str):
        raise _bad("minKernel must be a string")
    return Filter(_strs(obj, "caps"), _strs(obj, "arches"), parse_kernel(mk) if mk else None)


def _arg(obj: object) -> Arg:
    if not isinstance(obj, Mapping):
        raise _bad("args entries must be objects")
    op = _str(obj, "op")
    if op not in OPERATORS:
        raise _bad(f"invalid operator {op!r}")
    index, value, two = _int(obj, "index"), _int(obj, "value"), _int(obj, "valueTwo")
    assert index is not None and value is not None and two is not None
    return Arg(index, value, op, two)


def _action(text: str) -> str:
    if text not in ACTIONS:
        raise _bad(f"invalid action {text!r}")
    return text


def _rule(obj: object) -> Rule:
    if not isinstance(obj, Mapping):
        raise _bad("syscalls entries must be objects")
    name = _str(obj, "name")
    names = _strs(obj, "names")
    if name and names:
        raise InvalidArgument("'name' and 'names' were specified in the seccomp profile, use either 'name' or 'names'")
    args = obj.get("args") or []
    if not isinstance(args, list):
        raise _bad("args must be a list")
    return Rule(
        names=(name,) if name else names,
        action=_action(_str(obj, "action")),
        errno_ret=_int(obj, "errnoRet", optional=True),
        args=tuple(_arg(a) for a in args),
        includes=_filter(obj.get("includes"), "includes"),
        excludes=_filter(obj.get("excludes"), "excludes"),
        comment=_str(obj, "comment"),
    )


def parse_profile(obj: Mapping[str, Any]) -> Profile:
    """A profile from its JSON object (moby's format); InvalidArgument when malformed."""
    if not isinstance(obj, Mapping):
        raise _bad("profile must be an object")
    default_action = _str(obj, "defaultAction")
    if default_action:
        _action(default_action)
    arch_map_raw = obj.get("archMap") or []
    if not isinstance(arch_map_raw, list):
        raise _bad("archMap must be a list")
    arch_map = []
    for entry in arch_map_raw:
        if not isinstance(entry, Mapping):
            raise _bad("archMap entries must be objects")
        arch_map.append(ArchMap(_str(entry, "architecture"), _strs(entry, "subArchitectures")))
    architectures = _strs(obj, "architectures")
    if architectures and arch_map:
        raise InvalidArgument("'architectures' and 'archMap' were specified in the seccomp profile, "
                              "use either 'architectures' or 'archMap'")
    syscalls = obj.get("syscalls") or []
    if not isinstance(syscalls, list):
        raise _bad("syscalls must be a list")
    return Profile(
        default_action=default_action,
        default_errno_ret=_int(obj, "defaultErrnoRet", optional=True),
        architectures=architectures,
        arch_map=tuple(arch_map),
        syscalls=tuple(_rule(r) for r in syscalls),
        flags=_strs(obj, "flags"),
        listener_path=_str(obj, "listenerPath"),
        listener_metadata=_str(obj, "listenerMetadata"),
    )


def load_profile(text: str) -> Profile:
    """A profile from JSON text (what ``--security-opt seccomp=<file>`` sends)."""
    try:
        obj = json.loads(text)
    except ValueError as exc:
        raise _bad(str(exc)) from exc
    if not isinstance(obj, dict):
        raise _bad("profile must be a JSON object")
    return parse_profile(obj)


@cache
def default_profile() -> Profile:
    """Docker's default profile (moby/profiles ``seccomp/default.json``)."""
    from dockyard.engine.spec.default_profile import DEFAULT_PROFILE

    return parse_profile(DEFAULT_PROFILE)


def _applies(rule: Rule, arch: str, caps: Collection[str], kernel: KernelVersion | None) -> bool:
    ex, inc = rule.excludes, rule.includes
    if arch in ex.arches or any(c in caps for c in ex.caps):
        return False
    # An unknown kernel is taken to be recent: minimum-kernel gates are met.
    if ex.min_kernel is not None and (kernel is None or kernel >= ex.min_kernel):
        return False
    if inc.arches and arch not in inc.arches:
        return False
    if not all(c in caps for c in inc.caps):
        return False
    return not (inc.min_kernel is not None and kernel is not None and kernel < inc.min_kernel)


def to_oci(profile: Profile, *, arch: str, caps: Collection[str],
           kernel: KernelVersion | None = None) -> dict[str, Any] | None:
    """The OCI ``linux.seccomp`` object of ``profile`` for a container on native ``arch``
    (e.g. ``amd64``) whose bounding set is ``caps``; None when the profile disables seccomp."""
    if not profile.default_action and not profile.syscalls:
        return None
    out: dict[str, Any] = {"defaultAction": profile.default_action or "SCMP_ACT_ALLOW"}
    if profile.default_errno_ret is not None:
        out["defaultErrnoRet"] = profile.default_errno_ret
    arches = list(profile.architectures)
    wanted = NATIVE_TO_SECCOMP.get(arch)
    for entry in profile.arch_map:
        if entry.architecture == wanted:
            arches += [entry.architecture, *entry.sub_architectures]
            break
    if arches:
        out["architectures"] = arches
    if profile.flags:
        out["flags"] = list(profile.flags)
    if profile.listener_path:
        out["listenerPath"] = profile.listener_path
    if profile.listener_metadata:
        out["listenerMetadata"] = profile.listener_metadata
    syscalls = []
    for rule in profile.syscalls:
        if not rule.names or not _applies(rule, arch, caps, kernel):
            continue
        call: dict[str, Any] = {"names": list(rule.names), "action": rule.action}
        if rule.errno_ret is not None:
            call["errnoRet"] = rule.errno_ret
        if rule.args:
            call["args"] = [_arg_json(a) for a in rule.args]
        syscalls.append(call)
    if syscalls:
        out["syscalls"] = syscalls
    return out


def _arg_json(a: Arg) -> dict[str, Any]:
    obj: dict[str, Any] = {"index": a.index, "value": a.value}
    if a.value_two:
        obj["valueTwo"] = a.value_two
    obj["op"] = a.op
    return obj


__all__ = [
    "ACTIONS", "NATIVE_TO_SECCOMP", "OPERATORS", "Arg", "ArchMap", "Filter", "KernelVersion", "Profile", "Rule",
    "default_profile", "load_profile", "native_arch", "parse_kernel", "parse_profile", "to_oci",
]
