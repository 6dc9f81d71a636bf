"""DAG integrity: every DAG imports, with the schedule, owner, retries and callbacks we chose."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DAG_IDS = {"moodle_sync_users", "moodle_sync_enrolments", "moodle_sync_grades"}
HISTORY_DAG_IDS = {f"{dag_id}_history" for dag_id in DAG_IDS}
DELIVERY_DAG_IDS = {"moodle_sync_retry", "moodle_sync_replay"}
MONITOR_DAG_IDS = {"moodle_sync_monitor"}
MAINTENANCE_DAG_IDS = {"moodle_sync_maintenance"}
RECONCILE_DAG_ID = "moodle_sync_reconcile"


@pytest.fixture(scope="module")
def dagbag():
    from airflow.dag_processing.dagbag import DagBag

    return DagBag(dag_folder=str(ROOT / "dags"))


def test_every_dag_file_imports_without_error(dagbag):
    assert dagbag.import_errors == {}
    assert DAG_IDS | HISTORY_DAG_IDS | DELIVERY_DAG_IDS | MONITOR_DAG_IDS | MAINTENANCE_DAG_IDS | {
        RECONCILE_DAG_ID} == set(dagbag.dags)


@pytest.mark.parametrize("dag_id", sorted(DAG_IDS))
def test_entity_dag_settings(dagbag, dag_id):
    from airflow.sdk import CronDataIntervalTimetable

    from moodle_sync.ops.alerts import SyncFailureNotifier

    dag = dagbag.dags[dag_id]
    assert isinstance(dag.timetable, CronDataIntervalTimetable), "scheduled runs need a real data interval"
    assert dag.max_active_runs == 1 and dag.catchup is False
    assert set(dag.params.keys()) == {"since", "until"}
    assert [t.task_id for t in dag.topological_sort()] == ["sync", "deliver"]
    for t in dag.tasks:
        assert t.owner == "data-engineering"
        assert t.retries >= 1
        callbacks = t.on_failure_callback if isinstance(t.on_failure_callback, list) else [t.on_failure_callback]
        assert any(isinstance(cb, SyncFailureNotifier) for cb in callbacks)


@pytest.mark.parametrize("dag_id", sorted(HISTORY_DAG_IDS))
def test_history_dags_run_a_day_per_run_only_when_someone_backfills(dagbag, dag_id):
    from airflow.sdk import CronDataIntervalTimetable

    from moodle_sync.ops.alerts import SyncFailureNotifier

    dag = dagbag.dags[dag_id]
    assert isinstance(dag.timetable, CronDataIntervalTimetable) and "'0 0 * * *'" in repr(dag.timetable)
    assert dag.is_paused_upon_creation is True and dag.catchup is False and dag.max_active_runs == 1
    assert {str(getattr(t, "value", t)) for t in dag.allowed_run_types} == {"scheduled", "backfill"}
    assert set(dag.params.keys()) == set()
    assert [t.task_id for t in dag.topological_sort()] == ["sync", "deliver"]
    for t in dag.tasks:
        assert t.owner == "data-engineering" and t.retries >= 1
        callbacks = t.on_failure_callback if isinstance(t.on_failure_callback, list) else [t.on_failure_callback]
        assert any(isinstance(cb, SyncFailureNotifier) for cb in callbacks)


def test_retry_dag_runs_every_minute_and_maps_over_batches(dagbag):
    from moodle_sync.ops.alerts import SyncFailureNotifier
    from moodle_sync.tasks import plan_retry_workers

    dag = dagbag.dags["moodle_sync_retry"]
    assert dag.max_active_runs == 1 and dag.catchup is False
    assert "'* * * * *'" in repr(dag.timetable)
    assert [t.task_id for t in dag.topological_sort()] == ["plan", "deliver"]
    for t in dag.tasks:
        callbacks = t.on_failure_callback if isinstance(t.on_failure_callback, list) else [t.on_failure_callback]
        assert any(isinstance(cb, SyncFailureNotifier) for cb in callbacks)
    assert plan_retry_workers(0) == []
    assert plan_retry_workers(1) == [{"worker": 0}]
    assert len(plan_retry_workers(50_000, per_worker=20_000)) == 3
    assert len(plan_retry_workers(10**9)) == 16  # bounded, far below max_map_length


def test_replay_dag_is_manual_and_a_dry_run_by_default(dagbag):
    dag = dagbag.dags["moodle_sync_replay"]
    assert type(dag.timetable).__name__ == "NullTimetable"
    assert dag.params["dry_run"] is True and dag.params["status"] == "dead"


def test_monitor_dag_runs_every_five_minutes_retries_once_and_alerts_when_it_fails(dagbag):
    from moodle_sync.ops.alerts import SyncFailureNotifier, SyncRetryNotifier

    dag = dagbag.dags["moodle_sync_monitor"]
    assert dag.max_active_runs == 1 and dag.catchup is False
    assert "'*/5 * * * *'" in repr(dag.timetable)
    assert [t.task_id for t in dag.tasks] == ["check"]
    task = dag.tasks[0]
    # one retry 30 s later: a try Airflow failed before it ran (start-up, api-server not up yet) is no outage
    assert task.retries == 1 and task.retry_delay.total_seconds() == 30
    callbacks = task.on_failure_callback if isinstance(task.on_failure_callback, list) else [task.on_failure_callback]
    assert any(isinstance(cb, SyncFailureNotifier) and not isinstance(cb, SyncRetryNotifier) for cb in callbacks)
    assert any(isinstance(cb, SyncRetryNotifier) for cb in task.on_retry_callback)


def test_reconcile_dag_runs_daily_one_task_per_entity_then_reports_and_delivers(dagbag):
    from moodle_sync.ops.alerts import SyncFailureNotifier
    from moodle_sync.tasks import summarize_reconcile

    dag = dagbag.dags[RECONCILE_DAG_ID]
    assert dag.max_active_runs == 1 and dag.catchup is False
    assert "'30 2 * * *'" in repr(dag.timetable)
    reconcile_tasks = {"reconcile_user", "reconcile_enrolment", "reconcile_grade"}
    assert {t.task_id for t in dag.tasks} == reconcile_tasks | {"report", "deliver"}
    assert {t.task_id for t in dag.get_task("report").upstream_list} == reconcile_tasks
    assert [t.task_id for t in dag.get_task("deliver").upstream_list] == ["report"]
    for t in dag.tasks:
        assert t.retries >= 1
        callbacks = t.on_failure_callback if isinstance(t.on_failure_callback, list) else [t.on_failure_callback]
        assert any(isinstance(cb, SyncFailureNotifier) for cb in callbacks)
    assert summarize_reconcile([{"entity": "grade", "deletes": 2, "changes": 1},
                                {"entity": "user", "deletes": 0, "changes": 0}]) == {
        "entities": {"grade": {"deletes": 2, "changes": 1}, "user": {"deletes": 0, "changes": 0}}, "total": 3}
