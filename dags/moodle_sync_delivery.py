"""The Airflow DAGs that keep delivery going: moodle_sync_retry (every minute) and moodle_sync_replay (manual).

Both are built in plugins/moodle_sync/dag_factory.py and share the delivery code of the entity DAGs.
"""

from moodle_sync.dag_factory import build_replay_dag, build_retry_dag

moodle_sync_retry = build_retry_dag()
moodle_sync_replay = build_replay_dag()
