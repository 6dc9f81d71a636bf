"""Issue 14: the compose stack's executor run for real, without containers. A scheduler, dag-processor, api-server,
triggerer and two Celery workers (on the local Redis, metadata and Celery results on PostgreSQL) run as local
processes; the Moodle fixture on MariaDB, the event log on MariaDB, a receiver on loopback.

1. The entity DAGs, unpaused, run on their schedule against a backend answering 503: every event waits.
2. The backend answers again and moodle_sync_retry, unpaused, fans its mapped ``deliver`` out over both workers:
   every event arrives exactly once (no event_id twice).
3. Moodle changes every user, the users DAG runs again against a slow backend, and the worker holding a lease
   mid-delivery is SIGKILLed (its whole process tree, as a lost node): after the lease ends the other worker
   delivers those events. Nothing is lost; an event of the killed batch may arrive twice, always with its one
   event_id (the backend may have answered a request whose answer the dead worker never recorded).
4. The users' history DAG is backfilled over two synced days through the scheduler, as the README says: a run
   per day, no new event, and the watermark stays the scheduled syncs'.
"""

from __future__ import annotations

import time
import uuid

import pytest

from conftest import recreate_mysql_database, recreate_postgres_database, scratch_db, wait_until
from support.airflow_cluster import Cluster, airflow_env, drop_databases
from support import moodle_writes as mw

pytestmark = [pytest.mark.slow, pytest.mark.postgres]  # six Airflow processes and scheduled runs
ENTITY_DAGS = ["moodle_sync_users", "moodle_sync_enrolments", "moodle_sync_grades"]
WORKERS = ("mzs-worker-a", "mzs-worker-b")
REDIS_DB = 7  # not 0: other work on this machine uses the same Redis
LEASE_SECONDS = 15  # short, so that the killed worker's events come back within the test
RETRY_BASE_SECONDS = 30  # a failed event waits this long: phase 1's failures are not retried before phase 2
#: a hang fails; a healthy run of each phase takes a few minutes on 2 shared cores
PHASE_DEADLINE = 420


@pytest.fixture
def cluster(tmp_path, moodle):
    import redis

    airflow_db, eventlog_db = scratch_db("mzs_test_celery_airflow"), scratch_db("mzs_test_celery_eventlog")
    recreate_postgres_database(airflow_db)
    recreate_mysql_database(eventlog_db)
    from demo.receiver import Receiver

    receiver = Receiver().start()
    prefix = f"mzs{scratch_db('')}_{uuid.uuid4().hex[:8]}_"  # every Redis key and the queue of this run only
    env = airflow_env(tmp_path, airflow_db, eventlog_db, receiver.port, webhook_extra={
        "lease_seconds": LEASE_SECONDS, "retry_base_seconds": RETRY_BASE_SECONDS, "retry_jitter": 0,
        "batch_size": 20, "concurrency": 4}, settings={
        # the compose stack's executor: Celery on Redis, its results in the metadata database
        "AIRFLOW__CORE__EXECUTOR": "CeleryExecutor",
        "AIRFLOW__CELERY__BROKER_URL": f"redis://127.0.0.1:6379/{REDIS_DB}",
        "AIRFLOW__CELERY__RESULT_BACKEND": f"db+postgresql://postgres@127.0.0.1:5432/{airflow_db}",
        "AIRFLOW__CELERY_BROKER_TRANSPORT_OPTIONS__GLOBAL_KEYPREFIX": prefix,
        "AIRFLOW__OPERATORS__DEFAULT_QUEUE": prefix + "default",
        "AIRFLOW__CELERY__WORKER_CONCURRENCY": "2",
        # a killed worker's task instance is failed soon, not after the default 5 minutes
        "AIRFLOW__SCHEDULER__TASK_INSTANCE_HEARTBEAT_TIMEOUT": "30",
        "MOODLE_SYNC_USERS_SCHEDULE": "* * * * *", "MOODLE_SYNC_ENROLMENTS_SCHEDULE": "* * * * *",
        "MOODLE_SYNC_GRADES_SCHEDULE": "* * * * *", "MOODLE_SYNC_RETRY_SCHEDULE": "* * * * *",
        # about 850 due events: several mapped deliver tasks, so that both workers take some
        "MOODLE_SYNC_RETRY_WORKER_EVENTS": "100",
    })
    cluster = Cluster(tmp_path, env, airflow_db, eventlog_db)
    try:
        cluster.cli("db", "migrate")
        for name in ("api-server", "scheduler", "dag-processor", "triggerer"):
            cluster.start(name, name)
        for worker in WORKERS:
            cluster.start(worker, "celery", "worker", "--celery-hostname", f"{worker}@%h", "--queues",
                          prefix + "default", "--concurrency", "2",
                          extra_env={"MZS_WORKER_NAME": worker,
                                     "AIRFLOW__CORE__HOSTNAME_CALLABLE": "cluster_hostname.hostname"})
        parsed = wait_until(lambda: cluster.exited() or cluster.meta(
            "SELECT count(*) FROM dag WHERE dag_id LIKE 'moodle_sync_%%'")[0][0] >= 4, timeout=300, interval=2)
        assert parsed and not cluster.exited(), (cluster.exited(), cluster.logs(*cluster.procs))
        yield cluster, receiver
    finally:
        cluster.stop()
        receiver.stop()
        client = redis.Redis(host="127.0.0.1", port=6379, db=REDIS_DB)
        for key in client.scan_iter(match=prefix + "*"):
            client.delete(key)
        drop_databases(airflow_db, eventlog_db)


def test_celery_workers_share_the_delivery_and_a_killed_worker_loses_nothing(cluster, moodle):
    cluster, receiver = cluster
    everyone = tuple(cluster.procs)

    # 1. scheduled syncs against a backend that answers 503: the events wait for their retry
    receiver.state.control(fail_status=503, fail_rate=1.0)
    for dag_id in ENTITY_DAGS:
        cluster.cli("dags", "unpause", dag_id)
    synced = wait_until(lambda: cluster.exited() or all(cluster.successful_runs(d) for d in ENTITY_DAGS),
                        timeout=PHASE_DEADLINE, interval=3)
    assert synced and not cluster.exited(), cluster.logs(*everyone)
    for dag_id in ENTITY_DAGS:
        cluster.cli("dags", "pause", dag_id)
    # a run queued when its DAG was paused stays queued (it starts when the DAG is unpaused): only running ones end
    assert wait_until(lambda: not cluster.meta("SELECT 1 FROM dag_run WHERE state = 'running'"),
                      timeout=PHASE_DEADLINE, interval=3), cluster.meta("SELECT dag_id, run_id, state FROM dag_run")
    statuses = cluster.statuses()
    # a deliver task stops early when the backend keeps failing: the rest wait as pending
    waiting = statuses.get("failed", 0) + statuses.get("pending", 0)
    assert statuses.get("failed") and waiting > 500 and set(statuses) <= {"failed", "pending", "skipped"}, statuses
    assert not receiver.state.deliveries  # every request so far was answered 503

    # 2. the backend answers: moodle_sync_retry fans the backlog out over both workers, each event once
    receiver.state.control()
    cluster.cli("dags", "unpause", "moodle_sync_retry")
    delivered = wait_until(lambda: cluster.exited() or not {"failed", "pending"} & set(cluster.statuses()),
                           timeout=PHASE_DEADLINE, interval=3)
    assert delivered and not cluster.exited(), (cluster.statuses(), cluster.logs(*everyone))
    sent = {row[0] for row in cluster.eventlog("SELECT event_id FROM moodle_sync_event_log WHERE status = 'sent'")}
    ids = [d["event_id"] for d in receiver.state.deliveries]
    # every waiting event was sent or, a grade the legacy endpoint does not take, skipped at delivery
    assert sum(cluster.statuses().values()) == sum(statuses.values()) and set(cluster.statuses()) == {"sent", "skipped"}
    assert len(sent) > 500 and sorted(ids) == sorted(sent)  # every sent event arrived exactly once
    hosts = cluster.meta("SELECT hostname, count(*) FROM task_instance WHERE dag_id = 'moodle_sync_retry' "
                         "AND task_id = 'deliver' AND state = 'success' GROUP BY hostname")
    assert {h for h, _ in hosts} == set(WORKERS), hosts  # the mapped deliver tasks ran on both workers
    entity_hosts = {h for (h,) in cluster.meta("SELECT DISTINCT hostname FROM task_instance WHERE dag_id IN "
                                                "('moodle_sync_users', 'moodle_sync_enrolments', 'moodle_sync_grades')")}
    assert entity_hosts <= set(WORKERS), entity_hosts  # scheduled syncs ran on the Celery workers

    # 3. every user changes; the users DAG delivers to a slow backend and the worker mid-delivery dies
    before, requests_before = len(receiver.state.deliveries), len(receiver.state.received)
    known = {r[0] for r in cluster.eventlog("SELECT event_id FROM moodle_sync_event_log")}
    edited = int(time.time()) - 60
    for userid, firstname in moodle.query("SELECT id, firstname FROM mdl_user WHERE deleted = 0 AND id > 1"):
        mw.update_user(moodle, userid, edited, firstname=firstname + "z")  # with its log row, as Moodle writes it
    receiver.state.control(delay_seconds=0.5, delay_next=10**6)
    cluster.cli("dags", "unpause", "moodle_sync_users")

    def leased_by_running_task():
        """(worker, event ids it holds under a live lease) once a running deliver task holds some."""
        for hostname, dag_id, run_id, task_id, map_index, try_number in cluster.meta(
                "SELECT hostname, dag_id, run_id, task_id, map_index, try_number FROM task_instance "
                "WHERE task_id = 'deliver' AND state = 'running' AND hostname IS NOT NULL"):
            owner = f"{dag_id}/{run_id}/{task_id}/{map_index}/{try_number}"
            held = cluster.eventlog("SELECT event_id FROM moodle_sync_event_log WHERE locked_by = %s AND "
                                    "locked_until > UTC_TIMESTAMP() AND status IN ('pending', 'failed')", (owner,))
            if held and len(receiver.state.received) > requests_before:
                return hostname, {r[0] for r in held}
        return None

    found = []
    assert wait_until(lambda: cluster.exited() or found.append(leased_by_running_task()) or found[-1],
                      timeout=PHASE_DEADLINE, interval=1), (cluster.statuses(), cluster.logs(*everyone))
    victim, held = found[-1]
    cluster.kill_tree(victim)
    receiver.state.control()  # the survivor need not be slow
    survivor = ({*WORKERS} - {victim}).pop()
    new_events = {r[0] for r in cluster.eventlog("SELECT event_id FROM moodle_sync_event_log")} - known
    assert len(new_events) > 100, len(new_events)  # one user_updated per changed user

    def all_sent():
        return {r[0] for r in cluster.eventlog("SELECT event_id FROM moodle_sync_event_log WHERE status = 'sent'")}

    alive = [n for n in everyone if n != victim]
    done = wait_until(lambda: {n for n in cluster.exited() if n != victim} or new_events <= all_sent(),
                      timeout=PHASE_DEADLINE, interval=3)
    assert done and not {n for n in cluster.exited() if n != victim}, (cluster.statuses(), cluster.logs(*alive))
    after = [d["event_id"] for d in receiver.state.deliveries[before:]]
    assert set(after) == new_events  # none lost, nothing but these events
    assert held <= set(after)  # the dead worker's leased events were delivered after its lease ended
    assert not set(after) & sent  # phase 2's events are never sent again
    # a re-send is the same event under the same id, and only one the dead worker held
    assert {i for i in after if after.count(i) > 1} <= held
    late = cluster.meta("SELECT DISTINCT hostname FROM task_instance WHERE task_id = 'deliver' AND state = 'success' "
                        "AND end_date > now() - interval '10 minutes'")
    assert (survivor,) in late, late

    # 4. a backfill of the users' history DAG through the scheduler, as the README says to run one: a run per day,
    # nothing re-sent over the synced days, and the watermark stays the scheduled syncs'
    cluster.cli("dags", "pause", "moodle_sync_users")
    # no users sync under way (the killed deliver may still wait for its retry: it writes no event, no watermark)
    assert wait_until(lambda: not cluster.meta(
        "SELECT 1 FROM task_instance WHERE dag_id = 'moodle_sync_users' AND task_id = 'sync' AND state IN "
        "('scheduled', 'queued', 'running', 'up_for_retry')"), timeout=PHASE_DEADLINE, interval=3)
    mark = cluster.eventlog("SELECT synced_until, dag_run_id FROM moodle_sync_watermark WHERE entity_type = 'user'")
    count = sum(cluster.statuses().values())
    cluster.cli("dags", "unpause", "moodle_sync_users_history")
    cluster.cli("backfill", "create", "--dag-id", "moodle_sync_users_history", "--from-date", "2026-11-26",
                "--to-date", "2026-11-27")
    backfilled = wait_until(lambda: {n for n in cluster.exited() if n != victim} or cluster.meta(
        "SELECT count(*) FROM dag_run WHERE dag_id = 'moodle_sync_users_history' AND run_type = 'backfill' "
        "AND state IN ('success', 'failed')")[0][0] == 2, timeout=PHASE_DEADLINE, interval=3)
    assert backfilled and not {n for n in cluster.exited() if n != victim}, cluster.logs(*alive)
    runs = cluster.meta("SELECT data_interval_start, state FROM dag_run WHERE dag_id = 'moodle_sync_users_history' "
                        "AND run_type = 'backfill' ORDER BY data_interval_start")
    assert [(start.date().isoformat(), state) for start, state in runs] == [("2026-11-26", "success"),
                                                                           ("2026-11-27", "success")]
    assert sum(cluster.statuses().values()) == count  # the synced days hold no change not yet emitted
    assert cluster.eventlog("SELECT synced_until, dag_run_id FROM moodle_sync_watermark "
                            "WHERE entity_type = 'user'") == mark and mark[0][1].startswith("scheduled__"), mark
