"""Pumping a hijacked attach/exec stream to the local terminal, as docker's hijackedIOStreamer does.

Output: raw bytes with a TTY, 8-byte frames demultiplexed to stdout/stderr without one. Input: a
thread copies stdin to the socket and half-closes it at EOF (right away when there is no stdin).
With a TTY the local terminal goes raw and the detach keys (ctrl-p ctrl-q by default) end the
session without stopping the container.
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Callable, Iterator
from typing import BinaryIO, Protocol

from dockyard import detachkeys
from dockyard.cli.app import CliError
from dockyard.detachkeys import EscapeProxy as EscapeProxy  # the CLI's watcher too

DEFAULT_DETACH_KEYS = detachkeys.DEFAULT


class StreamSocket(Protocol):
    multiplexed: bool

    def recv(self, size: int = ...) -> bytes: ...

    def sendall(self, data: bytes) -> None: ...

    def close_write(self) -> None: ...

    def close(self) -> None: ...


def parse_detach_keys(keys: str) -> bytes:
    """term.ToBytes, with the CLI's error."""
    try:
        return detachkeys.parse(keys)
    except ValueError as exc:
        raise CliError(str(exc)) from None


class Detached(Exception):
    """The user typed the detach keys."""


def _read_chunk(stream: BinaryIO) -> bytes:
    try:
        fd = stream.fileno()
    except (AttributeError, OSError, ValueError):
        fd = -1
    if fd >= 0 and not hasattr(stream, "getvalue"):
        # os.read returns as soon as anything arrives, a raw terminal's keystrokes included.
        return os.read(fd, 32768)
    read1 = getattr(stream, "read1", None)
    if read1 is not None:
        data: bytes = read1(32768)
        return data
    return stream.read(32768)


@contextlib.contextmanager
def raw_terminal(stream: BinaryIO, enabled: bool) -> Iterator[None]:
    """Put a terminal into raw mode for the duration (termios), restoring it afterwards."""
    if not enabled:
        yield
        return
    try:
        import termios
        import tty

        fd = stream.fileno()
        saved = termios.tcgetattr(fd)
    except (ImportError, AttributeError, OSError, ValueError):
        yield
        return
    tty.setraw(fd, termios.TCSANOW)
    try:
        yield
    finally:
        with contextlib.suppress(OSError):
            termios.tcsetattr(fd, termios.TCSADRAIN, saved)


class Streamer:
    """Copies one hijacked stream both ways until the output ends or the user detaches."""

    def __init__(
        self,
        sock: StreamSocket,
        *,
        stdin: BinaryIO | None,
        stdout: BinaryIO | None,
        stderr: BinaryIO | None,
        tty: bool,
        detach_keys: str = "",
        before_output: Callable[[], None] | None = None,
    ) -> None:
        self.sock = sock
        self.stdin = stdin
        self.stdout = stdout
        self.stderr = stderr
        self.tty = tty
        self.escape = EscapeProxy(parse_detach_keys(detach_keys or DEFAULT_DETACH_KEYS)) if tty else None
        self.detached = threading.Event()
        self.input_error: BaseException | None = None
        self._before_output = before_output

    def _input(self) -> None:
        assert self.stdin is not None
        try:
            while True:
                data = _read_chunk(self.stdin)
                if not data:
                    break
                if self.escape is not None:
                    data, detached = self.escape.feed(data)
                    if data:
                        self.sock.sendall(data)
                    if detached:
                        self.detached.set()
                        # Stop the output side: shutting the socket down wakes the reader.
                        with contextlib.suppress(OSError):
                            import socket as _socket

                            sock = getattr(self.sock, "sock", None)
                            if sock is not None:
                                sock.shutdown(_socket.SHUT_RDWR)
                        return
                    continue
                self.sock.sendall(data)
        except OSError as exc:
            self.input_error = exc
        finally:
            if not self.detached.is_set():
                with contextlib.suppress(OSError):
                    self.sock.close_write()

    def start_input(self) -> None:
        """Begin forwarding stdin (or half-close at once when there is none)."""
        if self.stdin is None:
            with contextlib.suppress(OSError):
                self.sock.close_write()
            return
        threading.Thread(target=self._input, name="stdin", daemon=True).start()

    def copy_output(self) -> None:
        """Block until the stream ends; raises Detached when the user typed the detach keys."""
        from dockyard.client.stdcopy import STDERR, Demuxer

        demuxer = None if self.tty else Demuxer()
        while True:
            try:
                data = self.sock.recv(32768)
            except OSError:
                data = b""
            if not data:
                break
            if demuxer is None:
                self._write(self.stdout, data)
                continue
            for kind, payload in demuxer.feed(data):
                self._write(self.stderr if kind == STDERR else self.stdout, payload)
        if self.detached.is_set():
            raise Detached()

    def _write(self, stream: BinaryIO | None, data: bytes) -> None:
        if stream is None:
            return
        if self._before_output is not None:
            self._before_output()
        stream.write(data)
        stream.flush()

    def run(self) -> None:
        self.start_input()
        try:
            self.copy_output()
        finally:
            with contextlib.suppress(OSError):
                self.sock.close()


def terminal_size(stream: BinaryIO) -> tuple[int, int] | None:
    """(height, width) of the terminal behind ``stream``, if it is one."""
    try:
        size = os.get_terminal_size(stream.fileno())
    except (AttributeError, OSError, ValueError):
        return None
    return size.lines, size.columns


__all__ = [
    "DEFAULT_DETACH_KEYS",
    "Detached",
    "EscapeProxy",
    "Streamer",
    "parse_detach_keys",
    "raw_terminal",
    "terminal_size",
]
