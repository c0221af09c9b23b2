"""Docker's jsonmessage display of progress streams (pull, push), byte for byte.

On a terminal every message with an id and a ``progressDetail`` owns one line, rewritten in place
with ANSI cursor movement; other messages are printed plainly and forget those lines. Elsewhere,
messages carrying a progress bar are skipped and the others are printed once each.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from dockyard.units import human_size

Message = Mapping[str, Any]
Writer = Callable[[str], None]

DEFAULT_WIDTH = 200  # what docker assumes when the terminal size is unknown
ERASE_LINE = "\x1b[2K"


class ProgressError(Exception):
    """The stream reported an error (``errorDetail``); docker prints its message and exits 1."""


def cursor_up(n: int) -> str:
    return f"\x1b[{n}A" if n > 0 else ""


def cursor_down(n: int) -> str:
    return f"\x1b[{n}B" if n > 0 else ""


def go_duration(seconds: int) -> str:
    """Go's Duration.String for whole seconds: ``0s``, ``45s``, ``2m5s``, ``1h0m3s``."""
    hours, rest = divmod(max(seconds, 0), 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}h{minutes}m{secs}s"
    if minutes:
        return f"{minutes}m{secs}s"
    return f"{secs}s"


def _int(value: Any) -> int:
    try:
        return int(value or 0)
    except (TypeError, ValueError):
        return 0


def progress_bar(detail: Mapping[str, Any], width: int = DEFAULT_WIDTH, now: float | None = None) -> str:
    """JSONProgress.String: ``[==>   ]  1.1MB/2.2MB 3s``; empty when there is nothing to show."""
    current, total, start = _int(detail.get("current")), _int(detail.get("total")), _int(detail.get("start"))
    units = str(detail.get("units") or "")
    if current <= 0 and total <= 0:
        return ""
    if total <= 0:
        return f"{human_size(current):>8}" if not units else f"{current} {units}"
    percentage = min(int(current / total * 100) // 2, 50)
    bar = ""
    if width > 110:
        bar = f"[{'=' * percentage}>{' ' * max(50 - percentage, 0)}] "
    numbers = ""
    if detail.get("hidecounts"):
        pass
    elif not units:
        numbers = f"{human_size(current):>8}/{human_size(total)}"
        if current > total:
            numbers = f"{human_size(current):>8}"
    else:
        numbers = f"{current}/{total} {units}" if current <= total else f"{current} {units}"
    left = ""
    if width > 50 and current > 0 and start > 0 and percentage < 50:
        elapsed = (time.time() if now is None else now) - start
        left = " " + go_duration(round((total - current) * elapsed / current))
    return bar + numbers + left


def error_text(message: Message) -> str | None:
    """The error a message reports, if any."""
    detail = message.get("errorDetail")
    if isinstance(detail, Mapping) and detail.get("message"):
        return str(detail["message"])
    if message.get("error"):
        return str(message["error"])
    return None


class ProgressDisplay:
    """Feeds messages one by one to ``write``; raises ProgressError on an error message."""

    def __init__(
        self,
        write: Writer,
        *,
        is_tty: bool,
        width: int = DEFAULT_WIDTH,
        now: Callable[[], float] = time.time,
        on_aux: Callable[[Any], None] | None = None,
    ) -> None:
        self.write = write
        self.is_tty = is_tty
        self.width = width
        self.now = now
        self.on_aux = on_aux
        self._lines: dict[str, int] = {}

    def feed(self, message: Message) -> None:
        failure = error_text(message)
        if failure is not None:
            raise ProgressError(failure)
        if "aux" in message:
            if self.on_aux is not None:
                self.on_aux(message["aux"])
            return
        raw_detail = message.get("progressDetail")
        detail: Mapping[str, Any] | None = raw_detail if isinstance(raw_detail, Mapping) else None
        ident = str(message.get("id") or "")
        legacy = str(message.get("progress") or "")
        diff = 0
        if ident and (detail is not None or legacy):
            line = self._lines.get(ident)
            if line is None:
                line = len(self._lines)
                self._lines[ident] = line
                if self.is_tty:
                    self.write("\n")
            diff = len(self._lines) - line
            if self.is_tty:
                self.write(cursor_up(diff))
        else:
            # Anything else ends the block of layer lines (pull -a moves on to the next tag).
            self._lines = {}
        self._display(message, detail, ident, legacy)
        if ident and self.is_tty:
            self.write(cursor_down(diff))

    def _display(self, message: Message, detail: Mapping[str, Any] | None, ident: str, legacy: str) -> None:
        stream = str(message.get("stream") or "")
        status = str(message.get("status") or "")
        endl = ""
        bar = progress_bar(detail, self.width, self.now()) if detail is not None else ""
        if self.is_tty and not stream and detail is not None:
            endl = "\r"
            self.write(ERASE_LINE + endl)
        elif bar:
            return  # no progress bars when not on a terminal
        parts: list[str] = []
        if ident:
            parts.append(f"{ident}: ")
        if message.get("from"):
            parts.append(f"(from {message['from']}) ")
        if detail is not None and self.is_tty:
            parts.append(f"{status} {bar}{endl}")
        elif legacy:
            parts.append(f"{status} {legacy}{endl}")
        elif stream:
            parts.append(f"{stream}{endl}")
        else:
            parts.append(f"{status}{endl}\n")
        self.write("".join(parts))


def display(
    messages: Iterable[Message],
    write: Writer,
    *,
    is_tty: bool,
    width: int = DEFAULT_WIDTH,
    on_aux: Callable[[Any], None] | None = None,
) -> None:
    """Show a whole stream; stops at the first error message with ProgressError."""
    shown = ProgressDisplay(write, is_tty=is_tty, width=width, on_aux=on_aux)
    for message in messages:
        shown.feed(message)


__all__ = ["DEFAULT_WIDTH", "ProgressDisplay", "ProgressError", "display", "error_text", "go_duration",
           "progress_bar"]
