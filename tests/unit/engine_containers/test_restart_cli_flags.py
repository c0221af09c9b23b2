"""The CLI side of restart policies and ``update``: docker/cli's ParseRestartPolicy and runUpdate."""

from __future__ import annotations

import argparse

import pytest

from dockyard.cli.runopts import InvalidFlag, InvalidOptions, add_update_flags, build_update, parse_restart


def test_parse_restart_is_syntax_only() -> None:
    assert parse_restart("") == {"Name": "no", "MaximumRetryCount": 0}
    assert parse_restart("on-failure:3") == {"Name": "on-failure", "MaximumRetryCount": 3}
    assert parse_restart("always:2") == {"Name": "always", "MaximumRetryCount": 2}  # the daemon refuses it
    assert parse_restart("sometimes") == {"Name": "sometimes", "MaximumRetryCount": 0}
    with pytest.raises(InvalidOptions, match="^invalid restart policy format: no policy provided before colon$"):
        parse_restart(":3")
    with pytest.raises(InvalidOptions, match="^invalid restart policy format: maximum retry count must be an "
                                             "integer$"):
        parse_restart("on-failure:x")


def _update(*argv: str) -> dict[str, object]:
    p = argparse.ArgumentParser()
    add_update_flags(p)
    return build_update(p.parse_args(list(argv)))


def test_build_update_body() -> None:
    body = _update("--cpus", "1.5", "-m", "64m", "--memory-swap", "-1", "--pids-limit", "-1", "-c", "512",
                   "--restart", "unless-stopped", "--cpuset-cpus", "0")
    assert body["NanoCpus"] == 1_500_000_000 and body["Memory"] == 64 << 20 and body["MemorySwap"] == -1
    assert body["PidsLimit"] == -1 and body["CpuShares"] == 512 and body["CpusetCpus"] == "0"
    assert body["RestartPolicy"] == {"Name": "unless-stopped", "MaximumRetryCount": 0}
    plain = _update("--pids-limit", "0")  # a flag given, but nothing the daemon would change
    assert plain["PidsLimit"] is None and plain["RestartPolicy"] == {"Name": "", "MaximumRetryCount": 0}
    with pytest.raises(InvalidOptions, match="^you must provide one or more flags when using this command$"):
        _update()
    with pytest.raises(InvalidFlag, match='invalid argument "x" for "-c, --cpu-shares" flag'):
        _update("-c", "x")
