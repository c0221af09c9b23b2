"""Image references, parsed and normalised exactly as Docker does (distribution/reference v0.6).

``busybox`` → ``docker.io/library/busybox``; ``localhost:5000/a/b:t``; ``name:tag@sha256:…``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from dockyard.errors import InvalidArgument
from dockyard.oci.digest import Digest

DEFAULT_DOMAIN = "docker.io"
LEGACY_DEFAULT_DOMAIN = "index.docker.io"
OFFICIAL_REPO_PREFIX = "library/"
DEFAULT_TAG = "latest"
NAME_TOTAL_LENGTH_MAX = 255

# The grammar of regexp.go, piece by piece. Go's \w is ASCII-only, hence re.ASCII.
_ALPHANUMERIC = r"[a-z0-9]+"
_SEPARATOR = r"(?:[._]|__|[-]+)"
_DOMAIN_COMPONENT = r"(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])"
_IPV6 = r"\[(?:[a-fA-F0-9:]+)\]"
_DOMAIN_NAME = _DOMAIN_COMPONENT + r"(?:\." + _DOMAIN_COMPONENT + r")*"
_HOST = r"(?:" + _DOMAIN_NAME + "|" + _IPV6 + ")"
_DOMAIN_AND_PORT = _HOST + r"(?::[0-9]+)?"
_TAG = r"[\w][\w.-]{0,127}"
_DIGEST = r"[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*[:][0-9A-Fa-f]{32,}"
_PATH_COMPONENT = _ALPHANUMERIC + r"(?:" + _SEPARATOR + _ALPHANUMERIC + r")*"
_REMOTE_NAME = _PATH_COMPONENT + r"(?:/" + _PATH_COMPONENT + r")*"
_NAME = r"(?:" + _DOMAIN_AND_PORT + r"/)?" + _REMOTE_NAME

_REFERENCE_RE = re.compile(r"(" + _NAME + r")(?::(" + _TAG + r"))?(?:@(" + _DIGEST + r"))?", re.ASCII)
_ANCHORED_NAME_RE = re.compile(r"(?:(" + _DOMAIN_AND_PORT + r")/)?(" + _REMOTE_NAME + r")", re.ASCII)
_TAG_RE = re.compile(_TAG, re.ASCII)
_DIGEST_RE = re.compile(_DIGEST, re.ASCII)
_IDENTIFIER_RE = re.compile(r"[a-f0-9]{64}")
_HEX_LOWER = re.compile(r"[a-f0-9]+")
_DIGEST_SIZES = {"sha256": 64, "sha384": 96, "sha512": 128}


class InvalidReference(InvalidArgument):
    """A string that is not a valid image reference (Docker's wording in the message)."""


ERR_REFERENCE_INVALID_FORMAT = "invalid reference format"
ERR_TAG_INVALID_FORMAT = "invalid tag format"
ERR_NAME_CONTAINS_UPPERCASE = "repository name must be lowercase"
ERR_NAME_EMPTY = "repository name must have at least one component"
ERR_NAME_TOO_LONG = f"repository name must not be more than {NAME_TOTAL_LENGTH_MAX} characters"
ERR_NAME_NOT_CANONICAL = "repository name must be canonical"


@dataclass(frozen=True, slots=True)
class Reference:
    """A named image reference: ``domain/path[:tag][@digest]``."""

    domain: str
    path: str
    tag: str | None = None
    digest: Digest | None = None

    @property
    def name(self) -> str:
        """The full repository name, e.g. ``docker.io/library/busybox``."""
        return f"{self.domain}/{self.path}" if self.domain else self.path

    @property
    def familiar_name(self) -> str:
        """The short name Docker shows: ``busybox``, ``user/app``, ``localhost:5000/a/b``."""
        if self.domain != DEFAULT_DOMAIN:
            return self.name
        if self.path.startswith(OFFICIAL_REPO_PREFIX):
            rest = self.path[len(OFFICIAL_REPO_PREFIX):]
            if "/" not in rest:
                return rest
        return self.path

    def _suffix(self) -> str:
        s = f":{self.tag}" if self.tag else ""
        return s + (f"@{self.digest}" if self.digest is not None else "")

    def __str__(self) -> str:
        return self.name + self._suffix()

    def familiar_string(self) -> str:
        """``busybox:latest``, ``user/app@sha256:…``: what ``docker images`` prints."""
        return self.familiar_name + self._suffix()

    def is_name_only(self) -> bool:
        return self.tag is None and self.digest is None

    def with_tag(self, tag: str) -> Reference:
        """This name with ``tag`` (any digest is kept, as distribution's WithTag does)."""
        return Reference(self.domain, self.path, parse_tag(tag), self.digest)

    def with_digest(self, digest: Digest) -> Reference:
        return Reference(self.domain, self.path, self.tag, digest)

    def without_tag_and_digest(self) -> Reference:
        return Reference(self.domain, self.path)


def _err(msg: str) -> InvalidReference:
    return InvalidReference(msg)


def _parse_digest(text: str) -> Digest:
    """go-digest's Parse, with its error messages."""
    alg, _, encoded = text.partition(":")
    if not alg or not encoded:
        raise _err("invalid checksum digest format")
    size = _DIGEST_SIZES.get(alg)
    if size is None:
        if not _DIGEST_RE.fullmatch(text):
            raise _err("invalid checksum digest format")
        raise _err("unsupported digest algorithm")
    if len(encoded) != size:
        raise _err("invalid checksum digest length")
    if not _HEX_LOWER.fullmatch(encoded):
        raise _err("invalid checksum digest format")
    return Digest(alg, encoded)


def parse(text: str) -> Reference:
    """distribution's Parse: the string as written, no normalisation (``busybox`` has no domain)."""
    m = _REFERENCE_RE.fullmatch(text)
    if m is None:
        if text == "":
            raise _err(ERR_NAME_EMPTY)
        if _REFERENCE_RE.fullmatch(text.lower()) is not None:
            raise _err(ERR_NAME_CONTAINS_UPPERCASE)
        raise _err(ERR_REFERENCE_INVALID_FORMAT)
    name, tag, digest = m.group(1), m.group(2), m.group(3)
    if len(name) > NAME_TOTAL_LENGTH_MAX:
        raise _err(ERR_NAME_TOO_LONG)
    nm = _ANCHORED_NAME_RE.fullmatch(name)
    assert nm is not None  # the reference pattern embeds the name pattern
    return Reference(nm.group(1) or "", nm.group(2), tag or None,
                     _parse_digest(digest) if digest else None)


def split_docker_domain(name: str) -> tuple[str, str]:
    """Split ``name`` into domain and remainder, applying Docker Hub's defaults."""
    maybe_domain, sep, maybe_remainder = name.partition("/")
    if not sep:
        # A single element ("ubuntu", "ubuntu:latest") is always an official Hub image.
        return DEFAULT_DOMAIN, OFFICIAL_REPO_PREFIX + name
    if maybe_domain == "localhost":
        domain, remainder = maybe_domain, maybe_remainder
    elif maybe_domain == LEGACY_DEFAULT_DOMAIN:
        domain, remainder = DEFAULT_DOMAIN, maybe_remainder
    elif "." in maybe_domain or ":" in maybe_domain:
        domain, remainder = maybe_domain, maybe_remainder
    elif maybe_domain.lower() != maybe_domain:
        # Namespaces cannot be uppercase, so an uppercase first element must be a host.
        domain, remainder = maybe_domain, maybe_remainder
    else:
        domain, remainder = DEFAULT_DOMAIN, name
    if domain == DEFAULT_DOMAIN and "/" not in remainder:
        remainder = OFFICIAL_REPO_PREFIX + remainder
    return domain, remainder


def parse_normalized(text: str) -> Reference:
    """distribution's ParseNormalizedNamed: what ``docker pull TEXT`` understands."""
    if _IDENTIFIER_RE.fullmatch(text):
        raise _err(f"invalid repository name ({text}), cannot specify 64-byte hexadecimal strings")
    domain, remainder = split_docker_domain(text)
    remote = remainder.partition(":")[0]
    if remote.lower() != remote:
        raise _err(f"invalid reference format: repository name ({remote}) must be lowercase")
    return parse(f"{domain}/{remainder}")


def parse_named(text: str) -> Reference:
    """distribution's ParseNamed: only fully qualified (canonical) names are accepted."""
    ref = parse_normalized(text)
    if str(ref) != text:
        raise _err(ERR_NAME_NOT_CANONICAL)
    return ref


def parse_docker_ref(text: str) -> Reference:
    """distribution's ParseDockerRef: normalised; ``latest`` if bare; a digest wins over a tag."""
    ref = parse_normalized(text)
    if ref.digest is not None:
        return Reference(ref.domain, ref.path, None, ref.digest)
    return with_default_tag(ref)


def parse_any_reference(text: str) -> Reference | Digest:
    """distribution's ParseAnyReference: an image ID (bare hex or digest) or a normalised name."""
    if _IDENTIFIER_RE.fullmatch(text):
        return Digest("sha256", text)
    if Digest.is_digest(text):
        return Digest.parse(text)
    return parse_normalized(text)


def with_default_tag(ref: Reference) -> Reference:
    """distribution's TagNameOnly: add ``latest`` when neither tag nor digest is given."""
    return ref.with_tag(DEFAULT_TAG) if ref.is_name_only() else ref


def is_valid_tag(text: str) -> bool:
    return _TAG_RE.fullmatch(text) is not None


def parse_tag(text: str) -> str:
    """Validate a bare tag (``[\\w][\\w.-]{0,127}``) and return it."""
    if not is_valid_tag(text):
        raise _err(ERR_TAG_INVALID_FORMAT)
    return text


def is_valid_name(text: str) -> bool:
    """Whether ``text`` is a valid repository name (no tag or digest) before normalisation."""
    return _ANCHORED_NAME_RE.fullmatch(text) is not None and len(text) <= NAME_TOTAL_LENGTH_MAX


__all__ = [
    "DEFAULT_DOMAIN",
    "DEFAULT_TAG",
    "InvalidReference",
    "Reference",
    "is_valid_name",
    "is_valid_tag",
    "parse",
    "parse_any_reference",
    "parse_docker_ref",
    "parse_named",
    "parse_normalized",
    "parse_tag",
    "split_docker_domain",
    "with_default_tag",
]
