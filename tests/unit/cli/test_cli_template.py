"""The Go-template subset behind --format."""

from __future__ import annotations

from typing import Any

import pytest

from dockyard.cli.template import HEADER_FUNCTIONS, MissingField, TemplateError, compile_template

IMAGE: dict[str, Any] = {
    "Id": "sha256:abc",
    "RepoTags": ["busybox:latest", "bb:1"],
    "Size": 4261234,
    "Config": {"Cmd": ["sh", "-c", "echo"], "Env": None, "Labels": {"z": "26", "a": "1"}, "Tty": False},
    "Ratio": 0.5,
}


def render(source: str, data: Any = IMAGE) -> str:
    return compile_template(source).render(data)


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("{{.Id}}", "sha256:abc"),
        ("id={{.Id}}!", "id=sha256:abc!"),
        ("{{.Config.Cmd}}", "[sh -c echo]"),
        ("{{.Config.Labels}}", "map[a:1 z:26]"),
        ("{{.Config.Tty}}", "false"),
        ("{{.Config.Env}}", "<nil>"),
        ("{{.Missing}}", "<no value>"),
        ("{{.Size}}", "4261234"),
        ("{{.Ratio}}", "0.5"),
        ("{{json .Config.Cmd}}", '["sh","-c","echo"]'),
        ("{{json .Config.Env}}", "null"),
        ("{{.Config.Cmd | json}}", '["sh","-c","echo"]'),
        ('{{index .Config.Labels "z"}}', "26"),
        ("{{index .RepoTags 1}}", "bb:1"),
        ('{{join .RepoTags ", "}}', "busybox:latest, bb:1"),
        ("{{len .RepoTags}}", "2"),
        ("{{upper .Id}}", "SHA256:ABC"),
        ("{{.Id | upper | lower}}", "sha256:abc"),
        ('{{title "hello world"}}', "Hello World"),
        ("{{println .Id}}", "sha256:abc\n"),
        ("{{range .RepoTags}}<{{.}}>{{end}}", "<busybox:latest><bb:1>"),
        ("{{range $i, $t := .RepoTags}}{{$i}}={{$t}} {{end}}", "0=busybox:latest 1=bb:1 "),
        ("{{range $k, $v := .Config.Labels}}{{$k}}:{{$v}},{{end}}", "a:1,z:26,"),
        ("{{range .Config.Env}}x{{else}}empty{{end}}", "empty"),
        ("{{if .Config.Tty}}tty{{else}}notty{{end}}", "notty"),
        ("{{if .Config.Tty}}a{{else if .Size}}b{{else}}c{{end}}", "b"),
        ('{{if eq .Id "x" "sha256:abc"}}yes{{end}}', "yes"),
        ("{{if and .Id (not .Config.Tty)}}ok{{end}}", "ok"),
        ("{{if gt .Size 1000}}big{{end}}", "big"),
        ("{{with .Config}}{{.Cmd}}{{end}}", "[sh -c echo]"),
        ("{{with .Config.Env}}x{{else}}none{{end}}", "none"),
        ("{{$x := .Id}}{{$x}}", "sha256:abc"),
        ("{{range .RepoTags}}{{$.Id}} {{end}}", "sha256:abc sha256:abc "),
        ("a  {{- .Size -}}  b", "a4261234b"),
        ("{{/* a comment */}}x", "x"),
        ('{{printf "%s-%d" .Id 7}}', "sha256:abc-7"),
        ("{{pad .Id 1 2}}|", " sha256:abc  |"),
        ("{{truncate .Id 6}}", "sha256"),
        ('{{split "a,b" ","}}', "[a b]"),
        ('{{print 1 2 "x" 3}}', "1 2x3"),
        ("{{(index .RepoTags 0) | upper}}", "BUSYBOX:LATEST"),
        ("{{`raw\\n`}}", "raw\\n"),
    ],
)
def test_render(source: str, expected: str) -> None:
    assert render(source) == expected


@pytest.mark.parametrize(
    "source",
    ["{{.Id", "{{if .Id}}x", "{{end}}", "{{nosuchfunc .Id}}", "{{else}}", "{{.Id | }}", "{{(.Id}}"],
)
def test_errors(source: str) -> None:
    with pytest.raises(TemplateError):
        render(source)


def test_field_source_objects_and_missing_fields() -> None:
    class Row:
        def template_field(self, name: str) -> Any:
            if name == "ID":
                return "abc"
            raise MissingField(name)

        def template_json(self) -> str:
            return '{"ID":"abc"}'

    assert render("{{.ID}}", Row()) == "abc"
    assert render("{{json .}}", Row()) == '{"ID":"abc"}'
    with pytest.raises(TemplateError, match="can't evaluate field Nope"):
        render("{{.Nope}}", Row())


def test_header_functions_pass_values_through() -> None:
    tmpl = compile_template("{{.ID | lower}}\t{{json .Size}}")
    assert tmpl.render({"ID": "IMAGE ID", "Size": "SIZE"}, functions=HEADER_FUNCTIONS) == "IMAGE ID\tSIZE"


def test_field_of_parenthesised_pipeline() -> None:
    assert render('{{(index .Config.Labels "a" | printf "%s")}}') == "1"
    assert render("{{(.Config).Cmd}}") == "[sh -c echo]"
