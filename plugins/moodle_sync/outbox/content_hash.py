"""The content hashes of ``moodle_sync_entity_state``, keyed so that the event log alone does not tell the values.

A key's stored hash is ``BLAKE2b(key=K, BLAKE2b(synced fields' JSON))`` (16 bytes, hex). The inner, unkeyed digest
is what the hash was before migration 011, so a log of unkeyed hashes is converted in place, row by row, without
Moodle's data, and a later sync of unchanged data finds the same hash and emits nothing.

K is derived (keyed BLAKE2b) from the newest key of ``moodle_sync_encryption`` when the log first gets a hash key,
then kept in ``moodle_sync_meta`` sealed like a payload (crypto.PayloadCipher, the row's name as associated data):
two deployments with different keys store different hashes for the same data, a rotated connection (new key in
front) still opens the same K, and the maintenance DAG reseals it under the newest key with the payloads, so the
old key can leave the connection. Without any key (``MOODLE_SYNC_ALLOW_PLAINTEXT``, payloads in plain text) the
hashes stay unkeyed, until a key appears: the next sync converts them.
"""

from __future__ import annotations

import hashlib
import logging

from moodle_sync.config import ALLOW_PLAINTEXT, ENCRYPTION_CONN_ID, ConfigError
from moodle_sync.outbox.crypto import PayloadCipher, key_id
from moodle_sync.outbox.db import Database
from moodle_sync.outbox.eventlog import migration_lock

log = logging.getLogger(__name__)
AREA = "eventlog"
DIGEST_BYTES = 16
#: the name of the sealed hash key in moodle_sync_meta (also the associated data of its seal)
KEY_ROW = "content_hash_key"
#: while unkeyed hashes are converted: the last state converted (entity type, NUL, entity key)
CURSOR_ROW = "content_hash_converted_after"
CONVERT_BATCH = 5_000
#: the unkeyed digest of a deleted key (what deletes stored before migration 011): no row's JSON hashes to it
DELETED_DIGEST = hashlib.blake2b(b"<deleted>", digest_size=DIGEST_BYTES).digest()
_blake2b = hashlib.blake2b


def derive_key(encryption_key: bytes) -> bytes:
    """The hash key of an encryption key (a PRF of it under its own label: never the key itself)."""
    return _blake2b(b"moodle_sync content hash key v1", key=encryption_key, digest_size=32).digest()


class ContentHasher:
    """The stored hash of a synced row's JSON line; ``key=None``: the unkeyed form (no encryption key)."""

    def __init__(self, key: bytes | None):
        self.key = key
        self.deleted = self.from_digest(DELETED_DIGEST)

    @property
    def keyed(self) -> bool:
        return self.key is not None

    def of(self, line: bytes) -> str:
        if self.key is None:
            return _blake2b(line, digest_size=DIGEST_BYTES).hexdigest()
        return _blake2b(_blake2b(line, digest_size=DIGEST_BYTES).digest(), key=self.key,
                        digest_size=DIGEST_BYTES).hexdigest()

    def from_digest(self, digest: bytes) -> str:
        """The stored form of an unkeyed digest (what a log from before migration 011 holds)."""
        if self.key is None:
            return digest.hex()
        return _blake2b(digest, key=self.key, digest_size=DIGEST_BYTES).hexdigest()


def _get(store: Database, name: str) -> bytes | None:
    rows = store.query(store.sql(AREA, "meta_get"), {"name": name})
    return bytes(rows[0][0]) if rows else None


def _open_key(sealed: bytes, cipher: PayloadCipher) -> bytes:
    if not cipher.encrypts:
        raise ConfigError(
            f"the content hashes of the event log are keyed with a key sealed under connection "
            f"{ENCRYPTION_CONN_ID!r}, which holds no key (or is missing): put its keys back. Without them every "
            f"key would look changed and be sent again; {ALLOW_PLAINTEXT.env} does not apply to a log that once "
            f"had keys")
    try:
        return bytes.fromhex(cipher.open(sealed, KEY_ROW))
    except ConfigError as exc:
        raise ConfigError(
            f"the key of the event log's content hashes is sealed under a key that connection "
            f"{ENCRYPTION_CONN_ID!r} no longer holds ({exc}). Put that key back after the newest one and let "
            f"moodle_sync_maintenance reseal; without it every key would look changed and be sent again") from exc


def _seal_key(key: bytes, cipher: PayloadCipher) -> bytes:
    return cipher.seal(key.hex().encode(), KEY_ROW)


def hasher_for(store: Database, cipher: PayloadCipher) -> ContentHasher:
    """The event log's content hasher; gives the log its hash key and converts its unkeyed hashes the first
    time a key is there (under the migration lock: one task converts, the others wait)."""
    sealed, converting = _get(store, KEY_ROW), _get(store, CURSOR_ROW)
    store.commit()
    if sealed is not None and converting is None:
        return ContentHasher(_open_key(sealed, cipher))
    if sealed is None and not cipher.encrypts:
        return ContentHasher(None)  # plain text allowed: the payloads themselves lie open, the hashes stay unkeyed
    with migration_lock(store, "converting its content hashes"):
        sealed = _get(store, KEY_ROW)
        if sealed is None:
            key = derive_key(cipher.keys[0])
            store.execute(store.sql(AREA, "meta_put"), {"name": KEY_ROW, "value": _seal_key(key, cipher)})
            store.execute(store.sql(AREA, "meta_put"), {"name": CURSOR_ROW, "value": b"\x00"})
            store.commit()
            log.info("event log: content hashes keyed from encryption key %s; converting the stored ones",
                     key_id(cipher.keys[0]))
        else:
            key = _open_key(sealed, cipher)
        hasher = ContentHasher(key)
        _convert(store, hasher)
        return hasher


def _convert(store: Database, hasher: ContentHasher, batch: int | None = None) -> int:
    """Rewrite every unkeyed hash in its keyed form, a committed batch at a time with its cursor (a crash
    resumes after the last batch, never converting a row twice); returns the rows converted."""
    batch = batch or CONVERT_BATCH
    cursor = _get(store, CURSOR_ROW)
    done = 0
    while cursor is not None:
        after_type, _, after_key = cursor.decode().partition("\x00")
        rows = store.query(store.sql(AREA, "state_hash_page"),
                           {"after_type": after_type, "after_key": after_key, "limit": batch})
        if not rows:
            store.execute(store.sql(AREA, "meta_delete"), {"name": CURSOR_ROW})
            store.commit()
            break
        store.executemany(store.sql(AREA, "state_hash_update"), [
            {"new": hasher.from_digest(bytes.fromhex(old)), "entity_type": etype, "entity_key": key, "old": old}
            for etype, key, old in rows])
        cursor = f"{rows[-1][0]}\x00{rows[-1][1]}".encode()
        store.execute(store.sql(AREA, "meta_put"), {"name": CURSOR_ROW, "value": cursor})
        store.commit()
        done += len(rows)
        log.info("event log: %d content hashes keyed so far", done)
    return done


def reseal_key(store: Database, cipher: PayloadCipher) -> bool:
    """Reseal the hash key under the newest encryption key (the maintenance DAG, with the payloads); True when
    it was rewritten."""
    sealed = _get(store, KEY_ROW)
    store.commit()
    if sealed is None or not cipher.encrypts or sealed.startswith(cipher.current_prefix):
        return False
    store.execute(store.sql(AREA, "meta_put"), {"name": KEY_ROW, "value": _seal_key(_open_key(sealed, cipher),
                                                                                      cipher)})
    store.commit()
    return True
