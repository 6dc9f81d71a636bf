"""One entity's state in the event log: per-key state, watermark, fast-path cursors, snapshots, progress, lock.

A sync opens one ``EntityStore`` and asks it everything it needs to know or record about its entity, instead
of passing the entity's name to a dozen functions. Statements are in ``include/sql/eventlog``.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from typing import NamedTuple

from moodle_sync.config import LOCK_TIMEOUT_SECONDS
from moodle_sync.outbox.db import Database, utcnow

log = logging.getLogger(__name__)

AREA = "eventlog"


class KeyState(NamedTuple):
    """What was last emitted for a key."""

    sequence: int
    content_hash: str
    deleted: bool
    has_ids: bool  # its ids are kept (states from before deletes were tracked have none)


def id_ranges(ids: Iterable[int]) -> str:
    """Ids as ranges, "3-7,9" (a run's ids are mostly consecutive)."""
    out, ordered = [], sorted(ids)
    i = 0
    while i < len(ordered):
        j = i
        while j + 1 < len(ordered) and ordered[j + 1] == ordered[j] + 1:
            j += 1
        out.append(str(ordered[i]) if i == j else f"{ordered[i]}-{ordered[j]}")
        i = j + 1
    return ",".join(out)


def id_set(text: str | None) -> set[int]:
    """The ids of ``id_ranges`` text."""
    ids: set[int] = set()
    for part in (text or "").split(","):
        if part:
            low, _, high = part.partition("-")
            ids.update(range(int(low), int(high or low) + 1))
    return ids


class DeleteState(NamedTuple):
    """What a delete of a key needs: its sequence, whether it is deleted already, and its ids (values form)."""

    sequence: int
    deleted: bool
    ids: str | None


@dataclass(frozen=True)
class EntityStore:
    db: Database
    entity: str

    def on(self, db: Database) -> "EntityStore":
        """The same entity's store through another connection (a chunk writer's)."""
        return replace(self, db=db)

    def _params(self, **values) -> dict:
        return {"entity": self.entity, **values}

    # --- the lock: one sync of an entity at a time --------------------------------------------------------
    @contextlib.contextmanager
    def lock(self, timeout: float = LOCK_TIMEOUT_SECONDS.default):
        """One sync of the entity at a time on this event log (its DAG, a backfill, reconciliation): two runs
        would read the same state and give one key two different events with one sequence. Waits up to
        ``timeout`` seconds; the lock belongs to the connection's session (commits do not release it)."""
        db = self.db
        deadline = time.monotonic() + timeout
        waiting = False
        while True:
            acquired = db.query(db.sql(AREA, "entity_lock"), self._params())[0][0]
            db.commit()
            if acquired == 1:
                break
            if time.monotonic() >= deadline:
                raise TimeoutError(f"{self.entity}: another sync of this entity held its lock for {timeout:.0f}s")
            if not waiting:
                log.info("%s: waiting for another sync of this entity (reconciliation, backfill) to finish",
                         self.entity)
                waiting = True
            if db.dialect != "mysql":  # GET_LOCK itself waited a second
                time.sleep(1.0)
        try:
            yield
        finally:
            try:
                db.rollback()
                db.query(db.sql(AREA, "entity_unlock"), self._params())
                db.commit()
            except Exception:  # a broken connection releases its session locks anyway
                log.warning("%s: could not release the entity lock (the connection is closing)", self.entity)

    # --- per-key state -----------------------------------------------------------------------------------
    def has_state(self) -> bool:
        return bool(self.db.query(self.db.sql(AREA, "state_exists"), self._params()))

    def lookup(self, keys: Sequence[str]) -> dict[str, KeyState]:
        """key -> what was last emitted, for the keys that have a state."""
        if not keys:
            return {}
        rows = self.db.query(self.db.sql(AREA, "state_lookup"), self._params(keys=self.db.bind_list(keys)))
        return {key: KeyState(int(seq), digest, bool(deleted), bool(has_ids))
                for key, seq, digest, deleted, has_ids in rows}

    def for_delete(self, keys: Sequence[str]) -> dict[str, DeleteState]:
        """key -> its delete state, for the keys that have a state."""
        if not keys:
            return {}
        rows = self.db.query(self.db.sql(AREA, "state_for_delete"), self._params(keys=self.db.bind_list(keys)))
        return {key: DeleteState(int(seq), bool(deleted), ids) for key, seq, deleted, ids in rows}

    def live_keys(self, after: str, limit: int) -> list[str]:
        """One page of the keys the sync believes exist (not deleted), after ``after`` in key order."""
        rows = self.db.query(self.db.sql(AREA, "state_live_keys"), self._params(after=after, limit=limit))
        self.db.commit()
        return [row[0] for row in rows]

    def quarantine(self, rows: Iterable[tuple[str, str]], run_id: str | None) -> None:
        """(key, reason) of bad rows: counted per key, never an event."""
        now = self.db.ts(utcnow())
        self.db.executemany(self.db.sql(AREA, "upsert_quarantine"),
                            [(self.entity, key, reason, run_id, now, now) for key, reason in rows])

    # --- how far the syncs got -----------------------------------------------------------------------------
    def watermark(self) -> int | None:
        rows = self.db.query(self.db.sql(AREA, "get_watermark"), self._params())
        return int(rows[0][0]) if rows else None

    def set_watermark(self, synced_from: int | None, synced_until: int, run_id: str | None) -> None:
        """Move the watermark to ``synced_until`` if the window [synced_from, synced_until) joins the synced range
        (``synced_from`` None: everything was read). A window beyond a gap (a backfill or resync of a later
        period) leaves it where it is: the next run must still read the gap."""
        self.db.execute(self.db.sql(AREA, "set_watermark"),
                        self._params(synced_from=synced_from, synced_until=synced_until, dag_run_id=run_id,
                                     now=self.db.ts(utcnow())))

    def cursors(self) -> dict[str, int]:
        """source -> last id the fast path read (moodle_sync.capture.fastpath)."""
        return {source: last_id for source, (last_id, _) in self.cursors_seen().items()}

    def cursors_seen(self) -> dict[str, tuple[int, set[int]]]:
        """source -> (last id the fast path read, the ids it took just below it)."""
        rows = self.db.query(self.db.sql(AREA, "get_cursors"), self._params())
        self.db.commit()
        return {source: (int(last_id), id_set(seen)) for source, last_id, seen in rows}

    def set_cursors(self, cursors: dict[str, int], run_id: str | None,
                    seen: dict[str, set[int]] | None = None) -> None:
        """In the caller's transaction (the run's last, with the watermark)."""
        now = self.db.ts(utcnow())
        for source, last_id in cursors.items():
            self.db.execute(self.db.sql(AREA, "set_cursor"),
                            self._params(source=source, last_id=last_id, dag_run_id=run_id, now=now,
                                         seen_ids=id_ranges((seen or {}).get(source, ()))))

    def watched(self) -> dict[str, str]:
        """The last snapshot of the entity's watched Moodle rows (rows whose change writes no timestamp)."""
        return dict(self.db.query(self.db.sql(AREA, "watched_lookup"), self._params()))

    def replace_watched(self, values: dict[str, str]) -> None:
        self.db.execute(self.db.sql(AREA, "watched_clear"), self._params())
        self.db.executemany(self.db.sql(AREA, "watched_insert"), [(self.entity, k, v) for k, v in values.items()])

    # --- time-only flips (an enrolment's start or end passing) --------------------------------------------
    def due_flips(self, upto: int, since: int = 0) -> list[str]:
        """Keys whose next time-only flip falls due in [since, upto]."""
        return [row[0] for row in self.db.query(self.db.sql(AREA, "flip_due"), self._params(since=since, upto=upto))]

    def replace_flips(self, keys: Sequence[str], flips: Iterable[tuple[str, int]]) -> None:
        """The re-read ``keys`` now flip at these times (key, due_at) only; in the caller's transaction."""
        if keys:
            self.db.execute(self.db.sql(AREA, "flip_forget"), self._params(keys=self.db.bind_list(list(keys))))
        self.db.executemany(self.db.sql(AREA, "flip_insert"), [(self.entity, k, due) for k, due in flips])

    def forget_due_flips(self, now: int) -> None:
        """Flips due by ``now`` were handled by this run (a key still there got its next flip, later)."""
        self.db.execute(self.db.sql(AREA, "flip_forget_due"), self._params(now=now))

    def meta(self, name: str) -> bytes | None:
        rows = self.db.query(self.db.sql(AREA, "meta_get"), {"name": f"{name}:{self.entity}"})
        return bytes(rows[0][0]) if rows else None

    def set_meta(self, name: str, value: bytes) -> None:
        self.db.execute(self.db.sql(AREA, "meta_put"), {"name": f"{name}:{self.entity}", "value": value})

    # --- an initial sync's committed chunks ------------------------------------------------------------------
    def resume_point(self) -> tuple[int, int] | None:
        """(source id to resume after, Moodle time the interrupted initial sync started at), or None: the end of
        the unbroken run of committed chunks from the start (a chunk committed after a lost one is read again)."""
        rows = self.db.query(self.db.sql(AREA, "progress_select"), self._params())
        self.db.commit()
        if not rows:
            return None
        upto = {int(after): int(upto_id) for after, upto_id, _ in rows}
        position = 0
        while position in upto:
            position = upto[position]
        return (position, min(int(r[2]) for r in rows)) if position else None

    def clear_progress(self, from_id: int = 0) -> None:
        self.db.execute(self.db.sql(AREA, "progress_clear"), self._params(from_id=from_id))

    def record_progress(self, after_id: int, upto_id: int, started_until: int, run_id: str | None) -> None:
        self.db.execute(self.db.sql(AREA, "progress_insert"),
                        self._params(after_id=after_id, upto_id=upto_id, started_until=started_until,
                                     dag_run_id=run_id))
