"""Change-to-webhook latency under a real scheduler and triggerer: cron schedule against event-driven syncs.

Airflow's scheduler, dag-processor, api-server and triggerer run as local processes (LocalExecutor, metadata on
PostgreSQL; tests/support/airflow_cluster.py), the Moodle 4.5 fixture and the event log on MariaDB, the receiver
(demo/receiver.py) in this process. After each entity DAG's initial sync, Moodle changes at a steady rate, in
turn a user edit (user_updated), an enrolment change (user_enrolment_updated) and a gradebook grade (a history row
and user_graded), each on a key not changed before; each change's latency is the time from its commit to the
receiver's first 200 answer for its key after it.

Event-driven mode also measures the poll's cost: the trigger's own ``Watcher`` (one per entity, the trigger's
queries at its poll interval) runs here on its own connection beside the triggerer's, and sums its MariaDB
``Handler_read%`` counters: Moodle rows and index entries read per minute.

    python -m bench.latency_bench --mode cron  --minutes 4 --every 4 --cron '* * * * *'
    python -m bench.latency_bench --mode event --minutes 4 --every 4
"""

from __future__ import annotations

import argparse
import gzip
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from bench.common import ROOT, db_name, encrypt_payloads, recreate, write_figures

sys.path.insert(0, str(ROOT / "tests"))
MOODLE_DB, STORE_DB, AIRFLOW_DB = db_name("bench_latency_moodle"), db_name("bench_latency_log"), \
    db_name("bench_latency_airflow")
FIXTURE = ROOT / "tests" / "fixtures" / "moodle-4.5.5-fixture.sql.gz"
DAG_IDS = ["moodle_sync_users", "moodle_sync_enrolments", "moodle_sync_grades"]


def load_moodle() -> None:
    recreate("mysql", MOODLE_DB)
    subprocess.run(["mariadb", "-h", "127.0.0.1", "-u", "root", MOODLE_DB], input=gzip.decompress(FIXTURE.read_bytes()),
                   check=True)
    os.environ["AIRFLOW_CONN_MOODLE_DB"] = f"mysql://root@127.0.0.1:3306/{MOODLE_DB}?table_prefix=mdl_"


def targets(moodle) -> dict[str, list]:
    """Keys to change, each once: users, enrolments, assignment grades (what the legacy endpoint takes)."""
    users = [r[0] for r in moodle.query("SELECT id FROM mdl_user WHERE deleted = 0 AND id > 2 ORDER BY id")]
    enrolments = [r[0] for r in moodle.query("SELECT id FROM mdl_user_enrolments ORDER BY id")]
    grades = [r for r in moodle.query(
        "SELECT gg.id, gg.userid, gg.itemid FROM mdl_grade_grades gg JOIN mdl_grade_items gi ON gi.id = gg.itemid "
        "JOIN mdl_user u ON u.id = gg.userid WHERE gi.itemmodule = 'assign' AND gg.finalgrade IS NOT NULL "
        "AND u.deleted = 0 ORDER BY gg.id")]
    moodle.commit()
    return {"user": users, "enrolment": enrolments, "grade": grades}


def change(moodle, kind: str, target, i: int) -> str:
    """One Moodle-style change; the receiver's key for it."""
    from support.moodle_writes import grade_user, update_user, update_user_enrol

    t = int(time.time())
    if kind == "user":
        update_user(moodle, target, t, firstname=f"Latency{i}")
        return str(target)
    if kind == "enrolment":
        update_user_enrol(moodle, target, t, timeend=t + 86400 * 365)
        return str(target)
    gradeid, userid, itemid = target
    grade_user(moodle, gradeid, float(10 + i % 80), t)
    return f"{userid}:{itemid}"


class PollCost(threading.Thread):
    """The trigger's Watchers at its poll interval on a connection of their own, their Handler_read sum."""

    def __init__(self, seconds: int):
        super().__init__(daemon=True)
        from moodle_sync.capture.watch import Watcher

        self.seconds, self.stop, self.reads, self.polls = seconds, threading.Event(), 0, 0
        self.watchers = [Watcher(e) for e in ("user", "enrolment", "grade")]
        for w in self.watchers:
            w.poll()

    @staticmethod
    def _read(db) -> int:
        return sum(int(v) for _, v in db.query("SHOW SESSION STATUS LIKE 'Handler_read%%'"))

    def run(self) -> None:
        while not self.stop.wait(self.seconds):
            for w in self.watchers:
                base = self._read(w.db)
                show = self._read(w.db) - base  # what SHOW STATUS itself reads, taken out
                before = self._read(w.db)
                w.poll()
                self.reads += self._read(w.db) - before - show
            self.polls += 1


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(p / 100 * len(ordered) + 0.5) - 1))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--mode", choices=("cron", "event"), required=True)
    parser.add_argument("--minutes", type=float, default=4, help="how long Moodle changes")
    parser.add_argument("--every", type=float, default=4, help="seconds between two changes")
    parser.add_argument("--cron", default="* * * * *", help="the entity DAGs' schedule (cron mode; event mode "
                                                            "keeps the default every 15 minutes as its safety net)")
    parser.add_argument("--poll", type=int, default=5, help="MOODLE_SYNC_EVENT_POLL_SECONDS (event mode)")
    args = parser.parse_args()

    encrypt_payloads()
    load_moodle()
    recreate("mysql", STORE_DB)
    recreate("postgres", AIRFLOW_DB)
    from demo.receiver import Receiver, _entity_key
    from moodle_sync.outbox import db
    from support.airflow_cluster import Cluster, airflow_env, drop_databases

    receiver = Receiver().start()
    home = Path(tempfile.mkdtemp(prefix="mzs-latency-"))
    settings = {"AIRFLOW__CORE__EXECUTOR": "LocalExecutor", "AIRFLOW__CORE__PARALLELISM": "4"}
    if args.mode == "event":
        settings.update(MOODLE_SYNC_EVENT_DRIVEN="true", MOODLE_SYNC_EVENT_POLL_SECONDS=str(args.poll))
    else:
        settings.update({f"MOODLE_SYNC_{e}_SCHEDULE": args.cron for e in ("USERS", "ENROLMENTS", "GRADES")})
    cluster = Cluster(home, airflow_env(home, AIRFLOW_DB, STORE_DB, receiver.port, webhook_extra={},
                                        settings=settings), AIRFLOW_DB, STORE_DB)
    moodle = db.connect("moodle_db")
    cost = None
    try:
        cluster.cli("db", "migrate")
        for name in ("api-server", "scheduler", "dag-processor", "triggerer"):
            cluster.start(name, name)
        while cluster.meta("SELECT count(*) FROM dag WHERE dag_id LIKE 'moodle_sync_%%'")[0][0] < 4:
            assert not cluster.exited(), cluster.logs(*cluster.procs)
            time.sleep(2)
        for dag_id in DAG_IDS:
            cluster.cli("dags", "unpause", dag_id)
        while not all(cluster.successful_runs(d) for d in DAG_IDS) or cluster.meta(
                "SELECT 1 FROM dag_run WHERE state IN ('queued', 'running')"):
            assert not cluster.exited(), cluster.logs(*cluster.procs)
            time.sleep(2)
        if args.mode == "event":
            time.sleep(args.poll * 2 + 1)  # the watches have placed themselves at the tables' ends
            cost = PollCost(args.poll)
            cost.start()
        print(f"initial syncs done; changing Moodle every {args.every} s for {args.minutes} min", flush=True)
        keys = targets(moodle)
        changes = []  # (kind, key, committed at)
        started, i = time.time(), 0
        while time.time() - started < args.minutes * 60:
            kind = ("user", "enrolment", "grade")[i % 3]
            key = change(moodle, kind, keys[kind][i // 3], i)
            changes.append((kind, key, time.time()))
            i += 1
            time.sleep(max(0.0, started + i * args.every - time.time()))
        changes_ended = time.time()

        def latencies() -> dict[tuple, float]:
            got = {}
            received = [r for r in receiver.state.received if r.get("status") == 200 and r.get("body")]
            for kind, key, at in changes:
                for r in received:
                    if r["at"] >= at and _entity_key(r["body"]) == key:
                        got[(kind, key)] = r["at"] - at
                        break
            return got

        drain = 120 if args.mode == "event" else 60 * 16  # up to a whole cron step, and its run
        while len(latencies()) < len(changes) and time.time() - changes_ended < drain:
            time.sleep(2)
        got = latencies()
        if cost:
            cost.stop.set()
            cost.join()
        runs = cluster.meta("SELECT run_type, count(*) FROM dag_run WHERE dag_id LIKE 'moodle_sync_%%' "
                            "AND start_date >= to_timestamp(%s) GROUP BY run_type", (started,))
    finally:
        cluster.stop()
        receiver.stop()
        moodle.close()
        drop_databases(AIRFLOW_DB, STORE_DB)
        recreate("mysql", MOODLE_DB)

    values = list(got.values())
    figures = {
        "mode": args.mode, "cron": args.cron if args.mode == "cron" else "*/15 * * * * (safety net)",
        "poll_seconds": args.poll if args.mode == "event" else None, "changes": len(changes),
        "delivered": len(got), "every_seconds": args.every, "minutes": args.minutes,
        "p50": round(statistics.median(values), 1) if values else None,
        "p95": round(percentile(values, 95), 1) if values else None, "max": round(max(values), 1) if values else None,
        "by_kind_p95": {k: round(percentile([v for (kk, _), v in got.items() if kk == k], 95), 1)
                        for k in ("user", "enrolment", "grade") if any(kk == k for kk, _ in got)},
        "runs": dict(runs),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, {platform.python_version()}",
    }
    if cost and cost.polls:
        minutes = cost.polls * args.poll / 60
        figures["poll_rows_read_per_minute"] = round(cost.reads / minutes)
        figures["poll_rows_read_per_poll"] = round(cost.reads / cost.polls / 3, 1)
    write_figures(f"latency_{args.mode}", figures)
    for name, value in figures.items():
        print(f"{name}: {value}")


if __name__ == "__main__":
    main()
