"""Copy a Moodle database from MariaDB/MySQL to PostgreSQL, shaped as Moodle itself builds it there.

The tests load the shared MariaDB fixture (a real Moodle 4.5 dump), then copy it with this, so both dialects
hold exactly the same rows. Column types follow Moodle's PostgreSQL XMLDB generator (pgsql_sql_generator):
integers of length <= 4 (tinyint, smallint) SMALLINT, <= 9 (mediumint, int) INTEGER, else BIGINT; number(p,s)
NUMERIC(p,s); float REAL or DOUBLE PRECISION; char VARCHAR(n); text TEXT; binary BYTEA; ids BIGSERIAL.
NOT NULL, defaults, primary keys and indexes (same names) come along; rows stream through COPY.
Identifiers are read from information_schema, validated, and quoted by psycopg; values are bound or
copied, never spliced into SQL text.
"""

from __future__ import annotations

import re
from decimal import Decimal

#: The Moodle tables the tests copy (without prefix): every table include/sql/moodle reads, and those that
#: ../shared/moodle/FACTS.md describes for change detection (logs, history, completions, contexts).
MOODLE_TABLES = (
    "config", "config_plugins", "user", "role", "role_assignments", "context", "course", "course_categories", "enrol",
    "user_enrolments", "grade_items", "grade_categories", "grade_grades", "grade_grades_history", "scale",
    "logstore_standard_log", "course_completions", "course_completion_criteria", "course_completion_crit_compl",
    "user_lastaccess",
    # the grade as Moodle shows it (issue 11): letters, assignments and their marking workflow, advanced grading
    "grade_letters", "modules", "course_modules", "assign", "assign_grades", "assign_user_flags",
    "assignfeedback_comments", "grading_areas", "grading_definitions", "grading_instances",
    "gradingform_rubric_criteria", "gradingform_rubric_levels", "gradingform_rubric_fillings",
    "gradingform_guide_criteria", "gradingform_guide_fillings",
)

_NAME = re.compile(r"^[a-z][a-z0-9_]{0,62}$")
_NUMBER = re.compile(r"^-?\d+(\.\d+)?$")
_INTEGERS = {"tinyint": "SMALLINT", "smallint": "SMALLINT", "mediumint": "INTEGER", "int": "INTEGER",
             "bigint": "BIGINT"}
_TEXTS = {"tinytext", "text", "mediumtext", "longtext"}
_BLOBS = {"tinyblob", "blob", "mediumblob", "longblob", "binary", "varbinary"}


def _name(value: str) -> str:
    if not _NAME.match(value):
        raise ValueError(f"unexpected identifier {value!r} in the source schema")
    return value


def pg_type(column: dict) -> str:
    """The PostgreSQL type Moodle gives a column that MariaDB/MySQL holds as ``column`` (information_schema)."""
    data_type = column["DATA_TYPE"].lower()
    if data_type in _INTEGERS:
        if "auto_increment" in (column["EXTRA"] or "").lower():
            return "BIGSERIAL" if data_type == "bigint" else "SERIAL"
        return _INTEGERS[data_type]
    if data_type == "decimal":
        return f"NUMERIC({int(column['NUMERIC_PRECISION'])},{int(column['NUMERIC_SCALE'])})"
    if data_type == "double":
        return "DOUBLE PRECISION"
    if data_type == "float":  # Moodle: float with fewer than 6 decimals is REAL
        scale = column["NUMERIC_SCALE"]
        return "REAL" if scale is not None and int(scale) < 6 else "DOUBLE PRECISION"
    if data_type in ("varchar", "char"):
        return f"VARCHAR({int(column['CHARACTER_MAXIMUM_LENGTH'])})"
    if data_type in _TEXTS:
        return "TEXT"
    if data_type in _BLOBS:
        return "BYTEA"
    raise ValueError(f"column {column['TABLE_NAME']}.{column['COLUMN_NAME']}: no mapping for {column['COLUMN_TYPE']}")


def default_value(column: dict):
    """The column's default as a Python value (None: no default). MariaDB quotes string defaults, MySQL does not."""
    raw = column["COLUMN_DEFAULT"]
    if raw is None or raw == "NULL" or "auto_increment" in (column["EXTRA"] or "").lower():
        return None
    data_type = column["DATA_TYPE"].lower()
    if data_type in ("varchar", "char") or data_type in _TEXTS:
        if len(raw) >= 2 and raw[0] == raw[-1] == "'":
            return raw[1:-1].replace("''", "'").replace("\\\\", "\\")
        return raw
    if not _NUMBER.match(raw):
        raise ValueError(f"column {column['TABLE_NAME']}.{column['COLUMN_NAME']}: unexpected default {raw!r}")
    return int(raw) if data_type in _INTEGERS else Decimal(raw)


def source_schema(src, tables: list[str] | None, prefix: str) -> dict[str, dict]:
    """{table: {"columns": [...], "indexes": {name: (unique, [columns])}}} from the source's information_schema."""
    cur = src.cursor()
    cur.execute("SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() "
                "AND TABLE_TYPE = 'BASE TABLE' ORDER BY TABLE_NAME")
    present = [r[0] for r in cur.fetchall() if r[0].startswith(prefix)]
    wanted = [prefix + t for t in tables] if tables is not None else present
    missing = sorted(set(wanted) - set(present))
    if missing:
        raise ValueError(f"tables missing in the source: {missing}")
    schema = {_name(t): {"columns": [], "indexes": {}} for t in wanted}
    cur.execute("SELECT TABLE_NAME, COLUMN_NAME, DATA_TYPE, COLUMN_TYPE, NUMERIC_PRECISION, NUMERIC_SCALE, "
                "CHARACTER_MAXIMUM_LENGTH, IS_NULLABLE, COLUMN_DEFAULT, EXTRA FROM information_schema.COLUMNS "
                "WHERE TABLE_SCHEMA = DATABASE() ORDER BY TABLE_NAME, ORDINAL_POSITION")
    names = [d[0] for d in cur.description]
    for row in cur.fetchall():
        column = dict(zip(names, row))
        if column["TABLE_NAME"] in schema:
            _name(column["COLUMN_NAME"])
            schema[column["TABLE_NAME"]]["columns"].append(column)
    cur.execute("SELECT TABLE_NAME, INDEX_NAME, NON_UNIQUE, COLUMN_NAME FROM information_schema.STATISTICS "
                "WHERE TABLE_SCHEMA = DATABASE() ORDER BY TABLE_NAME, INDEX_NAME, SEQ_IN_INDEX")
    for table, index, non_unique, column in cur.fetchall():
        if table in schema:
            entry = schema[table]["indexes"].setdefault(index if index == "PRIMARY" else _name(index),
                                                        (not non_unique, []))
            entry[1].append(_name(column))
    cur.close()
    return schema


def create_table(dst, table: str, spec: dict) -> None:
    from psycopg import sql

    parts = []
    for column in spec["columns"]:
        part = sql.SQL("{} {}").format(sql.Identifier(column["COLUMN_NAME"]), sql.SQL(pg_type(column)))
        if column["IS_NULLABLE"] == "NO":
            part = sql.SQL("{} NOT NULL").format(part)
        default = default_value(column)
        if default is not None:
            part = sql.SQL("{} DEFAULT {}").format(part, sql.Literal(default))
        parts.append(part)
    primary = spec["indexes"].get("PRIMARY")
    if primary:
        parts.append(sql.SQL("PRIMARY KEY ({})").format(sql.SQL(", ").join(map(sql.Identifier, primary[1]))))
    with dst.cursor() as cur:
        cur.execute(sql.SQL("DROP TABLE IF EXISTS {}").format(sql.Identifier(table)))
        cur.execute(sql.SQL("CREATE TABLE {} ({})").format(sql.Identifier(table), sql.SQL(", ").join(parts)))
        for index, (unique, columns) in spec["indexes"].items():
            if index != "PRIMARY":
                cur.execute(sql.SQL("CREATE {}INDEX {} ON {} ({})").format(
                    sql.SQL("UNIQUE " if unique else ""), sql.Identifier(index), sql.Identifier(table),
                    sql.SQL(", ").join(map(sql.Identifier, columns))))


def copy_rows(src, dst, table: str, spec: dict, chunk_rows: int = 5000) -> int:
    """Stream every row of ``table`` from the source into the same PostgreSQL table; returns the row count."""
    import MySQLdb.cursors
    from psycopg import sql

    columns = [c["COLUMN_NAME"] for c in spec["columns"]]
    n = 0
    read = src.cursor(MySQLdb.cursors.SSCursor)
    try:
        read.execute("SELECT {} FROM `{}`".format(", ".join(f"`{c}`" for c in columns), table))
        statement = sql.SQL("COPY {} ({}) FROM STDIN").format(
            sql.Identifier(table), sql.SQL(", ").join(map(sql.Identifier, columns)))
        with dst.cursor() as cur, cur.copy(statement) as copy:
            while rows := read.fetchmany(chunk_rows):
                for row in rows:
                    copy.write_row(row)
                n += len(rows)
    finally:
        read.close()
    if any("auto_increment" in (c["EXTRA"] or "").lower() for c in spec["columns"]):
        serial = next(c["COLUMN_NAME"] for c in spec["columns"] if "auto_increment" in (c["EXTRA"] or "").lower())
        with dst.cursor() as cur:  # the next id Moodle (or a test) inserts follows the copied ones
            cur.execute(sql.SQL("SELECT setval(pg_get_serial_sequence(%s, %s), COALESCE(MAX({}), 0) + 1, false) "
                                "FROM {}").format(sql.Identifier(serial), sql.Identifier(table)), (table, serial))
    return n


def copy_moodle(src, dst, *, tables: list[str] | None = None, prefix: str = "mdl_") -> dict[str, int]:
    """Copy Moodle's tables (``tables`` without prefix, or every ``prefix`` table) from a MySQLdb connection
    ``src`` (default converters: DECIMAL arrives exact) into a psycopg connection ``dst``; commits ``dst``.
    Returns {table: rows}."""
    if not _NAME.match(prefix.rstrip("_") or "x"):
        raise ValueError(f"unexpected table prefix {prefix!r}")
    schema = source_schema(src, tables, prefix)
    counts = {}
    for table, spec in schema.items():
        create_table(dst, table, spec)
        counts[table] = copy_rows(src, dst, table, spec)
    dst.commit()
    return counts
