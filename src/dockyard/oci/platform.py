"""Platforms (``os/architecture[/variant]``) with containerd's parsing, normalising and matching."""

from __future__ import annotations

import os as _os
import re
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from dockyard.errors import InvalidArgument

_OS_RE = re.compile(r"^([A-Za-z0-9_-]+)(?:\(([A-Za-z0-9_.-]*)\))?$")
_SPECIFIER_RE = re.compile(r"^[A-Za-z0-9_-]+$")
_VARIANT_NUM = re.compile(r"^v(\d+)(?:\.(\d+))?$")

_KNOWN_OS = frozenset({
    "aix", "android", "darwin", "dragonfly", "freebsd", "hurd", "illumos", "ios", "js",
    "linux", "nacl", "netbsd", "openbsd", "plan9", "solaris", "windows", "zos",
})
_KNOWN_ARCH = frozenset({
    "386", "amd64", "amd64p32", "arm", "armbe", "arm64", "arm64be", "ppc64", "ppc64le",
    "loong64", "mips", "mipsle", "mips64", "mips64le", "mips64p32", "mips64p32le", "ppc",
    "riscv", "riscv64", "s390", "s390x", "sparc", "sparc64", "wasm",
})


def normalize_os(os: str) -> str:
    os = os.lower()
    return "darwin" if os == "macos" else os


def normalize_arch(arch: str, variant: str) -> tuple[str, str]:
    """containerd's normalizeArch: canonical architecture and variant names."""
    arch, variant = arch.lower(), variant.lower()
    if arch == "i386":
        return "386", ""
    if arch in ("x86_64", "x86-64", "amd64"):
        return "amd64", "" if variant == "v1" else variant
    if arch in ("aarch64", "arm64"):
        if variant in ("8", "v8", "v8.0"):
            variant = ""
        elif variant in ("9", "9.0", "v9.0"):
            variant = "v9"
        return "arm64", variant
    if arch == "armhf":
        return "arm", "v7"
    if arch == "armel":
        return "arm", "v6"
    if arch == "arm":
        if variant in ("", "7"):
            variant = "v7"
        elif variant in ("5", "6", "8"):
            variant = "v" + variant
        return "arm", variant
    return arch, variant


def _invalid(msg: str) -> InvalidArgument:
    return InvalidArgument(f"{msg}: invalid argument")


@dataclass(frozen=True, slots=True)
class Platform:
    """An OCI platform: what an image or a manifest entry runs on."""

    os: str
    architecture: str
    variant: str | None = None
    os_version: str | None = None
    os_features: tuple[str, ...] = ()

    @classmethod
    def parse(cls, specifier: str) -> Platform:
        """containerd's platforms.Parse: ``linux``, ``arm64``, ``linux/arm/v7``, ``windows(10.0)/amd64``."""
        if "*" in specifier:
            raise _invalid(f'"{specifier}": wildcards not yet supported')
        parts = specifier.split("/", 3)
        m = _OS_RE.fullmatch(parts[0])
        if m is None:
            raise _invalid(
                f'"{parts[0]}" is an invalid OS component of "{specifier}": OSAndVersion specifier '
                f'component must match "{_OS_RE.pattern}"')
        os_name, os_version = normalize_os(m.group(1)), m.group(2) or None
        for part in parts[1:]:
            if not _SPECIFIER_RE.fullmatch(part):
                raise _invalid(
                    f'"{part}" is an invalid component of "{specifier}": platform specifier '
                    f'component must match "{_SPECIFIER_RE.pattern}"')
        if len(parts) == 1:
            if os_name in _KNOWN_OS:
                host = cls.host()
                return cls(os_name, host.architecture, host.variant, os_version)
            arch, variant = normalize_arch(parts[0], "")
            if arch == "arm" and variant == "v7":
                variant = ""
            if arch in _KNOWN_ARCH:
                return cls(cls.host().os, arch, variant or None)
        elif len(parts) == 2:
            arch, variant = normalize_arch(parts[1], "")
            if arch == "arm" and variant == "v7":
                variant = ""
            return cls(os_name, arch, variant or None, os_version)
        elif len(parts) == 3:
            arch, variant = normalize_arch(parts[1], parts[2])
            if arch == "arm64" and variant == "":
                variant = "v8"
            return cls(os_name, arch, variant or None, os_version)
        raise _invalid(f'"{specifier}": unknown operating system or architecture')

    @classmethod
    def host(cls) -> Platform:
        """The platform this process runs on (os and CPU architecture)."""
        os_name = "linux" if sys.platform.startswith("linux") else normalize_os(sys.platform)
        arch, variant = normalize_arch(_os.uname().machine, "")
        if arch == "arm" and variant == "v7":
            variant = ""
        return cls(os_name, arch, variant or None)

    def normalized(self) -> Platform:
        """containerd's Normalize: canonical names (arm64/v8 → arm64, arm → arm/v7)."""
        arch, variant = normalize_arch(self.architecture, self.variant or "")
        return Platform(normalize_os(self.os), arch, variant or None, self.os_version, self.os_features)

    def match_score(self, candidate: Platform) -> int:
        """How well ``candidate`` serves a request for ``self``: 0 = not at all, higher = better.

        The same os and architecture are required. An equal variant is best; a lower variant of
        the same family (arm/v6 for arm/v7, amd64/v2 for amd64/v3) still runs, the closer the
        better; when either side names no variant, anything of that architecture will do.
        """
        want, have = self.normalized(), candidate.normalized()
        if want.os != have.os or want.architecture != have.architecture:
            return 0
        if want.variant == have.variant:
            return 1000
        if want.variant is None or have.variant is None:
            return 1
        w, h = _variant_number(want.variant), _variant_number(have.variant)
        if w is None or h is None or h > w:
            return 0
        return 500 - (w[0] - h[0]) * 10 - max(0, w[1] - h[1])

    def matches(self, other: Platform) -> bool:
        """Whether an image built for ``other`` runs on ``self`` (see :meth:`match_score`)."""
        return self.match_score(other) > 0

    def __str__(self) -> str:
        return "/".join(p for p in (self.os, self.architecture, self.variant or "") if p)

    def to_json_obj(self) -> dict[str, Any]:
        obj: dict[str, Any] = {"architecture": self.architecture, "os": self.os}
        if self.os_version:
            obj["os.version"] = self.os_version
        if self.os_features:
            obj["os.features"] = list(self.os_features)
        if self.variant:
            obj["variant"] = self.variant
        return obj

    @classmethod
    def from_json_obj(cls, obj: object) -> Platform:
        if not isinstance(obj, Mapping):
            raise InvalidArgument("invalid platform: expected an object")
        os_name, arch = obj.get("os"), obj.get("architecture")
        if not isinstance(os_name, str) or not isinstance(arch, str):
            raise InvalidArgument("invalid platform: os and architecture must be strings")
        variant, os_version = obj.get("variant"), obj.get("os.version")
        features = obj.get("os.features") or []
        if variant is not None and not isinstance(variant, str):
            raise InvalidArgument("invalid platform: variant must be a string")
        if os_version is not None and not isinstance(os_version, str):
            raise InvalidArgument("invalid platform: os.version must be a string")
        if not isinstance(features, list) or not all(isinstance(f, str) for f in features):
            raise InvalidArgument("invalid platform: os.features must be a list of strings")
        return cls(os_name, arch, variant or None, os_version or None, tuple(features))


def _variant_number(variant: str) -> tuple[int, int] | None:
    m = _VARIANT_NUM.match(variant)
    if m is None:
        return None
    return int(m.group(1)), int(m.group(2) or 0)


__all__ = ["Platform", "normalize_arch", "normalize_os"]
