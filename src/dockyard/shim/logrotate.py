"""What both log drivers' writers share: a log file rotated by size, its rotated files gzip'd in
the background (with the last entry's time in the gzip header, as Docker writes it), and the
RFC3339Nano timestamps of entries and headers.

Files: ``<log>``, ``<log>.1`` (newest rotated) … ``<log>.<max_file - 1>``, each ``.gz`` once
compressed. Only the writers' record formats, and when they rotate, differ.
"""

from __future__ import annotations

import os
import struct
import time
import zlib

TYPE_CHECKING = False
if TYPE_CHECKING:
    import threading
    from collections.abc import Callable


def format_time(ns: int) -> str:
    """RFC3339Nano in UTC, trailing zeros of the fraction trimmed as Go does."""
    secs, frac = divmod(ns, 1_000_000_000)
    base = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(secs))
    if frac:
        return f"{base}.{frac:09d}".rstrip("0") + "Z"
    return base + "Z"


def gzip_file(src: str, last_time_nano: int) -> None:
    """Compress ``src`` into ``src.gz`` (header ``Extra``: the last entry's time) and remove ``src``.

    Written to a temporary name first, so a reader either finds ``src`` or a complete ``.gz``.
    """
    extra = f'{{"lastTime":"{format_time(last_time_nano)}"}}'.encode()  # as json.dumps, compact
    tmp = f"{src}.gz.tmp"
    try:
        with open(src, "rb") as fin, open(tmp, "wb") as fout:
            # RFC 1952 member: ID1 ID2 CM FLG(FEXTRA) MTIME XFL OS, then XLEN and the extra field.
            fout.write(b"\x1f\x8b\x08\x04" + b"\x00\x00\x00\x00" + b"\x00\xff")
            fout.write(struct.pack("<H", len(extra)) + extra)
            comp = zlib.compressobj(6, zlib.DEFLATED, -zlib.MAX_WBITS)
            crc = 0
            size = 0
            while chunk := fin.read(1 << 20):
                crc = zlib.crc32(chunk, crc)
                size += len(chunk)
                fout.write(comp.compress(chunk))
            fout.write(comp.flush())
            fout.write(struct.pack("<II", crc & 0xFFFFFFFF, size & 0xFFFFFFFF))
        os.chmod(tmp, 0o640)
        os.replace(tmp, f"{src}.gz")
    except FileNotFoundError:
        return
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
    os.unlink(src)


class RotatingFile:
    """The live log file, appended to with one ``os.write`` a record (readers see whole ones)."""

    def __init__(self, path: str, *, max_file: int, compress: bool) -> None:
        self.path = path
        self.max_file = max(1, max_file)
        self.compress = compress and self.max_file > 1  # only rotated files are compressed
        self._compressor: threading.Thread | None = None
        self._fd = self._open()
        self.size = os.fstat(self._fd).st_size

    def _open(self) -> int:
        return os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o640)

    def write(self, record: bytes) -> None:
        os.write(self._fd, record)
        self.size += len(record)

    def rotate(self, last_time_nano: int) -> None:
        """Shift the rotated files up one, dropping the oldest, and start a new live file."""
        self._wait_compressor()
        os.close(self._fd)
        self._fd = -1
        if self.max_file < 2:
            os.unlink(self.path)
        else:
            ext = ".gz" if self.compress else ""
            for n in range(self.max_file - 1, 1, -1):
                try:
                    os.replace(f"{self.path}.{n - 1}{ext}", f"{self.path}.{n}{ext}")
                except FileNotFoundError:
                    pass
            os.replace(self.path, f"{self.path}.1")
        self._fd = self._open()
        self.size = 0
        if self.compress:
            import threading  # only shims that compress pay for it

            self._compressor = threading.Thread(target=gzip_file, args=(f"{self.path}.1", last_time_nano),
                                                name="log-compress", daemon=True)
            self._compressor.start()

    def close(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1
        self._wait_compressor()

    def _wait_compressor(self) -> None:
        if self._compressor is not None:
            self._compressor.join()
            self._compressor = None


class RotatingWriter:
    """The part both drivers' writers share: their settings, the lines each stream has begun, and
    the rotating file. A subclass says how a stream's bytes become records (``end_stream``)."""

    def __init__(self, path: str, *, max_size: int, max_file: int, compress: bool,
                 clock: Callable[[], int] = time.time_ns) -> None:
        self.path = path
        self.max_size = max_size
        self._clock = clock
        self._last_time = 0
        self._partial: dict[str, bytearray] = {}  # stream -> the start of a line not ended yet
        self._file = RotatingFile(path, max_file=max_file, compress=compress)

    @property
    def max_file(self) -> int:
        return self._file.max_file

    @property
    def compress(self) -> bool:
        return self._file.compress

    def end_stream(self, stream: str) -> None:
        raise NotImplementedError

    def close(self) -> None:
        for stream in list(self._partial):
            self.end_stream(stream)
        self._file.close()
