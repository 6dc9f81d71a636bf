"""What the benchmarks share: where the servers are, fresh databases, and where figures go."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "bench" / "out"
URIS = {"mysql": "mysql://root@127.0.0.1:3306/{}", "postgres": "postgres://postgres@127.0.0.1:5432/{}"}
#: Appended to every benchmark database name, so that a benchmark never touches someone else's databases.
DB_SUFFIX = os.environ.get("MZS_BENCH_DB_SUFFIX", "")

sys.path.insert(0, str(ROOT / "plugins"))
os.environ.setdefault("AIRFLOW_HOME", str(OUT / "airflow"))


def db_name(name: str) -> str:
    """A benchmark database's name on this machine (``MZS_BENCH_DB_SUFFIX`` appended)."""
    return f"{name}{DB_SUFFIX}"


def encrypt_payloads() -> None:
    """Payloads are encrypted at rest as in production: a per-run key unless an encryption connection is set."""
    if "AIRFLOW_CONN_MOODLE_SYNC_ENCRYPTION" not in os.environ:
        from cryptography.fernet import Fernet

        key = Fernet.generate_key().decode()
        os.environ["AIRFLOW_CONN_MOODLE_SYNC_ENCRYPTION"] = f'{{"conn_type": "generic", "password": "{key}"}}'


def recreate(dialect: str, name: str) -> None:
    """Drop and create a scratch database."""
    if dialect == "mysql":
        import MySQLdb

        conn = MySQLdb.connect(host="127.0.0.1", user="root")
        with conn.cursor() as cur:
            cur.execute(f"DROP DATABASE IF EXISTS {name}")
            cur.execute(f"CREATE DATABASE {name} CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci")
        conn.close()
    else:
        import psycopg

        with psycopg.connect("host=127.0.0.1 user=postgres dbname=postgres", autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            conn.execute(f'CREATE DATABASE "{name}"')


def write_figures(name: str, figures: dict) -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / f"{name}.json").write_text(json.dumps(figures, indent=2))
