"""The fast path: keys that no timestamp names, read from Moodle's log and grade history by ``id`` cursor.

Moodle hard-deletes enrolments and grades and writes no timestamp when it unassigns a role, so a
``timemodified`` window never sees them. It does write ``mdl_grade_grades_history`` (action 3 for a deleted
grade) and, when the standard log store is enabled, ``mdl_logstore_standard_log`` rows
(``\\core\\event\\user_enrolment_deleted``, ``\\core\\event\\user_deleted``, ``\\core\\event\\role_unassigned``,
``\\core\\event\\grade_deleted``). Each entity's ``KeySource`` reads such a table after its stored cursor; the
keys found become candidates: the sync re-reads them, and a candidate Moodle no longer has becomes a delete.

Log rows reach the table in buffered batches and history rows commit with their (possibly long) transaction,
so ids can become visible out of order: every run reads again the last ``reread_ids`` ids before the cursor and
takes only those it had not taken (``Candidates.seen``, kept with the cursor), so a late row is taken once and
a run with no change names no key.
The log may be disabled, purged or truncated, and a demo Moodle may have no log table: then the source is
skipped with an INFO line and reconciliation (``moodle_sync_reconcile``) is the safety net.

A source that ``covers_changes`` (the log's user and enrolment events, every grade history row) names every key a
change touched, so when it was read the sync re-reads only the named keys instead of scanning Moodle's tables
for a timemodified no index serves (issue 12): ``Candidates.covered``. A backfill or resync reads the sources'
rows of its own time range (their time columns are indexed) and leaves the cursors alone.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from moodle_sync.config import FAST_PATH_MAX_KEYS, LOG_REREAD_IDS
from moodle_sync.outbox.db import Database
from moodle_sync.outbox.entity_store import EntityStore
from moodle_sync.entities import EntitySpec, KeySource

log = logging.getLogger(__name__)

DEFAULT_REREAD_IDS = LOG_REREAD_IDS.default
DEFAULT_MAX_KEYS = FAST_PATH_MAX_KEYS.default
DEFAULT_PAGE_ROWS = 10_000


@dataclass
class Candidates:
    #: key -> (ids the source row knows about the key, time of the row); later rows of a key win
    keys: dict[str, tuple[dict, int | None]] = field(default_factory=dict)
    #: source name -> id to store as the new cursor (with the run's last transaction)
    cursors: dict[str, int] = field(default_factory=dict)
    #: source name -> the ids taken within ``reread_ids`` below the new cursor (stored with it)
    seen: dict[str, set[int]] = field(default_factory=dict)
    rows: int = 0
    #: a source that names every changed key was read: the named keys are the run's changes (no scan)
    covered: bool = False


def key_params(db: Database, keys: list[tuple[int, ...]]) -> dict:
    """Bind a list of (one- or two-part) keys for an entity's ``*_candidates.sql`` fragment: one-part keys as the
    list ``candidate_keys``; pairs as a list of pairs on MySQL, as one array per part on PostgreSQL."""
    if len(keys[0]) == 1:
        return {"candidate_keys": db.bind_list([k[0] for k in keys])}
    if db.dialect == "mysql":
        return {"candidate_keys": tuple(keys)}
    return {f"candidate_key_{i + 1}": [k[i] for k in keys] for i in range(len(keys[0]))}


def parse_key(key: str) -> tuple[int, ...] | None:
    try:
        return tuple(int(part) for part in key.split(":"))
    except ValueError:
        return None


def _is_database_error(exc: BaseException) -> bool:
    """An error the database answered (missing table or column, no privilege), not a bug of ours."""
    return type(exc).__module__.split(".")[0] in ("MySQLdb", "psycopg", "pymysql")


def log_enabled(moodle: Database, prefix: str) -> bool | None:
    """Whether the standard log store is enabled (None: cannot tell, e.g. no config_plugins table)."""
    try:
        rows = moodle.query(moodle.sql("moodle", "log_enabled", prefix=prefix))
    except Exception as exc:
        if not _is_database_error(exc):
            raise
        moodle.rollback()
        log.info("cannot read Moodle's enabled log stores (%s)", _brief(exc))
        return None
    moodle.commit()
    stores = rows[0][0] if rows else ""
    return "logstore_standard" in [s.strip() for s in (stores or "").split(",")]


def _brief(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {str(exc).splitlines()[0][:200] if str(exc) else ''}"


def read(spec: EntitySpec, moodle: Database, state: EntityStore, *, prefix: str, since: int | None, initial: bool,
         until: int | None = None, ranged: bool = False, history_enabled: bool = True,
         reread_ids: int = DEFAULT_REREAD_IDS, max_keys: int = DEFAULT_MAX_KEYS,
         page_rows: int = DEFAULT_PAGE_ROWS) -> Candidates:
    """Read every key source of ``spec`` after its cursor. ``initial``: the run reads every row anyway, so the
    cursors are only placed at the sources' ends. ``since``: where to start a source that has no cursor yet.
    ``ranged`` (a backfill or resync): the rows of [since, until) instead, cursors untouched."""
    found = Candidates()
    if not spec.key_sources:
        return found
    cursors = state.cursors_seen()
    log_state = None
    for source in spec.key_sources:
        if source.needs_log:
            if log_state is None:
                log_state = log_enabled(moodle, prefix)
            if log_state is False:
                log.info("%s: fast path '%s' skipped: Moodle's standard log store is not enabled; %s", spec.name,
                         source.name, _fallback(source))
                continue
        if source.needs_history and not history_enabled:
            log.info("%s: fast path '%s' skipped: Moodle's grade history is disabled; %s", spec.name, source.name,
                     _fallback(source))
            continue
        try:
            _read_source(spec, source, moodle, prefix, cursors.get(source.name, (None, set())), since, initial,
                         found, reread_ids, max_keys, page_rows, until=until if ranged else None)
        except Exception as exc:
            if not _is_database_error(exc):
                raise
            moodle.rollback()
            found.cursors.pop(source.name, None)
            log.info("%s: fast path '%s' unavailable (%s); %s", spec.name, source.name, _brief(exc),
                     _fallback(source))
            continue
        if source.covers_changes:
            found.covered = True
    if found.keys or found.rows:
        log.info("%s: fast path read %d rows naming %d keys", spec.name, found.rows, len(found.keys))
    return found


def _fallback(source: KeySource) -> str:
    if source.covers_changes:
        return "changes come from a scan of Moodle's tables, deletes from reconciliation"
    return "deletes come from reconciliation"


def _read_source(spec: EntitySpec, source: KeySource, moodle: Database, prefix: str,
                 cursor_seen: tuple[int | None, set[int]], since: int | None, initial: bool, found: Candidates,
                 reread_ids: int, max_keys: int, page_rows: int, until: int | None = None) -> None:
    cursor, seen = cursor_seen
    # the time bounds only when needed (NULL: an impossible condition, no read)
    max_id, first_id, end_id = moodle.query(moodle.sql("moodle", source.bounds_sql, prefix=prefix), {
        "since": since or 0 if cursor is None or until is not None else None, "until": until})[0]
    moodle.commit()
    if until is not None:  # a backfill or resync: the rows of its time range, the cursor stays
        if first_id is not None:
            upto = int(end_id) - 1 if end_id is not None else int(max_id)
            _read_range(spec, source, moodle, prefix, int(first_id) - 1, upto, found, page_rows)
        return
    if max_id is None:  # empty (or just purged): keep the cursor; ids continue after a DELETE
        if cursor is None:
            found.cursors[source.name] = 0
        return
    max_id = int(max_id)
    if initial:  # this run reads every Moodle row: start the fast path at the source's end
        found.cursors[source.name] = max_id
        # what the re-read below the cursor will find is in this run already
        found.seen[source.name] = {row_id for row_id, _ in _rows(source, moodle, prefix, max(0, max_id - reread_ids),
                                                                  max_id, page_rows)}
        return
    if cursor is None:
        after = int(first_id) - 1 if first_id is not None else max_id
    elif cursor > max_id:
        log.info("%s: '%s' ids restarted below the cursor (%d > %d: table truncated?); reading it from the start",
                 spec.name, source.name, cursor, max_id)
        after = 0
    else:
        after = max(0, cursor - reread_ids)
    # ids up to here were read by an earlier run: the cap counts the keys the rows after them name
    reread_upto = cursor if cursor is not None and cursor <= max_id else after
    fresh_from = None  # how many keys were found when the first row after reread_upto came
    new_cursor = max_id
    taken: list[int] = []
    for row_id, row in _rows(source, moodle, prefix, after, max_id, page_rows):
        if fresh_from is None and row_id > reread_upto:
            fresh_from = len(found.keys)
        found.rows += 1
        taken.append(row_id)
        if row_id <= reread_upto and row_id in seen:  # taken by an earlier run: its keys were re-read then
            continue
        hit = source.reader(row)
        if hit is not None:
            key, ids, when = hit
            found.keys[key] = (ids, when)
        if fresh_from is not None and len(found.keys) - fresh_from >= max_keys:  # the rest next run
            new_cursor = row_id
            log.info("%s: fast path '%s' stopped at id %d after %d keys; it continues next run",
                     spec.name, source.name, new_cursor, len(found.keys))
            break
    found.cursors[source.name] = new_cursor
    found.seen[source.name] = {i for i in taken if new_cursor - reread_ids < i <= new_cursor}


def _read_range(spec: EntitySpec, source: KeySource, moodle: Database, prefix: str, after: int, upto: int,
                found: Candidates, page_rows: int) -> None:
    """Every row of the source in (after, upto], uncapped (a backfill window names what it names)."""
    for _, row in _rows(source, moodle, prefix, after, upto, page_rows):
        found.rows += 1
        hit = source.reader(row)
        if hit is not None:
            found.keys[hit[0]] = (hit[1], hit[2])


def _rows(source: KeySource, moodle: Database, prefix: str, after: int, upto: int, page_rows: int):
    """(id, row) of the source's rows in (after, upto], in id order, a page per query (each committed)."""
    sql = moodle.sql("moodle", source.sql, prefix=prefix)
    params = {"upto": upto, "limit": page_rows}
    if source.eventnames:
        params["eventnames"] = moodle.bind_list(source.eventnames)
    while after < upto:
        cur = moodle.conn.cursor()
        try:
            cur.execute(sql, dict(params, after=after))
            columns = [d[0] for d in cur.description]
            rows = cur.fetchall()
        finally:
            cur.close()
        moodle.commit()
        for values in rows:
            yield int(values[0]), dict(zip(columns, values))
        if len(rows) < page_rows:
            break
        after = int(rows[-1][0])
