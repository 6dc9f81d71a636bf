"""Benchmark: claiming 1,000 due events from an event log of 5,000,000 rows (1 % due) vs. one of 50,000.

The claim must walk an index (due rows only), not the table: its median time should barely grow with the
log. Figures, not asserts: see bench/README.md.
Usage: python -m bench.claim_bench [--big 5000000] [--small 50000] [--store mysql|postgres] [--runs 25]
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import statistics
import time

from bench.common import db_name, URIS, recreate, write_figures

STORE_DB = db_name("bench_claim")

# Rows made by the database itself: 5 events per key (sequence 1..5); for one key in {every}/5 the 5th event
# is failed and due (1 % of the rows with every=100), the others are sent (no next_retry_at): the per-key
# order check runs for every due row against its key's earlier events.
FILL = {
    "mysql": """
        INSERT INTO moodle_sync_event_log (event_id, event_type, entity_type, entity_key, sequence, payload, status,
            attempts, next_retry_at, created_at, updated_at, budget_started_at)
        SELECT UUID(), 'grade.updated', 'grade', CONCAT('k', seq DIV 5), seq MOD 5 + 1, '{{}}',
               IF(seq MOD {every} = 4, 'failed', 'sent'), 1,
               IF(seq MOD {every} = 4, UTC_TIMESTAMP(6) - INTERVAL 1 MINUTE, NULL),
               UTC_TIMESTAMP(6), UTC_TIMESTAMP(6), UTC_TIMESTAMP(6)
        FROM seq_0_to_{last}""",
    "postgres": """
        INSERT INTO moodle_sync_event_log (event_id, event_type, entity_type, entity_key, sequence, payload, status,
            attempts, next_retry_at, created_at, updated_at, budget_started_at)
        SELECT md5(s::text)::uuid, 'grade.updated', 'grade', 'k' || (s / 5), s % 5 + 1, '{{}}',
               CASE WHEN s % {every} = 4 THEN 'failed' ELSE 'sent' END, 1,
               CASE WHEN s % {every} = 4 THEN now() - interval '1 minute' END, now(), now(), now()
        FROM generate_series(0, {last}) AS s""",
}


def build(dialect: str, rows: int, every: int):
    from moodle_sync.outbox import db
    from moodle_sync.outbox import eventlog

    recreate(dialect, STORE_DB)
    store = db.connect("moodle_sync_db")
    eventlog.migrate(store)
    started = time.perf_counter()
    store.execute(FILL[dialect].format(last=rows - 1, every=every))
    store.commit()
    store.execute("ANALYZE TABLE moodle_sync_event_log" if dialect == "mysql" else "ANALYZE moodle_sync_event_log")
    store.commit()
    return store, round(time.perf_counter() - started, 1)


def store_due(store) -> int:
    from moodle_sync.outbox import eventlog

    return eventlog.count_due(store)


def measure(store, runs: int, limit: int = 1000) -> dict:
    """Median of ``runs`` claims of ``limit`` rows; leases are released between runs (not timed)."""
    from moodle_sync.outbox import eventlog

    times = []
    due = store_due(store)
    for i in range(runs):
        started = time.perf_counter()
        claimed = eventlog.claim_due(store, None, f"bench-{i}", limit, dt.timedelta(minutes=5))
        times.append((time.perf_counter() - started) * 1000)
        assert len(claimed) == min(limit, due), len(claimed)
        # give the rows back the way a deliverer touches them: by id (a full-table UPDATE here would leave
        # millions of row versions behind and slow every later read down)
        store.execute("UPDATE moodle_sync_event_log SET locked_by = NULL, locked_until = NULL WHERE id IN %(ids)s"
                      if store.dialect == "mysql" else
                      "UPDATE moodle_sync_event_log SET locked_by = NULL, locked_until = NULL WHERE id = ANY(%(ids)s)",
                      {"ids": store.bind_list([row["id"] for row in claimed])})
        store.commit()
    return {"median_ms": round(statistics.median(times), 1), "p90_ms": round(sorted(times)[int(runs * 0.9)], 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--big", type=int, default=5_000_000)
    parser.add_argument("--small", type=int, default=50_000)
    parser.add_argument("--store", choices=sorted(URIS), default="mysql")
    parser.add_argument("--runs", type=int, default=25)
    args = parser.parse_args()
    os.environ["AIRFLOW_CONN_MOODLE_SYNC_DB"] = URIS[args.store].format(STORE_DB)
    figures = {"store": args.store}
    # 1 % due in the big log; the small one needs 2 % to have 1,000 due rows to claim
    for label, rows, every in (("small", args.small, 50), ("big", args.big, 100)):
        store, fill_s = build(args.store, rows, every)
        figures[label] = {"rows": rows, "due": rows // every, "fill_seconds": fill_s, **measure(store, args.runs)}
        store.close()
        print(f"{rows:>10,} rows, {rows // every:,} due: claim 1,000: median {figures[label]['median_ms']} ms "
              f"(p90 {figures[label]['p90_ms']} ms)", flush=True)
    ratio = figures["big"]["median_ms"] / figures["small"]["median_ms"]
    figures["big_vs_small"] = round(ratio, 2)
    print(f"big / small: {ratio:.2f} (target <= 2); big median {figures['big']['median_ms']} ms (target < 50 ms)")
    write_figures(f"claim_bench_{args.store}", figures)


if __name__ == "__main__":
    main()
