"""moodle_sync_users, moodle_sync_enrolments, moodle_sync_grades: Moodle changes to the CRM, one DAG per entity.

Each DAG has two tasks: ``sync`` reads the Moodle rows changed in the run's window and writes one event per real
change to the event log (the outbox); ``deliver`` posts the due events of that entity to the backend. The three
DAGs differ only in their entity (plugins/moodle_sync/entities/: its key, SQL, fields and transform), so one loop
declares them. The task bodies live in plugins/moodle_sync/tasks.py.
"""

from __future__ import annotations

from airflow.sdk import CronDataIntervalTimetable, Param, dag, get_current_context, task

from moodle_sync import config, tasks
from moodle_sync.entities import ENTITIES, EntitySpec


def entity_schedule(spec: EntitySpec):
    """The entity DAG's schedule: its cron, a data interval per run, so that a backfill run syncs exactly its own
    interval (MOODLE_SYNC_USERS_SCHEDULE, ..., default every 15 minutes: moodle_sync/config.py). With
    MOODLE_SYNC_EVENT_DRIVEN on, also a run as soon as Moodle's log or grade history names a change of the entity
    (moodle_sync/capture/watch.py); the cron stays, as the safety net."""
    cron = CronDataIntervalTimetable(spec.schedule, timezone="UTC")
    if not config.EVENT_DRIVEN.switch():
        return cron
    from airflow.sdk import Asset, AssetOrTimeSchedule, AssetWatcher

    from moodle_sync.capture.watch import MoodleChangeTrigger

    trigger = MoodleChangeTrigger(entity=spec.name, moodle_conn_id=config.MOODLE_CONN_ID,
                                  poll_seconds=config.EVENT_POLL_SECONDS.integer(minimum=1))
    changes = Asset(name=f"moodle_sync_{spec.name}_changes",
                    watchers=[AssetWatcher(name=f"moodle_sync_{spec.name}_watch", trigger=trigger)])
    return AssetOrTimeSchedule(timetable=cron, assets=changes)


def entity_dag(spec: EntitySpec):
    @dag(
        dag_id=spec.dag_id,
        description=spec.description,
        schedule=entity_schedule(spec),
        **tasks.DAG_COMMON,
        default_args=tasks.DEFAULT_ARGS,
        tags=["moodle-sync", spec.name],
        params={
            # date-time: the trigger form offers a picker, and a value such as "yesterday" is refused at trigger
            "since": Param(None, type=["null", "string"], format="date-time", title="Resync since (UTC)",
                           description="Manual runs only: resync from this time, e.g. 2026-11-01T00:00:00Z. "
                                       "Empty: since the watermark. A backfill run refuses it (it syncs its interval)."),
            "until": Param(None, type=["null", "string"], format="date-time", title="Resync until (UTC)",
                           description="Manual runs only: resync up to this time. Empty: now."),
        },
        doc_md=f"""
### {spec.dag_id}
{spec.description}

`sync` reads the Moodle rows changed in the run's window and writes one event per real change to the event
log; `deliver` posts the due events to the backend. Manual run without params: everything since the
watermark. Params `since`/`until` (manual runs only): resync that window (no duplicate events). An unknown
param or a bad value fails the run at once, without retries. See docs/operate.md.
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
