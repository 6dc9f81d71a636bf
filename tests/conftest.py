"""Shared fixtures: real MariaDB and PostgreSQL on loopback, the shared Moodle fixture, a real receiver; and the
markers each test gets from where it lives (tests/unit/, tests/integration/) and what it uses (PostgreSQL).

Airflow reads its configuration at import time, so the test AIRFLOW_HOME is set before anything imports it.
"""

from __future__ import annotations

import gzip
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

TESTS = Path(__file__).resolve().parent
ROOT = TESTS.parent
#: the real Moodle 4.5 fixture, in the project (tests/fixtures/README.md says what it is)
MOODLE_DUMP = ROOT / "tests" / "fixtures" / "moodle-4.5.5-fixture.sql.gz"
MYSQL_URI = "mysql://root@127.0.0.1:3306/{db}"
POSTGRES_URI = "postgres://postgres@127.0.0.1:5432/{db}"
#: Appended to every test database name, so that two checkouts (or helpers) can run the suite side by side; a
#: pytest-xdist worker adds its own id (gw0, gw1...), so that parallel workers never share a database.
DB_SUFFIX = os.environ.get("MZS_TEST_DB_SUFFIX", "") + (f"_{os.environ['PYTEST_XDIST_WORKER']}"
                                                         if os.environ.get("PYTEST_XDIST_WORKER") else "")


def scratch_db(name: str) -> str:
    """The name of a scratch test database on this machine."""
    return f"{name}{DB_SUFFIX}"

_home = tempfile.mkdtemp(prefix="mzs-airflow-")
os.environ.setdefault("AIRFLOW_HOME", _home)
os.environ["AIRFLOW__CORE__DAGS_FOLDER"] = str(ROOT / "dags")
os.environ["AIRFLOW__CORE__PLUGINS_FOLDER"] = str(ROOT / "plugins")
os.environ["AIRFLOW__CORE__LOAD_EXAMPLES"] = "False"
os.environ["AIRFLOW__CORE__UNIT_TEST_MODE"] = "True"
#: The tests' payload encryption key (Fernet format, made per run): payloads are encrypted in every test.
TEST_ENCRYPTION_KEY = Fernet.generate_key().decode()
os.environ["AIRFLOW_CONN_MOODLE_SYNC_ENCRYPTION"] = f'{{"conn_type": "generic", "password": "{TEST_ENCRYPTION_KEY}"}}'


def mysql_cli(*args: str, stdin: bytes | None = None) -> None:
    subprocess.run(["mariadb", "-h", "127.0.0.1", "-u", "root", *args], input=stdin, check=True)


def recreate_mysql_database(name: str) -> None:
    mysql_cli("-e", f"DROP DATABASE IF EXISTS {name}; CREATE DATABASE {name} CHARACTER SET utf8mb4 "
                    "COLLATE utf8mb4_unicode_ci")


def recreate_postgres_database(name: str, template: str | None = None) -> None:
    """Drop and create ``name``; with ``template``, as a copy of that database (a file copy: fast)."""
    import psycopg

    with psycopg.connect("host=127.0.0.1 port=5432 user=postgres dbname=postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"' + (f' TEMPLATE "{template}"' if template else ""))


def set_connection(conn_id: str, uri: str) -> None:
    os.environ[f"AIRFLOW_CONN_{conn_id.upper()}"] = uri


def fresh_database(dialect: str, name: str, conn_id: str):
    """Drop and create ``name`` on MariaDB or PostgreSQL, point ``conn_id`` at it, return a connection."""
    from moodle_sync.outbox import db

    if dialect == "mysql":
        recreate_mysql_database(name)
        set_connection(conn_id, MYSQL_URI.format(db=name))
    else:
        recreate_postgres_database(name)
        set_connection(conn_id, POSTGRES_URI.format(db=name))
    return db.connect(conn_id)


@pytest.fixture(scope="session")
def fixture_dump() -> bytes:
    if not MOODLE_DUMP.is_file():  # a test without its data fails: a skipped suite would pass and prove nothing
        pytest.fail(f"the Moodle fixture is missing: {MOODLE_DUMP} (part of the repository: restore it with git)")
    return gzip.decompress(MOODLE_DUMP.read_bytes())


@pytest.fixture
def moodle(fixture_dump):
    """A private copy of the real Moodle 4.5 fixture on MariaDB, as the ``moodle_db`` connection."""
    from moodle_sync.outbox import db

    name = scratch_db("mzs_test_moodle")
    recreate_mysql_database(name)
    mysql_cli(name, stdin=fixture_dump)
    set_connection("moodle_db", MYSQL_URI.format(db=name) + "?table_prefix=mdl_")
    conn = db.connect("moodle_db")
    yield conn
    conn.close()


@pytest.fixture(scope="session")
def moodle_pg_template(fixture_dump):
    """The shared fixture copied once per session into a PostgreSQL database that ``moodle_pg`` clones: the dump
    goes into a scratch MariaDB database, then tests/support/moodle_pg.py copies Moodle's tables over with Moodle's
    PostgreSQL types."""
    import MySQLdb
    import psycopg

    from support.moodle_pg import MOODLE_TABLES, copy_moodle

    source, template = scratch_db("mzs_test_moodle_src"), scratch_db("mzs_test_moodle_pg_template")
    recreate_mysql_database(source)
    mysql_cli(source, stdin=fixture_dump)
    recreate_postgres_database(template)
    src = MySQLdb.connect(host="127.0.0.1", port=3306, user="root", db=source, charset="utf8mb4")
    try:
        with psycopg.connect(f"host=127.0.0.1 port=5432 user=postgres dbname={template}") as dst:
            copy_moodle(src, dst, tables=list(MOODLE_TABLES))
    finally:
        src.close()
        mysql_cli("-e", f"DROP DATABASE {source}")
    yield template


@pytest.fixture
def moodle_pg(moodle_pg_template):
    """A private copy of the same Moodle 4.5 fixture on PostgreSQL, as the ``moodle_db`` connection."""
    from moodle_sync.outbox import db

    name = scratch_db("mzs_test_moodle_pg")
    recreate_postgres_database(name, template=moodle_pg_template)
    set_connection("moodle_db", POSTGRES_URI.format(db=name) + "?table_prefix=mdl_")
    conn = db.connect("moodle_db")
    yield conn
    conn.close()


@pytest.fixture(params=["mysql", "postgres"])
def store(request):
    """An empty, migrated event-log database as ``moodle_sync_db``: on MariaDB and on PostgreSQL."""
    from moodle_sync.outbox import eventlog

    conn = fresh_database(request.param, scratch_db("mzs_test_store"), "moodle_sync_db")
    eventlog.migrate(conn)
    yield conn
    conn.close()


@pytest.fixture
def receiver():
    from demo.receiver import Receiver

    with Receiver() as r:  # as the real backend: the token the tests send is not checked
        yield r


def airflow_cli(*args: str, timeout: int = 300, check: bool = True) -> str:
    """Run the ``airflow`` command of this venv with the test environment; fail with its stderr."""
    out = subprocess.run([os.path.join(os.path.dirname(sys.executable), "airflow"), *args],
                         capture_output=True, text=True, env=dict(os.environ), timeout=timeout)
    assert out.returncode == 0 or not check, out.stderr[-3000:]
    return out.stdout


@pytest.fixture(scope="session")
def airflow_db():
    """`airflow db migrate` once per session for the test AIRFLOW_HOME (dag.test() and the api-server need it)."""
    airflow_cli("db", "migrate")


@pytest.fixture(scope="session")
def airflow_dags(airflow_db):
    """The project's DAGs serialized into the metadata DB, as the dag-processor would (triggers need them)."""
    airflow_cli("dags", "reserialize")


def wait_until(predicate, timeout=10.0, interval=0.05):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return False


def pytest_terminal_summary(terminalreporter):
    """Name the files tests left for CI to keep (screenshots of the operator's page)."""
    artifacts = sorted((ROOT / "artifacts").glob("*")) if (ROOT / "artifacts").is_dir() else []
    if artifacts:
        terminalreporter.write_sep("-", "artifacts")
        for path in artifacts:
            terminalreporter.write_line(str(path))


#: The tiers, one folder each: ``unit`` (no database, no server, no subprocess, no Airflow run) and ``integration``.
TIERS = ("unit", "integration")
#: Fixtures that bring PostgreSQL in, besides a ``"postgres"`` parameter (the ``store`` fixture's, a ``dialect``).
POSTGRES_FIXTURES = {"moodle_pg", "moodle_pg_template", "stores"}
#: Fixtures that make a test slow: a fresh copy of the Moodle fixture on MariaDB creates its 494 tables (8-20 s of
#: setup per test on 2 cores; PostgreSQL clones its copy from a template in about a second).
SLOW_FIXTURES = {"moodle"}


def pytest_collection_modifyitems(config, items):
    """Each test gets its tier's marker from its folder, ``postgres`` when it uses PostgreSQL and ``slow`` when it
    uses a slow fixture (the others marked slow say so where they are written)."""
    for item in items:
        tier = item.path.relative_to(TESTS).parts[0] if item.path.is_relative_to(TESTS) else None
        if tier not in TIERS:
            raise pytest.UsageError(f"{item.nodeid}: a test lives in tests/unit/ or tests/integration/ (see pytest.ini)")
        item.add_marker(tier)
        params = getattr(item, "callspec", None)
        if (params and "postgres" in params.params.values()) or POSTGRES_FIXTURES & set(item.fixturenames):
            item.add_marker("postgres")
        if SLOW_FIXTURES & set(item.fixturenames):
            item.add_marker("slow")
