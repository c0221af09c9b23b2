"""Reference parsing against the cases of distribution/reference's own tests, plus round trips."""

from __future__ import annotations

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from dockyard.errors import InvalidArgument
from dockyard.oci.digest import Digest
from dockyard.oci.reference import (
    InvalidReference,
    Reference,
    is_valid_name,
    is_valid_tag,
    parse,
    parse_any_reference,
    parse_docker_ref,
    parse_named,
    parse_normalized,
    parse_tag,
    with_default_tag,
)

HEX = "a" * 64
DIG = f"sha256:{HEX}"


@pytest.mark.parametrize(("text", "domain", "path", "tag", "digest"), [
    ("busybox", "docker.io", "library/busybox", None, None),
    ("busybox:latest", "docker.io", "library/busybox", "latest", None),
    ("docker.io/busybox", "docker.io", "library/busybox", None, None),
    ("index.docker.io/busybox", "docker.io", "library/busybox", None, None),
    ("index.docker.io/user/app:1.0", "docker.io", "user/app", "1.0", None),
    ("user/app", "docker.io", "user/app", None, None),
    ("docker.io/library/a/b", "docker.io", "library/a/b", None, None),
    ("localhost/app", "localhost", "app", None, None),
    ("localhost:5000/a/b:t", "localhost:5000", "a/b", "t", None),
    ("127.0.0.1:5000/x", "127.0.0.1:5000", "x", None, None),
    ("[::1]:5000/x:y", "[::1]:5000", "x", "y", None),
    ("[2001:db8::1]/img", "[2001:db8::1]", "img", None, None),
    ("example.com/a-b__c.d/e--f", "example.com", "a-b__c.d/e--f", None, None),
    ("Example.COM/x", "Example.COM", "x", None, None),
    ("Foo/bar", "Foo", "bar", None, None),
    ("sub-dom1.foo.com/bar/baz/quux:some-long-tag", "sub-dom1.foo.com", "bar/baz/quux", "some-long-tag", None),
    ("busybox@" + DIG, "docker.io", "library/busybox", None, DIG),
    ("busybox:1.36@" + DIG, "docker.io", "library/busybox", "1.36", DIG),
    ("localhost:5000/a:Tag_With.Dots-9@" + DIG, "localhost:5000", "a", "Tag_With.Dots-9", DIG),
    ("a" * 63, "docker.io", "library/" + "a" * 63, None, None),
    ("a" * 65, "docker.io", "library/" + "a" * 65, None, None),
])
def test_parse_normalized(text: str, domain: str, path: str, tag: str | None, digest: str | None) -> None:
    ref = parse_normalized(text)
    assert (ref.domain, ref.path, ref.tag) == (domain, path, tag)
    assert ref.digest == (Digest.parse(digest) if digest else None)


@pytest.mark.parametrize(("text", "message"), [
    ("", "invalid reference format"),
    (":tag", "invalid reference format"),
    ("busybox:", "invalid reference format"),
    ("busybox@", "invalid reference format"),
    ("-busybox", "invalid reference format"),
    ("busybox-", "invalid reference format"),
    ("a/b/", "invalid reference format"),
    ("a//b", "invalid reference format"),
    ("a___b", "invalid reference format"),
    ("a..b", "invalid reference format"),
    ("busybox:" + "t" * 129, "invalid reference format"),
    ("busybox:-tag", "invalid reference format"),
    ("busybox:.tag", "invalid reference format"),
    ("Busybox", "invalid reference format: repository name (library/Busybox) must be lowercase"),
    ("user/Busybox:Tag", "invalid reference format: repository name (user/Busybox) must be lowercase"),
    ("example.com/Foo", "invalid reference format: repository name (Foo) must be lowercase"),
    (HEX, f"invalid repository name ({HEX}), cannot specify 64-byte hexadecimal strings"),
    ("a/" * 127 + "bb", "repository name must not be more than 255 characters"),
    ("busybox@sha256:" + "a" * 63, "invalid checksum digest length"),
    ("busybox@sha256:" + "A" * 64, "invalid checksum digest format"),
    ("busybox@sha256:abc", "invalid reference format"),
    ("busybox@md5:" + "a" * 32, "unsupported digest algorithm"),
    ("example.com:notaport/x", "invalid reference format"),
    ("busybox\n", "invalid reference format"),
    ("bü/x", "invalid reference format"),
])
def test_parse_normalized_errors(text: str, message: str) -> None:
    with pytest.raises(InvalidReference) as exc:
        parse_normalized(text)
    assert str(exc.value) == message
    assert isinstance(exc.value, InvalidArgument)


def test_name_length_limit_counts_domain() -> None:
    # The limit applies to domain + "/" + path ("example.com/" is 12 characters).
    assert len(parse_normalized("example.com/" + "a" * 243).name) == 255
    with pytest.raises(InvalidReference, match="not be more than 255"):
        parse_normalized("example.com/" + "a" * 244)


def test_strings() -> None:
    ref = parse_normalized("busybox")
    assert ref.name == "docker.io/library/busybox"
    assert ref.familiar_name == "busybox"
    assert str(ref) == "docker.io/library/busybox"
    assert str(with_default_tag(ref)) == "docker.io/library/busybox:latest"
    assert with_default_tag(ref).familiar_string() == "busybox:latest"
    assert parse_normalized("user/app:1").familiar_string() == "user/app:1"
    assert parse_normalized("localhost:5000/a/b").familiar_name == "localhost:5000/a/b"
    assert parse_normalized("docker.io/library/a/b").familiar_name == "library/a/b"
    both = parse_normalized(f"busybox:1@{DIG}")
    assert str(both) == f"docker.io/library/busybox:1@{DIG}"
    assert both.familiar_string() == f"busybox:1@{DIG}"
    assert parse_normalized(f"busybox@{DIG}").familiar_string() == f"busybox@{DIG}"


def test_with_and_without() -> None:
    ref = parse_normalized("busybox")
    d = Digest.parse(DIG)
    assert ref.with_tag("1").tag == "1"
    assert ref.with_digest(d).digest == d
    assert ref.with_tag("1").with_digest(d).without_tag_and_digest() == ref
    with pytest.raises(InvalidReference, match="invalid tag format"):
        ref.with_tag("bad tag")


def test_with_default_tag_keeps_existing() -> None:
    assert with_default_tag(parse_normalized("busybox:1")).tag == "1"
    digested = with_default_tag(parse_normalized(f"busybox@{DIG}"))
    assert digested.tag is None and digested.digest is not None


def test_parse_docker_ref() -> None:
    assert str(parse_docker_ref("busybox")) == "docker.io/library/busybox:latest"
    assert str(parse_docker_ref(f"busybox:1@{DIG}")) == f"docker.io/library/busybox@{DIG}"


def test_parse_plain_keeps_first_component_as_domain() -> None:
    ref = parse("library/busybox")
    assert (ref.domain, ref.path) == ("library", "busybox")
    bare = parse("busybox:1")
    assert (bare.domain, bare.path, bare.tag, bare.name) == ("", "busybox", "1", "busybox")
    with pytest.raises(InvalidReference, match="^repository name must be lowercase$"):
        parse("Busybox")
    with pytest.raises(InvalidReference, match="at least one component"):
        parse("")


def test_parse_named_requires_canonical() -> None:
    assert parse_named("docker.io/library/busybox:1").tag == "1"
    with pytest.raises(InvalidReference, match="repository name must be canonical"):
        parse_named("busybox")


def test_parse_any_reference() -> None:
    assert parse_any_reference(HEX) == Digest("sha256", HEX)
    assert parse_any_reference(DIG) == Digest("sha256", HEX)
    assert parse_any_reference("busybox") == Reference("docker.io", "library/busybox")


@pytest.mark.parametrize(("tag", "ok"), [
    ("latest", True), ("1.0", True), ("_x", True), ("A-b.C_d", True), ("t" * 128, True),
    ("t" * 129, False), ("", False), ("-x", False), (".x", False), ("a:b", False), ("a/b", False),
    ("é", False), ("x\n", False),
])
def test_tags(tag: str, ok: bool) -> None:
    assert is_valid_tag(tag) is ok
    if ok:
        assert parse_tag(tag) == tag
    else:
        with pytest.raises(InvalidReference):
            parse_tag(tag)


def test_is_valid_name() -> None:
    assert is_valid_name("localhost:5000/a/b")
    assert not is_valid_name("a/B")
    assert not is_valid_name("a:b")


# --- property-based round trips -------------------------------------------------------------

_alnum = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789", min_size=1, max_size=6)
_sep = st.sampled_from([".", "_", "__", "-", "--"])
_component = st.builds(
    lambda first, rest: first + "".join(s + a for s, a in rest),
    _alnum, st.lists(st.tuples(_sep, _alnum), max_size=2))
_path = st.lists(_component, min_size=1, max_size=3).map("/".join)
_label = st.from_regex(r"[a-zA-Z0-9]([a-zA-Z0-9-]{0,4}[a-zA-Z0-9])?", fullmatch=True)
_port = st.one_of(st.just(""), st.integers(1, 65535).map(lambda p: f":{p}"))
_domain = st.one_of(
    st.just("docker.io"),
    st.just("localhost"),
    st.builds(lambda p: "localhost" + p, _port),
    st.builds(lambda a, b, p: f"{a}.{b}{p}", _label, _label, _port),
    st.builds(lambda a, p: f"{a}:{p.lstrip(':') or 5000}", _label, _port),
    st.builds(lambda p: f"[::1]{p}", _port),
)
_tag = st.one_of(st.none(), st.from_regex(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,20}", fullmatch=True))
_digest = st.one_of(st.none(), st.binary(max_size=8).map(Digest.from_bytes))


@st.composite
def references(draw: st.DrawFn) -> Reference:
    domain, path = draw(_domain), draw(_path)
    if domain == "docker.io" and "/" not in path:
        path = "library/" + path
    return Reference(domain, path, draw(_tag), draw(_digest))


@given(references())
def test_round_trip_full_string(ref: Reference) -> None:
    assert parse_normalized(str(ref)) == ref


@given(references())
def test_round_trip_familiar_string(ref: Reference) -> None:
    # Docker's familiar form is ambiguous when a Hub namespace looks like a host ("0.0/x").
    first = ref.familiar_name.split("/")[0]
    assume(ref.domain != "docker.io" or not ("." in first or ":" in first))
    assert parse_normalized(ref.familiar_string()) == ref


@given(references())
def test_docker_ref_always_tagged_or_digested(ref: Reference) -> None:
    out = parse_docker_ref(str(ref))
    assert (out.tag is None) != (out.digest is None)
    assert out.name == ref.name


@given(st.text(max_size=40))
def test_parse_never_fails_unexpectedly(text: str) -> None:
    try:
        ref = parse_normalized(text)
    except InvalidReference:
        return
    assert parse_normalized(str(ref)) == ref
