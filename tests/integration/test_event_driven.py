"""Issue 15: event-driven syncs (``MOODLE_SYNC_EVENT_DRIVEN``). The trigger's poll on the real Moodle fixture on
MariaDB and PostgreSQL (what it reads; on MariaDB what it costs), the DAG's schedule with the setting off and on,
and the whole path through a real scheduler, dag-processor, api-server and triggerer (LocalExecutor, metadata on
PostgreSQL, the Moodle fixture and the event log on MariaDB, the receiver on loopback): a change made while the
DAGs idle (a yearly cron) is delivered by an asset-triggered run, and a burst of 200 changes makes one or two runs.
"""

from __future__ import annotations

import time

import pytest

from conftest import recreate_mysql_database, recreate_postgres_database, scratch_db, wait_until
from support.airflow_cluster import Cluster, airflow_env, drop_databases, fresh_python
from support.helpers import DAG_IDS
from support.moodle_writes import enrol_user, grade_user, update_user, update_user_enrol

#: a cron that stays away for the whole test on almost any date; the assertions do not rely on it: they count
#: asset-triggered runs, which only the trigger makes
YEARLY = "0 0 1 1 *"
POLL_SECONDS = 2
DEADLINE = 300  # a hang fails; a healthy phase takes well under a minute on 2 shared cores


def _schedule_of_users(**settings) -> str:
    """moodle_sync_users' schedule as the dag-processor serializes it, parsed in a fresh interpreter."""
    code = (
        "import json, runpy\n"
        "from airflow.serialization.serialized_objects import DagSerialization\n"
        "dags = runpy.run_path('dags/moodle_sync_entities.py')\n"
        "dag = dags['moodle_sync_users']\n"
        "print(type(dag.timetable).__name__)\n"
        "print(json.dumps(DagSerialization.to_dict(dag)['dag']['timetable'], sort_keys=True))\n"
    )
    from support.airflow_cluster import ROOT

    out = fresh_python(code.replace("dags/", str(ROOT / "dags") + "/"), **settings)
    assert out.returncode == 0, out.stderr[-2000:]
    return out.stdout


def test_with_the_setting_off_the_schedule_is_the_cron_alone_and_bad_values_name_their_variable():
    today = _schedule_of_users()
    assert today.splitlines()[-2] == "CronDataIntervalTimetable"
    assert _schedule_of_users(MOODLE_SYNC_EVENT_DRIVEN="false") == today  # off: exactly as without the setting
    assert "watchers" not in today and "moodle_sync_user_changes" not in today
    on = _schedule_of_users(MOODLE_SYNC_EVENT_DRIVEN="true", MOODLE_SYNC_EVENT_POLL_SECONDS="7")
    assert on.splitlines()[-2] == "AssetOrTimeSchedule"
    serialized = on.splitlines()[-1]
    # the cron stays inside, with its data intervals (backfills), and the watch with plain kwargs
    assert '"expression": "*/15 * * * *"' in serialized and "CronDataIntervalTimetable" in serialized
    assert "moodle_sync.capture.watch.MoodleChangeTrigger" in serialized and '"poll_seconds": 7' in serialized
    for env, message in (({"MOODLE_SYNC_EVENT_DRIVEN": "ture"}, "MOODLE_SYNC_EVENT_DRIVEN='ture' is neither"),
                         ({"MOODLE_SYNC_EVENT_DRIVEN": "on", "MOODLE_SYNC_EVENT_POLL_SECONDS": "0"},
                          "MOODLE_SYNC_EVENT_POLL_SECONDS='0' must be at least 1")):
        code = "import runpy\nrunpy.run_path('dags/moodle_sync_entities.py')\n"
        from support.airflow_cluster import ROOT

        bad = fresh_python(code.replace("dags/", str(ROOT / "dags") + "/"), **env)
        assert bad.returncode != 0 and message in bad.stderr, bad.stderr[-1500:]


def _rows_read(db) -> int:
    """Rows and index entries this MariaDB session has read so far (its Handler_read_* counters)."""
    return sum(int(value) for _, value in db.query("SHOW SESSION STATUS LIKE 'Handler_read%%'"))


@pytest.mark.parametrize("dialect", ["mysql", "postgres"])
def test_a_poll_reads_only_the_new_ids_and_fires_for_its_own_entity(dialect, request):
    from moodle_sync.capture.watch import Watcher

    moodle = request.getfixturevalue("moodle" if dialect == "mysql" else "moodle_pg")

    watchers = {entity: Watcher(entity) for entity in ("user", "enrolment", "grade")}
    try:
        assert all(w.poll() is None for w in watchers.values())  # the first poll places them at the tables' ends

        def poll_all() -> dict:
            return {entity: w.poll() for entity, w in watchers.items()}

        def cost(watcher) -> int:
            """Handler reads of one poll, the SHOW's own reads taken out (MariaDB; on PostgreSQL just the poll)."""
            if dialect == "postgres":
                watcher.poll()
                return 0
            base = _rows_read(watcher.db)
            show = _rows_read(watcher.db) - base
            before = _rows_read(watcher.db)
            watcher.poll()
            return _rows_read(watcher.db) - before - show

        idle = {entity: cost(w) for entity, w in watchers.items()}
        assert idle["user"] <= 2 and idle["grade"] <= 4, idle  # an index read per table end
        t = int(time.time())
        update_user(moodle, 104, t, firstname="Polled")
        found = poll_all()
        assert found["user"]["log"]["upto"] == found["user"]["log"]["first"] and not found["enrolment"]
        assert not found["grade"]
        assert poll_all() == {"user": None, "enrolment": None, "grade": None}  # never twice for the same rows

        ueid = enrol_user(moodle, 11, 104, t)  # enrolments' event, and a role_assigned for users
        update_user_enrol(moodle, ueid, t, status=1)
        found = poll_all()
        assert found["enrolment"] and found["user"] and not found["grade"]
        grade = moodle.query("SELECT gg.id FROM mdl_grade_grades gg JOIN mdl_grade_items gi ON gi.id = gg.itemid "
                             "WHERE gi.itemmodule = 'assign' AND gg.finalgrade IS NOT NULL ORDER BY gg.id LIMIT 1")
        grade_user(moodle, grade[0][0], 42.0, t)
        found = poll_all()
        assert set(found["grade"]) == {"entity", "log", "history"} and not found["user"] and not found["enrolment"]

        # 50 user edits between two polls: the grades' poll reads the 50 new log ids (none of its events)
        for i in range(50):
            update_user(moodle, 105, t, firstname=f"Many{i}")
        reads = cost(watchers["grade"])
        assert reads <= 4 + 50 + 2, reads
    finally:
        for w in watchers.values():
            w.close()


@pytest.fixture
def stack(tmp_path, moodle):
    """Scheduler, dag-processor, api-server and triggerer on LocalExecutor, event-driven syncs on, yearly crons."""
    from demo.receiver import Receiver

    airflow_db, eventlog_db = scratch_db("mzs_test_event_airflow"), scratch_db("mzs_test_event_eventlog")
    recreate_postgres_database(airflow_db)
    recreate_mysql_database(eventlog_db)
    receiver = Receiver().start()
    env = airflow_env(tmp_path, airflow_db, eventlog_db, receiver.port, webhook_extra={}, settings={
        "AIRFLOW__CORE__EXECUTOR": "LocalExecutor", "AIRFLOW__CORE__PARALLELISM": "4",
        "MOODLE_SYNC_EVENT_DRIVEN": "true", "MOODLE_SYNC_EVENT_POLL_SECONDS": str(POLL_SECONDS),
        "MOODLE_SYNC_USERS_SCHEDULE": YEARLY, "MOODLE_SYNC_ENROLMENTS_SCHEDULE": YEARLY,
        "MOODLE_SYNC_GRADES_SCHEDULE": YEARLY,
    })
    cluster = Cluster(tmp_path, env, airflow_db, eventlog_db)
    try:
        cluster.cli("db", "migrate")
        for name in ("api-server", "scheduler", "dag-processor", "triggerer"):
            cluster.start(name, name)
        parsed = wait_until(lambda: cluster.exited() or cluster.meta(
            "SELECT count(*) FROM dag WHERE dag_id LIKE 'moodle_sync_%%'")[0][0] >= 4, timeout=300, interval=2)
        assert parsed and not cluster.exited(), (cluster.exited(), cluster.logs(*cluster.procs))
        yield cluster, receiver
    finally:
        cluster.stop()
        receiver.stop()
        drop_databases(airflow_db, eventlog_db)


def asset_runs(cluster, dag_id: str) -> list[tuple]:
    return cluster.meta("SELECT run_id, state FROM dag_run WHERE dag_id = %s AND run_type = 'asset_triggered' "
                        "ORDER BY id", (dag_id,))


def firstnames(receiver) -> dict[int, tuple[str, float]]:
    """Each user's last firstname the backend got, and when."""
    last = {}
    for item in receiver.state.received:
        body = item.get("body") or {}
        data = body.get("event_data") or {}
        if item.get("status") == 200 and str(body.get("event_type", "")).startswith("user") and "firstname" in data:
            last[int(data["userid"])] = (data["firstname"], item["at"])
    return last


@pytest.mark.slow  # four Airflow processes, a triggerer's poll and asset-triggered runs
@pytest.mark.postgres
def test_a_change_is_delivered_without_the_cron_and_a_burst_makes_one_or_two_runs(stack, moodle):
    cluster, receiver = stack
    everyone = tuple(cluster.procs)
    for dag_id in DAG_IDS:
        cluster.cli("dags", "unpause", dag_id)
        cluster.cli("dags", "trigger", dag_id)  # the initial full sync; the yearly cron may not have a run due yet
    synced = wait_until(lambda: cluster.exited() or (all(cluster.successful_runs(d) for d in DAG_IDS) and not
                                                     cluster.meta("SELECT 1 FROM dag_run WHERE state IN "
                                                                  "('queued', 'running')")),
                        timeout=DEADLINE, interval=2)
    assert synced and not cluster.exited(), cluster.logs(*everyone)
    # the three watches run in the triggerer
    assert wait_until(lambda: cluster.meta(
        "SELECT count(*) FROM trigger WHERE classpath = 'moodle_sync.capture.watch.MoodleChangeTrigger' "
        "AND triggerer_id IS NOT NULL")[0][0] == 3, timeout=120, interval=1), cluster.logs("triggerer")
    time.sleep(POLL_SECONDS * 2 + 1)  # each watch's first poll has placed it at the tables' ends
    assert not any(asset_runs(cluster, d) for d in DAG_IDS)  # no change, no run

    # 1. one user edit while every DAG idles: delivered by an asset-triggered run, the cron a year away
    users = [row[0] for row in moodle.query("SELECT id FROM mdl_user WHERE deleted = 0 AND id > 2 ORDER BY id")]
    moodle.commit()
    changed_at = time.time()
    update_user(moodle, users[0], int(changed_at), firstname="Eventful")
    arrived = wait_until(lambda: cluster.exited() or firstnames(receiver).get(users[0], ("",))[0] == "Eventful",
                         timeout=DEADLINE, interval=0.5)
    assert arrived and not cluster.exited(), cluster.logs(*everyone)
    latency = firstnames(receiver)[users[0]][1] - changed_at
    runs = asset_runs(cluster, "moodle_sync_users")
    assert len(runs) == 1, runs
    assert wait_until(lambda: asset_runs(cluster, "moodle_sync_users")[0][1] == "success", timeout=DEADLINE)
    assert not asset_runs(cluster, "moodle_sync_enrolments") and not asset_runs(cluster, "moodle_sync_grades")
    print(f"change-to-webhook latency of one user edit: {latency:.1f} s")

    # 2. a burst of 200 edits (the users in turn, each edit with its user_updated row): one or two runs
    final = {}
    for i in range(200):
        userid = users[i % len(users)]
        update_user(moodle, userid, int(time.time()), firstname=f"Burst{i}")
        final[userid] = f"Burst{i}"
    delivered = wait_until(lambda: cluster.exited() or all(
        firstnames(receiver).get(u, ("",))[0] == name for u, name in final.items()), timeout=DEADLINE, interval=1)
    assert delivered and not cluster.exited(), cluster.logs(*everyone)
    # a run triggered late in the burst may still be queued or running: wait until the DAG is idle again
    assert wait_until(lambda: all(state in ("success", "failed") for _, state in
                                  asset_runs(cluster, "moodle_sync_users")), timeout=DEADLINE, interval=1)
    burst_runs = asset_runs(cluster, "moodle_sync_users")[1:]
    assert 1 <= len(burst_runs) <= 2 and all(state == "success" for _, state in burst_runs), burst_runs
    assert not asset_runs(cluster, "moodle_sync_enrolments") and not asset_runs(cluster, "moodle_sync_grades")
