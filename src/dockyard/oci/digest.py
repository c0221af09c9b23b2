"""Content digests (``algorithm:hex``) as the OCI image spec defines them."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

from dockyard.errors import FailedPrecondition, InvalidArgument

_ALGORITHMS = {"sha256": 64, "sha384": 96, "sha512": 128}
_HEX = re.compile(r"^[a-f0-9]+$")


@dataclass(frozen=True, slots=True, order=True)
class Digest:
    """A validated content digest, e.g. ``sha256:e3b0…``."""

    algorithm: str
    hex: str

    @classmethod
    def parse(cls, text: str) -> Digest:
        alg, sep, hexpart = text.partition(":")
        if not sep or alg not in _ALGORITHMS:
            raise InvalidArgument(f"invalid digest {text!r}: unsupported digest algorithm")
        if len(hexpart) != _ALGORITHMS[alg] or not _HEX.match(hexpart):
            raise InvalidArgument(f"invalid digest {text!r}: invalid checksum digest format")
        return cls(alg, hexpart)

    @classmethod
    def from_bytes(cls, data: bytes, algorithm: str = "sha256") -> Digest:
        return cls(algorithm, hashlib.new(algorithm, data).hexdigest())

    @staticmethod
    def is_digest(text: str) -> bool:
        try:
            Digest.parse(text)
        except InvalidArgument:
            return False
        return True

    def short(self) -> str:
        """The 12-character ID Docker shows in tables."""
        return self.hex[:12]

    def __str__(self) -> str:
        return f"{self.algorithm}:{self.hex}"


class Digester:
    """Hashes a stream incrementally and counts its bytes."""

    __slots__ = ("_hash", "algorithm", "size")

    def __init__(self, algorithm: str = "sha256") -> None:
        self.algorithm = algorithm
        self._hash = hashlib.new(algorithm)
        self.size = 0

    def update(self, data: bytes | bytearray | memoryview) -> None:
        self._hash.update(data)
        self.size += len(data)

    def digest(self) -> Digest:
        return Digest(self.algorithm, self._hash.hexdigest())

    def copy(self) -> Digester:
        other = Digester.__new__(Digester)
        other.algorithm = self.algorithm
        other._hash = self._hash.copy()
        other.size = self.size
        return other


class DigestMismatch(FailedPrecondition):
    """Content did not hash to the digest (or size) it was announced with."""

    def __init__(self, expected: Digest, actual: Digest, *, expected_size: int | None = None,
                 actual_size: int | None = None) -> None:
        if expected_size is not None and actual_size is not None and expected_size != actual_size:
            msg = f"size mismatch for {expected}: expected {expected_size} bytes, got {actual_size}"
        else:
            msg = f"digest mismatch: expected {expected}, got {actual}"
        super().__init__(msg)
        self.expected = expected
        self.actual = actual


__all__ = ["Digest", "DigestMismatch", "Digester"]
