"""What an entity declares (``EntitySpec``: its key, SQL, fields, transform and readers) and the helpers its
readers share. Nothing here imports pandas: DAG files import the entities."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field

from moodle_sync.capture.phpserialize import parse_other
from moodle_sync.config import Setting

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class WatchedRows:
    """Moodle rows whose change writes no timestamp; snapshotted each run to find affected entities."""

    sql: str  # include/sql/moodle/<sql>.sql returning (key, value)
    column: str  # the column of the entity's rows that refers to a watched row
    # include/sql/moodle/<keys_sql>.sql: the entity's keys (as its key columns) whose {column} is in the bound
    # list ``watched_ids`` (an index lookup): what a run without a scan re-reads when watched rows changed
    keys_sql: str
    # placeholder in the entity's scan changed-SQL: "<column> is one of the changed keys" (None: not used there)
    fragment: str | None = None


@dataclass(frozen=True)
class KeySource:
    """A Moodle table that names keys no timestamp shows (hard deletes, role unassignments): the fast path
    reads it by ``id`` cursor (stored per entity and source in the event log) and the named keys are re-read;
    a key that no longer exists in Moodle becomes the entity's delete event."""

    name: str  # cursor name, unique within the entity
    sql: str  # include/sql/moodle/<sql>.sql: rows with %(after)s < id <= %(upto)s, at most %(limit)s
    bounds_sql: str  # include/sql/moodle/<bounds_sql>.sql: (max id, first id at or after %(since)s)
    reader: Callable[[dict], tuple[str, dict, int | None] | None]  # row -> (key, ids it knows, time) or None
    eventnames: tuple[str, ...] = ()  # log events to read (a log source); empty for other tables
    needs_log: bool = False  # the table is Moodle's standard log: only read when that log store is enabled
    needs_history: bool = False  # the table is the grade history: only read when Moodle keeps it
    # it names every key a change touches (not only deletes): when it was read, the run scans nothing
    covers_changes: bool = False


@dataclass(frozen=True)
class EntitySpec:
    name: str
    dag_id: str
    schedule_setting: Setting  # the entity DAG's cron schedule (moodle_sync.config)
    description: str
    select_sql: str
    changed_sql: str
    key_columns: tuple[str, ...]
    # The main table's id: (column of the chunk, SQL expression, table); the SELECT streams rows in its order,
    # so an interrupted initial sync resumes after the last id it committed.
    source_id: tuple[str, str, str]
    transform: Callable  # (raw chunk DataFrame, now[, context]) -> the chunk with derived columns, quarantine_reason
    payload_fields: dict[str, str]  # payload field -> column of the transformed chunk
    change_fields: tuple[str, ...]  # payload fields hashed to tell a real change
    modified_column: str
    event_types: tuple[str, str]  # (first event of a key, later events)
    deleted_flag: str | None = None  # payload field that turns an event into '<entity>.deleted'
    has_value_column: str | None = None  # rows without a value only matter once the key was synced
    changed_sql_without_history: str | None = None
    watched: WatchedRows | None = None
    tags: tuple[str, ...] = field(default=())
    # Deletes: the key's own ids (never names or emails) are kept in its state, so a delete event can say
    # what was deleted once the row is gone. A delete event's payload: every payload field null (a grade
    # "cleared"), then the ids, then ``delete_values``, ``timemodified`` = when it was deleted, ``sequence``.
    keys_sql: str = ""  # include/sql/moodle/<keys_sql>.sql: which keys in {candidates} exist in Moodle now
    candidates_sql: str = ""  # fragment: the entity's rows whose key is in the bound candidate list
    identity_fields: tuple[str, ...] = ()
    delete_values: dict = field(default_factory=dict)
    key_sources: tuple[KeySource, ...] = ()
    # Small per-site tables the transform needs (grade letters, scales, the timezone), read once per run:
    # (moodle, prefix) -> a dict given to ``transform`` as its third argument; its ``close()``, when it has
    # one, is called when the run ends. None: ``transform(df, now)``.
    context: Callable | None = None
    # Names of a deleted key, re-read from Moodle at delete time (the key's state keeps ids only):
    # (moodle, prefix, [ids of each deleted key]) -> [payload fields to add, per key]. None: ids only.
    delete_names: Callable | None = None
    # Column of the transformed chunk: when the row's state next changes with time alone (Moodle writes
    # nothing then: an enrolment starting or ending), or NA. Stored per key; due keys are re-read.
    flip_column: str | None = None
    # Log events that may change the entity without naming its key in a way the fast path reads (an enrolment
    # method edited, a grade item's range): the event-driven trigger (capture/watch.py) starts a sync on these
    # too, besides its key sources' events; the sync then finds the change in its snapshots.
    wake_events: tuple[str, ...] = ()
    # fragment include/sql/moodle/<flip_seed_sql>.sql: the rows that may still flip after %(now)s; read once
    # (a scan) where the event log holds states from before flips were kept, so their flips are stored
    flip_seed_sql: str = ""

    @property
    def schedule(self) -> str:
        """The entity DAG's cron schedule, from its setting (checked)."""
        return self.schedule_setting.cron()

    def changed_sql_for(self, grade_history_enabled: bool) -> str:
        if not grade_history_enabled and self.changed_sql_without_history:
            return self.changed_sql_without_history
        return self.changed_sql


def same(*names: str) -> dict[str, str]:
    """Payload fields named as the chunk's columns."""
    return {n: n for n in names}


# Readers: one source row -> (key, the ids the row knows, time of the change), or None to skip the row.
# Only ids are taken from a row (the log's user_deleted row also holds the old username and email).

def as_int(value) -> int | None:
    try:
        return int(value) if value is not None and value != "" else None
    except (TypeError, ValueError):
        return None


def log_other(row: dict) -> dict:
    """A log row's ``other`` (JSON or PHP-serialized) as a dict; {} when empty or unreadable."""
    try:
        value = parse_other(row.get("other"))
    except ValueError as exc:
        log.info("log row %s: unreadable 'other' (%s); using its columns only", row.get("id"), exc)
        return {}
    return value if isinstance(value, dict) else {}
