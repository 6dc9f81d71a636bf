"""The Airflow DAG that keeps the event log lean and its payloads under the newest key: moodle_sync_maintenance.

Built in plugins/moodle_sync/dag_factory.py; the work itself is in plugins/moodle_sync/maintenance.py.
"""

from moodle_sync.dag_factory import build_maintenance_dag

moodle_sync_maintenance = build_maintenance_dag()
