"""`make demo`: the whole sync on a Moodle-shaped demo database, through Airflow, to a local receiver.

1. creates the demo Moodle (`moodle_demo`) on the local MariaDB from the project's own DDL and seed generator
   (the edge cases of FACTS.md included), an empty event log (`moodle_sync_demo`) and, on the local
   PostgreSQL, Airflow's metadata database (`mzs_demo_airflow`) with the demo's connections in it;
2. makes this run's secrets (bearer token, Standard Webhooks signing secret, payload encryption key, alert
   token) and starts a receiver that behaves like the legacy backend (and keeps the CRM records it would write),
   here told to check the token and every signature, takes alerts and can be told to fail;
3. runs the three DAGs with `airflow dags test`, changes a few Moodle rows the way Moodle does, tells the
   receiver to fail two requests, runs them again, then the monitor DAG (which alerts the receiver about the
   two undelivered events);
4. prints what each run read, quarantined, emitted, sent and failed, and what was signed, encrypted and alerted.

The secrets are stored only in those connections, encrypted with this run's Airflow Fernet key, which lives only
in the environment of the demo's processes: never a file, never a command line. Database names and homes can be
moved by environment variables (demo/settings.py) so that a test runs the whole demo beside others; every other
AIRFLOW_* setting of the caller is kept. `python -m demo --ui` then serves the Airflow UI (demo/ui.py) with the
same environment (the connections and the encrypted events can only be read with this run's keys, which die
with it).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
from secrets import token_urlsafe
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "plugins"))
sys.path.insert(0, str(ROOT))

from demo.settings import Secrets, Settings, connections  # noqa: E402

DAG_IDS = ["moodle_sync_users", "moodle_sync_enrolments", "moodle_sync_grades"]
MONITOR_DAG_ID = "moodle_sync_monitor"
DB_HOST, DB_PORT, DB_USER = "127.0.0.1", int(os.environ.get("DEMO_DB_PORT") or 3306), "root"
PG_HOST, PG_PORT, PG_USER = "127.0.0.1", int(os.environ.get("DEMO_PG_PORT") or 5432), "postgres"


#: Airflow settings the demo owns (its home, its metadata database and keys, its DAGs and plugins): the caller's
#: values of these are replaced; every other AIRFLOW_* setting of the caller reaches the demo's processes
OWNED = ("AIRFLOW_HOME", "AIRFLOW_CONFIG", "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN", "AIRFLOW__CORE__FERNET_KEY",
         "AIRFLOW__API_AUTH__JWT_SECRET", "AIRFLOW__CORE__DAGS_FOLDER", "AIRFLOW__CORE__PLUGINS_FOLDER",
         "AIRFLOW__CORE__LOAD_EXAMPLES", "AIRFLOW__SECRETS__BACKEND", "PYTHONPATH")
#: the demo's defaults for what the caller may set: the UI on this host, workers sized for a small machine
#: (Airflow's parallelism of 32 forks 32 LocalExecutor workers)
UI_DEFAULTS = {"AIRFLOW__API__HOST": "127.0.0.1", "AIRFLOW__API__PORT": "8080", "AIRFLOW__API__WORKERS": "1",
               "AIRFLOW__CORE__PARALLELISM": "4"}


def airflow_env(settings: Settings, conn_ids) -> dict:
    """The environment of every Airflow process of the demo: the caller's, minus what the demo owns (its Airflow
    home, metadata database, keys), any AIRFLOW_CONN_ of the demo's connections (that would hide the ones in its
    metadata database), MOODLE_SYNC_ and DEMO_ settings; plus the demo's, with this run's fresh keys."""
    hidden = {*OWNED, *(f"AIRFLOW_CONN_{c.upper()}" for c in conn_ids)}
    env = {k: v for k, v in os.environ.items() if k not in hidden and not k.startswith(("MOODLE_SYNC_", "DEMO_"))}
    from cryptography.fernet import Fernet

    env.update({
        "AIRFLOW_HOME": str(settings.airflow_home),
        "AIRFLOW_CONFIG": str(settings.airflow_home / "airflow.cfg"),
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"postgresql+psycopg2://{PG_USER}@{PG_HOST}:{PG_PORT}/{settings.airflow_db}",
        # this run's keys, in this environment only: the connections in the metadata database die with them
        "AIRFLOW__CORE__FERNET_KEY": Fernet.generate_key().decode(),
        "AIRFLOW__API_AUTH__JWT_SECRET": token_urlsafe(48),
        "AIRFLOW__CORE__DAGS_FOLDER": str(ROOT / "dags"),
        "AIRFLOW__CORE__PLUGINS_FOLDER": str(ROOT / "plugins"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "PYTHONPATH": str(ROOT / "plugins"),
        # the demo shows event-driven syncs: with the UI, its triggerer starts a DAG as soon as Moodle changes
        "MOODLE_SYNC_EVENT_DRIVEN": "true",
    })
    for key, value in UI_DEFAULTS.items():
        env.setdefault(key, value)
    env.setdefault("AIRFLOW__API__BASE_URL", f"http://localhost:{env['AIRFLOW__API__PORT']}")
    return env


# Airflow writes a generated Fernet key and JWT secret into an airflow.cfg it creates: the demo's holds none
AIRFLOW_CFG = ("# The demo's Airflow settings are environment variables of its processes (demo/__main__.py, "
               "airflow_env):\n# its keys live only there, so this file stays empty.\n")


def store_connections(conns: dict[str, dict]) -> None:
    """The demo's connections into its Airflow metadata database (Admin > Connections), where Airflow encrypts
    their passwords and extras with this run's Fernet key."""
    from airflow.models import Connection
    from airflow.utils.session import create_session

    with create_session() as session:
        for conn_id, conn in conns.items():
            extra = conn.get("extra")
            session.add(Connection(conn_id=conn_id, conn_type=conn["conn_type"], host=conn.get("host"),
                                   port=conn.get("port"), login=conn.get("login"), password=conn.get("password"),
                                   schema=conn.get("schema"), extra=json.dumps(extra) if extra else None))


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


class PostgresUnreachable(RuntimeError):
    """The local PostgreSQL that holds the demo's Airflow metadata does not answer: the message says what to do."""


def recreate_postgres_database(name: str) -> None:
    """Drop and create Airflow's metadata database (the name was validated by demo.settings): the last run's
    connections are encrypted with a key that is gone."""
    import psycopg

    try:
        conn = psycopg.connect(host=PG_HOST, port=PG_PORT, user=PG_USER, dbname="postgres", autocommit=True,
                               connect_timeout=10)
    except psycopg.OperationalError as exc:
        raise PostgresUnreachable(
            f"the demo keeps Airflow's metadata on PostgreSQL on {PG_HOST}:{PG_PORT} as {PG_USER} (trust auth), and "
            f"got: {str(exc).strip().splitlines()[-1]}.\n"
            "  Start the local one:  bash scripts/bootstrap.sh services   (as root; it says what to run otherwise)\n"
            "  or install it:        apt-get install -y postgresql\n"
            "  or point the demo at another PostgreSQL on this host: DEMO_PG_PORT (its database: DEMO_AIRFLOW_DB; "
            "docs/demo.md).") from None
    with conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m demo", description=__doc__.splitlines()[0])
    parser.add_argument("--ui", action="store_true",
                        help="after the demo, serve the Airflow UI (its components, until Ctrl-C) with the same environment")
    args = parser.parse_args(argv)
    settings = Settings.from_env()
    secrets = Secrets.fresh_or_from_env()

    settings.home.mkdir(parents=True, exist_ok=True)
    print(f"1/4 Creating the demo Moodle ({settings.moodle_db}) and an empty event log ({settings.eventlog_db}) "
          f"on the local MariaDB, and Airflow's metadata database ({settings.airflow_db}) on the local PostgreSQL ...")
    try:
        recreate_mysql_database(settings.moodle_db)
        recreate_mysql_database(settings.eventlog_db)
        recreate_postgres_database(settings.airflow_db)
    except (MariaDBUnreachable, PostgresUnreachable) as exc:
        print(f"    {exc}", file=sys.stderr)
        return 1

    from demo.receiver import Receiver

    receiver = Receiver(port=0, token=secrets.webhook_token, signing_secrets=secrets.signing_secret,
                        alert_token=secrets.alert_token, require_token=True).start()
    conns = connections(moodle_db=settings.moodle_db, eventlog_db=settings.eventlog_db, db_host=DB_HOST,
                        db_port=DB_PORT, db_user=DB_USER, db_password="", receiver_host="127.0.0.1",
                        receiver_port=receiver.port, secrets=secrets)
    env = airflow_env(settings, conns)
    print(f"2/4 Preparing Airflow: metadata database {settings.airflow_db} on PostgreSQL {PG_HOST}:{PG_PORT}, home "
          f"{settings.airflow_home} ...")
    settings.airflow_home.mkdir(parents=True, exist_ok=True)
    (settings.airflow_home / "airflow.cfg").write_text(AIRFLOW_CFG)
    if airflow(settings, env, "db", "migrate", log_name="db-migrate").returncode:
        print(f"    'airflow db migrate' failed: see {settings.home / 'logs' / 'db-migrate.log'}")
        receiver.stop()
        return 1
    # this process writes and reads the same connections (and must not make an Airflow home of its own elsewhere)
    for key in [k for k in os.environ if k.startswith(("AIRFLOW_", "AIRFLOW__", "MOODLE_SYNC_"))]:
        del os.environ[key]
    os.environ.update(env)
    # Airflow reads connections from its metadata database only in its server processes; this one is one of them
    os.environ["_AIRFLOW_PROCESS_CONTEXT"] = "server"
    # Airflow masks every value of a connection's extra and warns, here, that "mdl_" is too short to mask
    for masker in ("airflow.sdk._shared.secrets_masker.secrets_masker", "airflow._shared.secrets_masker.secrets_masker"):
        logging.getLogger(masker).setLevel(logging.ERROR)
    store_connections(conns)
    print(f"    connections {', '.join(conns)} in its metadata database (Admin > Connections), their passwords and "
          "extras encrypted with this run's Fernet key, which lives only in the environment of the demo's processes")

    from moodle_sync.outbox import db
    from demo import moodle_site as demo_moodle
    from moodle_sync.outbox import eventlog
    from moodle_sync.outbox.crypto import cipher_from_connection, key_id, parse_keys

    moodle = db.connect("moodle_db")
    demo_moodle.create_schema(moodle, "mdl_")
    seeded = demo_moodle.seed(moodle, "mdl_")
    print(f"    seeded: { {k: v for k, v in seeded.items() if k not in ('edge', 'now')} }")
    cipher = cipher_from_connection()
    kid = key_id(parse_keys(secrets.encryption_key)[0])

    print(f"3/4 Receiver on {receiver.url}: answers like the legacy backend (a grade key remembered 10 s, CRM "
          f"records per key), checks the bearer token and the Standard Webhooks signature of every request, takes "
          f"alerts on /alerts.")
    print(f"    This run's secrets (bearer token, whsec_ signing secret, encryption key {kid}, alert token) are only "
          f"in the demo's memory and, encrypted, in its connections: no file, no command line.")

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
              f"{env['AIRFLOW__API__BASE_URL'].rstrip('/')}/plugin/moodle-sync")
        receiver.stop()
        return 0 if ok else 1

    from demo.ui import Components, serve

    base_url = env["AIRFLOW__API__BASE_URL"]
    components = Components(Path(sys.executable).parent / "airflow", env, settings.home, settings.home / "logs")
    health = f"http://127.0.0.1:{env['AIRFLOW__API__PORT']}/api/v2/monitor/health"
    print(f"\nStarting the Airflow UI (api-server, scheduler, dag-processor, triggerer; logs in "
          f"{settings.home / 'logs'}/ui-*.log) with this run's environment ...", flush=True)

    def ready() -> None:
        print(f"The Airflow UI is at {base_url} (log in as admin: the password is in {settings.airflow_home}/"
              f"simple_auth_manager_passwords.json.generated); the operator's page at "
              f"{base_url.rstrip('/')}/plugin/moodle-sync. Ctrl-C stops it.", flush=True)

    code = serve(components, health, ready)
    receiver.stop()
    return code or (0 if ok else 1)


if __name__ == "__main__":
    sys.exit(main())
