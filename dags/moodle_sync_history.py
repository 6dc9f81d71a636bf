"""moodle_sync_users_history, moodle_sync_enrolments_history, moodle_sync_grades_history: backfills by the day.

A backfill of an entity DAG makes a run per 15 minutes (2,977 runs for a month). Each of these DAGs re-reads its
entity a day at a time through the same ``sync`` and ``deliver`` as the entity DAG, so a month is 31 runs:

    airflow dags unpause moodle_sync_grades_history
    airflow backfill create --dag-id moodle_sync_grades_history --from-date 2026-10-01 --to-date 2026-10-31

They are created paused and never catch up; a run never moves the watermark nor counts as the entity's last
successful sync (the scheduled syncs own both). The task bodies live in plugins/moodle_sync/tasks.py.
"""

from __future__ import annotations

from airflow.sdk import CronDataIntervalTimetable, dag, get_current_context, task

from moodle_sync import tasks
from moodle_sync.entities import ENTITIES, EntitySpec


def history_dag(spec: EntitySpec):
    @dag(
        dag_id=spec.dag_id + "_history",
        description=f"Backfills of {spec.dag_id}, a day per run",
        # a day per run: a month's backfill is 31 runs; the interval is what each run syncs
        schedule=CronDataIntervalTimetable("0 0 * * *", timezone="UTC"),
        **tasks.DAG_COMMON,
        # nothing to do until someone wants history: unpause it for a backfill
        is_paused_upon_creation=True,
        # a manual run has no day of its own to read: only backfills (and the daily run once unpaused)
        allowed_run_types=["scheduled", "backfill"],
        default_args=tasks.DEFAULT_ARGS,
        tags=["moodle-sync", spec.name, "backfill"],
        doc_md=f"""
### {spec.dag_id}_history
Backfills of `{spec.dag_id}`, a day per run: each run's `sync` reads the Moodle rows changed in its data
interval (opened `MOODLE_SYNC_OVERLAP_SECONDS` early) exactly as a backfill run of `{spec.dag_id}` does, and
`deliver` posts the due events. Over a synced day: no event; over an unsynced one: that day's changes.
A run never moves the watermark nor counts as the last successful sync. Created paused:

```
airflow dags unpause {spec.dag_id}_history
airflow backfill create --dag-id {spec.dag_id}_history --from-date 2026-10-01 --to-date 2026-10-31
```

See docs/backfill.md.
""",
    )
    def sync_then_deliver():
        @task
        def sync() -> dict:
            return tasks.sync_history(spec, get_current_context())

        @task
        def deliver(summary: dict) -> dict:
            return tasks.deliver(get_current_context(), entity=spec.name)

        deliver(sync())

    return sync_then_deliver()


for _spec in ENTITIES:
    globals()[_spec.dag_id + "_history"] = history_dag(_spec)
