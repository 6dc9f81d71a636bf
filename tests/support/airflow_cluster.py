"""Airflow's components as local processes on a metadata database of their own (PostgreSQL): what the cluster
and event-driven tests and the latency bench start, read and stop."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import uuid
from pathlib import Path

import psutil
from cryptography.fernet import Fernet

from demo.ui import process_tree

ROOT = Path(__file__).resolve().parents[2]
AIRFLOW = Path(sys.executable).parent / "airflow"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _each(procs, act) -> None:
    """``act`` (kill, terminate) on each process that has not ended meanwhile."""
    for proc in procs:
        try:
            act(proc)
        except psutil.NoSuchProcess:
            pass


def airflow_env(home: Path, airflow_db: str, eventlog_db: str, receiver_port: int, *, webhook_extra: dict,
                settings: dict) -> dict:
    """The environment of every component: this checkout's DAGs and plugins, the metadata on PostgreSQL, the
    api-server on a free port, the event log on MariaDB, the webhook at the receiver; ``settings`` on top. The
    caller's AIRFLOW_* and MOODLE_SYNC_* variables are left out (Moodle's and the encryption connection stay)."""
    (home / "airflow.cfg").write_text("")
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "MOODLE_SYNC_", "_AIRFLOW"))}
    env.update({
        "AIRFLOW_HOME": str(home), "AIRFLOW_CONFIG": str(home / "airflow.cfg"),
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"postgresql+psycopg2://postgres@127.0.0.1:5432/{airflow_db}",
        "AIRFLOW__CORE__FERNET_KEY": Fernet.generate_key().decode(),
        "AIRFLOW__API_AUTH__JWT_SECRET": uuid.uuid4().hex,
        "AIRFLOW__API__HOST": "127.0.0.1", "AIRFLOW__API__PORT": str(port), "AIRFLOW__API__WORKERS": "1",
        "AIRFLOW__API__BASE_URL": f"http://127.0.0.1:{port}",
        "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"http://127.0.0.1:{port}/execution/",
        "AIRFLOW__CORE__DAGS_FOLDER": str(ROOT / "dags"), "AIRFLOW__CORE__PLUGINS_FOLDER": str(ROOT / "plugins"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False", "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "True",
        "PYTHONPATH": f"{ROOT / 'plugins'}{os.pathsep}{ROOT / 'tests' / 'support'}",
        "MOODLE_SYNC_ALERT_CONN_IDS": "",  # alerts only logged
        "AIRFLOW_CONN_MOODLE_DB": os.environ["AIRFLOW_CONN_MOODLE_DB"],
        "AIRFLOW_CONN_MOODLE_SYNC_DB": f"mysql://root@127.0.0.1:3306/{eventlog_db}",
        "AIRFLOW_CONN_MOODLE_SYNC_ENCRYPTION": os.environ["AIRFLOW_CONN_MOODLE_SYNC_ENCRYPTION"],
        "AIRFLOW_CONN_MOODLE_SYNC_WEBHOOK": json.dumps({
            "conn_type": "http", "host": "127.0.0.1", "port": receiver_port, "schema": "http", "password": "t0ken",
            "extra": webhook_extra}),
    })
    env.update(settings)
    return env


class Cluster:
    """The processes of the stack, each in a process group of its own, and what the test reads from them."""

    def __init__(self, home: Path, env: dict, airflow_db: str, eventlog_db: str):
        self.home, self.env, self.airflow_db, self.eventlog_db = home, env, airflow_db, eventlog_db
        self.procs: dict[str, subprocess.Popen] = {}

    def start(self, name: str, *args: str, extra_env: dict | None = None) -> None:
        with open(self.home / f"{name}.log", "w") as log:
            self.procs[name] = subprocess.Popen([str(AIRFLOW), *args], env={**self.env, **(extra_env or {})},
                                                cwd=self.home, stdout=log, stderr=subprocess.STDOUT,
                                                process_group=0)

    def cli(self, *args: str) -> str:
        out = subprocess.run([str(AIRFLOW), *args], env=self.env, cwd=self.home, capture_output=True, text=True,
                             timeout=300)
        assert out.returncode == 0, out.stderr[-3000:]
        return out.stdout

    def exited(self) -> dict[str, int]:
        return {n: p.returncode for n, p in self.procs.items() if p.poll() is not None}

    def logs(self, *names: str) -> str:
        return "".join(f"\n--- {n}\n" + (self.home / f"{n}.log").read_text()[-3000:] for n in names)

    def kill_tree(self, name: str) -> None:
        """SIGKILL a component and every process it started (task processes have groups of their own)."""
        tree = process_tree([self.procs[name]])
        _each(tree, psutil.Process.kill)
        psutil.wait_procs(tree, timeout=10)
        self.procs[name].wait(timeout=10)

    def stop(self) -> None:
        tree = process_tree(self.procs.values())
        _each(tree, psutil.Process.terminate)
        _, alive = psutil.wait_procs(tree, timeout=15)
        _each(alive, psutil.Process.kill)
        psutil.wait_procs(alive, timeout=5)

    def meta(self, sql: str, params=None) -> list[tuple]:
        import psycopg

        with psycopg.connect(f"host=127.0.0.1 port=5432 user=postgres dbname={self.airflow_db}") as conn:
            return conn.execute(sql, params).fetchall()

    def eventlog(self, sql: str, params=None) -> list[tuple]:
        import MySQLdb

        conn = MySQLdb.connect(host="127.0.0.1", port=3306, user="root", db=self.eventlog_db)
        try:
            cur = conn.cursor()
            cur.execute(sql, params)
            return list(cur.fetchall())
        finally:
            conn.close()

    def statuses(self) -> dict[str, int]:
        return dict(self.eventlog("SELECT status, COUNT(*) FROM moodle_sync_event_log GROUP BY status"))

    def successful_runs(self, dag_id: str) -> int:
        return self.meta("SELECT count(*) FROM dag_run WHERE dag_id = %s AND state = 'success'", (dag_id,))[0][0]


def drop_databases(airflow_db: str, eventlog_db: str) -> None:
    import psycopg

    subprocess.run(["mariadb", "-h", "127.0.0.1", "-u", "root", "-e", f"DROP DATABASE IF EXISTS {eventlog_db}"],
                   check=True)
    with psycopg.connect("host=127.0.0.1 port=5432 user=postgres dbname=postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{airflow_db}" WITH (FORCE)')


def fresh_python(code: str, **env: str) -> subprocess.CompletedProcess:
    """``code`` in a fresh interpreter that sees only the plugins, a throw-away AIRFLOW_HOME and ``env``: what a
    dag-processor sees when it parses a DAG file."""
    import tempfile

    env = {"PYTHONPATH": str(ROOT / "plugins"), "PATH": "/usr/bin:/bin", "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
           "AIRFLOW_HOME": tempfile.mkdtemp(prefix="mzs-parse-"), **env}
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120)
