"""moodle_sync_reconcile through Airflow (dag.test()) against the Moodle fixture, the event log and a real
receiver: a user deleted while the log was off reaches the backend as the legacy contract's deletes."""

from __future__ import annotations

import os

import pytest

from support import moodle_writes as mw
from support.helpers import events, run_dag, webhook

pytestmark = pytest.mark.slow  # DAG runs


def run_and_report(dag_id: str) -> tuple[str, dict]:
    """Run a DAG with dag.test(); its state and the XCom of its ``report`` task."""
    from airflow.dag_processing.dagbag import DagBag
    from airflow.models.xcom import XComModel
    from airflow.utils.session import create_session

    bag = DagBag(dag_folder=os.environ["AIRFLOW__CORE__DAGS_FOLDER"])
    run = bag.dags[dag_id].test()
    with create_session() as session:
        row = session.scalars(XComModel.get_many(run_id=run.run_id, dag_ids=dag_id, task_ids="report",
                                                 key="return_value")).first()
        report = XComModel.deserialize_value(row) if row is not None else None
    return str(getattr(run.state, "value", run.state)), report


def test_reconcile_dag_finds_and_delivers_what_the_syncs_missed(airflow_db, moodle, store, receiver,  # noqa: F811
                                                                 monkeypatch):
    webhook(monkeypatch, receiver, concurrency=8)
    for dag_id in ("moodle_sync_users", "moodle_sync_enrolments", "moodle_sync_grades"):
        assert run_dag(dag_id) == "success", dag_id
    state, report = run_and_report("moodle_sync_reconcile")
    assert state == "success"
    assert report == {"entities": {e: {"deletes": 0, "changes": 0} for e in ("user", "enrolment", "grade")},
                      "total": 0}
    delivered = len(receiver.state.deliveries)
    receiver.state.forget_grade_keys()  # the first deliveries are long past the backend's 10 s memory by now

    mw.delete_user(moodle, 104, 1795745200)
    mw.purge_log_and_history_deletes(moodle)
    state, report = run_and_report("moodle_sync_reconcile")
    assert state == "success"
    assert report["entities"] == {"user": {"deletes": 0, "changes": 1}, "enrolment": {"deletes": 3, "changes": 0},
                                  "grade": {"deletes": 12, "changes": 0}}
    bodies = [receiver.state.events[d["event_id"]] for d in receiver.state.deliveries[delivered:]]
    types = sorted(b["event_type"] for b in bodies)
    # of the 12 deleted grades the legacy endpoint takes the 6 assignment grades; the others are recorded skipped
    assert types == ["enrollment_deleted"] * 3 + ["grade_updated"] * 6 + ["user_updated"]
    assert all(b["event_data"]["deleted"] is True for b in bodies)
    grades = [b["event_data"] for b in bodies if b["event_type"] == "grade_updated"]
    assert all(g["student_id"] == 104 and g["assignment_id"] and g["finalgrade"] is None for g in grades)
    assert {e["status"] for e in events(store)} == {"sent", "skipped"}
