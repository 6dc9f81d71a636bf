"""Strict params through Airflow (dag.test()): a misspelt key, a bad window or a since/until on a backfill run
fails the run at once (the task failed on its first try: no retry can fix it) with what to fix."""

from __future__ import annotations

import types

import pytest


def run(dag_id: str, conf: dict) -> tuple[str, dict]:
    """Run ``dag_id`` with ``conf`` through dag.test(); the run's state and each task instance's (state, tries)."""
    import os

    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=os.environ["AIRFLOW__CORE__DAGS_FOLDER"])
    dag_run = bag.dags[dag_id].test(run_conf=conf)
    states = {ti.task_id: (str(getattr(ti.state, "value", ti.state)), ti.try_number)
              for ti in dag_run.get_task_instances()}
    return str(getattr(dag_run.state, "value", dag_run.state)), states


@pytest.mark.parametrize("dag_id, conf, task_id", [
    ("moodle_sync_grades", {"from": "2026-11-01T00:00:00Z", "to": "2026-11-02T00:00:00Z"}, "sync"),
    ("moodle_sync_grades", {"since": "2026-11-02T00:00:00Z", "until": "2026-11-01T00:00:00Z"}, "sync"),
    ("moodle_sync_users", {"since": "yesterday"}, "sync"),
    ("moodle_sync_replay", {"event_id": "733439cb-d281-5f85-afff-b1ee12369c03"}, "replay"),
    ("moodle_sync_maintenance", {"retention": 7}, "reseal"),
])
def test_a_misspelt_key_or_a_bad_window_fails_the_run_at_once_without_retries(airflow_db, dag_id, conf, task_id):
    state, tasks = run(dag_id, conf)
    assert state == "failed"
    assert tasks[task_id] == ("failed", 1)  # one try: dag.test() would have spent the task's retries on it


def context(conf: dict, run_type: str = "manual", declared=("since", "until")) -> dict:
    """What run_params reads of a task's context."""
    params = {name: None for name in declared} | conf
    return {"dag": types.SimpleNamespace(dag_id="moodle_sync_grades", params=dict.fromkeys(declared)),
            "dag_run": types.SimpleNamespace(conf=conf, run_type=run_type), "params": params}


def test_the_messages_name_the_accepted_keys_and_why_a_backfill_refuses_a_window():
    from moodle_sync.config import ConfigError
    from moodle_sync.tasks import run_params

    with pytest.raises(ConfigError, match=r"unknown 'from', 'to'; moodle_sync_grades accepts 'since', 'until'"):
        run_params(context({"from": "a", "to": "b"}))
    with pytest.raises(ConfigError, match="backfill run syncs its own data interval, so 'since' would give"):
        run_params(context({"since": "2026-11-01T00:00:00Z"}, "backfill"), not_in_backfill=("since", "until"))
    assert run_params(context({}, "backfill"), not_in_backfill=("since", "until")) == {"since": None, "until": None}
    assert run_params(context({"since": "2026-11-01T00:00:00Z"}), not_in_backfill=("since", "until"))["since"]
