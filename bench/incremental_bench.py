"""Benchmark (issue 12): what a scheduled incremental run costs the Moodle database, with and without the log.

Builds the bench site (demo.moodle_site.bulk_seed: 100,000 users, ~300,000 enrolments, 1,000,000 grades, their
history and Moodle's log), runs the initial sync of every entity, then for each entity:

* a run with no change in Moodle, and
* a run after ``--changes`` Moodle-style changes of that entity (demo.moodle_site.apply_bulk_changes),

first with the standard log store enabled (mdl_config_plugins: tool_log | enabled_stores = logstore_standard:
the sync may read the log and the grade history by id), then, as the baseline measured in the same run, with the
store and grade history disabled (the scan fallback; the changes of that phase are not logged, as Moodle would
not log them).
Moodle rows read are the sum of MariaDB's ``Handler_read_*`` counters of the Moodle session, before and after
the run: the sync reads Moodle only through the connection it is given (moodle_sync.capture and .entities open
none of their own), so these counters see all of it; the few reads of ``SHOW SESSION STATUS`` itself are
measured and subtracted.

    python -m bench.incremental_bench                                   # the issue's size (~15 minutes here)
    python -m bench.incremental_bench --users 10000 --grades 100000    # a quick try (~1 minute)

Database names carry MZS_BENCH_DB_SUFFIX. Figures, not asserts: see bench/README.md.
"""

from __future__ import annotations

import argparse
import logging
import os
import time

from bench.common import URIS, db_name, encrypt_payloads, recreate, write_figures

MOODLE_DB, STORE_DB = db_name("bench_incremental_moodle"), db_name("bench_incremental_log")
ENTITY_TABLES = ("user", "user_enrolments", "grade_grades", "role_assignments", "grade_grades_history",
                 "logstore_standard_log")


def handler_reads(moodle) -> int:
    """Rows and index entries this MariaDB session has read so far (its Handler_read_* counters)."""
    rows = moodle.query("SHOW SESSION STATUS LIKE 'Handler_read%%'")
    moodle.commit()
    return sum(int(value) for _, value in rows)


def set_grade_history(moodle, enabled: bool) -> None:
    """$CFG->disablegradehistory, as the admin setting writes it."""
    moodle.execute("UPDATE mdl_config SET value = %s WHERE name = 'disablegradehistory'", ("0" if enabled else "1",))
    moodle.commit()


def measured_run(spec, moodle, store, now: int, run_id: str, overhead: int) -> dict:
    """One incremental run as the entity DAG's sync task does it (window from the stored watermark)."""
    from moodle_sync import config
    from moodle_sync.capture.sync import sync_entity
    from moodle_sync.capture.window import resolve_window
    from moodle_sync.outbox.entity_store import EntityStore

    window = resolve_window(run_type="manual", interval_start=None, interval_end=None,
                            watermark=EntityStore(store, spec.name).watermark(), now=now,
                            overlap=config.OVERLAP_SECONDS.integer())
    before = handler_reads(moodle)
    started = time.perf_counter()
    result = sync_entity(spec, moodle, store, window, prefix="mdl_", run_id=run_id)
    seconds = time.perf_counter() - started
    read = handler_reads(moodle) - before - overhead
    return {"mode": window.mode, "moodle_rows_read": read, "seconds": round(seconds, 2), "events": result.events,
            "rows_synced": result.read}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=100_000)
    parser.add_argument("--courses", type=int, default=300)
    parser.add_argument("--grades", type=int, default=1_000_000)
    parser.add_argument("--enrolments-per-user", type=int, default=3)
    parser.add_argument("--log-views", type=int, default=None,
                        help="read events logged per active enrolment (default: bulk_seed's, ~3M log rows)")
    parser.add_argument("--changes", type=int, default=1_000, help="changes of an entity before its second run")
    parser.add_argument("--reuse", action="store_true",
                        help="keep the Moodle of an earlier run (it then holds that run's changes too)")
    args = parser.parse_args()

    encrypt_payloads()
    logging.getLogger("moodle_sync").setLevel(logging.WARNING)
    from demo import moodle_site
    from moodle_sync.capture.sync import sync_entity
    from moodle_sync.capture.window import Window
    from moodle_sync.entities import ENTITIES
    from moodle_sync.outbox import db, eventlog

    os.environ["AIRFLOW_CONN_MOODLE_DB"] = URIS["mysql"].format(MOODLE_DB)
    os.environ["AIRFLOW_CONN_MOODLE_SYNC_DB"] = URIS["mysql"].format(STORE_DB)
    bench_started = time.perf_counter()
    from moodle_sync import config

    # Runs are a window's overlap plus a minute apart, so a run's window never reaches back to the changes the
    # previous run already synced; the site's "now" is far enough back for all of them to stay in the past.
    step = config.OVERLAP_SECONDS.integer() + 60
    t0 = int(time.time()) - 20 * step
    figures: dict = {"changes": args.changes}
    if not args.reuse:
        recreate("mysql", MOODLE_DB)
    moodle = db.connect("moodle_db")
    if not args.reuse:
        started = time.perf_counter()
        moodle_site.create_schema(moodle, "mdl_")
        extra = {} if args.log_views is None else {"log_views": args.log_views}
        built = moodle_site.bulk_seed(moodle, "mdl_", users=args.users, courses=args.courses, grades=args.grades,
                                      enrolments_per_user=args.enrolments_per_user, now=t0, progress=True, **extra)
        figures["generate_seconds"] = round(time.perf_counter() - started, 1)
        figures["generate_phases"] = built["seconds"]
    else:
        t0 = max(t0, int(moodle.query("SELECT MAX(timecreated) FROM mdl_logstore_standard_log")[0][0] or 0) + 1)
    figures["site"] = {t: int(moodle.query(f"SELECT COUNT(*) FROM mdl_{t}")[0][0]) for t in ENTITY_TABLES}
    moodle.commit()
    print(f"site: {figures['site']}" + (f", generated in {figures['generate_seconds']} s" if not args.reuse else ""),
          flush=True)

    recreate("mysql", STORE_DB)
    store = db.connect("moodle_sync_db")
    eventlog.migrate(store)
    moodle_site.set_log_enabled(moodle, "mdl_", True)
    first = handler_reads(moodle)
    overhead = handler_reads(moodle) - first  # what one SHOW SESSION STATUS reads (counted in every difference)
    figures["show_status_overhead_rows"] = overhead
    clock = t0 + step
    figures["initial"] = {}
    for spec in ENTITIES:
        before = handler_reads(moodle)
        result = sync_entity(spec, moodle, store, Window("initial", None, clock, clock), prefix="mdl_",
                             run_id="initial")
        read = handler_reads(moodle) - before - overhead
        figures["initial"][spec.name] = {"rows": result.read, "events": result.events, "seconds": round(result.seconds, 1),
                                         "rows_per_s": round(result.read / max(result.seconds, 1e-3)),
                                         "moodle_rows_read": read}
        print(f"initial {spec.name}: {figures['initial'][spec.name]}", flush=True)

    runs: dict = {}
    for mode, enabled in (("log", True), ("scan", False)):
        moodle_site.set_log_enabled(moodle, "mdl_", enabled)
        set_grade_history(moodle, enabled)  # the scan baseline: neither the log nor grade history to read
        for spec in ENTITIES:
            clock += step
            quiet = measured_run(spec, moodle, store, clock, f"{mode}_quiet_{spec.name}", overhead)
            clock += 1
            keys = moodle_site.apply_bulk_changes(moodle, "mdl_", entity=spec.name, count=args.changes, now=clock)
            clock += 1
            changed = measured_run(spec, moodle, store, clock, f"{mode}_changes_{spec.name}", overhead)
            changed.update(changes=args.changes, changed_keys=len(keys),
                           rows_read_per_change=round(changed["moodle_rows_read"] / args.changes, 1))
            runs.setdefault(spec.name, {})[mode] = {"no_change": quiet, "after_changes": changed}
            print(f"{mode} {spec.name}: no change {quiet}; after {args.changes} changes {changed}", flush=True)
    moodle_site.set_log_enabled(moodle, "mdl_", True)
    set_grade_history(moodle, True)
    moodle.close()
    store.close()
    figures["runs"] = runs
    figures["bench_seconds"] = round(time.perf_counter() - bench_started)

    site = figures["site"]
    print(f"\nsite: {site['user']:,} users, {site['user_enrolments']:,} enrolments, {site['grade_grades']:,} grades, "
          f"{site['role_assignments']:,} role assignments, {site['grade_grades_history']:,} history rows, "
          f"{site['logstore_standard_log']:,} log rows; bench took {figures['bench_seconds']} s")
    print("initial sync: " + ", ".join(f"{n} {f['rows']:,} rows in {f['seconds']} s ({f['rows_per_s']:,} rows/s)"
                                       for n, f in figures["initial"].items()))
    header = ("entity", "run", "log: rows read", "log: s", "scan: rows read", "scan: s", "log: per change",
              "scan: per change")
    print("| " + " | ".join(header) + " |\n|" + "---|" * len(header))
    for name, modes in runs.items():
        for run, label in (("no_change", "no change"), ("after_changes", f"{args.changes} changes")):
            log_run, scan_run = modes["log"][run], modes["scan"][run]
            per = [f"{m[run]['rows_read_per_change']:,}" if run == "after_changes" else "" for m in (modes["log"],
                                                                                                     modes["scan"])]
            print(f"| {name} | {label} | {log_run['moodle_rows_read']:,} | {log_run['seconds']} | "
                  f"{scan_run['moodle_rows_read']:,} | {scan_run['seconds']} | {per[0]} | {per[1]} |")
    write_figures("incremental_bench", figures)


if __name__ == "__main__":
    main()
