"""Benchmark: the initial grade sync of a 1,000,000-grade Moodle into the event log.

Prints rows/s and the sync's peak memory, next to a baseline measured in the same run: MariaDB copying the
very same join into a scratch table (INSERT ... SELECT), i.e. the database's own speed with no Python.
Usage: python -m bench.sync_bench [--grades N] [--users N] [--reuse] [--store mysql|postgres]
Figures, not asserts: see bench/README.md.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import resource
import time

from bench.common import URIS, recreate, write_figures

MOODLE_DB, STORE_DB = "bench_moodle", "bench_sync"


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


def _sync_child(queue, chunk_rows: int) -> None:
    from moodle_sync import db, eventlog
    from moodle_sync.entities import GRADES
    from moodle_sync.sync import sync_entity
    from moodle_sync.window import Window

    moodle, store = db.connect("moodle_db"), db.connect("moodle_sync_db")
    eventlog.migrate(store)
    now = int(time.time())
    started = time.perf_counter()
    result = sync_entity(GRADES, moodle, store, Window("initial", None, now, now), prefix="mdl_", run_id="bench",
                         chunk_rows=chunk_rows)
    seconds = time.perf_counter() - started
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    queue.put({"rows": result.read, "events": result.events, "seconds": round(seconds, 2),
               "rows_per_s": round(result.read / seconds), "peak_rss_mb": round(peak_mb)})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--grades", type=int, default=1_000_000)
    parser.add_argument("--users", type=int, default=100_000)
    parser.add_argument("--store", choices=sorted(URIS), default="mysql", help="where the event log lives")
    parser.add_argument("--chunk-rows", type=int, default=10_000)
    parser.add_argument("--reuse", action="store_true", help="keep an existing bench_moodle database")
    args = parser.parse_args()

    from moodle_sync import db, demo_moodle

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

    figures["baseline_insert_select"] = baseline(moodle)
    print(f"baseline INSERT ... SELECT: {figures['baseline_insert_select']}", flush=True)
    moodle.close()

    recreate(args.store, STORE_DB)
    queue = mp.get_context("spawn").Queue()
    child = mp.get_context("spawn").Process(target=_sync_child, args=(queue, args.chunk_rows))
    child.start()
    figures["sync"] = queue.get()
    child.join()
    print(f"initial grade sync:         {figures['sync']}", flush=True)
    ratio = figures["sync"]["rows_per_s"] / figures["baseline_insert_select"]["rows_per_s"]
    figures["sync_vs_baseline"] = round(ratio, 3)
    print(f"sync / baseline: {ratio:.2f} (target >= 0.25); peak memory {figures['sync']['peak_rss_mb']} MB "
          f"(target < 500 MB)")
    write_figures(f"sync_bench_{args.store}", figures)


if __name__ == "__main__":
    main()
