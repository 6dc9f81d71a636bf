"""Replays from the operator's page go through the ``moodle_sync_replay`` DAG, not straight to the event log.

Why the DAG and not ``eventlog.requeue`` here: the replay then runs where every other change to the log
runs (a worker, with the task log listing each requeued event), it is one DAG run with the operator's name
as its triggering user and its conf (visible in the UI next to every other run, and in the audit log), it
obeys the DAG's ``max_active_runs=1`` so two operators cannot requeue the same events at once, and the
permission is Airflow's own (trigger that DAG). The price: it happens when the scheduler runs it (seconds),
and not at all while the DAG is paused; the page says so.
"""

from __future__ import annotations

import json

from moodle_sync.ui.security import REPLAY_DAG_ID


class ReplayUnavailable(RuntimeError):
    """The replay DAG cannot be triggered (not parsed yet, or removed); the message says what to do."""


def trigger_replay(conf: dict, user) -> dict:
    """Queue one run of the replay DAG with ``conf``, as ``user``; write an audit-log row. Returns its id."""
    from airflow.api.common.trigger_dag import trigger_dag
    from airflow.exceptions import DagNotFound
    from airflow.models import DagModel
    from airflow.models.log import Log
    from airflow.utils.session import create_session
    from airflow.utils.types import DagRunTriggeredByType

    with create_session() as session:
        dag_model = DagModel.get_current(REPLAY_DAG_ID, session=session)
        if dag_model is None:
            raise ReplayUnavailable(f"the {REPLAY_DAG_ID} DAG is not known to Airflow yet: put "
                                    "dags/moodle_sync_delivery.py in the DAGs folder and wait for the dag-processor")
        try:
            run = trigger_dag(REPLAY_DAG_ID, triggered_by=DagRunTriggeredByType.UI,
                              triggering_user_name=user.get_name(), conf=conf, session=session)
        except DagNotFound as exc:
            raise ReplayUnavailable(str(exc)) from exc
        session.add(Log(event="moodle_sync_ui.replay", owner=user.get_name(), dag_id=REPLAY_DAG_ID,
                        run_id=run.run_id, extra=json.dumps(conf)))
        return {"dag_id": REPLAY_DAG_ID, "dag_run_id": run.run_id, "dag_paused": bool(dag_model.is_paused),
                "conf": conf}


def replay_dag_paused() -> bool | None:
    """Whether the replay DAG is paused (None: Airflow does not know it)."""
    from airflow.models import DagModel
    from airflow.utils.session import create_session

    with create_session() as session:
        dag_model = DagModel.get_current(REPLAY_DAG_ID, session=session)
        return None if dag_model is None else bool(dag_model.is_paused)
