"""Event payloads encrypted at rest: AES-256-GCM under keys from the ``moodle_sync_encryption`` connection.

The connection's password holds one or more Fernet-format keys (url-safe base64 of 32 bytes), separated by
spaces, newest first: the newest encrypts, all decrypt, so a key is rotated by putting a new one in front
and letting the maintenance DAG re-encrypt the old rows. A stored payload (a binary column) is
``enc2:<key id>:`` followed by the raw nonce, ciphertext and tag; the event id is the associated data, so a
ciphertext moved to another row does not decrypt. AES-GCM rather than Fernet: several times cheaper on
the sync's hot path, authenticated all the same; raw bytes rather than base64: a quarter fewer bytes for
the database to write (figures: bench/README.md).
Older forms are still read, and re-encrypted by the maintenance DAG: ``enc1:<key id>:<base64>`` (before
migration 008) and plain JSON (``{...}``, what a sync without encryption stores).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import logging
import os
import threading
from dataclasses import dataclass

from moodle_sync.config import ALLOW_PLAINTEXT, ENCRYPTION_CONN_ID, ConfigError

log = logging.getLogger(__name__)

PREFIX = b"enc2:"  # raw nonce + ciphertext + tag
BASE64_PREFIX = b"enc1:"  # base64 of the same, as stored before migration 008
_KID_CHARS = 8
_NONCE_BYTES = 12
_GENERATE = "python -c 'from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())'"


class _Nonces:
    """Random 12-byte nonces drawn from the OS a block at a time: one getrandom() per 4,096 seals instead of one
    per seal (the getrandom() call was half a seal's cost). A forked child drops the block it inherited, so no two
    processes ever use the same nonce."""

    BLOCK = 4096

    def __init__(self):
        self._lock = threading.Lock()
        self._block, self._at = b"", 0
        os.register_at_fork(after_in_child=self._drop)

    def _drop(self) -> None:
        self._lock = threading.Lock()
        self._block, self._at = b"", 0

    def take(self) -> bytes:
        with self._lock:
            if self._at >= len(self._block):
                self._block, self._at = os.urandom(_NONCE_BYTES * self.BLOCK), 0
            at = self._at
            self._at = at + _NONCE_BYTES
            # sliced under the lock: another thread may replace the block the moment it is released
            return self._block[at:at + _NONCE_BYTES]


_nonces = _Nonces()


def key_id(key: bytes) -> str:
    """A short public name for a key (8 hex characters of its SHA-256): tells which key sealed a row."""
    return hashlib.sha256(key).hexdigest()[:8]


def parse_keys(text: str | None) -> list[bytes]:
    """The raw 32-byte keys of a space-separated list of Fernet-format keys, newest first."""
    keys = []
    for position, item in enumerate((text or "").split(), start=1):
        try:
            raw = base64.urlsafe_b64decode(item.encode("ascii"))
        except (binascii.Error, ValueError, UnicodeEncodeError):
            raw = b""
        if len(raw) != 32:
            raise ConfigError(
                f"connection {ENCRYPTION_CONN_ID!r}: key #{position} of the password is not a Fernet-format key "
                f"(url-safe base64 of 32 bytes). Generate one with: {_GENERATE}")
        keys.append(raw)
    return keys


@dataclass(frozen=True)
class PayloadCipher:
    """Seals and opens stored payloads; with no keys it stores and reads plain JSON (explicitly allowed only)."""

    keys: tuple[bytes, ...] = ()

    def __post_init__(self):
        from cryptography.hazmat.primitives.ciphers.aead import AESGCM

        by_id = {key_id(k): AESGCM(k) for k in self.keys}
        object.__setattr__(self, "_by_id", by_id)
        # (stored prefix, cipher) of the newest key: what seal uses and what every row it seals starts with
        newest = key_id(self.keys[0]) if self.keys else None
        object.__setattr__(self, "_newest", (PREFIX + newest.encode() + b":", by_id[newest]) if newest else None)

    @property
    def encrypts(self) -> bool:
        return self._newest is not None

    @property
    def current_prefix(self) -> bytes | None:
        """What every row sealed under the newest key starts with (None without keys)."""
        return self._newest[0] if self._newest else None

    def seal(self, payload: bytes, event_id: str) -> bytes:
        """The stored form of a payload (JSON bytes) for the row ``event_id``."""
        if self._newest is None:
            return payload
        prefix, aead = self._newest
        nonce = _nonces.take()
        return prefix + nonce + aead.encrypt(nonce, payload, event_id.encode())

    def open(self, stored: bytes | memoryview | str, event_id: str) -> str:
        """The JSON payload of a stored row; raises ConfigError when its key is not in the connection."""
        stored = stored.encode() if isinstance(stored, str) else bytes(stored)
        if stored.startswith(PREFIX):
            kid, raw = stored[len(PREFIX):len(PREFIX) + _KID_CHARS], stored[len(PREFIX) + _KID_CHARS + 1:]
        elif stored.startswith(BASE64_PREFIX):
            kid, _, body = stored[len(BASE64_PREFIX):].partition(b":")
            raw = base64.b64decode(body)
        else:
            return stored.decode()
        aead = self._by_id.get(kid.decode("ascii", "replace"))
        if aead is None:
            raise ConfigError(
                f"event {event_id} is encrypted under key {kid.decode('ascii', 'replace')}, which connection "
                f"{ENCRYPTION_CONN_ID!r} does not hold: put that key back (after the newest) until the maintenance "
                f"DAG has re-encrypted the log")
        return aead.decrypt(raw[:_NONCE_BYTES], raw[_NONCE_BYTES:], event_id.encode()).decode()

    def reseal(self, stored: bytes | memoryview | str, event_id: str) -> bytes | None:
        """The row under the newest key (and in the newest form), or None when it already is (or when there
        are no keys)."""
        stored = stored.encode() if isinstance(stored, str) else bytes(stored)
        if self._newest is None or stored.startswith(self.current_prefix):
            return None
        return self.seal(self.open(stored, event_id).encode(), event_id)


def _plaintext_allowed() -> bool:
    return ALLOW_PLAINTEXT.flag()


def cipher_from_connection(conn_id: str = ENCRYPTION_CONN_ID) -> PayloadCipher:
    """The cipher of the encryption connection; without it, refuse unless plain text is explicitly allowed."""
    from airflow.sdk import BaseHook
    from airflow.sdk.log import mask_secret

    try:
        conn = BaseHook.get_connection(conn_id)
    except Exception as exc:
        if _plaintext_allowed():
            log.warning("no %r connection and %s is set: event payloads (personal data) are stored in PLAIN TEXT",
                        conn_id, ALLOW_PLAINTEXT.env)
            return PayloadCipher()
        raise ConfigError(
            f"Airflow connection {conn_id!r} is not defined: event payloads hold personal data and are encrypted at "
            f"rest. Create it (any type; password = one or more Fernet-format keys, newest first, separated by "
            f"spaces; generate one with: {_GENERATE}), or set {ALLOW_PLAINTEXT.env}=true to store them in plain "
            f"text.") from exc
    for item in (conn.password or "").split():
        mask_secret(item)
    keys = parse_keys(conn.password)
    if not keys:
        raise ConfigError(f"connection {conn_id!r} has no key in its password: put one or more Fernet-format keys "
                          f"there, newest first. Generate one with: {_GENERATE}")
    return PayloadCipher(tuple(keys))
