"""moodle_sync_reconcile (daily): the safety net for deletes and changes the incremental syncs missed.

One ``reconcile_<entity>`` task per entity (the same entities as the sync DAGs), then ``report`` and ``deliver``.
"""

from __future__ import annotations

from airflow.sdk import dag, get_current_context, task

from moodle_sync import config, tasks
from moodle_sync.entities import ENTITIES


def reconcile(spec):
    @task(task_id=f"reconcile_{spec.name}")
    def reconcile_entity() -> dict:
        return tasks.reconcile(spec, get_current_context())

    return reconcile_entity()


@dag(
    dag_id="moodle_sync_reconcile",
    description="Safety net: deletes and changes the incremental syncs missed, found by comparing Moodle "
                "with the sync's state.",
    schedule=config.RECONCILE_SCHEDULE.text(),
    **tasks.DAG_COMMON,
    default_args=tasks.DEFAULT_ARGS,
    tags=["moodle-sync", "reconcile"],
    doc_md="""
### moodle_sync_reconcile
Daily (`MOODLE_SYNC_RECONCILE_SCHEDULE`). Per entity: every key the sync believes exists is checked against
Moodle in pages (bounded memory); each one Moodle no longer has becomes its delete event. Then a full pass
re-hashes every row, so a change no timestamp showed (a grade locked, a role unassigned) becomes an event.
`report` logs and returns the counts per entity; on a healthy sync they are all 0. Each entity waits for its
own sync DAG's running task (one sync of an entity at a time). `deliver` sends what was found.
""",
)
def moodle_sync_reconcile():
    found = [reconcile(spec) for spec in ENTITIES]

    @task
    def report(results: list[dict]) -> dict:
        return tasks.summarize_reconcile(results)

    @task
    def deliver(summary: dict) -> dict:
        return tasks.deliver(get_current_context(), entity=None)

    deliver(report(found))


moodle_sync_reconcile()
