"""Detach keys, as moby's term package reads and watches for them: on the client, which stops
sending at the sequence, and in the daemon, which ends an attach or exec stream there."""

from __future__ import annotations

DEFAULT = "ctrl-p,ctrl-q"
_CTRL_PUNCTUATION = {"@": 0, "[": 27, "\\": 28, "]": 29, "^": 30, "_": 31}


def parse(keys: str) -> bytes:
    """term.ToBytes: "ctrl-p,ctrl-q", "a,b", "ctrl-@"… as the bytes to watch for; ValueError
    ("Unknown character: 'x'") for anything else."""
    out = bytearray()
    for key in keys.split(","):
        if len(key) == 1:
            out += key.encode()
            continue
        if len(key) == 6 and key.startswith("ctrl-"):
            ch = key[5]
            if ch.isascii() and ch.isalpha():
                out.append(ord(ch.lower()) - ord("a") + 1)
                continue
            if ch in _CTRL_PUNCTUATION:
                out.append(_CTRL_PUNCTUATION[ch])
                continue
        raise ValueError(f"Unknown character: '{key}'")
    return bytes(out)


class EscapeProxy:
    """term.NewEscapeProxy: passes bytes through, holding back a partial detach sequence."""

    def __init__(self, keys: bytes) -> None:
        self.keys = keys
        self._held = b""

    def feed(self, data: bytes) -> tuple[bytes, bool]:
        """(bytes to send on, detached?)."""
        out = bytearray()
        for byte in data:
            candidate = self._held + bytes([byte])
            if self.keys and self.keys.startswith(candidate):
                if candidate == self.keys:
                    self._held = b""
                    return bytes(out), True
                self._held = candidate
                continue
            out += candidate
            self._held = b""
        return bytes(out), False


__all__ = ["DEFAULT", "EscapeProxy", "parse"]
