"""The size Docker gives a layer, read from its tar headers alone.

dockerd measures a layer as the files of its unpacked directory (``directory.Size``): the bytes
of each regular file, counted once per hard-linked inode, plus each symlink's target length;
directories, devices and whiteouts count nothing. The same total comes from the headers of the
layer's tar, without unpacking it: ``TarSizer`` is fed the plain tar as it streams by (beside a
digest), ``tar_content_size`` reads a seekable file header by header and seeks over the data.
PAX (``size``, ``linkpath``) and GNU long-link records are honoured.
"""

from __future__ import annotations

from typing import BinaryIO

BLOCK = 512
_REGULAR = (b"0", b"\0", b"7")


def _padded(size: int) -> int:
    return -(-size // BLOCK) * BLOCK


def _number(field: bytes) -> int:
    if field[:1] and field[0] & 0x80:  # base-256, for sizes beyond the octal field's range
        value = field[0] & 0x7F
        for byte in field[1:]:
            value = (value << 8) | byte
        return value
    text = field.split(b"\0", 1)[0].strip()
    return int(text, 8) if text else 0


def _pax_records(data: bytes) -> dict[bytes, bytes]:
    out: dict[bytes, bytes] = {}
    pos = 0
    while pos < len(data):
        space = data.find(b" ", pos)
        if space < 0:
            break
        try:
            length = int(data[pos:space])
        except ValueError:
            break
        if length <= 0:
            break
        key, _, value = data[space + 1:pos + length - 1].partition(b"=")
        out[key] = value
        pos += length
    return out


class TarSizer:
    """Feed it the plain tar in chunks of any size; ``total`` is the layer's size so far."""

    def __init__(self) -> None:
        self.total = 0
        self.done = False
        self._buf = bytearray()
        self._want = BLOCK      # bytes to gather before the next step
        self._skip = 0          # bytes to pass over (file data, padding)
        self._record: bytes = b""  # typeflag of the extended record being gathered, or b""
        self._record_pad = 0
        self._pax: dict[bytes, bytes] = {}
        self._long_link: bytes | None = None

    def feed(self, data: bytes | bytearray | memoryview) -> None:
        pos, end = 0, len(data)
        while pos < end and not self.done:
            if self._skip:
                step = min(self._skip, end - pos)
                self._skip -= step
                pos += step
                continue
            step = min(self._want - len(self._buf), end - pos)
            self._buf += data[pos:pos + step]
            pos += step
            if len(self._buf) == self._want:
                block = bytes(self._buf)
                self._buf.clear()
                self._step(block)

    def _step(self, block: bytes) -> None:
        if self._record:
            kind, self._record = self._record, b""
            if kind == b"x":
                self._pax.update(_pax_records(block))
            elif kind == b"K":
                self._long_link = block.split(b"\0", 1)[0]
            self._skip, self._want = self._record_pad, BLOCK
            return
        self.skip_data(self.header(block))

    def header(self, block: bytes) -> int:
        """Account for one header block; returns how many bytes of data follow it (unpadded)."""
        if not block.strip(b"\0"):
            self.done = True  # the end-of-archive marker
            return 0
        kind = block[156:157]
        size = _number(block[124:136])
        if kind in (b"x", b"K"):
            if size:
                self._record, self._record_pad, self._want = kind, _padded(size) - size, size
                return -1  # the record is gathered, not skipped
            return 0
        if kind in (b"g", b"L"):
            return size  # a global record or a long name: nothing this sum needs
        pax, long_link = self._pax, self._long_link
        self._pax, self._long_link = {}, None
        if b"size" in pax:
            size = int(pax[b"size"])
        if kind in _REGULAR:
            self.total += size
        elif kind == b"2":
            target = pax.get(b"linkpath") or long_link or block[157:257].split(b"\0", 1)[0]
            self.total += len(target)
        return size

    def skip_data(self, size: int) -> None:
        if size > 0:
            self._skip = _padded(size)


def tar_content_size(f: BinaryIO) -> int:
    """The layer size of a plain tar in a seekable file, reading only its headers."""
    sizer = TarSizer()
    while not sizer.done:
        block = f.read(BLOCK)
        if len(block) < BLOCK:
            break  # a truncated archive: what was seen so far
        size = sizer.header(block)
        if size == -1:  # an extended record: read it through the sizer
            sizer.feed(f.read(sizer._want + sizer._record_pad))
        elif size > 0:
            f.seek(_padded(size), 1)
    return sizer.total


__all__ = ["TarSizer", "tar_content_size"]
