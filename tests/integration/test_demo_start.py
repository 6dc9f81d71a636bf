"""`make demo` without a MariaDB or a PostgreSQL that answers says how to start one or where to point the demo, never a
traceback."""

from __future__ import annotations

import os
import socket
import subprocess
import sys

from conftest import ROOT, mysql_cli, scratch_db


def test_the_demo_without_mariadb_says_how_to_start_one(tmp_path):
    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "DEMO_"))}
    env.update(DEMO_DB_PORT=str(port), DEMO_HOME=str(tmp_path / "demo"))
    out = subprocess.run([sys.executable, "-m", "demo"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 1
    assert f"MariaDB on 127.0.0.1:{port}" in out.stderr and "bash scripts/bootstrap.sh services" in out.stderr
    assert "DEMO_DB_PORT" in out.stderr and "Traceback" not in out.stderr + out.stdout


def test_the_demo_without_postgresql_says_how_to_start_it(tmp_path):
    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "DEMO_"))}
    env.update(DEMO_PG_PORT=str(port), DEMO_HOME=str(tmp_path / "demo"),
               DEMO_MOODLE_DB=scratch_db("mzs_test_demo_start_moodle"),
               DEMO_EVENTLOG_DB=scratch_db("mzs_test_demo_start_eventlog"))
    try:
        out = subprocess.run([sys.executable, "-m", "demo"], cwd=ROOT, env=env, capture_output=True, text=True,
                             timeout=120)
    finally:
        mysql_cli("-e", f"DROP DATABASE IF EXISTS {env['DEMO_MOODLE_DB']}; "
                        f"DROP DATABASE IF EXISTS {env['DEMO_EVENTLOG_DB']}")
    assert out.returncode == 1
    assert f"PostgreSQL on 127.0.0.1:{port}" in out.stderr and "bash scripts/bootstrap.sh services" in out.stderr
    assert "DEMO_PG_PORT" in out.stderr and "Traceback" not in out.stderr + out.stdout
