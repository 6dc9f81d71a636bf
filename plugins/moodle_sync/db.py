"""Database connections from Airflow connection ids, for MariaDB/MySQL and PostgreSQL alike.

The connection type decides the dialect. Connections go through the providers' hooks, so every extra a
data engineer knows from them (SSL, charset, ...) still works; the sync's own extras are kept away from
the driver. Sessions run in UTC.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from moodle_sync.sql import ConfigError, load

#: Connection extras that belong to the sync, never passed to a database driver.
SYNC_EXTRAS = frozenset({"table_prefix"})

_DIALECTS = {"mysql": "mysql", "mariadb": "mysql", "postgres": "postgres", "postgresql": "postgres"}


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


@dataclass
class Database:
    """A DB-API connection and its dialect ('mysql' or 'postgres')."""

    conn: Any
    dialect: str
    conn_id: str = ""

    def sql(self, area: str, name: str, **fragments: str) -> str:
        return load(area, name, self.dialect, **fragments)

    def ts(self, value: dt.datetime) -> dt.datetime:
        """A UTC timestamp as the driver wants it (MySQL DATETIME is naive UTC here)."""
        value = value.astimezone(dt.timezone.utc)
        return value.replace(tzinfo=None) if self.dialect == "mysql" else value

    def bind_list(self, values: Sequence[Any]) -> Any:
        """A list parameter: ``IN %(x)s`` takes a tuple on MySQL, ``= ANY(%(x)s)`` a list on PostgreSQL."""
        return tuple(values) if self.dialect == "mysql" else list(values)

    def query(self, sql: str, params: Any = None) -> list[tuple]:
        with self.conn.cursor() as cur:
            cur.execute(sql, params)
            return list(cur.fetchall()) if cur.description else []

    def execute(self, sql: str, params: Any = None) -> int:
        with self.conn.cursor() as cur:
            cur.execute(sql, params)
            return cur.rowcount

    def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        if not rows:
            return
        with self.conn.cursor() as cur:
            cur.executemany(sql, rows)

    def stream(self, sql: str, params: Any, chunk_rows: int) -> Iterator[tuple[list[str], list[tuple]]]:
        """Yield (columns, rows) chunks from a server-side cursor: memory stays one chunk whatever the size."""
        if self.dialect == "mysql":
            import MySQLdb.cursors

            cur = self.conn.cursor(MySQLdb.cursors.SSCursor)
        else:
            cur = self.conn.cursor(name="moodle_sync_stream")
            cur.itersize = chunk_rows
        try:
            cur.execute(sql, params)
            columns = [d[0] for d in cur.description]
            while True:
                rows = cur.fetchmany(chunk_rows)
                if not rows:
                    break
                yield columns, rows
        finally:
            cur.close()

    def commit(self) -> None:
        self.conn.commit()

    def rollback(self) -> None:
        self.conn.rollback()

    def close(self) -> None:
        try:
            self.conn.close()
        except Exception:  # closing a broken connection must not hide the real error
            pass


def _connection(conn_id: str):
    from airflow.sdk import BaseHook

    return BaseHook.get_connection(conn_id)


def dialect_of(conn_type: str | None, conn_id: str) -> str:
    dialect = _DIALECTS.get((conn_type or "").lower())
    if not dialect:
        raise ConfigError(
            f"Connection {conn_id!r} has type {conn_type!r}; use 'mysql' (MariaDB/MySQL) or 'postgres'."
        )
    return dialect


def connect(conn_id: str) -> Database:
    """Open a connection (autocommit off, UTC session) for an Airflow connection id."""
    try:
        conn = _connection(conn_id)
    except Exception as exc:
        raise ConfigError(
            f"Airflow connection {conn_id!r} is not defined: create it in the UI (Admin > Connections) or set "
            f"AIRFLOW_CONN_{conn_id.upper()}. See README, 'Connect it to a real Moodle'."
        ) from exc
    dialect = dialect_of(conn.conn_type, conn_id)
    if dialect == "mysql":
        from airflow.providers.mysql.hooks.mysql import MySqlHook

        raw = MySqlHook(mysql_conn_id=conn_id).get_conn()
        raw.autocommit(False)
        with raw.cursor() as cur:
            cur.execute("SET time_zone = '+00:00'")
    else:
        raw = _SyncPostgresHook(postgres_conn_id=conn_id).get_conn()
        raw.autocommit = False
        with raw.cursor() as cur:
            cur.execute("SET TIME ZONE 'UTC'")
        raw.commit()
    return Database(conn=raw, dialect=dialect, conn_id=conn_id)


def table_prefix(conn_id: str) -> str:
    """The Moodle table prefix from the connection's ``table_prefix`` extra (default ``mdl_``)."""
    from moodle_sync.sql import validate_prefix

    return validate_prefix(_connection(conn_id).extra_dejson.get("table_prefix", "mdl_"))


def _SyncPostgresHook(**kwargs):
    """PostgresHook that keeps the sync's own extras out of the driver's connect() arguments."""
    from airflow.providers.postgres.hooks.postgres import PostgresHook

    class SyncPostgresHook(PostgresHook):
        ignored_extra_options = set(PostgresHook.ignored_extra_options) | SYNC_EXTRAS

    return SyncPostgresHook(**kwargs)
