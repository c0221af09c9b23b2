"""Signals as dockerd reads them for kill and stop."""

from __future__ import annotations

import pytest


def test_signal_names_and_numbers_as_dockerd_reads_them() -> None:
    from dockyard.engine.containers.settings import signal_number as _signal_number
    from dockyard.errors import InvalidArgument

    assert _signal_number("KILL") == _signal_number("sigkill") == _signal_number("9") == 9
    assert _signal_number("RTMIN+3") == 37 and _signal_number("SIGRTMAX-2") == 62
    assert _signal_number("99") == 99 and _signal_number("-1") == -1  # moby's ParseSignal: any non-zero number
    for bad in ("0", "FOO", "RTMIN+16", "99999999999999999999"):
        with pytest.raises(InvalidArgument, match="Invalid signal"):
            _signal_number(bad)
