"""DAG files stay cheap to parse: each one, run in a fresh interpreter, imports no pandas and no database driver
and touches no database at import time (what the DAGs hold: tests/unit/test_dag_integrity.py)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from support.airflow_cluster import fresh_python as _python

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("dag_file", sorted(p.name for p in (ROOT / "dags").glob("*.py")))
def test_dag_files_import_no_pandas_and_touch_no_database_at_top_level(dag_file):
    code = (
        "import sys, runpy\n"
        f"runpy.run_path({str(ROOT / 'dags' / dag_file)!r})\n"
        "heavy = [m for m in ('pandas', 'MySQLdb', 'psycopg', 'aiohttp') if m in sys.modules]\n"
        "print(','.join(heavy))\n"
    )
    # an unreachable database: any connection attempt at import time would fail the import
    out = _python(code, AIRFLOW_CONN_MOODLE_DB="mysql://nobody@127.0.0.1:1/none",
                  AIRFLOW_CONN_MOODLE_SYNC_DB="mysql://nobody@127.0.0.1:1/none")
    assert out.returncode == 0, out.stderr[-2000:]
    heavy = out.stdout.strip().splitlines()[-1] if out.stdout.strip() else ""
    assert "pandas" not in heavy, f"{dag_file} imports pandas at top level"
    assert "MySQLdb" not in heavy and "psycopg" not in heavy, f"{dag_file} imports a database driver at top level"




def _parse_entity_dags(**settings) -> subprocess.CompletedProcess:
    """dags/moodle_sync_entities.py parsed in a fresh interpreter with ``settings`` in its environment; prints
    each DAG's cron."""
    code = (
        "import runpy\n"
        f"dags = runpy.run_path({str(ROOT / 'dags' / 'moodle_sync_entities.py')!r})\n"
        "for name in ('moodle_sync_users', 'moodle_sync_enrolments', 'moodle_sync_grades'):\n"
        "    print(name, dags[name].timetable.expression)\n"
    )
    return _python(code, **settings)


def test_each_entity_dag_takes_its_schedule_from_its_setting_and_a_bad_cron_names_the_variable():
    out = _parse_entity_dags(MOODLE_SYNC_GRADES_SCHEDULE="*/2 * * * *", MOODLE_SYNC_USERS_SCHEDULE="0 * * * *")
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.split("\n")[-4:-1] == ["moodle_sync_users 0 * * * *", "moodle_sync_enrolments */15 * * * *",
                                             "moodle_sync_grades */2 * * * *"]
    bad = _parse_entity_dags(MOODLE_SYNC_ENROLMENTS_SCHEDULE="every 5 minutes")
    assert bad.returncode != 0
    assert "MOODLE_SYNC_ENROLMENTS_SCHEDULE='every 5 minutes' is not a cron expression" in bad.stderr
