"""Database connections from Airflow connection ids, for MariaDB/MySQL and PostgreSQL alike.

The connection type decides the dialect. Connections go through the providers' hooks, so every extra a
data engineer knows from them (SSL, charset, ...) still works; the sync's own extras are kept away from
the driver. Sessions run in UTC.
"""

from __future__ import annotations

import datetime as dt
import itertools
import logging
import os
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from moodle_sync.outbox.sql import load
from moodle_sync.config import ConfigError

log = logging.getLogger(__name__)

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
    #: MariaDB/MySQL: rows may go in by LOAD DATA LOCAL INFILE (opened with it on; see insert_many)
    bulk_load: bool = False
    _bulk_file: int | None = None

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
                    constant_columns: Sequence[int] = (), load_sql: str | None = None,
                    copy_types: Sequence[str] = ()) -> None:
        """Insert many rows through a statement whose ``{values}`` stands for the row list.

        ``load_sql``: the same rows as a ``LOAD DATA LOCAL INFILE {file}`` statement (MariaDB/MySQL), used on a
        connection opened with ``bulk_load``: see ``load_rows``. A server that refuses it gets the INSERT.
        ``copy_types``: the PostgreSQL types of a ``COPY ... (FORMAT BINARY)`` statement's columns.

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
        if load_sql and self.bulk_load and self.load_rows(load_sql, rows, constant_columns):
            return
        if self.dialect != "mysql" and sql.lstrip().upper().startswith("COPY"):
            with self.conn.cursor() as cur, cur.copy(sql) as copy:  # PostgreSQL's bulk path
                if copy_types:  # FORMAT BINARY: every column's type named, values sent as PostgreSQL stores them
                    copy.set_types(copy_types)
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
                    elif cls is bytes:  # binary (a payload): no character set applies
                        parts.append(b"_binary" + string_literal(v))
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

    def load_rows(self, sql: str, rows: Sequence[Sequence[Any]], constant_columns: Sequence[int] = ()) -> bool:
        """MariaDB/MySQL's bulk path: the rows as a tab-separated file in memory (a memfd), sent by
        ``LOAD DATA LOCAL INFILE``. The server parses it faster than the same rows as INSERT text
        (bench/README.md). Returns False, and turns the
        path off for this connection, when the server or client refuses LOCAL INFILE (``local_infile=OFF``).

        With LOCAL the server turns duplicate keys and bad values into warnings (it cannot stop the
        client mid-file): any row not written or any warning raises ``BulkLoadError``, so nothing is
        skipped silently; the statement's rows are then undone with the caller's transaction."""
        if self._bulk_file is None:
            self._bulk_file = os.memfd_create("moodle-sync-rows", os.MFD_CLOEXEC)
        fd = self._bulk_file
        data = _tsv(rows, constant_columns)
        os.ftruncate(fd, 0)
        os.lseek(fd, 0, os.SEEK_SET)
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view):]
        statement = sql.replace("{file}", f"'/proc/self/fd/{fd}'")
        with self.conn.cursor() as cur:
            try:
                cur.execute(statement)
            except Exception as exc:
                if getattr(exc, "args", None) and exc.args[0] in LOCAL_INFILE_REFUSED:
                    log.warning("the event-log server refuses LOAD DATA LOCAL INFILE (%s): writing rows with INSERT "
                                "(slower; set local_infile=ON on the server for the fast path)", exc.args[0])
                    self.bulk_load = False
                    return False
                raise
            written, warnings = cur.rowcount, self.conn.warning_count()
            if written != len(rows) or warnings:
                cur.execute("SHOW WARNINGS LIMIT 5")
                # the messages may quote values (a duplicate key, a bad string): keep their words only
                reasons = "; ".join(f"{code} {_QUOTED.sub(_ELIDED, message)}" for _, code, message in cur.fetchall())
                raise BulkLoadError(f"LOAD DATA wrote {written} of {len(rows)} rows ({warnings} warnings): {reasons}")
        return True

    def stream(self, sql: str, params: Any, chunk_rows: int) -> Iterator[tuple[list[str], list[tuple]]]:
        """Yield (columns, rows) chunks from a server-side cursor: memory stays one chunk whatever the size.
        No prefetching thread: both cores are already busy (bench/README.md)."""
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

    def reopen(self, autocommit: bool = False, bulk_load: bool = False) -> "Database":
        """A second connection to the same database (for work beside this one)."""
        other = connect(self.conn_id, bulk_load=bulk_load)
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
        if self._bulk_file is not None:
            os.close(self._bulk_file)
            self._bulk_file = None
        try:
            self.conn.close()
        except Exception:  # closing a broken connection must not hide the real error
            pass


class BulkLoadError(RuntimeError):
    """A bulk load skipped rows or changed values (the server's warnings say which kind)."""


#: LOAD DATA LOCAL refused: by the server (1148 MariaDB, 3948 MySQL 8) or by the client library (2068, 4166).
LOCAL_INFILE_REFUSED = frozenset({1148, 3948, 2068, 4166})
_QUOTED, _ELIDED = re.compile(r"'[^']*'"), "'...'"


def _tsv_special(value: bytes) -> bool:
    """Whether LOAD DATA's default format must escape something in ``value`` (backslash, tab, newline, NUL).
    Four C-speed membership tests: cheaper than a regular expression on every payload."""
    return b"\\" in value or b"\t" in value or b"\n" in value or b"\x00" in value


def _tsv_text(value: bytes) -> bytes:
    """A field of LOAD DATA's default format: backslash, tab, newline and NUL escaped with a backslash."""
    if _tsv_special(value):
        return value.replace(b"\\", b"\\\\").replace(b"\t", b"\\t").replace(b"\n", b"\\n").replace(b"\x00", b"\\0")
    return value


_NULL = b"\\N"
_NONE_TYPE = type(None)


def _tsv_value(value: Any) -> bytes:
    """One value in LOAD DATA's text format: NULL, numbers, datetimes (naive UTC here), text."""
    if value is None:
        return _NULL
    if isinstance(value, bool):
        return b"1" if value else b"0"
    if isinstance(value, bytes):
        return _tsv_text(value)
    if isinstance(value, dt.datetime):
        return value.isoformat(sep=" ").encode()
    return _tsv_text(str(value).encode())


def _tsv_column(column: Sequence[Any]) -> list[bytes]:
    """A column's fields, converted the way its values' type needs: text is checked for bytes to escape once
    for the whole column (ids and keys never hold one), numbers are formatted, anything else goes one by one."""
    kinds = set(map(type, column))
    nullable = _NONE_TYPE in kinds
    kinds.discard(_NONE_TYPE)
    if kinds <= {int}:
        return [_NULL if v is None else b"%d" % v for v in column]
    if kinds == {bytes}:  # binary (a payload): random bytes nearly always hold one to escape
        return [_NULL if v is None else _tsv_text(v) for v in column]
    if kinds <= {str, bytes}:
        values = [v if v is None or v.__class__ is bytes else v.encode() for v in column]
        probe = b"".join([v for v in values if v]) if nullable else b"".join(values)
        if _tsv_special(probe):
            values = [v if v is None else _tsv_text(v) for v in values]
        return [_NULL if v is None else v for v in values] if nullable else values
    memo: dict = {}
    return [memo[v] if v in memo else memo.setdefault(v, _tsv_value(v)) for v in column]


def _tsv(rows: Sequence[Sequence[Any]], constant_columns: Sequence[int] = ()) -> bytes:
    """Rows as LOAD DATA's default text format (tab-separated, one line a row, NULL as \\N), built column by
    column, which is cheaper than value by value (bench/README.md). Values constant in every row
    (``constant_columns``) are converted once."""
    if not rows:
        return b""
    fields = []
    for position, column in enumerate(zip(*rows)):
        if position in constant_columns:
            fields.append(itertools.repeat(_tsv_value(column[0]), len(column)))
        else:
            fields.append(_tsv_column(column))
    return b"\n".join(map(b"\t".join, zip(*fields))) + b"\n"


def _connection(conn_id: str):
    from airflow.sdk import BaseHook

    return BaseHook.get_connection(conn_id)


class DatabaseUnavailable(RuntimeError):
    """A database refused or could not be reached. Unlike a ``ConfigError`` a retry may succeed (a database
    that is down comes back), so tasks let Airflow retry it."""


def _refused(conn, conn_id: str, exc: BaseException) -> DatabaseUnavailable:
    """The driver's refusal in one line that names the connection, without its password."""
    from moodle_sync import redaction

    args = getattr(exc, "args", ())
    if len(args) == 2 and isinstance(args[0], int):  # MySQLdb: (code, message)
        reason = f"{args[1]} (error {args[0]})"
    else:
        reason = str(exc)
    reason = " ".join(reason.split())  # libpq's multi-line messages on one line
    reason = redaction.redact(reason, [conn.password])
    where = f"{conn.host or 'localhost'}:{conn.port or 'default port'}/{conn.schema or ''}"
    return DatabaseUnavailable(f"connection `{conn_id}` ({where}) refused: {reason[:500]}")


def _driver_errors() -> tuple[type[BaseException], ...]:
    """The drivers' errors for a refused or unreachable server (both are imported lazily elsewhere too)."""
    import MySQLdb
    import psycopg

    return (MySQLdb.OperationalError, psycopg.OperationalError)


def dialect_of(conn_type: str | None, conn_id: str) -> str:
    dialect = _DIALECTS.get((conn_type or "").lower())
    if not dialect:
        raise ConfigError(
            f"Connection {conn_id!r} has type {conn_type!r}; use 'mysql' (MariaDB/MySQL) or 'postgres'."
        )
    return dialect


def connect(conn_id: str, bulk_load: bool = False) -> Database:
    """Open a connection (autocommit off, UTC session) for an Airflow connection id.

    ``bulk_load``: on MariaDB/MySQL, allow LOAD DATA LOCAL INFILE on this connection (the event log's chunk
    writers only: the client then sends files the server asks for, so never on the Moodle connection)."""
    try:
        conn = _connection(conn_id)
    except Exception as exc:
        raise ConfigError(
            f"Airflow connection {conn_id!r} is not defined: create it in the UI (Admin > Connections) or set "
            f"AIRFLOW_CONN_{conn_id.upper()}. See README, 'Connect it to a real Moodle'."
        ) from exc
    dialect = dialect_of(conn.conn_type, conn_id)
    if dialect == "mysql":
        bulk_load = bulk_load and hasattr(os, "memfd_create")
        try:
            raw = _SyncMySqlHook(mysql_conn_id=conn_id, local_infile=bulk_load).get_conn()
        except _driver_errors() as exc:
            raise _refused(conn, conn_id, exc) from None  # the driver's frames say nothing the message does not
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
        try:
            raw = _SyncPostgresHook(postgres_conn_id=conn_id).get_conn()
        except _driver_errors() as exc:
            raise _refused(conn, conn_id, exc) from None  # the driver's frames say nothing the message does not
        raw.autocommit = False
        from psycopg.types.numeric import FloatLoader

        raw.adapters.register_loader("numeric", FloatLoader)  # as on MySQL: numeric columns as float
        with raw.cursor() as cur:
            cur.execute("SET TIME ZONE 'UTC'")
        raw.commit()
        bulk_load = False
    return Database(conn=raw, dialect=dialect, conn_id=conn_id, bulk_load=bulk_load)


def table_prefix(conn_id: str) -> str:
    """The Moodle table prefix from the connection's ``table_prefix`` extra (default ``mdl_``)."""
    from moodle_sync.outbox.sql import validate_prefix

    conn = _connection(conn_id)
    prefix = validate_prefix(conn.extra_dejson.get("table_prefix", "mdl_"))
    if not prefix and dialect_of(conn.conn_type, conn_id) == "postgres":
        raise ConfigError(
            f"Connection {conn_id!r}: an empty table_prefix cannot work on PostgreSQL, where 'user' is a reserved "
            "word (Moodle on PostgreSQL always has a prefix; its default is 'mdl_'). Set the 'table_prefix' extra."
        )
    return prefix


def _SyncMySqlHook(**kwargs):
    """MySqlHook that says yes or no to LOCAL INFILE explicitly: MariaDB's client library allows it unless told
    not to, which would let the server (a Moodle database, say) ask the worker for any file it can read."""
    from airflow.providers.mysql.hooks.mysql import MySqlHook

    class SyncMySqlHook(MySqlHook):
        def _get_conn_config_mysql_client(self, conn):
            config = super()._get_conn_config_mysql_client(conn)
            config["local_infile"] = 1 if self.local_infile else 0
            return config

    return SyncMySqlHook(**kwargs)


def _SyncPostgresHook(**kwargs):
    """PostgresHook that keeps the sync's own extras out of the driver's connect() arguments."""
    from airflow.providers.postgres.hooks.postgres import PostgresHook

    class SyncPostgresHook(PostgresHook):
        ignored_extra_options = set(PostgresHook.ignored_extra_options) | SYNC_EXTRAS

    return SyncPostgresHook(**kwargs)
