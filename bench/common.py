"""What the benchmarks share: where the servers are, fresh databases, and where figures go."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "bench" / "out"
URIS = {"mysql": "mysql://root@127.0.0.1:3306/{}", "postgres": "postgres://postgres@127.0.0.1:5432/{}"}

sys.path.insert(0, str(ROOT / "plugins"))
os.environ.setdefault("AIRFLOW_HOME", str(OUT / "airflow"))


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
