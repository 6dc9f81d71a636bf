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

    def insert_many(self, sql: str, rows: Sequence[Sequence[Any]], max_bytes: int = 4 << 20,
                    constant_columns: Sequence[int] = ()) -> None:
        """Insert many rows through a statement whose ``{values}`` stands for the row list.

        MySQLdb has no server-side binding: its own executemany builds this same multi-row text with the
        connection's escaping, but its statement rewrite gives up on ``ON DUPLICATE KEY ... VALUES()``
        and then sends one statement per row. Here every value goes through the driver's escaping
        (``string_literal``/``literal``), statements stay under ``max_bytes`` (max_allowed_packet is
        16 MB by default). ``constant_columns``: positions whose value is the same in every row, escaped once.
        On PostgreSQL a ``COPY ... FROM STDIN`` statement streams the rows; otherwise
        each row's parameters are bound (psycopg pipelines executemany).
        """
        if not rows:
            return
        if self.dialect != "mysql" and sql.lstrip().upper().startswith("COPY"):
            with self.conn.cursor() as cur, cur.copy(sql) as copy:  # PostgreSQL's bulk path
                for row in rows:
                    copy.write_row(row)
            return
        if self.dialect != "mysql":
            width = len(rows[0])
            self.executemany(sql.replace("{values}", "(" + ", ".join(["%s"] * width) + ")"), rows)
            return
        head, _, tail = sql.encode().partition(b"{values}")
        conn = self.conn
        string_literal, literal = conn.string_literal, conn.literal
        memo: dict = {}
        batch, size = [], 0
        fixed: dict[int, bytes] = {}
        with conn.cursor() as cur:
            for row in rows:
                parts = []
                for position, v in enumerate(row):
                    if position in fixed:
                        parts.append(fixed[position])
                        continue
                    cls = v.__class__
                    if v is None:
                        parts.append(b"NULL")
                    elif cls is str:
                        parts.append(string_literal(v.encode()))
                    elif cls is int:
                        parts.append(str(v).encode())
                    elif cls is bytes:
                        parts.append(string_literal(v))
                    else:  # datetimes, decimals, bools: the driver's own conversion, memoised per run
                        key = (cls, v)
                        if key not in memo:
                            memo[key] = literal(v)
                        parts.append(memo[key])
                if not fixed and constant_columns:
                    fixed = {position: parts[position] for position in constant_columns}
                item = b"(" + b",".join(parts) + b")"
                if batch and size + len(item) > max_bytes:
                    cur.execute(head + b",".join(batch) + tail)
                    batch, size = [], 0
                batch.append(item)
                size += len(item) + 1
            if batch:
                cur.execute(head + b",".join(batch) + tail)

    def stream(self, sql: str, params: Any, chunk_rows: int) -> Iterator[tuple[list[str], list[tuple]]]:
        """Yield (columns, rows) chunks from a server-side cursor: memory stays one chunk whatever the size.
        (Prefetching the next chunk in a thread was measured: no gain once both cores are busy.)"""
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

    def is_transient(self, exc: BaseException) -> bool:
        """A deadlock or lock timeout: the transaction was rolled back and may simply be tried again."""
        if self.dialect == "mysql":
            return bool(getattr(exc, "args", None)) and exc.args[0] in (1205, 1213)
        return getattr(exc, "sqlstate", None) in ("40P01", "40001", "55P03")

    def is_missing_schema(self, exc: BaseException) -> bool:
        """A table or column the statement needs does not exist (the event log was never migrated)."""
        if self.dialect == "mysql":
            return bool(getattr(exc, "args", None)) and exc.args[0] in (1146, 1054)
        return getattr(exc, "sqlstate", None) in ("42P01", "42703")

    def reopen(self, autocommit: bool = False) -> "Database":
        """A second connection to the same database (for work beside this one)."""
        other = connect(self.conn_id)
        if autocommit:
            if self.dialect == "mysql":
                other.conn.autocommit(True)
            else:
                other.conn.autocommit = True
        return other

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
        # DECIMAL as float (Moodle's grades have 5 decimals): pandas then gets float columns, not objects
        import MySQLdb.constants.FIELD_TYPE as FIELD_TYPE

        raw.converter[FIELD_TYPE.NEWDECIMAL] = float
        raw.converter[FIELD_TYPE.DECIMAL] = float
        with raw.cursor() as cur:
            cur.execute("SET time_zone = '+00:00'")
            # as PostgreSQL does by default: no gap locks between parallel writers and claimers
            cur.execute("SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED")
    else:
        raw = _SyncPostgresHook(postgres_conn_id=conn_id).get_conn()
        raw.autocommit = False
        from psycopg.types.numeric import FloatLoader

        raw.adapters.register_loader("numeric", FloatLoader)  # as on MySQL: numeric columns as float
        with raw.cursor() as cur:
            cur.execute("SET TIME ZONE 'UTC'")
        raw.commit()
    return Database(conn=raw, dialect=dialect, conn_id=conn_id)


def table_prefix(conn_id: str) -> str:
    """The Moodle table prefix from the connection's ``table_prefix`` extra (default ``mdl_``)."""
    from moodle_sync.sql import validate_prefix

    conn = _connection(conn_id)
    prefix = validate_prefix(conn.extra_dejson.get("table_prefix", "mdl_"))
    if not prefix and dialect_of(conn.conn_type, conn_id) == "postgres":
        raise ConfigError(
            f"Connection {conn_id!r}: an empty table_prefix cannot work on PostgreSQL, where 'user' is a reserved "
            "word (Moodle on PostgreSQL always has a prefix; its default is 'mdl_'). Set the 'table_prefix' extra."
        )
    return prefix


def _SyncPostgresHook(**kwargs):
    """PostgresHook that keeps the sync's own extras out of the driver's connect() arguments."""
    from airflow.providers.postgres.hooks.postgres import PostgresHook

    class SyncPostgresHook(PostgresHook):
        ignored_extra_options = set(PostgresHook.ignored_extra_options) | SYNC_EXTRAS

    return SyncPostgresHook(**kwargs)
