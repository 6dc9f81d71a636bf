"""The Airflow DAG moodle_sync_monitor: operational alerts on the event log's health (every 5 minutes).

Built in plugins/moodle_sync/dag_factory.py; the checks are in plugins/moodle_sync/monitor.py.
"""

from moodle_sync.dag_factory import build_monitor_dag

moodle_sync_monitor = build_monitor_dag()
