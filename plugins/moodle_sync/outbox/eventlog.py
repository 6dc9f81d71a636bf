"""The event log database: versioned migrations, event rows, their delivery state, runs and endpoints.

One entity's own state (per-key state, watermark, cursors, lock) is kept by ``outbox.entity_store``.

All statements are in ``include/sql/eventlog``; this module only binds values and owns transactions
where a step needs its own (migrations, leases).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import time
import uuid
from collections.abc import Sequence

from moodle_sync.outbox.db import Database, utcnow
from moodle_sync.outbox.sql import migrations, split_statements

log = logging.getLogger(__name__)
AREA = "eventlog"


@contextlib.contextmanager
def migration_lock(db: Database, doing: str):
    """Hold the event log's migration lock (one task changes the schema or its stored forms, the others wait);
    rolled back on an error, released at the end. MariaDB's GET_LOCK gives up after its wait: then this fails,
    rather than go on without the lock, and the task's retry finds the work done."""
    got = db.query(db.sql(AREA, "migration_lock"))
    if db.dialect == "mysql" and (not got or got[0][0] != 1):
        db.commit()
        raise RuntimeError(f"another task holds the event log's migration lock ({doing}): this task will find it "
                           "done when it is retried")
    try:
        yield
    except Exception:
        db.rollback()
        raise
    finally:
        db.query(db.sql(AREA, "migration_unlock"))
        db.commit()


def migrate(db: Database) -> list[int]:
    """Apply the migrations this database lacks, under a lock; safe to call from every task."""
    applied_now: list[int] = []
    with migration_lock(db, "applying migrations"):
        db.execute(db.sql(AREA, "migrations_table"))
        db.commit()
        applied = {row[0] for row in db.query(db.sql(AREA, "applied_migrations"))}
        for version, name, body in migrations(db.dialect):
            if version in applied:
                continue
            for statement in split_statements(body):
                db.execute(statement)
            db.execute(db.sql(AREA, "record_migration"), {"version": version, "name": name})
            db.commit()
            applied_now.append(version)
            log.info("event log: applied migration %s", name)
    return applied_now


#: PostgreSQL types of the columns of insert_event and state_stage_copy (binary COPY, postgres/*.sql)
EVENT_COPY_TYPES = ("uuid", "text", "text", "text", "int4", "bytea", "text", "timestamptz", "int8", "text",
                    "timestamptz", "timestamptz", "timestamptz")
STATE_COPY_TYPES = ("text", "text", "int4", "text", "timestamptz", "text", "int2")


def write_events(db: Database, events: Sequence[tuple], states: Sequence[tuple], *, new_keys: bool = False) -> None:
    """Insert new event rows and move their keys' state forward (no commit: the caller's transaction).

    ``new_keys``: no key of ``states`` has a state yet (an initial sync), so they are inserted, not upserted.
    On MariaDB/MySQL both go in by LOAD DATA where the connection allows it (``Database.load_rows``)."""
    mysql = db.dialect == "mysql"
    if not mysql:  # binary COPY, the event id as a uuid: cheaper than text COPY on both sides (bench/README.md)
        events = [(uuid.UUID(e[0]),) + e[1:] for e in events]
    # event rows: entity_type, status, next_retry_at, dag_run_id and the three timestamps are the chunk's own
    db.insert_many(db.sql(AREA, "insert_event"), events, constant_columns=(2, 6, 7, 9, 10, 11, 12),
                   load_sql=db.sql(AREA, "load_events") if mysql else None, copy_types=EVENT_COPY_TYPES)
    if not mysql and len(states) > 100:  # COPY to a staging table, then one upsert
        db.execute(db.sql(AREA, "state_stage"))
        db.execute(db.sql(AREA, "state_stage_clear"))
        db.insert_many(db.sql(AREA, "state_stage_copy"), states, copy_types=STATE_COPY_TYPES)
        db.execute(db.sql(AREA, "state_stage_merge"))
    else:
        db.insert_many(db.sql(AREA, "upsert_state"), states, constant_columns=(0, 4),
                       load_sql=db.sql(AREA, "load_new_states") if mysql and new_keys else None)


def refresh_statistics(db: Database) -> None:
    """Refresh the planner's statistics of the event log and the state table (after a sync that wrote many
    rows: an initial sync leaves hundreds of thousands of pending events that the claim must walk in due
    order, and a plan made on the statistics of an empty log reads all of them for every batch)."""
    db.query(db.sql(AREA, "refresh_statistics"))
    db.commit()


def record_run(db: Database, result, run_id: str | None) -> None:
    """One run-log row, in the caller's transaction (the one that moves the watermark)."""
    w = result.window
    db.execute(db.sql(AREA, "insert_run_log"), {
        "entity": result.entity, "dag_run_id": run_id, "mode": w["mode"], "since": w["since"], "until": w["until"],
        "read": result.read, "quarantined": result.quarantined, "unchanged": result.unchanged,
        "events": result.events, "seconds": result.seconds, "now": db.ts(utcnow())})


def last_runs(db: Database, limit: int = 10) -> list[dict]:
    names = ["entity", "mode", "read", "quarantined", "unchanged", "events", "seconds", "dag_run_id"]
    return [dict(zip(names, row)) for row in db.query(db.sql(AREA, "last_runs"), {"limit": limit})]


def event_status_for_run(db: Database, run_id: str) -> dict[str, int]:
    return {status: int(n) for status, n in db.query(db.sql(AREA, "run_event_status"), {"run_id": run_id})}


def claim_sql(db: Database, entity: str | None) -> str:
    """The claim's SELECT: due events of ``entity`` (None: every entity), with the dialect's index hint."""
    return db.sql(AREA, "claim_due", entity_filter="AND e.entity_type = %(entity)s" if entity else "",
                  key_index=db.sql(AREA, "claim_key_index"))


CLAIM_COLUMNS = ["id", "event_id", "event_type", "entity_type", "entity_key", "sequence", "payload", "attempts",
                 "budget_started_at", "deduplicated", "next_retry_at"]


def _aware(value: dt.datetime | None) -> dt.datetime | None:
    return value.replace(tzinfo=dt.timezone.utc) if value is not None and value.tzinfo is None else value


class Claim(list):
    """The claimed events (dicts), and how many older events the claim marked superseded."""

    superseded: int = 0


def claim_due(db: Database, entity: str | None, owner: str, limit: int, lease: dt.timedelta, *,
              coalesce: bool = True) -> Claim:
    """Lease up to ``limit`` due events (one per key, in due order) to ``owner``; commit the lease at once,
    so two deliverers never hold the same event and a dead worker's events come back after ``lease``.

    ``coalesce``: when a claimed event's key has newer events waiting, only the newest is leased and sent; the
    older ones (the claimed one included) become ``superseded`` with ``last_error`` = ``superseded by
    <event_id>``, in the same transaction (each event carries its key's whole state, so the newest is all a
    receiver needs; a backend that remembers keys for a while would drop the second of two quick sends). Safe
    with concurrent deliverers: the claim row-locks the oldest waiting event of the key, and while it waits no
    other claim can take a later one of that key (claim_due.sql's per-key check); the newer rows are locked
    too. A newest event that is not yet due (a failed one waiting for its retry) is not leased: its key waits
    for it. Each claimed dict lists in ``superseded`` the event ids it replaced; ``Claim.superseded`` counts
    them all."""
    for attempt in range(1, 4):  # two claims locking a key's newer rows can deadlock: the victim claims again
        now = utcnow()
        try:
            rows = db.query(claim_sql(db, entity), {"entity": entity, "now": db.ts(now), "limit": limit})
            claimed = Claim(dict(zip(CLAIM_COLUMNS, row), superseded=[]) for row in rows)
            if claimed and coalesce:
                claimed = _coalesce(db, claimed, now)
            if claimed:
                db.execute(db.sql(AREA, "lease_events"), {"owner": owner, "lease_until": db.ts(now + lease),
                                                          "ids": db.bind_list([c["id"] for c in claimed])})
            db.commit()
            break
        except Exception as exc:
            db.rollback()
            if attempt == 3 or not db.is_transient(exc):
                raise
            log.info("claim hit %s; claiming again (%d/3)", exc, attempt)
            time.sleep(0.05 * attempt)
    for item in claimed:
        item["event_id"] = str(item["event_id"])
        item["budget_started_at"] = _aware(item["budget_started_at"])
        item["next_retry_at"] = _aware(item["next_retry_at"])
    return claimed


def _coalesce(db: Database, claimed: Claim, now: dt.datetime) -> Claim:
    """In the claim's transaction: swap each claimed event for the newest waiting event of its key, mark the
    older ones superseded by it; returns what to lease and send."""
    newer: dict[int, list[dict]] = {}
    for row in db.query(db.sql(AREA, "coalesce_newer", key_index=db.sql(AREA, "claim_key_index")),
                        {"ids": db.bind_list([c["id"] for c in claimed])}):
        newer.setdefault(row[-1], []).append(dict(zip(CLAIM_COLUMNS, row[:-1]), superseded=[]))
    if not newer:
        return claimed
    out = Claim()
    for head in claimed:
        later = newer.get(head["id"])
        if not later:
            out.append(head)
            continue
        newest = later[-1]  # ordered by sequence
        older = [head] + later[:-1]
        db.execute(db.sql(AREA, "mark_superseded"), {
            "ids": db.bind_list([o["id"] for o in older]), "now": db.ts(now),
            "reason": f"superseded by {newest['event_id']} (sequence {newest['sequence']})"})
        newest["superseded"] = [str(o["event_id"]) for o in older]
        out.superseded += len(older)
        due = _aware(newest["next_retry_at"])
        if due is None or due <= now:
            out.append(newest)
        else:
            log.info("%s %s: %d older events superseded by %s, which waits for its retry at %s",
                     head["entity_type"], head["entity_key"], len(older), newest["event_id"], due.isoformat())
    return out


def record_results(db: Database, owner: str, *, sent=(), failed=(), deduplicated=(), dead=(), released=(),
                   attempts=()) -> None:
    """Store one batch's outcomes, its attempt rows and the released leases, in one transaction.
    Outcomes only touch rows this owner still leases."""
    try:
        by_status: dict = {}
        for r in sent:  # one statement per HTTP status, not one per event
            by_status.setdefault((r["http_status"], r["now"]), []).append(r["id"])
        for (status, now), ids in by_status.items():
            db.execute(db.sql(AREA, "mark_sent"), {"ids": db.bind_list(ids), "owner": owner, "now": now,
                                                   "http_status": status})
        for name, rows in (("mark_failed", failed), ("mark_deduplicated", deduplicated), ("mark_dead", dead),
                           ("release_event", released)):
            if rows:
                db.executemany(db.sql(AREA, name), [dict(r, owner=owner) for r in rows])
        db.insert_many(db.sql(AREA, "insert_attempt"), list(attempts))
        db.commit()
    except Exception:
        db.rollback()
        raise


def mark_skipped(db: Database, owner: str, rows: list[dict]) -> None:
    """Final status ``skipped`` (the endpoint does not take the event; ``error``: why) for rows ``owner`` leases;
    no attempt row: nothing was sent."""
    try:
        now = db.ts(utcnow())
        db.executemany(db.sql(AREA, "mark_skipped"), [dict(r, owner=owner, now=now) for r in rows])
        db.commit()
    except Exception:
        db.rollback()
        raise


def count_due(db: Database) -> int:
    n = db.query(db.sql(AREA, "count_due"), {"now": db.ts(utcnow())})[0][0]
    db.commit()
    return int(n)


def endpoint_state(db: Database, endpoint: str) -> tuple[str, str | None]:
    rows = db.query(db.sql(AREA, "get_endpoint_state"), {"endpoint": endpoint})
    db.commit()
    return (rows[0][0], rows[0][1]) if rows else ("ok", None)


def set_endpoint_state(db: Database, endpoint: str, state: str, reason: str | None = None) -> None:
    db.execute(db.sql(AREA, "set_endpoint_state"),
               {"endpoint": endpoint, "state": state, "reason": reason, "now": db.ts(utcnow())})
    db.commit()


REPLAY_COLUMNS = ["id", "event_id", "event_type", "entity_type", "entity_key", "sequence", "status", "attempts",
                  "last_error"]


def find_replayable(db: Database, *, event_ids=(), status: str | None = "dead", event_type=None, entity_type=None,
                    entity_key=None, since: dt.datetime | None = None, limit: int = 100_000) -> list[dict]:
    params = {"any_id": 1 if event_ids else 0, "event_ids": db.bind_list(list(event_ids) or [""]),
              "status": status, "event_type": event_type, "entity_type": entity_type,
              "entity_key": entity_key, "since": db.ts(since) if since else None, "limit": limit}
    rows = db.query(db.sql(AREA, "replay_select"), params)
    db.commit()
    return [dict(zip(REPLAY_COLUMNS, row), event_id=str(row[1])) for row in rows]


def requeue(db: Database, ids: list[int]) -> int:
    """Pending again, due now, attempts and retry window reset; the event_id never changes."""
    if not ids:
        return 0
    try:
        n = db.execute(db.sql(AREA, "requeue_events"), {"ids": db.bind_list(ids), "now": db.ts(utcnow())})
        db.commit()
    except Exception:
        db.rollback()
        raise
    return n


def record_failure(db: Database, entity: str, *, run_id: str | None, task_id: str, try_number, final: bool,
                   error: str) -> None:
    """An entity DAG's failed try replaces the entity's last failure (no commit: the caller's transaction). The
    error is stored without the values it quotes (a driver quotes the row it choked on: personal data)."""
    from moodle_sync.redaction import without_values

    db.execute(db.sql(AREA, "record_failure"), {
        "entity": entity, "dag_run_id": run_id, "task_id": task_id,
        "try_number": try_number if isinstance(try_number, int) else None, "final": bool(final),
        "error": without_values(error)[:1000], "now": db.ts(utcnow())})
