"""The same Moodle on MariaDB and on PostgreSQL through the same sync: the same events, one to one.

``moodle`` is the shared Moodle 4.5 fixture on MariaDB; ``moodle_pg`` the same rows copied into PostgreSQL
with Moodle's PostgreSQL column types (tests/support/moodle_pg.py). Each Moodle syncs into its own event log (the
MariaDB site's into MariaDB, the PostgreSQL site's into PostgreSQL, as two real deployments would), then
the logs are compared: event ids, types, keys, sequences and the payload text byte for byte (so 80.0 and
80.00000 could not pass as "equal"), and the content hashes that decide what a later run emits.
"""

from __future__ import annotations

import collections

import hashlib
import json

import pytest

from conftest import fresh_database, scratch_db, set_connection
from support.helpers import DAG_IDS, FIXTURE_NOW, SITE, events, moodle_exec, run_dag, run_sync, webhook
from support import moodle_writes as mw
from support.moodle_writes import history_row

ENTITIES = ("user", "enrolment", "grade")


@pytest.fixture
def stores():
    """Two migrated event logs under their own connection ids: one on MariaDB, one on PostgreSQL."""
    from moodle_sync.outbox import eventlog

    made = {}
    for dialect in ("mysql", "postgres"):
        made[dialect] = fresh_database(dialect, scratch_db(f"mzs_test_store_{dialect}"), f"mzs_store_{dialect}")
        eventlog.migrate(made[dialect])
    yield made
    for conn in made.values():
        conn.close()


def log_of(store) -> list[tuple]:
    """The event log as comparable rows, in a dialect-independent order, with the payload's exact JSON text
    (stored encrypted under a random nonce: the ciphertexts differ, their plain texts must not)."""
    from moodle_sync.outbox.crypto import cipher_from_connection

    cipher = cipher_from_connection()
    rows = store.query("SELECT event_id, event_type, entity_type, entity_key, sequence, payload "
                       "FROM moodle_sync_event_log")
    store.commit()
    return sorted((str(r[0]), r[1], r[2], r[3], r[4], cipher.open(r[5], str(r[0]))) for r in rows)


def states_of(store) -> list[tuple]:
    rows = store.query("SELECT entity_type, entity_key, sequence, content_hash FROM moodle_sync_entity_state")
    store.commit()
    return sorted(rows)


def sync_both(sites, stores, now: int, **kw) -> dict[str, dict[str, int]]:
    return {dialect: {e: run_sync(e, sites[dialect], stores[dialect], now=now, **kw).events for e in ENTITIES}
            for dialect in ("mysql", "postgres")}


def assert_same_logs(stores) -> list[tuple]:
    mysql, postgres = log_of(stores["mysql"]), log_of(stores["postgres"])
    only_mysql, only_postgres = sorted(set(mysql) - set(postgres)), sorted(set(postgres) - set(mysql))
    assert not only_mysql and not only_postgres, (only_mysql[:3], only_postgres[:3])
    assert mysql == postgres
    assert states_of(stores["mysql"]) == states_of(stores["postgres"])
    return mysql


def test_the_initial_sync_of_the_same_moodle_on_mariadb_and_postgresql_yields_the_same_events(
        moodle, moodle_pg, stores):
    sites = {"mysql": moodle, "postgres": moodle_pg}
    counts = sync_both(sites, stores, FIXTURE_NOW)
    assert counts["mysql"] == counts["postgres"] == {"user": 136, "enrolment": 250, "grade": 736}
    rows = assert_same_logs(stores)
    assert len(rows) == 136 + 250 + 736
    # the decoded payloads too (what a receiver sees), e.g. grades with 5-decimal NUMERIC values
    decoded = {dialect: {e["event_id"]: e["payload"] for e in events(stores[dialect])} for dialect in stores}
    assert decoded["mysql"] == decoded["postgres"]
    values = [p["grade_value"] for p in decoded["postgres"].values() if p.get("grade_value") is not None]
    assert any(v != round(v) for v in values), "the fixture has fractional grades: the comparison covers them"
    # A site that moves its Moodle from MariaDB to PostgreSQL keeps its event log: the same rows hash the
    # same, so re-reading everything from the PostgreSQL copy into the MariaDB site's log emits nothing.
    moved = stores["mysql"]
    assert {e: run_sync(e, moodle_pg, moved, since=0, until=FIXTURE_NOW + 1).events for e in ENTITIES} == {
        "user": 0, "enrolment": 0, "grade": 0}


def moodle_like_changes(moodle, t: int) -> None:
    """Changes written as Moodle's APIs write them (../shared/moodle/FACTS.md), in SQL both dialects run alike."""
    username, email = moodle.query("SELECT username, email FROM mdl_user WHERE id = 17")[0]
    # user_update_user(): email and city (non-ASCII) of 111
    mw.update_user(moodle, 111, t, email="olivia.new@example.org", city="Zürich")
    # user_update_user() saving the same values: timemodified only (and its log row)
    mw.update_user(moodle, 120, t)
    # role_assign(): user 136 becomes a student in BIO101 (insert-only table)
    mw.role_assign(moodle, 5, 254, 136, t)
    # update_user_enrol(): suspend ue 234
    mw.update_user_enrol(moodle, 234, t, status=1)
    moodle_exec(
        moodle,
        # a login: lastlogin takes the previous currentlogin; timemodified untouched -> no change
        ("UPDATE mdl_user SET lastlogin = currentlogin, currentlogin = %s, lastaccess = %s WHERE id = 112", (t, t)),
        # delete_user(): the soft delete of the user row (username <- email.time, email <- md5(username))
        ("UPDATE mdl_user SET deleted = 1, username = %s, email = %s, idnumber = '', picture = 0, timemodified = %s "
         "WHERE id = 17", (f"{email}.{t}", hashlib.md5(username.encode()).hexdigest(), t)),
        # enrol_plugin::update_status(): disable self instance 15; no timestamp anywhere
        ("UPDATE mdl_enrol SET status = 1 WHERE id = 15", None),
        # assign->update_grade(): a fractional regrade of 104/30, history action 2
        ("UPDATE mdl_grade_grades SET rawgrade = 41.5, finalgrade = 41.5, timemodified = %s "
         "WHERE userid = 104 AND itemid = 30", (t,)),
        history_row(104, 30, 2, t, "mod/assign"),
        # update_final_grade(): an override with 5 decimals on the manual item 33 (max 50)
        ("UPDATE mdl_grade_grades SET finalgrade = 33.33333, overridden = %s, timemodified = %s "
         "WHERE userid = 110 AND itemid = 33", (t, t)),
        history_row(110, 33, 2, t, "gradebook"),
        # grade_grade->set_locked() and set_hidden(): flags only, history with source NULL
        ("UPDATE mdl_grade_grades SET locked = %s WHERE userid = 105 AND itemid = 29", (t,)),
        history_row(105, 29, 2, t, None),
        ("UPDATE mdl_grade_grades SET hidden = 1 WHERE userid = 108 AND itemid = 29", None),
        history_row(108, 29, 2, t, None),
        # "No grade" on a synced grade: value, feedback and timemodified go NULL; only history shows it
        ("UPDATE mdl_grade_grades SET rawgrade = NULL, finalgrade = NULL, feedback = NULL, timemodified = NULL "
         "WHERE userid = 106 AND itemid = 29", None),
        history_row(106, 29, 2, t, "mod/assign"),
        # grade_item->update(): CHEM201's exam (item 36) goes from 100 to 80 points: every percentage changes
        ("UPDATE mdl_grade_items SET grademax = 80.00000, timemodified = %s WHERE id = 36", (t,)),
    )
    # ... and delete_user()'s log row
    mw.log_event(moodle, t, r"\core\event\user_deleted", action="deleted", target="user", objecttable="user",
                 objectid=17, crud="d", edulevel=0, contextid=mw.context_id(moodle, mw.CONTEXT_USER, 17),
                 contextlevel=mw.CONTEXT_USER, contextinstanceid=17, courseid=0, relateduserid=17,
                 other={"username": username, "email": email, "idnumber": "", "picture": 0, "mnethostid": 1})
    moodle.commit()


def test_the_same_moodle_like_changes_on_mariadb_and_postgresql_yield_the_same_events(moodle, moodle_pg, stores):
    sites = {"mysql": moodle, "postgres": moodle_pg}
    n0 = FIXTURE_NOW
    sync_both(sites, stores, n0)
    for site in sites.values():
        moodle_like_changes(site, n0 + 5)
    counts = sync_both(sites, stores, n0 + 10)
    assert counts["mysql"] == counts["postgres"]
    rows = assert_same_logs(stores)
    changed = {(r[2], r[3]) for r in rows if r[4] == 2}
    assert {("user", "111"), ("user", "17"), ("user", "136"), ("enrolment", "234"), ("enrolment", "237"),
            ("grade", "104:30"), ("grade", "110:33"), ("grade", "105:29"), ("grade", "108:29"),
            ("grade", "106:29")} <= changed
    assert ("user", "112") not in changed and ("user", "120") not in changed
    assert sum(1 for entity, key in changed if entity == "grade" and key.endswith(":36")) == 12  # the range edit
    assert [r[1] for r in rows if (r[2], r[3], r[4]) == ("user", "17", 2)] == ["user.deleted"]

    # time alone: ue 232 starts (Moodle writes nothing); the same run on both finds the same flips
    timestart = moodle.query("SELECT timestart FROM mdl_user_enrolments WHERE id = 232")[0][0]
    counts = sync_both(sites, stores, timestart + 200)
    assert counts["mysql"] == counts["postgres"] and counts["mysql"]["enrolment"] >= 1
    assert_same_logs(stores)

    # grade history disabled: changes are read from grade_grades.timemodified on both
    t = timestart + 300
    for site in sites.values():
        moodle_exec(site,
                    ("UPDATE mdl_config SET value = '1' WHERE name = 'disablegradehistory'", None),
                    ("UPDATE mdl_grade_grades SET finalgrade = 12.5, timemodified = %s "
                     "WHERE userid = 109 AND itemid = 29", (t,)))
    counts = sync_both(sites, stores, t + 5)
    assert counts["mysql"] == counts["postgres"] and counts["mysql"]["grade"] == 1
    assert_same_logs(stores)


@pytest.mark.slow  # DAG runs
def test_the_dags_read_a_moodle_on_postgresql_from_the_moodle_db_connection(airflow_db, moodle_pg, receiver,
                                                                            monkeypatch):
    """Through Airflow: moodle_db is a postgres connection (``?table_prefix=mdl_``), the event log too."""
    from moodle_sync.outbox import eventlog
    from moodle_sync.capture import sync

    store = fresh_database("postgres", scratch_db("mzs_test_store_dag"), "moodle_sync_db")
    try:
        webhook(monkeypatch, receiver, concurrency=8)
        for dag_id in DAG_IDS:
            assert run_dag(dag_id) == "success", dag_id
        logged = events(store)
        assert {e: sum(1 for r in logged if r["entity_type"] == e) for e in ENTITIES} == {
            "user": 136, "enrolment": 250, "grade": 736}
        assert all(r["event_id"] == sync.event_id(SITE, r["entity_type"], r["entity_key"], r["sequence"])
                   for r in logged)
        # the legacy endpoint takes assignment grades only (grade_items=assign): the others are recorded skipped
        assert collections.Counter(r["status"] for r in logged) == {"sent": 136 + 250 + 453, "skipped": 283}
        assert {d["event_id"] for d in receiver.state.deliveries} == {r["event_id"] for r in logged
                                                                      if r["status"] == "sent"}
        assert {r["entity"]: r["events"] for r in eventlog.last_runs(store)} == {
            "user": 136, "enrolment": 250, "grade": 736}
    finally:
        store.close()


def test_the_postgresql_copy_has_the_column_types_and_indexes_moodle_creates_on_postgresql(moodle_pg):
    """The loader's mapping agrees with include/sql/demo/postgres/moodle_schema.sql (written from Moodle's
    PostgreSQL XMLDB generator): bigint ids, smallint flags, numeric(10,5) grades, the same defaults and indexes."""
    from demo import moodle_site as demo_moodle

    demo = fresh_database("postgres", scratch_db("mzs_test_demo_schema"), "mzs_demo_schema")
    try:
        demo_moodle.create_schema(demo, "mdl_")
        tables = [f"mdl_{t}" for t in demo_moodle.TABLES]
        columns = ("SELECT table_name, column_name, data_type, character_maximum_length, numeric_precision, "
                   "numeric_scale, is_nullable, column_default FROM information_schema.columns "
                   "WHERE table_schema = 'public' AND table_name = ANY(%(t)s)")
        indexes = ("SELECT tablename, indexname, regexp_replace(indexdef, 'INDEX \\S+ ON', 'INDEX ON') "
                   "FROM pg_indexes WHERE schemaname = 'public' AND tablename = ANY(%(t)s) "
                   "AND indexdef NOT LIKE '%%(id)'")
        for sql in (columns, indexes):
            copied, expected = set(moodle_pg.query(sql, {"t": tables})), set(demo.query(sql, {"t": tables}))
            assert copied == expected, (sorted(copied - expected)[:5], sorted(expected - copied)[:5])
            assert len(copied) > 60
        grade = dict((r[1], r[2:6]) for r in moodle_pg.query(columns, {"t": ["mdl_grade_grades"]}))
        assert grade["finalgrade"] == ("numeric", None, 10, 5) and grade["id"][0] == "bigint"
        moodle_pg.commit()
    finally:
        demo.close()


def test_moodle_tables_in_their_own_postgresql_schema_are_read_through_the_options_extra(moodle_pg, stores):
    """Moodle's $CFG->dboptions['dbschema'] puts its tables in a schema of their own; the moodle_db connection
    then says the same with libpq's ``options`` extra (``-c search_path=<schema>``)."""
    import psycopg

    from support.moodle_pg import MOODLE_TABLES
    from moodle_sync.outbox import db

    moodle_pg.execute("CREATE SCHEMA moodle")
    for table in MOODLE_TABLES:
        moodle_pg.execute(f"ALTER TABLE mdl_{table} SET SCHEMA moodle")
    moodle_pg.commit()
    with pytest.raises(psycopg.errors.UndefinedTable):
        run_sync("user", moodle_pg, stores["postgres"])
    moodle_pg.rollback()

    settings = {"conn_type": "postgres", "host": "127.0.0.1", "port": 5432, "login": "postgres",
                        "schema": scratch_db("mzs_test_moodle_pg"),
                        "extra": {"table_prefix": "mdl_", "options": "-c search_path=moodle"}}
    set_connection("moodle_db", json.dumps(settings))
    in_schema = db.connect("moodle_db")
    try:
        assert db.table_prefix("moodle_db") == "mdl_"
        assert {e: run_sync(e, in_schema, stores["postgres"]).events for e in ENTITIES} == {
            "user": 136, "enrolment": 250, "grade": 736}
    finally:
        in_schema.close()
