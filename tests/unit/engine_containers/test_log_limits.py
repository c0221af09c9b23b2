"""Log options as dockerd's json-file and local drivers read them when they open the log (at
start), with their words for bad values; and the go-units and strconv parsers behind them."""

from __future__ import annotations

import pytest

from dockyard.engine.containers.settings import LogLimits, log_attributes, log_limits
from dockyard.errors import InvalidArgument
from dockyard.units import parse_go_int, parse_human_size


@pytest.mark.parametrize(("text", "size"), [
    ("10", 10), ("10b", 10), ("1k", 1000), ("1.5m", 1_500_000), ("2 MB", 2_000_000), ("1KiB", 1000), ("3g", 3 * 10**9),
])
def test_human_size_is_decimal(text: str, size: int) -> None:
    assert parse_human_size(text) == size


@pytest.mark.parametrize(("text", "error"), [
    ("abc", "invalid size: 'abc'"), ("-1", "invalid size: '-1'"), ("10x", "invalid suffix: 'x'"),
    ("1.2.3", 'strconv.ParseFloat: parsing "1.2.3": invalid syntax'),
])
def test_human_size_errors(text: str, error: str) -> None:
    with pytest.raises(ValueError) as info:
        parse_human_size(text)
    assert str(info.value) == error


def test_go_int() -> None:
    assert parse_go_int("3") == 3 and parse_go_int("-2") == -2 and parse_go_int("+7") == 7
    for text, why in (("x", "invalid syntax"), ("", "invalid syntax"), ("1.0", "invalid syntax"),
                      ("99999999999999999999", "value out of range")):
        with pytest.raises(ValueError) as info:
            parse_go_int(text)
        assert str(info.value) == f'strconv.Atoi: parsing "{text}": {why}'


def test_values_reach_the_writer() -> None:
    assert log_limits("json-file", {}) == LogLimits(None, None, None)
    assert log_limits("json-file", {"max-size": "10m", "max-file": "3", "compress": "true"}) == \
        LogLimits(10_000_000, 3, True)
    assert log_limits("local", {"max-size": "0", "max-file": "2"}) == LogLimits(0, 2, None)
    assert log_limits("local", {"max-file": "1", "compress": "false"}) == LogLimits(None, 1, False)
    assert log_limits("none", {"max-size": "whatever"}) == LogLimits(None, None, None)


@pytest.mark.parametrize(("driver", "config", "error"), [
    ("json-file", {"max-size": "abc"}, "invalid size: 'abc'"),
    ("json-file", {"max-size": "0"}, "max-size must be a positive number"),
    ("json-file", {"max-file": "x"}, 'strconv.Atoi: parsing "x": invalid syntax'),
    ("json-file", {"max-file": "0"}, "max-file cannot be less than 1"),
    ("json-file", {"compress": "maybe"}, 'strconv.ParseBool: parsing "maybe": invalid syntax'),
    ("json-file", {"compress": "true", "max-file": "2"},
     "compress cannot be true when max-file is less than 2 or max-size is not set"),
    ("json-file", {"compress": "1", "max-size": "1m"},
     "compress cannot be true when max-file is less than 2 or max-size is not set"),
    ("local", {"max-size": "abc"}, "invalid value for max-size: abc: invalid size: 'abc'"),
    ("local", {"max-file": "x"}, 'invalid value for max-file: x: strconv.Atoi: parsing "x": invalid syntax'),
    ("local", {"compress": "maybe"}, 'error reading compress log option: strconv.ParseBool: parsing "maybe": '
                                     'invalid syntax'),
    ("local", {"max-file": "-1", "compress": "false"}, "max-file cannot be less than 0"),
    ("local", {"max-file": "0"}, "compression cannot be enabled when max file count is 1"),
    ("local", {"max-file": "1"}, "compression cannot be enabled when max file count is 1"),
])
def test_bad_values_fail_as_dockerd_s_drivers(driver: str, config: dict[str, str], error: str) -> None:
    with pytest.raises(InvalidArgument) as info:
        log_limits(driver, config)
    assert str(info.value) == "failed to initialize logging driver: " + error


def test_log_attributes_are_the_named_labels_and_variables() -> None:
    labels = {"a": "1", "b": "2", "app.tier": "web", "E": "label"}
    env = ["E=var", "XA=9", "XB", "PATH=/bin"]
    config = {"labels": "a,zz", "env": "E,NOPE,XB", "env-regex": "^X", "labels-regex": r"\.tier$"}
    # dockerd's order: labels, labels-regex, env, env-regex; a variable wins over a same-named label
    assert log_attributes("json-file", config, labels, env) == {"a": "1", "app.tier": "web", "E": "var", "XA": "9"}
    assert log_attributes("json-file", {}, labels, env) == {}
    assert log_attributes("local", config, labels, env) == {}


def test_log_attributes_bad_regex_fails_the_start() -> None:
    with pytest.raises(InvalidArgument) as info:
        log_attributes("json-file", {"env-regex": "("}, {}, ["A=1"])
    assert str(info.value).startswith("failed to initialize logging driver: error parsing regexp: ")
