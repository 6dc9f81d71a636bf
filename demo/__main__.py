"""`make demo`: the whole sync on a Moodle-shaped demo database, through Airflow, to a local receiver.

1. creates the demo Moodle (`moodle_demo`) on the local MariaDB from the project's own DDL and seed generator
   (the edge cases of FACTS.md included) and an empty event log (`moodle_sync_demo`);
2. makes this run's secrets (bearer token, Standard Webhooks signing secret, payload encryption key, alert
   token) and starts a receiver that behaves like the legacy backend (and keeps the CRM records it would write),
   here told to check the token and every signature, takes alerts and can be told to fail;
3. runs the three DAGs with `airflow dags test`, changes a few Moodle rows the way Moodle does, tells the
   receiver to fail two requests, runs them again, then the monitor DAG (which alerts the receiver about the
   two undelivered events);
4. prints what each run read, quarantined, emitted, sent and failed, and what was signed, encrypted and alerted.

The secrets reach the Airflow processes only through their environment (AIRFLOW_CONN_*): never a file, never
a command line. Database names and homes can be moved by environment variables (demo/settings.py) so that a
test runs the whole demo beside others. `python -m demo --ui` then serves the Airflow UI on the same
processes' environment (the encrypted events can only be read with this run's key, which dies with it).
"""

from __future__ import annotations

import argparse
import logging
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "plugins"))
sys.path.insert(0, str(ROOT))

from demo.settings import Secrets, Settings, connection_env, connections  # noqa: E402

DAG_IDS = ["moodle_sync_users", "moodle_sync_enrolments", "moodle_sync_grades"]
MONITOR_DAG_ID = "moodle_sync_monitor"
DB_HOST, DB_PORT, DB_USER = "127.0.0.1", int(os.environ.get("DEMO_DB_PORT") or 3306), "root"


def airflow_env(settings: Settings, conns: dict[str, dict]) -> dict:
    """The environment of every Airflow process of the demo: the caller's, minus any Airflow or moodle_sync
    setting it had (the demo must not write into someone's real Airflow), plus the demo's."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("AIRFLOW_", "AIRFLOW__", "MOODLE_SYNC_")) and not k.startswith("DEMO_")}
    env.update({
        "AIRFLOW_HOME": str(settings.airflow_home),
        "AIRFLOW__CORE__DAGS_FOLDER": str(ROOT / "dags"),
        "AIRFLOW__CORE__PLUGINS_FOLDER": str(ROOT / "plugins"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "PYTHONPATH": str(ROOT / "plugins"),
        **connection_env(conns),  # the secrets: in this environment only
    })
    return env


def airflow(settings: Settings, env: dict, *args: str, log_name: str,
            extra_env: dict | None = None) -> subprocess.CompletedProcess:
    log_path = settings.home / "logs" / f"{log_name}.log"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with open(log_path, "w") as log:
        return subprocess.run([str(Path(sys.executable).parent / "airflow"), *args], env={**env, **(extra_env or {})},
                              stdout=log, stderr=subprocess.STDOUT, cwd=settings.home)


class MariaDBUnreachable(RuntimeError):
    """The local MariaDB the demo writes to does not answer: the message says how to start or choose one."""


def mysql_connect():
    import MySQLdb

    try:
        return MySQLdb.connect(host=DB_HOST, user=DB_USER, port=DB_PORT)
    except MySQLdb.OperationalError as exc:
        raise MariaDBUnreachable(
            f"the demo needs MariaDB on {DB_HOST}:{DB_PORT} as {DB_USER} without a password, and got: {exc.args[-1]}.\n"
            "  Start the local one:  bash scripts/bootstrap.sh services   (as root; it says what to run otherwise)\n"
            "  or install it:        apt-get install -y mariadb-server\n"
            "  or point the demo at another MariaDB on this host: DEMO_DB_PORT (its databases: DEMO_MOODLE_DB, "
            "DEMO_EVENTLOG_DB; docs/demo.md).") from None


def recreate_mysql_database(name: str) -> None:
    """Drop and create a database (the name was validated by demo.settings)."""
    conn = mysql_connect()
    with conn.cursor() as cur:
        cur.execute(f"DROP DATABASE IF EXISTS `{name}`")
        cur.execute(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci")
    conn.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m demo", description=__doc__.splitlines()[0])
    parser.add_argument("--ui", action="store_true",
                        help="after the demo, serve the Airflow UI (airflow standalone) with the same environment")
    args = parser.parse_args(argv)
    settings = Settings.from_env()
    secrets = Secrets.fresh_or_from_env()

    settings.home.mkdir(parents=True, exist_ok=True)
    print(f"1/4 Creating the demo Moodle ({settings.moodle_db}) and an empty event log ({settings.eventlog_db}) "
          f"on the local MariaDB ...")
    try:
        recreate_mysql_database(settings.moodle_db)
        recreate_mysql_database(settings.eventlog_db)
    except MariaDBUnreachable as exc:
        print(f"    {exc}", file=sys.stderr)
        return 1

    from demo.receiver import Receiver

    receiver = Receiver(port=0, token=secrets.webhook_token, signing_secrets=secrets.signing_secret,
                        alert_token=secrets.alert_token, require_token=True).start()
    conns = connections(moodle_db=settings.moodle_db, eventlog_db=settings.eventlog_db, db_host=DB_HOST,
                        db_port=DB_PORT, db_user=DB_USER, db_password="", receiver_host="127.0.0.1",
                        receiver_port=receiver.port, secrets=secrets)
    env = airflow_env(settings, conns)
    # this process reads the same connections (and must not make an Airflow home of its own elsewhere)
    for key in [k for k in os.environ if k.startswith(("AIRFLOW_", "AIRFLOW__", "MOODLE_SYNC_"))]:
        del os.environ[key]
    os.environ.update(env)

    from moodle_sync.outbox import db
    from demo import moodle_site as demo_moodle
    from moodle_sync.outbox import eventlog

    # Airflow masks every value of a connection's extra and warns, here, that "mdl_" is too short to mask
    logging.getLogger("airflow.sdk._shared.secrets_masker.secrets_masker").setLevel(logging.ERROR)
    from moodle_sync.outbox.crypto import cipher_from_connection, key_id, parse_keys

    moodle = db.connect("moodle_db")
    demo_moodle.create_schema(moodle, "mdl_")
    seeded = demo_moodle.seed(moodle, "mdl_")
    print(f"    seeded: { {k: v for k, v in seeded.items() if k not in ('edge', 'now')} }")
    cipher = cipher_from_connection()
    kid = key_id(parse_keys(secrets.encryption_key)[0])

    print(f"2/4 Receiver on {receiver.url}: answers like the legacy backend (a grade key remembered 10 s, CRM "
          f"records per key), checks the bearer token and the Standard Webhooks signature of every request, takes "
          f"alerts on /alerts.")
    print(f"    This run's secrets (bearer token, whsec_ signing secret, encryption key {kid}, alert token) live "
          f"only in the environment of its processes: no file, no command line.")
    print(f"3/4 Preparing Airflow (metadata database in {settings.airflow_home}) ...")
    if airflow(settings, env, "db", "migrate", log_name="db-migrate").returncode:
        print(f"    'airflow db migrate' failed: see {settings.home / 'logs' / 'db-migrate.log'}")
        receiver.stop()
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
            proc = airflow(settings, env, "dags", "test", dag_id, log_name=f"{dag_id}-round{round_no}")
            if proc.returncode:
                print(f"    {dag_id} FAILED: see {settings.home / 'logs' / f'{dag_id}-round{round_no}.log'}")
            store.commit()
            runs = eventlog.last_runs(store, 1) or [{"entity": "?", "mode": "?", "read": 0, "quarantined": 0,
                                                     "events": 0, "dag_run_id": ""}]
            run = runs[0]
            statuses = eventlog.event_status_for_run(store, run["dag_run_id"])
            store.commit()
            summary.append({"round": round_no, **run, "sent": statuses.get("sent", 0),
                            "failed": statuses.get("failed", 0), "dag_ok": proc.returncode == 0,
                            "wall": time.monotonic() - started})
    print(f"    then {MONITOR_DAG_ID}, its backlog threshold at 0 minutes for the demo ...")
    monitor = airflow(settings, env, "dags", "test", MONITOR_DAG_ID, log_name=MONITOR_DAG_ID,
                      extra_env={"MOODLE_SYNC_ALERT_BACKLOG_MINUTES": "0"})
    if monitor.returncode:
        print(f"    {MONITOR_DAG_ID} FAILED: see {settings.home / 'logs' / f'{MONITOR_DAG_ID}.log'}")
    total, sealed = store.query(store.sql("demo", "payload_encryption"), {"prefix": cipher.current_prefix + b"%"})[0]
    store.commit()

    print()
    print(f"{'round':>5}  {'entity':<10} {'mode':<12} {'read':>6} {'quarant.':>8} {'events':>7} {'sent':>6} "
          f"{'failed':>6}  dag run")
    for s in summary:
        print(f"{s['round']:>5}  {s['entity']:<10} {s['mode']:<12} {s['read']:>6} {s['quarantined']:>8} "
              f"{s['events']:>7} {s['sent']:>6} {s['failed']:>6}  {'ok' if s['dag_ok'] else 'FAILED'} "
              f"({s['wall']:.1f}s)")
    state = receiver.state
    print(f"\nReceiver: {state.requests} requests for {len(state.events)} distinct events; {state.verified} "
          f"signatures verified (a request with a wrong or missing signature gets 401).")
    print(f"Event log: {int(sealed or 0)} of {int(total or 0)} payloads encrypted (AES-256-GCM, key "
          f"{kid}); names and emails are not readable in its tables.")
    firing = [f"[{f.get('severity')}] {f.get('summary')}" for a in state.alerts for f in a.get("firing", [])]
    print(f"Alerts: the monitor run {'ok' if monitor.returncode == 0 else 'FAILED'}; {len(state.alerts)} alert(s) "
          f"received on /alerts" + "".join(f"\n    {line}" for line in firing))
    print("Failed events stay in the event log with next_retry_at about 1 min later; moodle_sync_retry (or the next")
    print("run of the entity DAG) delivers them when due.")
    print(f"Task logs ('airflow dags test' prints them): {settings.home / 'logs'}")
    print(f"Event log: mariadb {settings.eventlog_db} -e 'SELECT event_type, status, attempts FROM "
          f"moodle_sync_event_log'")
    ok = all(s["dag_ok"] for s in summary) and monitor.returncode == 0
    if not args.ui:
        print("\nThe Airflow UI on the same DAGs and event log: make demo-ui (this run's key is gone once it ends).")
        print("The operator's page (health, statistics, events, replay) is then at "
              "http://localhost:8080/plugin/moodle-sync")
        receiver.stop()
        return 0 if ok else 1

    port = os.environ.get("DEMO_UI_PORT") or "8080"
    print(f"\nServing the Airflow UI on http://localhost:{port} with this run's environment (airflow standalone "
          f"prints the login; it is also in {settings.airflow_home}/simple_auth_manager_passwords.json.generated). "
          "Ctrl-C stops it.")
    try:
        subprocess.run([str(Path(sys.executable).parent / "airflow"), "standalone"],
                       env={**env, "AIRFLOW__API__PORT": port,
                            "AIRFLOW__API__BASE_URL": f"http://localhost:{port}",  # alert links point at this UI
                            "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"http://localhost:{port}/execution/",
                            # standalone starts its parts as `airflow ...`
                            "PATH": os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])},
                       cwd=settings.home)
    except KeyboardInterrupt:
        pass
    receiver.stop()
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
