"""moodle_sync_replay (manual): requeues dead (or any unsent) events with the same event_id.

Dry run by default: the task log lists what would be requeued. The operator's page triggers it too.
"""

from __future__ import annotations

from airflow.sdk import Param, dag, get_current_context, task

from moodle_sync import tasks


@dag(
    dag_id="moodle_sync_replay",
    description="Requeues dead (or any unsent) events with the same event_id and a fresh attempt budget.",
    schedule=None,
    **tasks.DAG_COMMON,
    default_args=tasks.DEFAULT_ARGS,
    tags=["moodle-sync", "delivery"],
    params={
        "event_ids": Param([], type="array", description="Replay exactly these event ids (other filters ignored)."),
        "status": Param("dead", type=["null", "string"], enum=[None, "dead", "failed", "pending"],
                        description="Only events in this status (default: dead letters)."),
        "event_type": Param(None, type=["null", "string"], description="e.g. grade.updated"),
        "entity_type": Param(None, type=["null", "string"], enum=[None, "user", "enrolment", "grade"]),
        "entity_key": Param(None, type=["null", "string"], description="e.g. 42 or 107:29 (user:item)"),
        "since": Param(None, type=["null", "string"], format="date-time",
                       description="Only events created since, e.g. 2026-11-20T00:00:00Z."),
        "dry_run": Param(True, type="boolean", description="Only show what would be requeued."),
        "resume_endpoint": Param(False, type="boolean", description="Un-pause an endpoint paused after 410."),
    },
    doc_md="""
### moodle_sync_replay
Dry run by default: the task log lists what would be requeued. Set `dry_run` to false to requeue: status
`pending`, due now, attempts and retry window reset, **same event_id** (receivers dedupe on it).
`resume_endpoint` clears the pause set after a 410 answer.
""",
)
def moodle_sync_replay():
    @task
    def replay() -> dict:
        return tasks.replay(get_current_context())

    replay()


moodle_sync_replay()
