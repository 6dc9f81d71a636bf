"""The SQL tree keeps a dialect copy only where MariaDB/MySQL and PostgreSQL really differ (no database needed)."""

from __future__ import annotations

import re

import pytest

from moodle_sync.config import ConfigError
from moodle_sync.outbox import sql
from moodle_sync.outbox.sql import SQL_ROOT, load, migrations

DIALECTS = ("mysql", "postgres")
#: a list bound the one way or the other: the shared in_bound_list fragment says it once
_IN_LIST = re.compile(r"(\S+) IN %\((\w+)\)s")
_ANY_LIST = re.compile(r"(\S+) = ANY\(%\((\w+)\)s\)")


def _meaning(path) -> str:
    """A file's SQL without comments, whitespace runs and the dialect's way of binding a list."""
    text = sql._COMMENT_RE.sub("", path.read_text(encoding="utf-8"))
    text = _ANY_LIST.sub(r"\1 <in list> \2", _IN_LIST.sub(r"\1 <in list> \2", text))
    return " ".join(text.split())


def _dialect_files():
    return sorted(path for dialect in DIALECTS for path in SQL_ROOT.rglob(f"{dialect}/*.sql"))


def test_every_dialect_copy_really_differs_from_its_sibling_and_from_the_shared_file():
    assert _dialect_files(), SQL_ROOT
    same = []
    for path in _dialect_files():
        dialect = path.parent.name
        other = path.parent.parent / ("postgres" if dialect == "mysql" else "mysql") / path.name
        neutral = path.parent.parent / path.name
        if dialect == "mysql" and other.is_file() and _meaning(path) == _meaning(other):
            same.append(f"{path.relative_to(SQL_ROOT)} and {other.relative_to(SQL_ROOT)}")
        if neutral.is_file() and _meaning(path) == _meaning(neutral):
            same.append(f"{path.relative_to(SQL_ROOT)} and {neutral.relative_to(SQL_ROOT)}")
    assert not same, ("the same SQL twice: keep one file in the area's folder (a list as "
                      "{in_bound_list(column=..., param=...)}): " + "; ".join(same))


@pytest.mark.parametrize("dialect", DIALECTS)
def test_a_list_is_bound_the_dialects_way(dialect):
    statement = load("eventlog", "lease_events", dialect)
    assert ("id IN %(ids)s" if dialect == "mysql" else "id = ANY(%(ids)s)") in statement
    assert "{" not in statement
    fragment = load("shared", "in_bound_list", dialect, column="ue.enrolid", param="watched_ids")
    assert fragment == ("ue.enrolid IN %(watched_ids)s" if dialect == "mysql" else "ue.enrolid = ANY(%(watched_ids)s)")


def test_no_statement_keeps_a_shared_fragment_unfilled():
    for path in sorted(SQL_ROOT.rglob("*.sql")):
        parts = path.relative_to(SQL_ROOT).parts
        if parts[0] == "shared" or "migrations" in parts:
            continue
        for dialect in [parts[1]] if len(parts) == 3 else DIALECTS:
            assert not sql._SHARED_RE.search(sql._read(parts[0], path.stem, dialect)), path


def test_both_dialects_have_the_same_migrations_numbered_without_gaps():
    mysql = [(version, name) for version, name, _ in migrations("mysql")]
    postgres = [(version, name) for version, name, _ in migrations("postgres")]
    assert mysql == postgres
    assert [version for version, _ in mysql] == list(range(1, len(mysql) + 1))
    assert (6, "006_status_index") in mysql  # the shared one


def test_a_dialect_migration_takes_the_place_of_the_shared_one_and_versions_stay_unique(tmp_path, monkeypatch):
    folder = tmp_path / "eventlog" / "migrations"
    (folder / "mysql").mkdir(parents=True)
    (folder / "postgres").mkdir()
    (folder / "001_base.sql").write_text("-- shared\nCREATE TABLE t (id INT);\n")
    (folder / "002_index.sql").write_text("CREATE INDEX i ON t (id);\n")
    (folder / "mysql" / "002_index.sql").write_text("CREATE INDEX i ON t (id) USING BTREE;\n")
    (folder / "postgres" / "003_more.sql").write_text("ALTER TABLE t ADD COLUMN x INT;\n")
    monkeypatch.setattr(sql, "SQL_ROOT", tmp_path)
    assert [(v, n, " ".join(b.split())) for v, n, b in migrations("mysql")] == [
        (1, "001_base", "CREATE TABLE t (id INT);"), (2, "002_index", "CREATE INDEX i ON t (id) USING BTREE;")]
    assert [(v, n) for v, n, _ in migrations("postgres")] == [(1, "001_base"), (2, "002_index"), (3, "003_more")]
    (folder / "postgres" / "002_other.sql").write_text("SELECT 1;\n")
    with pytest.raises(ConfigError, match="share version 2"):
        migrations("postgres")
