"""A month's backfill: the history DAG's daily runs against the entity DAG's runs of 15 minutes, in the same run.

Each run is what the DAG's ``sync`` task does for a backfill run (the window of its data interval, walked from
the DAG file's own timetable as `airflow backfill create` walks it); Airflow's own cost per run (a DAG run, two
task processes) comes on top and is counted in runs, not timed here. The event log first gets the initial sync.

    python -m bench.backfill_bench --site fixture            # the Moodle 4.5 test fixture (tests/fixtures)
    python -m bench.backfill_bench --site bench --users 20000 --grades 200000 --baseline-days 1
"""

from __future__ import annotations

import argparse
import datetime as dt
import gzip
import os
import runpy
import subprocess
import time

from bench.common import ROOT, URIS, db_name, encrypt_payloads, recreate, write_figures

UTC = dt.timezone.utc
MOODLE_DB, STORE_DB = db_name("bench_backfill_moodle"), db_name("bench_backfill_log")
FIXTURE = ROOT / "tests" / "fixtures" / "moodle-4.5.5-fixture.sql.gz"


def intervals(dag, start: dt.datetime, end: dt.datetime) -> list[tuple[dt.datetime, dt.datetime]]:
    """The data intervals `airflow backfill create --from-date start --to-date end` gives the DAG's runs."""
    import pendulum
    from airflow.serialization.encoders import coerce_to_core_timetable
    from airflow.timetables.base import DataInterval, TimeRestriction

    timetable = coerce_to_core_timetable(dag.timetable)
    restriction = TimeRestriction(earliest=pendulum.instance(start), latest=pendulum.instance(end), catchup=True)
    out, last = [], None
    while (info := timetable.next_dagrun_info(last_automated_data_interval=last, restriction=restriction)):
        last = DataInterval(info.data_interval.start, info.data_interval.end)
        out.append((last.start, last.end))
    return out


def backfill(spec, dag, start, end, now: int) -> dict:
    """Every run of the backfill, oldest first (one at a time, as with --max-active-runs 1)."""
    from moodle_sync import config
    from moodle_sync.capture.sync import sync_entity
    from moodle_sync.capture.window import resolve_window
    from moodle_sync.outbox import db
    from moodle_sync.outbox.entity_store import EntityStore

    moodle, store = db.connect("moodle_db"), db.connect("moodle_sync_db")
    runs = intervals(dag, start, end)
    started, events, read = time.perf_counter(), 0, 0
    for first, last in runs:
        window = resolve_window(run_type="backfill", interval_start=first, interval_end=last,
                                watermark=EntityStore(store, spec.name).watermark(), now=now,
                                overlap=config.OVERLAP_SECONDS.integer())
        result = sync_entity(spec, moodle, store, window, prefix="mdl_", run_id=f"backfill__{first.isoformat()}")
        events, read = events + result.events, read + result.read
    seconds = time.perf_counter() - started
    moodle.close()
    store.close()
    return {"runs": len(runs), "seconds": round(seconds, 1), "ms_per_run": round(1000 * seconds / len(runs), 1),
            "rows_read": read, "events": events}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--site", choices=["fixture", "bench"], default="fixture")
    parser.add_argument("--users", type=int, default=20_000)
    parser.add_argument("--grades", type=int, default=200_000)
    parser.add_argument("--from-date", default=None, help="default: the 31 days before the site's 'now'")
    parser.add_argument("--baseline-days", type=int, default=None,
                        help="run the 15-minute baseline over the month's first N days only and scale its cost per run "
                             "to the month (on a big site the whole month takes an hour); default: the whole month")
    args = parser.parse_args()

    encrypt_payloads()
    import logging

    logging.getLogger("moodle_sync").setLevel(logging.WARNING)  # a log line per run would be most of the output
    from moodle_sync.capture.sync import sync_entity
    from moodle_sync.capture.window import Window
    from moodle_sync.entities import ENTITIES
    from moodle_sync.outbox import db

    os.environ["AIRFLOW_CONN_MOODLE_DB"] = URIS["mysql"].format(MOODLE_DB)
    os.environ["AIRFLOW_CONN_MOODLE_SYNC_DB"] = URIS["mysql"].format(STORE_DB)
    # the fixture's Moodle wrote everything on 27 November 2026 (tests/fixtures/README.md)
    now = int(dt.datetime(2026, 11, 28, tzinfo=UTC).timestamp())
    figures: dict = {"site": args.site}
    recreate("mysql", MOODLE_DB)
    if args.site == "fixture":
        subprocess.run(["mysql", "-h127.0.0.1", "-uroot", MOODLE_DB], input=gzip.decompress(FIXTURE.read_bytes()),
                       check=True)
    else:
        from demo import moodle_site

        moodle = db.connect("moodle_db")
        started = time.perf_counter()
        moodle_site.create_schema(moodle, "mdl_")
        figures["counts"] = moodle_site.bulk_seed(moodle, "mdl_", users=args.users, grades=args.grades, now=now)
        figures["generate_seconds"] = round(time.perf_counter() - started, 1)
        moodle.close()
    recreate("mysql", STORE_DB)
    moodle, store = db.connect("moodle_db"), db.connect("moodle_sync_db")
    from moodle_sync.outbox import eventlog

    eventlog.migrate(store)
    for spec in ENTITIES:  # the scheduled syncs' first run: a backfill re-reads a synced past
        result = sync_entity(spec, moodle, store, Window("initial", None, now, now), prefix="mdl_", run_id="initial")
        figures.setdefault("initial", {})[spec.name] = {"rows": result.read, "seconds": round(result.seconds, 1)}
    moodle.close()
    store.close()
    print(f"{args.site}: initial sync {figures['initial']}", flush=True)

    end = dt.datetime.fromtimestamp(now, UTC) - dt.timedelta(days=1)  # --to-date: the month's last day
    start = dt.datetime.fromisoformat(args.from_date).replace(tzinfo=UTC) if args.from_date else end - dt.timedelta(
        days=30)
    history = runpy.run_path(str(ROOT / "dags" / "moodle_sync_history.py"))
    entity_dags = runpy.run_path(str(ROOT / "dags" / "moodle_sync_entities.py"))
    figures["from_date"], figures["to_date"] = start.date().isoformat(), end.date().isoformat()
    for spec in ENTITIES:
        daily = backfill(spec, history[spec.dag_id + "_history"], start, end, now)
        print(f"{spec.name}: history DAG, a day per run:   {daily}", flush=True)
        # the entity DAG's runs start up to --to-date's midnight; its last day's other 95 runs complete the month
        month_end = end + dt.timedelta(hours=23, minutes=45)
        if args.baseline_days:
            quarter = backfill(spec, entity_dags[spec.dag_id], start,
                               start + dt.timedelta(days=args.baseline_days, minutes=-15), now)
            month_runs = len(intervals(entity_dags[spec.dag_id], start, month_end))
            quarter.update(month_runs=month_runs, month_seconds_scaled=round(quarter["ms_per_run"] * month_runs / 1000))
        else:
            quarter = backfill(spec, entity_dags[spec.dag_id], start, month_end, now)
        print(f"{spec.name}: entity DAG, 15 minutes a run: {quarter}", flush=True)
        figures[spec.name] = {"history": daily, "entity_dag": quarter}
    write_figures(f"backfill_bench_{args.site}", figures)


if __name__ == "__main__":
    main()
