"""`make demo`: the whole sync on a Moodle-shaped demo database, through Airflow, to a local receiver.

1. creates `moodle_demo` on the local MariaDB from the project's own DDL and seed generator (the edge cases
   of FACTS.md included) and an empty event log `moodle_sync_demo`;
2. starts a receiver that speaks the backend's contract (dedupes by event_id, can be told to fail);
3. runs the three DAGs with `airflow dags test`, changes a few Moodle rows the way Moodle does, tells the
   receiver to fail two requests, runs them again;
4. prints what each run read, quarantined, emitted, sent and failed, and how to open the DAGs in the UI.
"""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "plugins"))

DEMO_HOME = ROOT / ".demo"
AIRFLOW_HOME = DEMO_HOME / "airflow"
MOODLE_DB, EVENTLOG_DB = "moodle_demo", "moodle_sync_demo"
MYSQL = "mysql://root@127.0.0.1:3306/{}"
DAG_IDS = ["moodle_sync_users", "moodle_sync_enrolments", "moodle_sync_grades"]


def airflow_env(receiver_port: int, token: str) -> dict:
    env = dict(os.environ)
    env.update({
        "AIRFLOW_HOME": str(AIRFLOW_HOME),
        "AIRFLOW__CORE__DAGS_FOLDER": str(ROOT / "dags"),
        "AIRFLOW__CORE__PLUGINS_FOLDER": str(ROOT / "plugins"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "PYTHONPATH": str(ROOT / "plugins"),
        "AIRFLOW_CONN_MOODLE_DB": MYSQL.format(MOODLE_DB),
        "AIRFLOW_CONN_MOODLE_SYNC_DB": MYSQL.format(EVENTLOG_DB),
        # the token lives only in this process's environment: never written to a file
        "AIRFLOW_CONN_MOODLE_SYNC_WEBHOOK": f"http://:{token}@127.0.0.1:{receiver_port}",
    })
    return env


def airflow(env: dict, *args: str, log_name: str) -> subprocess.CompletedProcess:
    log_path = DEMO_HOME / "logs" / f"{log_name}.log"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with open(log_path, "w") as log:
        return subprocess.run([str(Path(sys.executable).parent / "airflow"), *args], env=env, stdout=log,
                              stderr=subprocess.STDOUT, cwd=DEMO_HOME)


def recreate_mysql_database(name: str) -> None:
    import MySQLdb

    conn = MySQLdb.connect(host="127.0.0.1", user="root", port=3306)
    with conn.cursor() as cur:
        cur.execute(f"DROP DATABASE IF EXISTS {name}")
        cur.execute(f"CREATE DATABASE {name} CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci")
    conn.close()


def main() -> int:
    from moodle_sync import db, demo_moodle, eventlog
    from moodle_sync.receiver import Receiver

    DEMO_HOME.mkdir(exist_ok=True)
    print("1/4 Creating the demo Moodle database and an empty event log on the local MariaDB ...")
    recreate_mysql_database(MOODLE_DB)
    recreate_mysql_database(EVENTLOG_DB)
    token = secrets.token_urlsafe(24)
    receiver = Receiver(port=0, token=token).start()
    env = airflow_env(receiver.port, token)
    os.environ.update({k: v for k, v in env.items() if k.startswith("AIRFLOW_CONN_")})
    moodle = db.connect("moodle_db")
    demo_moodle.create_schema(moodle, "mdl_")
    seeded = demo_moodle.seed(moodle, "mdl_")
    print(f"    seeded: { {k: v for k, v in seeded.items() if k != 'edge'} }")

    print(f"2/4 Receiver listening on {receiver.url}/api/v1/webhooks (dedupes by event_id)")
    print("3/4 Preparing Airflow (metadata database in .demo/airflow) ...")
    if airflow(env, "db", "migrate", log_name="db-migrate").returncode:
        print("    'airflow db migrate' failed: see .demo/logs/db-migrate.log")
        return 1

    store = db.connect("moodle_sync_db")
    summary = []
    for round_no in (1, 2):
        if round_no == 2:
            changes = demo_moodle.apply_changes(moodle, "mdl_")
            print(f"    Moodle changed like Moodle does: {changes.get('description', changes)}")
            receiver.state.control(fail_status=503, fail_next=2)
            print("    receiver told to answer 503 to the next 2 requests")
        print(f"4/4 Round {round_no}: running the three DAGs with 'airflow dags test' ...")
        for dag_id in DAG_IDS:
            started = time.monotonic()
            proc = airflow(env, "dags", "test", dag_id, log_name=f"{dag_id}-round{round_no}")
            store.commit()
            run = eventlog.last_runs(store, 1)[0]
            statuses = eventlog.event_status_for_run(store, run["dag_run_id"])
            store.commit()
            summary.append({"round": round_no, **run, "sent": statuses.get("sent", 0),
                            "failed": statuses.get("failed", 0), "dag_ok": proc.returncode == 0,
                            "wall": time.monotonic() - started})
    receiver.stop()

    print()
    print(f"{'round':>5}  {'entity':<10} {'mode':<12} {'read':>6} {'quarant.':>8} {'events':>7} {'sent':>6} "
          f"{'failed':>6}  dag run")
    for s in summary:
        print(f"{s['round']:>5}  {s['entity']:<10} {s['mode']:<12} {s['read']:>6} {s['quarantined']:>8} "
              f"{s['events']:>7} {s['sent']:>6} {s['failed']:>6}  {'ok' if s['dag_ok'] else 'FAILED'} "
              f"({s['wall']:.1f}s)")
    print(f"\nThe receiver got {receiver.state.requests} requests for {len(receiver.state.events)} distinct events.")
    print("Failed events stay in the event log with next_retry_at about 1 min later; moodle_sync_retry (or the next")
    print("run of the entity DAG) delivers them when due.")
    print(f"Task logs: .demo/logs/. Event log: mariadb {EVENTLOG_DB} -e 'SELECT * FROM moodle_sync_event_log'")
    print("\nOpen the same DAGs in the Airflow UI:")
    print("  PYTHONPATH=plugins .venv/bin/python -m moodle_sync.receiver --port 8099 &   # a receiver for the UI runs")
    print(f"  export AIRFLOW_HOME={AIRFLOW_HOME} AIRFLOW__CORE__DAGS_FOLDER={ROOT / 'dags'} "
          f"AIRFLOW__CORE__PLUGINS_FOLDER={ROOT / 'plugins'} AIRFLOW__CORE__LOAD_EXAMPLES=False")
    print(f"  export AIRFLOW_CONN_MOODLE_DB={MYSQL.format(MOODLE_DB)} AIRFLOW_CONN_MOODLE_SYNC_DB="
          f"{MYSQL.format(EVENTLOG_DB)} AIRFLOW_CONN_MOODLE_SYNC_WEBHOOK=http://127.0.0.1:8099")
    print("  .venv/bin/airflow standalone    # then http://localhost:8080 (login printed by standalone)")
    print("  # the operator's page (health, statistics, events, replay): http://localhost:8080/plugin/moodle-sync")
    return 0 if all(s["dag_ok"] for s in summary if s["round"] == 1) else 1


if __name__ == "__main__":
    sys.exit(main())
