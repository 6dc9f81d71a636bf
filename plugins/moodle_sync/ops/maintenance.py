"""Keeping the event log small and its payloads under the newest key: what the maintenance DAG runs.

- ``reseal_payloads``: after a key rotation (a new key put in front in ``moodle_sync_encryption``), or once keys
  exist where a sync once ran in plain text, every row not sealed under the newest key is re-encrypted, and so is
  the key of the content hashes (``outbox.content_hash``); then the old key can leave the connection.
- ``purge_sent``: sent events older than the retention period go, with their attempt rows, and superseded ones
  (never sent, a newer event carried their key) as old. Walks the primary
  key in id ranges and stops at the first row created after the cutoff (a row cannot be sent before it was
  created), so it needs no extra index on a table every sync writes to. The per-key state stays: it keeps a
  purged change from being emitted again.
- ``purge_dead``: dead events stay until replayed or purged explicitly, before a given time.
"""

from __future__ import annotations

import datetime as dt
import logging

from moodle_sync.config import RETENTION_DAYS
from moodle_sync.outbox import content_hash
from moodle_sync.outbox.crypto import PayloadCipher
from moodle_sync.outbox.db import Database, utcnow

log = logging.getLogger(__name__)
AREA = "maintenance"
DEFAULT_RETENTION_DAYS = RETENTION_DAYS.default


def reseal_payloads(store: Database, cipher: PayloadCipher, *, batch: int = 2_000) -> int:
    """Re-encrypt every row not sealed under the newest key, a committed batch at a time, and the content hashes'
    key; returns the count of payloads."""
    if not cipher.encrypts:
        log.info("no encryption key: nothing to re-encrypt")
        return 0
    if content_hash.reseal_key(store, cipher):
        log.info("the content hashes' key is now sealed under the newest encryption key")
    pattern = cipher.current_prefix + b"%"  # enc2:<hex>: holds no LIKE wildcard
    after, done = 0, 0
    while True:
        rows = store.query(store.sql(AREA, "payloads_to_reseal"),
                           {"after": after, "current_prefix": pattern, "limit": batch})
        if not rows:
            break
        updates = []
        for row_id, event_id, stored in rows:
            sealed = cipher.reseal(stored, str(event_id))
            if sealed is not None:
                updates.append({"payload": sealed, "id": row_id})
        store.executemany(store.sql(AREA, "reseal_payload"), updates)
        store.commit()
        done += len(updates)
        after = rows[-1][0]
        log.info("re-encrypted %d payloads so far (up to id %d)", done, after)
    log.info("re-encryption done: %d payloads now sealed under key %s", done, cipher.current_prefix)
    return done


def purge_sent(store: Database, *, older_than_days: int = DEFAULT_RETENTION_DAYS, step: int = 10_000,
               now: dt.datetime | None = None) -> int:
    """Delete sent events (and their attempts) sent more than ``older_than_days`` ago, and superseded events
    last updated as long ago; returns the count."""
    if older_than_days < 1:
        raise ValueError(f"retention must be at least 1 day (got {older_than_days})")
    cutoff = (now or utcnow()) - dt.timedelta(days=older_than_days)
    params = {"cutoff": store.ts(cutoff)}
    after, purged = 0, 0
    while True:
        first = store.query(store.sql(AREA, "id_after"), {"after": after})
        if not first or _aware(first[0][1]) >= cutoff:
            break
        params.update(low=first[0][0], high=first[0][0] + step)
        store.execute(store.sql(AREA, "purge_sent_attempts"), params)
        purged += store.execute(store.sql(AREA, "purge_sent_events"), params)
        store.commit()
        after = params["high"] - 1
    store.commit()
    log.info("retention: purged %d events sent before %s", purged, cutoff.isoformat())
    return purged


def purge_dead(store: Database, before: dt.datetime) -> int:
    """Delete dead events created before ``before`` (an explicit operator decision); returns the count."""
    params = {"before": store.ts(before)}
    store.execute(store.sql(AREA, "purge_dead_attempts"), params)
    purged = store.execute(store.sql(AREA, "purge_dead_events"), params)
    store.commit()
    log.info("purged %d dead events created before %s", purged, before.isoformat())
    return purged


def _aware(value: dt.datetime) -> dt.datetime:
    return value if value.tzinfo else value.replace(tzinfo=dt.timezone.utc)
