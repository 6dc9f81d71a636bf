"""moodle_sync_users, moodle_sync_enrolments, moodle_sync_grades: Moodle changes to the CRM, one DAG per entity.

Each DAG has two tasks: ``sync`` reads the Moodle rows changed in the run's window and writes one event per real
change to the event log (the outbox); ``deliver`` posts the due events of that entity to the backend. The three
DAGs differ only in their entity (plugins/moodle_sync/entities/: its key, SQL, fields and transform), so one loop
declares them. The task bodies live in plugins/moodle_sync/tasks.py.
"""

from __future__ import annotations

from airflow.sdk import CronDataIntervalTimetable, Param, dag, get_current_context, task

from moodle_sync import tasks
from moodle_sync.entities import ENTITIES, EntitySpec


def entity_dag(spec: EntitySpec):
    @dag(
        dag_id=spec.dag_id,
        description=spec.description,
        # a data interval per run, so that a backfill run syncs exactly its own interval
        schedule=CronDataIntervalTimetable(spec.schedule, timezone="UTC"),
        **tasks.DAG_COMMON,
        default_args=tasks.DEFAULT_ARGS,
        tags=["moodle-sync", spec.name],
        params={
            "since": Param(None, type=["null", "string", "integer"],
                           description="Resync from this time (unix seconds or ISO 8601). Empty: since the watermark."),
            "until": Param(None, type=["null", "string", "integer"],
                           description="Resync up to this time. Empty: now."),
        },
        doc_md=f"""
### {spec.dag_id}
{spec.description}

`sync` reads the Moodle rows changed in the run's window and writes one event per real change to the event
log; `deliver` posts the due events to the backend. Manual run without params: everything since the
watermark. Params `since`/`until`: resync that window (no duplicate events). See docs/operate.md.
""",
    )
    def sync_then_deliver():
        @task
        def sync() -> dict:
            return tasks.sync(spec, get_current_context())

        @task
        def deliver(summary: dict) -> dict:
            return tasks.deliver(get_current_context(), entity=spec.name)

        deliver(sync())

    return sync_then_deliver()


for _spec in ENTITIES:
    globals()[_spec.dag_id] = entity_dag(_spec)
