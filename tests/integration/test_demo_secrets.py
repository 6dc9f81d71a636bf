"""Issue 5's secrets test: the whole demo runs (`python -m demo` as a subprocess, its own AIRFLOW_HOME and
databases), then none of its secrets is anywhere it left data, and its event log holds no demo user's name or
email in plain text.

The demo's Airflow keeps its metadata (and the demo's connections, Fernet-encrypted with a key that lives only in
the environment of the demo's processes) on the local PostgreSQL: that database is searched too.

The test makes the secrets and gives them to the demo through its environment (DEMO_*; by default the demo
makes fresh ones), so it knows what to look for: the bearer token, the whsec_ signing secret, the payload
encryption key and the alert webhook's token, each in every form it could be written in (as is, URL-encoded,
JSON-escaped, and the raw key bytes in binary and hex).
"""

from __future__ import annotations

import base64
import json
import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import pytest
from cryptography.fernet import Fernet

from conftest import ROOT, mysql_cli, scratch_db
from support.helpers import open_dump_blobs



@dataclass
class DemoRun:
    home: Path
    airflow_home: Path
    moodle_db: str
    eventlog_db: str
    airflow_db: str
    secrets: dict[str, str]
    proc: subprocess.CompletedProcess


def forms(secret: str) -> set[bytes]:
    """Every way a secret could be written down: as is, URL-encoded, JSON-escaped; for keys, also their
    32 raw bytes and their hex."""
    out = {secret, quote(secret, safe=""), json.dumps(secret)[1:-1]}
    raw = []
    if secret.startswith("whsec_"):
        out.add(secret[len("whsec_"):])
        raw.append(base64.b64decode(secret[len("whsec_"):]))
    elif len(secret) == 44 and secret.endswith("="):  # a Fernet-format key
        raw.append(base64.urlsafe_b64decode(secret))
    found = {s.encode() for s in out}
    for key in raw:
        found |= {key, key.hex().encode()}
    return found


def leaks(data: bytes, secrets: dict[str, str]) -> list[str]:
    """Which secrets appear in ``data`` (in any of their forms)."""
    return sorted(name for name, secret in secrets.items() if any(f in data for f in forms(secret)))


def mariadb_dump(name: str, *options: str) -> bytes:
    out = subprocess.run(["mariadb-dump", "-h", "127.0.0.1", "-u", "root", "--skip-extended-insert", *options, name],
                         capture_output=True, timeout=120)
    assert out.returncode == 0, out.stderr.decode()[-2000:]
    return out.stdout


@pytest.fixture(scope="module")
def demo(tmp_path_factory) -> DemoRun:
    home = tmp_path_factory.mktemp("demo-home")
    secrets = {"webhook token": os.urandom(24).hex(),
               "signing secret": "whsec_" + base64.b64encode(os.urandom(32)).decode(),
               "encryption key": Fernet.generate_key().decode(),
               "alert token": base64.urlsafe_b64encode(os.urandom(24)).decode().rstrip("=")}
    moodle_db, eventlog_db = scratch_db("mzs_test_demo_run_moodle"), scratch_db("mzs_test_demo_run_eventlog")
    airflow_db = scratch_db("mzs_test_demo_run_airflow")
    # the test's own Airflow settings (conftest's AIRFLOW_HOME, its encryption key) must not reach the demo
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "MOODLE_SYNC_", "DEMO_"))}
    env.update({"DEMO_HOME": str(home), "DEMO_MOODLE_DB": moodle_db, "DEMO_EVENTLOG_DB": eventlog_db,
                "DEMO_AIRFLOW_DB": airflow_db,
                "DEMO_WEBHOOK_TOKEN": secrets["webhook token"], "DEMO_SIGNING_SECRET": secrets["signing secret"],
                "DEMO_ENCRYPTION_KEY": secrets["encryption key"], "DEMO_ALERT_TOKEN": secrets["alert token"]})
    proc = subprocess.run([sys.executable, "-m", "demo"], cwd=ROOT, env=env, capture_output=True, timeout=900)
    yield DemoRun(home=home, airflow_home=home / "airflow", moodle_db=moodle_db, eventlog_db=eventlog_db,
                  airflow_db=airflow_db, secrets=secrets, proc=proc)
    mysql_cli("-e", f"DROP DATABASE IF EXISTS {moodle_db}; DROP DATABASE IF EXISTS {eventlog_db}")
    import psycopg

    with psycopg.connect("host=127.0.0.1 port=5432 user=postgres dbname=postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{airflow_db}" WITH (FORCE)')


def test_the_secret_search_finds_every_form_it_looks_for(tmp_path):
    secrets = {"key": Fernet.generate_key().decode(), "signing": "whsec_" + base64.b64encode(os.urandom(32)).decode()}
    for name, secret in secrets.items():
        for form in forms(secret):
            assert leaks(b"..." + form + b"...", secrets) == [name]
    assert leaks(b"nothing to see", secrets) == []


@pytest.mark.slow  # the whole demo, once per module
def test_the_demo_syncs_signs_encrypts_and_alerts(demo):
    out = demo.proc.stdout.decode()
    assert demo.proc.returncode == 0, out[-3000:] + demo.proc.stderr.decode()[-3000:]
    rows = re.findall(r"^\s+([12])\s+(user|enrolment|grade)\s+(\w+)\s+(\d+)\s+(\d+)\s+(\d+)\s+(\d+)\s+(\d+)\s+ok",
                      out, re.M)
    assert len(rows) == 6, out
    events = sum(int(r[5]) for r in rows)
    requests, distinct, verified = map(int, re.search(
        r"Receiver: (\d+) requests for (\d+) distinct events; (\d+) signatures verified", out).groups())
    assert distinct == sum(int(r[6]) for r in rows) and verified == requests >= distinct > 0
    sealed, total = map(int, re.search(r"Event log: (\d+) of (\d+) payloads encrypted", out).groups())
    assert sealed == total == events > 0
    assert re.search(r"Alerts: the monitor run ok; 1 alert\(s\) received on /alerts\n\s+\[warning\] user: oldest "
                     r"undelivered event", out), out


@pytest.mark.slow  # the whole demo, once per module
def test_no_secret_in_any_file_the_demo_left(demo):
    """Task logs (what `airflow dags test` prints, kept under DEMO_HOME/logs), airflow.cfg and anything else under
    DEMO_HOME (AIRFLOW_HOME is inside), plus the demo's own output; and no Airflow key in airflow.cfg (Airflow
    writes generated ones into a file it creates: with them the connections could be read)."""
    files = [p for p in demo.home.rglob("*") if p.is_file()]
    names = {p.relative_to(demo.home).as_posix() for p in files}
    assert {"airflow/airflow.cfg", "logs/moodle_sync_users-round1.log", "logs/moodle_sync_monitor.log"} <= names, names
    task_log = (demo.home / "logs" / "moodle_sync_users-round1.log").read_text()
    assert "user: read 61" in task_log and "deliver" in task_log  # the files searched hold the tasks' logs
    found = {p.relative_to(demo.home).as_posix(): leaks(p.read_bytes(), demo.secrets) for p in files}
    found["(demo stdout)"] = leaks(demo.proc.stdout, demo.secrets)
    found["(demo stderr)"] = leaks(demo.proc.stderr, demo.secrets)
    assert {name: hit for name, hit in found.items() if hit} == {}
    keys = {p.relative_to(demo.home).as_posix() for p in files
            if re.search(rb"^\s*(fernet_key|jwt_secret)\s*=\s*\S", p.read_bytes(), re.M)}
    assert keys == set()


def airflow_db_rows(demo: DemoRun, sql: str) -> list[tuple]:
    import psycopg

    with psycopg.connect(f"host=127.0.0.1 port=5432 user=postgres dbname={demo.airflow_db}") as conn:
        return conn.execute(sql).fetchall()


@pytest.mark.slow  # the whole demo, once per module
def test_no_secret_in_xcom_rendered_fields_or_any_table_of_the_metadata_database(demo):
    """The demo's Airflow metadata database on PostgreSQL: XComs and rendered templates read explicitly, the
    connections (there, with every secret: encrypted), then the whole database as pg_dump writes it."""
    xcoms = airflow_db_rows(demo, "SELECT dag_id, task_id, key, value::text FROM xcom")
    rendered = airflow_db_rows(demo, "SELECT dag_id, task_id, rendered_fields::text FROM rendered_task_instance_fields")
    conns = airflow_db_rows(demo, "SELECT conn_id, is_encrypted, is_extra_encrypted, password, extra FROM connection")
    assert {(d, t) for d, t, k, _ in xcoms if k == "return_value"} >= {("moodle_sync_users", "sync"),
                                                                       ("moodle_sync_monitor", "check")}, xcoms
    assert len(rendered) >= 7, rendered  # every task of the six entity runs and the monitor run
    assert {c[0]: c[1] for c in conns if c[3]} == {"moodle_sync_webhook": True, "moodle_sync_encryption": True,
                                                   "moodle_sync_alerts": True}  # the empty MariaDB password: none
    assert all(c[2] for c in conns if c[4])
    for row in xcoms + rendered + conns:
        assert leaks(repr(row).encode(), demo.secrets) == [], row[:2]
    dump = subprocess.run(["pg_dump", "-h", "127.0.0.1", "-U", "postgres", demo.airflow_db], capture_output=True,
                          timeout=120)
    assert dump.returncode == 0, dump.stderr.decode()[-2000:]
    assert b"CREATE TABLE public.xcom" in dump.stdout and b"COPY public.connection" in dump.stdout
    assert leaks(dump.stdout, demo.secrets) == []


@pytest.mark.slow  # the whole demo, once per module
def test_no_secret_in_any_table_of_the_event_log_or_the_demo_moodle(demo):
    for name in (demo.eventlog_db, demo.moodle_db):
        dump = mariadb_dump(name)
        assert dump.count(b"INSERT INTO") > 100, name
        assert leaks(dump, demo.secrets) == [], name


@pytest.mark.slow  # the whole demo, once per module
def test_the_event_log_dump_holds_no_demo_users_name_or_email(demo):
    """Every demo user's email, username, first and last name (from the demo Moodle's mdl_user) is looked for
    in the dump of the event log, as written there: as is, JSON-escaped, SQL-escaped. The same search finds
    every one of them in the dump of the Moodle itself, so it does look the way a plain-text payload would."""
    import MySQLdb

    conn = MySQLdb.connect(host="127.0.0.1", user="root", db=demo.moodle_db, charset="utf8mb4")
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT id, email, username, firstname, lastname FROM mdl_user WHERE username <> 'guest'")
            users = [(uid, *(v.strip() for v in values if v.strip())) for uid, *values in cur.fetchall()]
    finally:
        conn.close()
    assert len(users) > 50

    def written(value: str) -> set[bytes]:
        texts = {value, json.dumps(value)[1:-1], json.dumps(value, ensure_ascii=False)[1:-1]}
        return {t.replace("\\", "\\\\").replace("'", "\\'").replace('"', '\\"').encode() for t in texts} | \
               {t.encode() for t in texts}

    def personal_data_in(dump: bytes) -> dict[int, list[str]]:
        hits = {}
        for uid, *values in users:
            fields = [v for v in values if v and any(w in dump for w in written(v))]
            if fields:
                hits[uid] = fields
        return hits

    moodle_hits = personal_data_in(mariadb_dump(demo.moodle_db))
    assert moodle_hits == {uid: values for uid, *values in users}, "the search misses plain text"

    # binary values as their bytes (a plain-text payload reads as such); sealed ones (random bytes, where a short
    # name like "Kim" could turn up by chance) are elided
    eventlog, sealed = open_dump_blobs(mariadb_dump(demo.eventlog_db, "--hex-blob"))
    rows = re.findall(rb"^INSERT INTO `moodle_sync_event_log` VALUES .*$", eventlog, re.M)
    # every event's payload sealed, and the one other sealed value: the content-hash key in the meta table
    assert len(rows) > 700 and sealed == len(rows) + 1 and all(b"enc2:<sealed>" in row for row in rows)
    assert personal_data_in(eventlog) == {}
