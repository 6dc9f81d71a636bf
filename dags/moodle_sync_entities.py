"""The Airflow DAGs that sync Moodle: moodle_sync_users, moodle_sync_enrolments, moodle_sync_grades.

All three come from one factory and the entity definitions in plugins/moodle_sync/entities.py.
"""

from moodle_sync.dag_factory import build_entity_dag
from moodle_sync.entities import ENTITIES

for _spec in ENTITIES:
    globals()[_spec.dag_id] = build_entity_dag(_spec)
