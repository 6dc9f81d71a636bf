"""PHP ``unserialize`` for what Moodle writes into ``logstore_standard_log.other`` when ``jsonformat`` is off.

Moodle stores an event's ``other`` with ``json_encode`` (``logstore_standard | jsonformat = 1``, the default
since 3.x) or with PHP's ``serialize`` (older sites, or the setting turned off; rows keep the format they were
written in). ``other`` is a PHP array of scalars and nested arrays (``(array)$record`` for records), so this
reads that subset: ``N``, ``b``, ``i``, ``d``, ``s``, ``a`` and ``O`` (an object becomes a dict). Arrays with
keys 0..n-1 become lists, as ``json_encode`` would write them. Anything else raises ``ValueError``; nothing
here ever evaluates or instantiates anything.
"""

from __future__ import annotations

import json

__all__ = ["loads", "parse_other"]


class _Reader:
    def __init__(self, data: bytes):
        self.data = data
        self.pos = 0

    def fail(self, why: str):
        raise ValueError(f"PHP serialize: {why} at byte {self.pos}")

    def expect(self, token: bytes) -> None:
        if not self.data.startswith(token, self.pos):
            self.fail(f"expected {token!r}")
        self.pos += len(token)

    def until(self, stop: bytes) -> bytes:
        end = self.data.find(stop, self.pos)
        if end < 0:
            self.fail(f"missing {stop!r}")
        value, self.pos = self.data[self.pos:end], end + len(stop)
        return value

    def length(self, stop: bytes) -> int:
        raw = self.until(stop)
        if not raw.isdigit():
            self.fail(f"bad length {raw!r}")
        return int(raw)

    def string(self) -> str:
        n = self.length(b":")
        self.expect(b'"')
        raw = self.data[self.pos:self.pos + n]  # the length counts bytes, not characters
        if len(raw) != n:
            self.fail("string shorter than its length")
        self.pos += n
        self.expect(b'"')
        return raw.decode("utf-8", errors="replace")

    def value(self):
        kind = self.data[self.pos:self.pos + 2]
        self.pos += 2
        if kind == b"N;":
            return None
        if kind == b"b:":
            raw = self.until(b";")
            if raw not in (b"0", b"1"):
                self.fail(f"bad boolean {raw!r}")
            return raw == b"1"
        if kind == b"i:":
            raw = self.until(b";")
            try:
                return int(raw)
            except ValueError:
                self.fail(f"bad integer {raw!r}")
        if kind == b"d:":
            raw = self.until(b";")
            try:
                return float({b"INF": b"inf", b"-INF": b"-inf", b"NAN": b"nan"}.get(raw, raw))
            except ValueError:
                self.fail(f"bad float {raw!r}")
        if kind == b"s:":
            text = self.string()
            self.expect(b";")
            return text
        if kind == b"a:":
            return self.array()
        if kind == b"O:":
            self.string()  # the class name: irrelevant to the data, never used to build anything
            self.expect(b":")
            return self.array(as_dict=True)
        self.pos -= 2
        self.fail(f"unsupported type {kind!r}")

    def array(self, as_dict: bool = False):
        n = self.length(b":")
        self.expect(b"{")
        items = {}
        for _ in range(n):
            key = self.value()
            if not isinstance(key, (int, str)):
                self.fail("array key must be an int or a string")
            items[key] = self.value()
        self.expect(b"}")
        if not as_dict and list(items) == list(range(n)):
            return list(items.values())
        return {str(k): v for k, v in items.items()}


def loads(data: str | bytes):
    """The value of one PHP-serialized string (the whole input must be one value)."""
    reader = _Reader(data.encode("utf-8") if isinstance(data, str) else data)
    value = reader.value()
    if reader.pos != len(reader.data):
        reader.fail("trailing data")
    return value


def parse_other(text: str | bytes | None):
    """A log row's ``other``: JSON or PHP-serialized, whichever it is; None for SQL NULL, 'null' and 'N;'."""
    if text is None:
        return None
    if isinstance(text, bytes):
        text = text.decode("utf-8", errors="replace")
    stripped = text.strip()
    if not stripped:
        return None
    if stripped[0] in "{[" or stripped in ("null", "true", "false") or stripped[0] in '"-0123456789':
        return json.loads(stripped)
    return loads(stripped)
