"""Command lines → client calls and output, with a fake client; exit codes and messages."""

from __future__ import annotations

import io
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from dockyard.cli.app import Cli
from dockyard.cli.main import run
from dockyard.client import ConnectError, StreamError
from dockyard.errors import Conflict, NotFound

NOW = int(time.time())


@pytest.fixture(autouse=True)
def frozen_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    """"… ago" columns are computed against the clock: pin it to when the fixtures were made."""
    monkeypatch.setattr("dockyard.cli.imagerows.time.time", lambda: NOW + 1)

BUSYBOX = {
    "Id": "sha256:" + "1c35c441208254cb7c3844ba95a96485388cef9ccc0646d562c7fc026e04c807",
    "RepoTags": ["busybox:latest", "docker.io/library/busybox:1.36"],
    "RepoDigests": ["busybox@sha256:" + "ab" * 32],
    "Created": NOW - 3 * 7 * 86400,
    "Size": 4261234,
    "SharedSize": -1,
    "Containers": -1,
}
DANGLING = {
    "Id": "sha256:" + "f" * 64,
    "RepoTags": [],
    "RepoDigests": None,
    "Created": NOW - 7200,
    "Size": 830,
}


class FakeClient:
    def __init__(self) -> None:
        self.calls: list[tuple[str, tuple[Any, ...], dict[str, Any]]] = []
        self.images_result: list[dict[str, Any]] = [BUSYBOX, DANGLING]
        self.missing: set[str] = set()
        self.stream: list[dict[str, Any]] = []
        self.stream_error: str | None = None
        self.body = b""

    def _record(self, name: str, *args: Any, **kwargs: Any) -> None:
        self.calls.append((name, args, kwargs))

    def images(self, **kwargs: Any) -> list[dict[str, Any]]:
        self._record("images", **kwargs)
        return self.images_result

    def inspect_image(self, name: str) -> dict[str, Any]:
        self._record("inspect_image", name)
        if name in self.missing:
            raise NotFound(f"No such image: {name}:latest")
        return {"Id": "sha256:abc", "RepoTags": [name], "Config": {"Cmd": ["sh"], "Labels": {"a": "b"}}}

    def inspect_container(self, name: str, size: bool = False) -> dict[str, Any]:
        self._record("inspect_container", name)
        raise NotFound(f"No such container: {name}")

    def history(self, name: str) -> list[dict[str, Any]]:
        self._record("history", name)
        return [
            {
                "Id": "sha256:" + "1" * 64,
                "Created": NOW - 60,
                "CreatedBy": '/bin/sh -c #(nop)  CMD ["sh"]',
                "Size": 0,
                "Comment": "",
            },
            {
                "Id": "<missing>",
                "Created": NOW - 60,
                "CreatedBy": "/bin/sh -c #(nop) ADD file:" + "a" * 64 + " in / ",
                "Size": 4261234,
                "Comment": "",
            },
        ]

    def tag(self, source: str, repo: str, tag: str) -> None:
        self._record("tag", source, repo, tag)

    def remove_image(self, name: str, force: bool = False, noprune: bool = False) -> list[dict[str, Any]]:
        self._record("remove_image", name, force=force, noprune=noprune)
        if name in self.missing:
            raise NotFound(f"No such image: {name}:latest")
        if name == "busy":
            raise Conflict('conflict: unable to remove repository reference "busy" (must force)')
        return [{"Untagged": f"{name}:latest"}, {"Deleted": "sha256:abc"}]

    def prune_images(self, filters: dict[str, list[str]]) -> dict[str, Any]:
        self._record("prune_images", filters)
        return {"ImagesDeleted": [{"Untagged": "a:1"}, {"Deleted": "sha256:abc"}], "SpaceReclaimed": 1234567}

    def _messages(self) -> Iterator[dict[str, Any]]:
        yield from self.stream
        if self.stream_error:
            raise StreamError(self.stream_error)

    def load(self, stream: Any, quiet: bool = False) -> Iterator[dict[str, Any]]:
        self.body = stream.read()
        self._record("load", quiet=quiet)
        return self._messages()

    def save(self, names: list[str]) -> Iterator[bytes]:
        self._record("save", names)
        return iter([b"TAR", b"BALL"])

    def import_image(self, **kwargs: Any) -> Iterator[dict[str, Any]]:
        source = kwargs.pop("source", None)
        if source is not None:
            self.body = source.read()
        self._record("import_image", **kwargs)
        return self._messages()

    def system_df(self) -> dict[str, Any]:
        return {
            "LayersSize": 16430000,
            "Images": [
                dict(BUSYBOX, Containers=1, SharedSize=0, Size=4800000),
                dict(DANGLING, Containers=0, SharedSize=0),
            ],
            "Containers": [{"Id": "c1", "SizeRw": 212, "State": "exited"}],
            "Volumes": [{"Name": "v", "UsageData": {"Size": 36, "RefCount": 1}}],
            "BuildCache": [],
        }

    def system_check(self, repair: bool = False) -> dict[str, Any]:
        self._record("system_check", repair=repair)
        return {
            "Problems": [{"Kind": "blob", "Subject": "sha256:x", "Detail": "missing"}],
            "Repaired": repair,
        }

    def version(self) -> dict[str, Any]:
        return {
            "Platform": {"Name": "dockyard"},
            "Version": "0.1.0",
            "ApiVersion": "1.44",
            "MinAPIVersion": "1.24",
            "Os": "linux",
            "Arch": "amd64",
            "Components": [{"Name": "Engine", "Version": "0.1.0", "Details": {}}],
        }

    def close(self) -> None:
        pass


class Harness:
    def __init__(self, stdin: bytes = b"") -> None:
        self.client = FakeClient()
        self.out = io.StringIO()
        self.err = io.StringIO()
        self.out_bytes = io.BytesIO()
        self.stdin = io.BytesIO(stdin)
        self.hosts: list[str] = []

    def run(self, *argv: str) -> int:
        def connect(host: str) -> FakeClient:
            self.hosts.append(host)
            return self.client

        cli = Cli(out=self.out, err=self.err, stdin=self.stdin, out_bytes=self.out_bytes, connect=connect)
        return run(list(argv), cli)


@pytest.fixture
def h(monkeypatch: pytest.MonkeyPatch) -> Harness:
    monkeypatch.delenv("DOCKYARD_HOST", raising=False)
    return Harness()


def test_images_table(h: Harness) -> None:
    assert h.run("images") == 0
    assert h.out.getvalue() == (
        "REPOSITORY   TAG       IMAGE ID       CREATED       SIZE\n"
        "busybox      latest    1c35c4412082   3 weeks ago   4.26MB\n"
        "busybox      1.36      1c35c4412082   3 weeks ago   4.26MB\n"
        "<none>       <none>    ffffffffffff   2 hours ago   830B\n"
    )
    assert h.client.calls == [("images", (), {"all": False, "filters": None, "digests": False})]
    assert h.hosts == ["unix:///run/dockyard/dockyard.sock"]


def test_images_flags_map_to_client_call(h: Harness) -> None:
    assert (
        h.run(
            "-H",
            "tcp://1.2.3.4:5",
            "image",
            "ls",
            "-a",
            "--filter",
            "dangling=false",
            "-f",
            "label=x=y",
            "busybox",
        )
        == 0
    )
    assert h.client.calls[0][2] == {
        "all": True,
        "filters": {"dangling": ["false"], "label": ["x=y"], "reference": ["busybox"]},
        "digests": False,
    }
    assert h.hosts == ["tcp://1.2.3.4:5"]


def test_images_quiet_digests_no_trunc_and_format(h: Harness) -> None:
    h.run("images", "-q")
    assert h.out.getvalue().split() == ["1c35c4412082", "1c35c4412082", "ffffffffffff"]
    h.out.seek(0), h.out.truncate()
    h.run("images", "--digests", "--no-trunc")
    lines = h.out.getvalue().splitlines()
    assert lines[0].split() == ["REPOSITORY", "TAG", "DIGEST", "IMAGE", "ID", "CREATED", "SIZE"]
    assert "sha256:" + "ab" * 32 in lines[1] and BUSYBOX["Id"] in lines[1]
    h.out.seek(0), h.out.truncate()
    h.run("images", "--format", "{{.Repository}}:{{.Tag}}")
    assert h.out.getvalue() == "busybox:latest\nbusybox:1.36\n<none>:<none>\n"
    h.out.seek(0), h.out.truncate()
    h.run("images", "--format", "table {{.ID}}\\t{{.Size}}")
    assert h.out.getvalue().splitlines()[0] == "IMAGE ID       SIZE"
    h.out.seek(0), h.out.truncate()
    h.run("images", "--format", "json")
    row = h.out.getvalue().splitlines()[2]
    assert '"Repository":"\\u003cnone\\u003e"' in row
    assert json.loads(row)["ID"] == "ffffffffffff"


def test_bad_filter_is_usage_error(h: Harness) -> None:
    assert h.run("images", "--filter", "nonsense") == 125
    assert "bad format of filter" in h.err.getvalue()


def test_inspect_prints_indented_array_and_errors(h: Harness) -> None:
    h.client.missing.add("nope")
    assert h.run("image", "inspect", "busybox", "nope") == 1
    data = json.loads(h.out.getvalue())
    assert data[0]["RepoTags"] == ["busybox"]
    assert h.out.getvalue().startswith('[\n    {\n        "Id"')
    assert h.err.getvalue() == "Error response from daemon: No such image: nope:latest\n"


def test_top_level_inspect_unknown_object(h: Harness) -> None:
    h.client.missing.add("x")
    assert h.run("inspect", "x") == 1
    assert h.out.getvalue() == "[]\n"
    assert h.err.getvalue() == "Error: No such object: x\n"


def test_inspect_with_format(h: Harness) -> None:
    assert h.run("inspect", "-f", '{{.Id}} {{json .Config.Cmd}} {{index .Config.Labels "a"}}', "busybox") == 0
    assert h.out.getvalue() == 'sha256:abc ["sh"] b\n'


def test_bad_template_reports_parsing_error(h: Harness) -> None:
    assert h.run("inspect", "-f", "{{.Id", "busybox") == 1
    assert h.err.getvalue().startswith("template parsing error:")


def test_history(h: Harness) -> None:
    assert h.run("history", "busybox") == 0
    lines = h.out.getvalue().splitlines()
    assert lines[0].split() == ["IMAGE", "CREATED", "CREATED", "BY", "SIZE", "COMMENT"]
    assert lines[1].startswith('111111111111   About a minute ago   /bin/sh -c #(nop)  CMD ["sh"]')
    assert lines[2].startswith("<missing>")
    assert "…" in lines[2] and "4.26MB" in lines[2]
    h.out.seek(0), h.out.truncate()
    h.run("image", "history", "--human=false", "-q", "--no-trunc", "busybox")
    assert h.out.getvalue().splitlines() == ["sha256:" + "1" * 64, "<missing>"]


def test_tag_normalises_target(h: Harness) -> None:
    assert h.run("tag", "busybox", "bb:v2") == 0
    assert h.run("image", "tag", "busybox", "localhost:5000/me/bb") == 0
    assert h.client.calls == [
        ("tag", ("busybox", "docker.io/library/bb", "v2"), {}),
        ("tag", ("busybox", "localhost:5000/me/bb", "latest"), {}),
    ]


def test_rmi_continues_after_errors(h: Harness) -> None:
    h.client.missing.add("gone")
    assert h.run("rmi", "-f", "gone", "bb", "busy") == 1
    assert h.out.getvalue() == "Untagged: bb:latest\nDeleted: sha256:abc\n"
    assert h.err.getvalue() == (
        "Error response from daemon: No such image: gone:latest\n"
        'Error response from daemon: conflict: unable to remove repository reference "busy" (must force)\n'
    )
    assert h.client.calls[0] == ("remove_image", ("gone",), {"force": True, "noprune": False})


def test_prune_asks_and_reports() -> None:
    h = Harness(stdin=b"n\n")
    assert h.run("image", "prune") == 0
    assert (
        h.out.getvalue()
        == "WARNING! This will remove all dangling images.\nAre you sure you want to continue? [y/N] "
    )
    assert h.client.calls == []
    h = Harness(stdin=b"y\n")
    assert h.run("image", "prune", "-a", "--filter", "until=24h") == 0
    assert h.client.calls == [("prune_images", ({"until": ["24h"], "dangling": ["false"]},), {})]
    assert h.out.getvalue().endswith(
        "[y/N] Deleted Images:\nuntagged: a:1\ndeleted: sha256:abc\n\nTotal reclaimed space: 1.235MB\n"
    )


def test_load_from_stdin_and_file(h: Harness, tmp_path: Path) -> None:
    h.stdin = io.BytesIO(b"TARDATA")
    h.client.stream = [{"stream": "Loaded image: busybox:latest\n"}]
    assert h.run("load") == 0
    assert h.client.body == b"TARDATA"
    assert h.out.getvalue() == "Loaded image: busybox:latest\n"
    f = tmp_path / "img.tar"
    f.write_bytes(b"FILE")
    assert h.run("image", "load", "-q", "-i", str(f)) == 0
    assert h.client.body == b"FILE"
    assert h.client.calls[-1] == ("load", (), {"quiet": True})


def test_load_stream_error_exits_1(h: Harness) -> None:
    h.client.stream = [
        {"status": "Loading layer"},
        {"error": "bad tar", "errorDetail": {"message": "bad tar"}},
    ]
    h.client.stream_error = "bad tar"
    assert h.run("load") == 1
    assert h.out.getvalue() == "Loading layer\n"
    assert h.err.getvalue() == "Error response from daemon: bad tar\n"


def test_save_to_stdout_and_file(h: Harness, tmp_path: Path) -> None:
    assert h.run("save", "busybox", "alpine") == 0
    assert h.out_bytes.getvalue() == b"TARBALL"
    out = tmp_path / "x.tar"
    assert h.run("image", "save", "-o", str(out), "busybox") == 0
    assert out.read_bytes() == b"TARBALL"


class TerminalBytes(io.BytesIO):
    def isatty(self) -> bool:
        return True


def test_save_refuses_terminal(h: Harness) -> None:
    h.out_bytes = TerminalBytes()
    assert h.run("save", "busybox") == 1
    assert h.err.getvalue() == "cowardly refusing to save to a terminal. Use the -o flag or redirect\n"


def test_import_from_stdin_with_changes(h: Harness) -> None:
    h.stdin = io.BytesIO(b"ROOTFS")
    h.client.stream = [{"status": "sha256:" + "e" * 64}]
    assert h.run("import", "-c", 'CMD ["sh"]', "--change", "ENV A=B", "-m", "msg", "-", "me/img:1") == 0
    assert h.out.getvalue() == "sha256:" + "e" * 64 + "\n"
    assert h.client.body == b"ROOTFS"
    assert h.client.calls[0][2] == {
        "repo": "docker.io/me/img",
        "tag": "1",
        "changes": ['CMD ["sh"]', "ENV A=B"],
        "message": "msg",
        "platform": None,
    }


def test_import_url(h: Harness) -> None:
    h.run("image", "import", "http://example.com/rootfs.tar")
    assert h.client.calls[0][2]["src_url"] == "http://example.com/rootfs.tar"


def test_system_df(h: Harness) -> None:
    assert h.run("system", "df") == 0
    assert h.out.getvalue() == (
        "TYPE            TOTAL     ACTIVE    SIZE      RECLAIMABLE\n"
        "Images          2         1         16.43MB   11.63MB (70%)\n"
        "Containers      1         0         212B      212B (100%)\n"
        "Local Volumes   1         1         36B       0B (0%)\n"
        "Build Cache     0         0         0B        0B\n"
    )


def test_system_check(h: Harness) -> None:
    assert h.run("system", "check") == 1
    assert "blob" in h.out.getvalue() and "--repair" in h.out.getvalue()
    assert h.run("system", "check", "--repair") == 0
    assert h.client.calls[-1] == ("system_check", (), {"repair": True})


def test_version_sections(h: Harness) -> None:
    assert h.run("version") == 0
    text = h.out.getvalue()
    assert text.startswith("Client:\n Version:")
    assert (
        "\nServer: dockyard\n Engine:\n  Version:          0.1.0\n  API version:      1.44 (minimum version 1.24)"
        in text
    )


def test_usage_errors_and_exit_codes(h: Harness) -> None:
    assert h.run("frobnicate") == 1
    assert h.err.getvalue().startswith("dockyard: unknown command: dockyard frobnicate")
    assert h.run("images", "--bogus") == 125
    assert "unknown flag: --bogus" in h.err.getvalue()
    assert h.run("tag", "a") == 1
    assert "'dockyard tag' requires 2 arguments" in h.err.getvalue()
    assert h.run("image") == 0
    assert "Manage images" in h.out.getvalue()
    assert h.client.calls == []


def test_daemon_unreachable_message(h: Harness) -> None:
    def refuse(host: str) -> Any:
        raise ConnectError("nope")

    cli = Cli(out=h.out, err=h.err, connect=refuse)
    assert run(["images"], cli) == 1
    assert h.err.getvalue() == (
        "Cannot connect to the dockyard daemon at unix:///run/dockyard/dockyard.sock. Is the daemon running?\n"
    )


def test_host_from_environment(h: Harness, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DOCKYARD_HOST", "unix:///tmp/other.sock")
    h.run("images")
    assert h.hosts == ["unix:///tmp/other.sock"]
