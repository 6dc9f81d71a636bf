"""The Airflow DAG moodle_sync_reconcile (daily): the safety net for deletes and changes the syncs missed.

Built in plugins/moodle_sync/dag_factory.py from the same entity definitions as the sync DAGs.
"""

from moodle_sync.dag_factory import build_reconcile_dag
from moodle_sync.entities import ENTITIES

moodle_sync_reconcile = build_reconcile_dag(ENTITIES)
