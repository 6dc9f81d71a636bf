"""Airflow plugin: the moodle-sync operator's page (health, statistics, event browser, replay).

The api-server mounts the FastAPI app at /moodle-sync (JSON for monitors: /moodle-sync/api/health) and the
UI shows it in its navigation as "Moodle sync" (/plugin/moodle-sync, the page in a frame). The app checks
every request against Airflow's auth manager itself: Airflow does not protect plugin apps.
"""

from airflow.plugins_manager import AirflowPlugin

from moodle_sync.ui.app import URL_PREFIX, app


class MoodleSyncUIPlugin(AirflowPlugin):
    name = "moodle_sync_ui"
    fastapi_apps = [{"app": app, "url_prefix": URL_PREFIX, "name": "moodle-sync operator's page"}]
    # hrefs are relative to the UI's <base href> (the api-server's root, [api] base_url included)
    external_views = [{
        "name": "Moodle sync",
        "href": URL_PREFIX.lstrip("/") + "/",
        "icon": URL_PREFIX.lstrip("/") + "/static/icon.svg",
        "url_route": "moodle-sync",
        "destination": "nav",
        "nav_top_level": True,
    }]
