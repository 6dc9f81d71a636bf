"""moodle_sync_maintenance (daily): keeps the event log lean and its payloads under the newest key.

The work is in plugins/moodle_sync/ops/maintenance.py.
"""

from __future__ import annotations

from airflow.sdk import Param, dag, get_current_context, task

from moodle_sync import config, tasks


@dag(
    dag_id="moodle_sync_maintenance",
    description="Re-encrypts payloads under the newest key and purges sent events past the retention period.",
    schedule=config.MAINTENANCE_SCHEDULE.text(),
    **tasks.DAG_COMMON,
    default_args=tasks.DEFAULT_ARGS,
    tags=["moodle-sync", "maintenance"],
    params={
        "retention_days": Param(None, type=["null", "integer"], minimum=1,
                                description="Purge sent events older than this (default: "
                                            "MOODLE_SYNC_RETENTION_DAYS or 30)."),
        "purge_dead_before": Param(None, type=["null", "string"], format="date-time",
                                   description="Also purge dead events created before this time, e.g. "
                                               "2026-11-01T00:00:00Z. Empty: dead events stay."),
    },
    doc_md="""
### moodle_sync_maintenance
Daily. `reseal` re-encrypts every payload not sealed under the newest key of `moodle_sync_encryption`
(after a rotation, or once keys exist where payloads were stored in plain text); `purge_sent` deletes sent
events older than the retention period (and their attempt rows); `purge_dead` deletes dead events only when
the `purge_dead_before` param is set on a manual run. Per-key state is never purged.
""",
)
def moodle_sync_maintenance():
    @task
    def reseal() -> dict:
        return tasks.maintenance("reseal", get_current_context())

    @task
    def purge_sent() -> dict:
        return tasks.maintenance("purge_sent", get_current_context())

    @task
    def purge_dead() -> dict:
        return tasks.maintenance("purge_dead", get_current_context())

    reseal() >> purge_sent() >> purge_dead()


moodle_sync_maintenance()
