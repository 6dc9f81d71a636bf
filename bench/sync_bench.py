"""Benchmark: the initial grade sync of a 1,000,000-grade Moodle into the event log.

Prints rows/s and the sync's peak memory, next to a baseline measured in the same run: MariaDB copying the
very same join into a scratch table (INSERT ... SELECT), i.e. the database's own speed with no Python.
Payloads are encrypted as in production (a per-run key unless AIRFLOW_CONN_MOODLE_SYNC_ENCRYPTION is set).
Usage: python -m bench.sync_bench [--grades N] [--users N] [--reuse] [--store mysql|postgres] [--repeat N]
Database names carry MZS_BENCH_DB_SUFFIX (default empty).
Figures, not asserts: see bench/README.md.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import resource
import time

from bench.common import URIS, db_name, encrypt_payloads, recreate, write_figures

MOODLE_DB, STORE_DB = db_name("bench_moodle"), db_name("bench_sync")


def grade_select(moodle) -> str:
    from moodle_sync.entities import GRADES

    return moodle.sql("moodle", GRADES.select_sql, changed="1 = 1", prefix="mdl_")


def baseline(moodle) -> dict:
    """The database copying the sync's own join into a scratch table: the ceiling for reading it."""
    sql = grade_select(moodle)
    moodle.execute("DROP TABLE IF EXISTS bench_scratch")
    started = time.perf_counter()
    moodle.execute("CREATE TABLE bench_scratch AS " + sql, {"since": 0, "until": 0, "now": 0, "include_empty": 0})
    moodle.commit()
    seconds = time.perf_counter() - started
    rows = moodle.query("SELECT COUNT(*) FROM bench_scratch")[0][0]
    moodle.execute("DROP TABLE bench_scratch")
    moodle.commit()
    return {"rows": int(rows), "seconds": round(seconds, 2), "rows_per_s": round(rows / seconds)}


def settle(dialect: str, timeout: float = 120.0) -> float:
    """Wait until the server has written out what the previous measurement left dirty, so that neither the
    baseline nor the sync pays for the other's page flushing (measured: a baseline started right after a sync
    ran at 43,000-64,000 rows/s instead of 65,000-81,000). Returns the seconds waited."""
    import MySQLdb
    import psycopg

    started = time.perf_counter()
    if dialect == "postgres":
        with psycopg.connect("host=127.0.0.1 user=postgres dbname=postgres", autocommit=True) as conn:
            conn.execute("CHECKPOINT")
        return round(time.perf_counter() - started, 1)
    conn = MySQLdb.connect(host="127.0.0.1", user="root")
    try:
        with conn.cursor() as cur:
            while time.perf_counter() - started < timeout:
                cur.execute("SHOW GLOBAL STATUS WHERE Variable_name IN "
                            "('Innodb_buffer_pool_pages_dirty', 'Innodb_buffer_pool_pages_total')")
                pages = {name: int(value) for name, value in cur.fetchall()}
                if pages["Innodb_buffer_pool_pages_dirty"] <= 0.02 * pages["Innodb_buffer_pool_pages_total"]:
                    break
                time.sleep(0.5)
    finally:
        conn.close()
    return round(time.perf_counter() - started, 1)


def _server_cpu(store) -> float | None:
    """CPU seconds the event-log server has used so far (all its work, others' too), when it runs here."""
    import subprocess

    name = "mariadbd" if store.dialect == "mysql" else "postgres"
    try:
        pids = subprocess.run(["pgrep", "-x", name], capture_output=True, text=True).stdout.split()
        total = 0.0
        for pid in pids:
            with open(f"/proc/{pid}/stat") as f:
                parts = f.read().rsplit(")", 1)[1].split()
            total += sum(int(x) for x in parts[11:15])  # own and reaped children's (ended backends)
        return total / os.sysconf("SC_CLK_TCK") if pids else None
    except OSError:
        return None


def _sync_child(queue, chunk_rows: int) -> None:
    from moodle_sync.outbox import db
    from moodle_sync.outbox import eventlog
    from moodle_sync.entities import GRADES
    from moodle_sync.capture.sync import sync_entity
    from moodle_sync.capture.window import Window

    moodle, store = db.connect("moodle_db"), db.connect("moodle_sync_db")
    eventlog.migrate(store)
    now = int(time.time())
    server = _server_cpu(store)
    cpu_main, cpu_all = time.thread_time(), time.process_time()
    started = time.perf_counter()
    result = sync_entity(GRADES, moodle, store, Window("initial", None, now, now), prefix="mdl_", run_id="bench",
                         chunk_rows=chunk_rows)
    seconds = time.perf_counter() - started
    cpu_main, cpu_all = time.thread_time() - cpu_main, time.process_time() - cpu_all
    server = _server_cpu(store) - server if server is not None else None
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    queue.put({"rows": result.read, "events": result.events, "seconds": round(seconds, 2),
               "rows_per_s": round(result.read / seconds), "peak_rss_mb": round(peak_mb),
               "cpu_seconds": {"main_thread": round(cpu_main, 1), "other_threads": round(cpu_all - cpu_main, 1),
                               "store_server": None if server is None else round(server, 1)}})


def _result_of(child, queue) -> dict:
    import queue as queues

    while True:
        try:
            return queue.get(timeout=5)
        except queues.Empty:
            if not child.is_alive():
                raise SystemExit(f"the sync child process died (exit code {child.exitcode})") from None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--grades", type=int, default=1_000_000)
    parser.add_argument("--users", type=int, default=100_000)
    parser.add_argument("--store", choices=sorted(URIS), default="mysql", help="where the event log lives")
    parser.add_argument("--chunk-rows", type=int, default=10_000)
    parser.add_argument("--reuse", action="store_true", help="keep an existing bench_moodle database")
    parser.add_argument("--repeat", type=int, default=1, help="baseline and sync this many times, each pair in turn")
    args = parser.parse_args()

    encrypt_payloads()
    from moodle_sync.outbox import db
    from demo import moodle_site as demo_moodle

    os.environ["AIRFLOW_CONN_MOODLE_DB"] = URIS["mysql"].format(MOODLE_DB)
    os.environ["AIRFLOW_CONN_MOODLE_SYNC_DB"] = URIS[args.store].format(STORE_DB)
    figures: dict = {"grades": args.grades, "users": args.users, "store": args.store}
    if not args.reuse:
        recreate("mysql", MOODLE_DB)
    moodle = db.connect("moodle_db")
    if not args.reuse:
        started = time.perf_counter()
        demo_moodle.create_schema(moodle, "mdl_")
        demo_moodle.bulk_seed(moodle, "mdl_", users=args.users, grades=args.grades)
        figures["generate_seconds"] = round(time.perf_counter() - started, 1)
        print(f"generated the Moodle in {figures['generate_seconds']} s", flush=True)

    moodle.close()
    runs = []
    for n in range(1, args.repeat + 1):
        run: dict = {}
        settle("mysql")
        moodle = db.connect("moodle_db")
        run["baseline_insert_select"] = baseline(moodle)
        moodle.close()
        print(f"[{n}] baseline INSERT ... SELECT: {run['baseline_insert_select']}", flush=True)
        recreate(args.store, STORE_DB)
        settle("mysql")
        if args.store == "postgres":
            settle("postgres")
        queue = mp.get_context("spawn").Queue()
        child = mp.get_context("spawn").Process(target=_sync_child, args=(queue, args.chunk_rows))
        child.start()
        run["sync"] = _result_of(child, queue)
        print(f"[{n}] initial grade sync:         {run['sync']}", flush=True)
        ratio = run["sync"]["rows_per_s"] / run["baseline_insert_select"]["rows_per_s"]
        run["sync_vs_baseline"] = round(ratio, 3)
        print(f"[{n}] sync / baseline: {ratio:.2f} (target >= 0.25); peak memory {run['sync']['peak_rss_mb']} MB "
              f"(target < 500 MB)", flush=True)
        runs.append(run)
    figures["runs"] = runs
    figures.update(runs[-1])
    if len(runs) > 1:
        print("sync / baseline over the runs: " + ", ".join(f"{r['sync_vs_baseline']:.3f}" for r in runs))
    write_figures(f"sync_bench_{args.store}", figures)


if __name__ == "__main__":
    main()
