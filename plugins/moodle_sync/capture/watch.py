"""Event-driven syncs (``MOODLE_SYNC_EVENT_DRIVEN``): a trigger in Airflow's triggerer that starts an entity's DAG
as soon as Moodle's log or grade history names a change of that entity.

Each poll reads ``MAX(id)`` of ``mdl_logstore_standard_log`` (and, for grades, of ``mdl_grade_grades_history``):
one read at the end of each primary key. Only when the log grew does it read the new ids' rows
(``id > last AND id <= max``, the entity's event names, ``LIMIT 1``); every new history row is a grade change.
A poll that finds one fires a ``TriggerEvent``; through an ``AssetWatcher`` on the entity's asset it queues a run
of the entity DAG, which runs the same ``sync`` as a scheduled run (from its watermark to now), so the outbox's
guarantees hold. The trigger never fires twice for the same rows: its position moves to ``max`` at every poll.

Position across triggerer restarts: the trigger starts at the current ends of the tables, not at the sync's
stored cursors. The trigger only decides *when* a sync runs, never *what* it reads (the sync reads from its own
watermark and cursors), so a change made while no triggerer ran is lost to nobody: the cron schedule, kept as the
safety net, syncs it at its next step. Starting at the ends keeps the triggerer off the event log's database
and keeps the first poll as cheap as every other.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any, AsyncIterator

from airflow.triggers.base import BaseEventTrigger, TriggerEvent

from moodle_sync.config import EVENT_POLL_SECONDS, MOODLE_CONN_ID, ConfigError
from moodle_sync.entities import BY_NAME

log = logging.getLogger(__name__)


def watched_events(entity: str) -> tuple[str, ...]:
    """The log events that change what ``entity`` sends: its key sources' (the ones its sync reads) and its wake
    events (changes the sync finds in its snapshots)."""
    spec = BY_NAME[entity]
    named = [e for source in spec.key_sources for e in source.eventnames]
    return tuple(dict.fromkeys(named + list(spec.wake_events)))


def watches_history(entity: str) -> bool:
    """Whether any new grade history row is a change of ``entity`` (its sync reads the history)."""
    return any(source.needs_history for source in BY_NAME[entity].key_sources)


def _missing_table(exc: BaseException) -> bool:
    """The database says the table is not there (a demo Moodle without a log): that source is left out."""
    import MySQLdb
    import psycopg

    return isinstance(exc, (MySQLdb.ProgrammingError, psycopg.ProgrammingError))


def _database_error(exc: BaseException) -> bool:
    """A database that refused, went away or answered an error: the next poll tries again."""
    from moodle_sync.outbox.db import DatabaseUnavailable

    return isinstance(exc, DatabaseUnavailable) or type(exc).__module__.split(".")[0] in ("MySQLdb", "psycopg")


class Watcher:
    """One entity's poll on one Moodle connection; blocking calls (the trigger runs them in a thread)."""

    def __init__(self, entity: str, moodle_conn_id: str = MOODLE_CONN_ID, prefix: str | None = None):
        if entity not in BY_NAME:
            raise ConfigError(f"no event watch for entity {entity!r}; known: {', '.join(BY_NAME)}")
        self.entity, self.moodle_conn_id, self.prefix = entity, moodle_conn_id, prefix
        self.db = None
        #: source -> last id seen (None: not read yet); a source whose table is missing is dropped
        self.position: dict[str, int | None] = {"log": None}
        if watches_history(entity):
            self.position["history"] = None

    def _connect(self):
        from moodle_sync.outbox import db

        if self.prefix is None:
            self.prefix = db.table_prefix(self.moodle_conn_id)
        self.db = db.connect(self.moodle_conn_id)

    def close(self) -> None:
        if self.db is not None:
            try:
                self.db.close()
            except Exception:  # a connection that already broke has nothing left to close
                pass
            self.db = None

    def _max_id(self, source: str) -> int:
        sql = self.db.sql("moodle", "watch_log_max" if source == "log" else "watch_history_max", prefix=self.prefix)
        value = self.db.query(sql)[0][0]
        return int(value) if value is not None else 0

    def _log_hit(self, after: int, upto: int) -> int | None:
        sql = self.db.sql("moodle", "watch_log_events", prefix=self.prefix)
        rows = self.db.query(sql, {"after": after, "upto": upto,
                                   "eventnames": self.db.bind_list(watched_events(self.entity))})
        return int(rows[0][0]) if rows else None

    def poll(self) -> dict | None:
        """Read what is new since the last poll; a dict naming the new ids when some concern the entity. The
        first poll only places the position at the tables' ends."""
        if self.db is None:
            self._connect()
        found: dict[str, Any] = {}
        try:
            for source in list(self.position):
                try:
                    upto = self._max_id(source)
                except Exception as exc:
                    if not _missing_table(exc):
                        raise
                    self.db.rollback()
                    log.info("%s: event watch leaves out '%s' (%s); the cron schedule still syncs it",
                             self.entity, source, str(exc).splitlines()[0][:200])
                    del self.position[source]
                    continue
                last = self.position[source]
                if last is None or upto == last:
                    self.position[source] = upto
                    continue
                after = last if upto > last else 0  # ids below the position: the table was emptied, read it all
                hit = after + 1 if source == "history" else self._log_hit(after, upto)
                if hit is not None:
                    found[source] = {"after": after, "upto": upto, "first": hit}
                self.position[source] = upto
            self.db.commit()  # no snapshot held between polls: the next MAX(id) sees newer rows
        except Exception as exc:
            if not _database_error(exc):
                raise
            self.close()  # reconnect at the next poll; the position is kept, so nothing is fired twice
            raise
        return {"entity": self.entity, **found} if found else None


class MoodleChangeTrigger(BaseEventTrigger):
    """Fires when Moodle's log or grade history names a change of ``entity``; polls every ``poll_seconds``.
    Its kwargs are what the dag-processor serializes: no connection is opened before ``run``."""

    def __init__(self, entity: str, moodle_conn_id: str = MOODLE_CONN_ID, prefix: str | None = None,
                 poll_seconds: float = EVENT_POLL_SECONDS.default):
        super().__init__()
        self.entity, self.moodle_conn_id, self.prefix = entity, moodle_conn_id, prefix
        self.poll_seconds = poll_seconds

    def serialize(self) -> tuple[str, dict[str, Any]]:
        return (f"{type(self).__module__}.{type(self).__qualname__}",
                {"entity": self.entity, "moodle_conn_id": self.moodle_conn_id, "prefix": self.prefix,
                 "poll_seconds": self.poll_seconds})

    async def run(self) -> AsyncIterator[TriggerEvent]:
        watcher = Watcher(self.entity, self.moodle_conn_id, self.prefix)
        failing = None  # the last error logged: a Moodle that stays down is one warning, not one per poll
        try:
            while True:
                try:
                    found = await asyncio.to_thread(watcher.poll)  # blocking driver calls, off the event loop
                except ConfigError:
                    raise
                except Exception as exc:
                    if not _database_error(exc):
                        raise
                    if str(exc) != failing:
                        self.log.warning("%s: cannot poll Moodle (%s); retrying every %s s", self.entity,
                                         str(exc).splitlines()[0][:300], self.poll_seconds)
                    failing, found = str(exc), None
                else:
                    if failing:
                        self.log.info("%s: polling Moodle again", self.entity)
                    failing = None
                if found:
                    self.log.info("%s: Moodle changed (%s): starting a sync", self.entity, found)
                    yield TriggerEvent(found)
                await asyncio.sleep(self.poll_seconds)
        finally:
            await asyncio.to_thread(watcher.close)
