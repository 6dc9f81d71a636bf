"""The operator's page: a FastAPI app that the Airflow plugin ``plugins/moodle_sync_ui.py`` mounts in the
api-server (health, statistics, event browser, replay). Airflow does not guard plugin apps: ``security``
does, on every route."""
