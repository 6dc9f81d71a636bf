"""The operator's page through Airflow's own api-server app (plugin loaded from plugins/, Airflow's middlewares,
the simple auth manager with real logins) and FastAPI's test client, against real event logs on MariaDB and
PostgreSQL: who may see and do what (401, 403), the pages and JSON, and replays that become real runs of the
replay DAG which then really requeue the events."""

from __future__ import annotations

import datetime as dt
import json
import os
import re

import pytest

from conftest import fresh_database, scratch_db
from support.helpers import add_events, events, operated_log
from moodle_sync.ops.health import STATUSES, snapshot

PREFIX = "/moodle-sync"
PASSWORDS = {"admin": "pw-admin-1", "operator": "pw-operator-1", "watcher": "pw-watcher-1", "nobody": "pw-nobody-1"}
USERS = "admin:admin,operator:user,watcher:viewer,nobody:"  # nobody: a user with no role at all
PII = "pii.marker@example.org"


def auth_env(monkeypatch, tmp_path) -> None:
    """The simple auth manager (what Airflow 3.3 ships) with four users and known passwords."""
    passwords = tmp_path / "passwords.json"
    passwords.write_text(json.dumps(PASSWORDS))
    monkeypatch.setenv("AIRFLOW__CORE__AUTH_MANAGER",
                       "airflow.api_fastapi.auth.managers.simple.simple_auth_manager.SimpleAuthManager")
    monkeypatch.setenv("AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS", USERS)
    monkeypatch.setenv("AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE", str(passwords))
    monkeypatch.setenv("AIRFLOW__API_AUTH__JWT_SECRET", "ui-tests-jwt-secret-0123456789abcdef")


@pytest.fixture(scope="module")
def client(airflow_dags, tmp_path_factory):
    from fastapi.testclient import TestClient

    from airflow.api_fastapi.app import create_app, purge_cached_app

    with pytest.MonkeyPatch.context() as mp:
        auth_env(mp, tmp_path_factory.mktemp("auth"))
        purge_cached_app()
        with TestClient(create_app(), base_url="http://testserver") as c:
            yield c
        purge_cached_app()


@pytest.fixture(scope="module")
def tokens(client):
    """A JWT per user, from the auth manager's own login endpoint."""
    out = {}
    for user, password in PASSWORDS.items():
        r = client.post("/auth/token", json={"username": user, "password": password})
        assert r.status_code == 201, r.text
        out[user] = r.json()["access_token"]
    return out


def bearer(token):
    return {"Authorization": f"Bearer {token}"}


def every_route():
    """(method, path) of every route of the plugin app, path parameters filled in."""
    from moodle_sync.ui.app import create_app

    for route in create_app().routes:
        for method in sorted(getattr(route, "methods", None) or []):
            if method == "HEAD":
                continue
            yield method, PREFIX + re.sub(r"\{[^}]+\}", "733439cb-d281-5f85-afff-b1ee12369c03", route.path)


ROUTES = list(every_route())


def call(client, method, path, **kw):
    if method == "POST":
        kw.setdefault("json", {"event_id": "733439cb-d281-5f85-afff-b1ee12369c03", "since": "2026-01-01T00:00:00Z"})
    return client.request(method, path, **kw)


# --- who may do what ---------------------------------------------------------------------------------------

def test_the_app_has_the_routes_we_guard():
    paths = {p for _, p in ROUTES}
    assert {PREFIX + "/", PREFIX + "/api/health", PREFIX + "/api/replay/event", PREFIX + "/api/replay/dead",
            PREFIX + "/events", PREFIX + "/stats"} <= paths
    assert len(ROUTES) >= 12


@pytest.mark.parametrize("method, path", ROUTES)
def test_every_route_answers_401_without_a_token(client, method, path):
    r = call(client, method, path)
    assert r.status_code == 401, r.text
    assert r.headers["www-authenticate"] == "Bearer"


@pytest.mark.parametrize("method, path", ROUTES)
def test_every_route_answers_403_to_a_user_without_plugin_access(client, tokens, method, path):
    r = call(client, method, path, headers=bearer(tokens["nobody"]))
    assert r.status_code == 403, r.text
    assert "plugins" in r.json()["detail"]


def test_bad_expired_and_foreign_tokens_get_401(client, tokens):
    from airflow.api_fastapi.app import get_auth_manager
    from airflow.api_fastapi.auth.managers.simple.user import SimpleAuthManagerUser

    am = get_auth_manager()
    expired = am.generate_jwt(SimpleAuthManagerUser(username="admin", role="admin"), expiration_time_in_seconds=-60)
    good = tokens["admin"]
    tampered = good[:-4] + ("AAAA" if not good.endswith("AAAA") else "BBBB")
    for token in ("garbage", expired, tampered):
        r = client.get(PREFIX + "/api/health", headers=bearer(token))
        assert r.status_code == 401, (token, r.text)
        assert r.json()["detail"].startswith("Invalid or expired token")
    # a browser without a session gets a page that links to Airflow's login
    r = client.get(PREFIX + "/", headers={"Accept": "text/html"})
    assert r.status_code == 401 and "Sign in to Airflow" in r.text and "/auth/login" in r.text


def test_a_viewer_reads_but_may_not_replay(client, tokens, store):
    operated_log_without_moodle(store)
    assert client.get(PREFIX + "/api/health", headers=bearer(tokens["watcher"])).status_code == 200
    page = client.get(PREFIX + "/", headers=bearer(tokens["watcher"]))
    assert page.status_code == 200 and "read only" in page.text
    assert re.search(r'<button type="submit"\s+disabled>Replay</button>', page.text)
    dead = events_with(store, "dead")[0]
    for path, body in (("/api/replay/event", {"event_id": dead}), ("/api/replay/dead", {"since": "2026-01-01T00:00:00Z"})):
        r = client.post(PREFIX + path, json=body, headers=bearer(tokens["watcher"]))
        assert r.status_code == 403 and "moodle_sync_replay" in r.json()["detail"], r.text
    assert status_of(store, dead) == "dead"


def test_the_ui_session_cookie_is_accepted(client, tokens, store):
    """In the browser the Airflow UI's own `_token` cookie authenticates (no header)."""
    client.cookies.set("_token", tokens["watcher"])
    try:
        r = client.get(PREFIX + "/api/health")
        assert r.status_code == 200 and r.json()["status"] in ("ok", "degraded", "failing")
    finally:
        client.cookies.clear()


# --- the data ----------------------------------------------------------------------------------------------



def operated_log_without_moodle(store):
    from demo.receiver import Receiver

    with Receiver(token="test-token-123") as receiver:
        by_status = operated_log(store, receiver)
    add_events(store, "user", [(99, 1)], payload={"userid": 99, "username": "pii-marker", "email": PII})
    return by_status


def events_with(store, status):
    return [e["event_id"] for e in events(store) if e["status"] == status]


def status_of(store, event_id):
    return next(e["status"] for e in events(store) if e["event_id"] == event_id)


def test_health_json_and_page_show_the_snapshot(client, tokens, store):
    operated_log_without_moodle(store)
    r = client.get(PREFIX + "/api/health", headers=bearer(tokens["watcher"]))
    assert r.status_code == 200
    got, expected = r.json(), snapshot(store)
    for entity in ("user", "enrolment", "grade"):
        for key in ("pending", "failed", "dead", "sent", "last_success_at", "last_run_id", "watermark"):
            assert got["entities"][entity][key] == expected["entities"][entity][key], (entity, key)
    assert got["status"] == expected["status"] == "failing"
    assert got["entities"]["user"]["failed"] == 3 and got["entities"]["grade"]["dead"] == 1
    # monitors that only read the HTTP status
    assert client.get(PREFIX + "/api/health?fail_on=failing", headers=bearer(tokens["watcher"])).status_code == 503
    assert client.get(PREFIX + "/api/health?fail_on=nonsense", headers=bearer(tokens["watcher"])).status_code == 422

    page = client.get(PREFIX + "/", headers=bearer(tokens["operator"]))
    assert page.status_code == 200
    assert page.headers["x-frame-options"] == "SAMEORIGIN" and page.headers["cache-control"] == "no-store"
    rows = dict(re.findall(r'<tr data-entity="(\w+)">(.*?)</tr>', page.text, re.S))
    assert set(rows) == {"user", "enrolment", "grade"}
    cells = lambda row: [re.sub(r"<[^>]+>", "", c).strip() for c in re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)]
    user = cells(rows["user"])
    assert user[4:8] == ["1", "3", "0", "3"]  # pending (the PII-marker event), failed, dead, sent
    assert cells(rows["grade"])[6] == "1"
    assert 'class="badge failing"' in page.text and "grade: 1 dead events" in page.text
    assert "may replay" in page.text and PII not in page.text


def test_the_last_failed_run_of_an_entity_shows_at_its_first_failure_without_personal_data(client, tokens, store,
                                                                                          monkeypatch):
    import types

    from moodle_sync.ops.alerts import SyncRetryNotifier

    monkeypatch.setenv("MOODLE_SYNC_ALERT_CONN_IDS", "")  # alerts only logged: the page is what is tested here
    ti = types.SimpleNamespace(dag_id="moodle_sync_users", task_id="sync", try_number=1, map_index=-1,
                               run_id="scheduled__1", log_url="http://airflow/log")
    # the first try fails: the retry callback records it, long before the 3-interval "stalled"
    SyncRetryNotifier()({"ti": ti, "run_id": "scheduled__1",
                         "exception": RuntimeError("(1062, \"Duplicate entry 'jane.doe@school.test' for key 'k'\")")})

    got = client.get(PREFIX + "/api/health", headers=bearer(tokens["watcher"])).json()
    failure = got["entities"]["user"]["last_failure"]
    assert failure["run_id"] == "scheduled__1" and failure["task_id"] == "sync" and failure["try_number"] == 1
    assert failure["final"] is False and got["entities"]["grade"]["last_failure"] is None
    assert failure["error"] == "RuntimeError: (1062, \"Duplicate entry '...' for key '...'\")"  # values elided
    assert got["status"] == "degraded" and any(r.startswith("user: moodle_sync_users.sync failed at ")
                                                and r.endswith("(try 1, retrying): " + failure["error"])
                                                for r in got["reasons"]), got["reasons"]

    page = client.get(PREFIX + "/", headers=bearer(tokens["operator"]))
    row = dict(re.findall(r'<tr data-entity="(\w+)">(.*?)</tr>', page.text, re.S))["user"]
    cell = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", re.search(r'<td class="last-failure">(.*?)</td>', row, re.S)[1]))
    assert "sync try 1 (retrying)" in cell and "Duplicate entry &#39;...&#39; for key" in cell and "scheduled__1" in cell
    assert "jane.doe" not in page.text


def test_statistics_count_what_the_log_holds_and_latency_percentiles(client, tokens, store):
    operated_log_without_moodle(store)
    r = client.get(PREFIX + "/api/stats?hours=6", headers=bearer(tokens["watcher"]))
    assert r.status_code == 200
    stats = r.json()
    logged = events(store)
    assert stats["totals"] == {s: sum(e["status"] == s for e in logged) for s in STATUSES}
    assert sum(sum(v) for v in stats["by_type"].values()) == len(logged)
    assert set(stats["by_type"]) == {e["event_type"] for e in logged}
    hour = dt.datetime.now(dt.timezone.utc).replace(minute=0, second=0, microsecond=0)
    assert stats["bucket_seconds"] == 3600 and len(stats["buckets"]) == 6  # the last one is the current hour
    assert stats["buckets"][-1] in (hour.isoformat(), (hour - dt.timedelta(hours=1)).isoformat())
    latency = stats["latency"]
    assert latency["all"]["count"] == 4 and latency["user"]["count"] == 3 and latency["grade"]["count"] == 1
    sent = store.query("SELECT created_at, sent_at FROM moodle_sync_event_log WHERE status = 'sent'")
    store.commit()
    slowest = max((s - c).total_seconds() * 1000 for c, s in sent)
    assert latency["all"]["p50_ms"] <= latency["all"]["p90_ms"] <= latency["all"]["p99_ms"]
    assert latency["all"]["p99_ms"] <= max(slowest * 1.11, 1.11) and latency["all"]["max_ms_below"] >= slowest
    assert client.get(PREFIX + "/api/stats?hours=0", headers=bearer(tokens["watcher"])).status_code == 400

    page = client.get(PREFIX + "/stats?hours=24", headers=bearer(tokens["watcher"]))
    assert page.status_code == 200 and page.text.count("<svg") == 3
    assert "user.created" in page.text and 'id="latency"' in page.text


def test_event_browser_searches_and_shows_attempts_but_never_the_payload(client, tokens, store):
    by_status = operated_log_without_moodle(store)
    h = bearer(tokens["watcher"])
    failed = client.get(PREFIX + "/api/events?status=failed", headers=h).json()["events"]
    assert sorted(e["event_id"] for e in failed) == sorted(by_status["failed"])
    assert all(e["last_http_status"] == 500 and e["attempts"] == 1 for e in failed)
    by_key = client.get(PREFIX + "/api/events?entity_type=grade&entity_key=7:1", headers=h).json()["events"]
    assert [(e["entity_key"], e["event_type"]) for e in by_key] == [("7:1", "grade.created")]
    by_type = client.get(PREFIX + "/api/events?event_type=enrolment.created", headers=h).json()["events"]
    assert len(by_type) == 2 and [e["id"] for e in by_type] == sorted((e["id"] for e in by_type), reverse=True)
    page1 = client.get(PREFIX + "/api/events?limit=5", headers=h).json()["events"]
    page2 = client.get(PREFIX + f"/api/events?limit=5&before_id={page1[-1]['id']}", headers=h).json()["events"]
    assert len(page1) == 5 and page2 and page2[0]["id"] < page1[-1]["id"]
    assert client.get(PREFIX + "/api/events?status=lost", headers=h).status_code == 400

    [dead] = by_status["dead"]
    detail = client.get(PREFIX + f"/api/events/{dead}", headers=h).json()
    assert detail["status"] == "dead" and detail["last_http_status"] == 400
    assert [(a["attempt"], a["http_status"], a["outcome"], a["error_class"]) for a in detail["attempt_rows"]] == [
        (1, 400, "dead", "http_4xx")]
    assert client.get(PREFIX + "/api/events/733439cb-d281-5f85-afff-b1ee12369c03", headers=h).status_code == 404
    assert client.get(PREFIX + "/api/events/not-a-uuid", headers=h).status_code == 400

    pages = [client.get(PREFIX + f"/events/{dead}", headers=h), client.get(PREFIX + "/events?entity_type=user", headers=h),
             client.get(PREFIX + f"/events?event_id={dead}", headers=h)]
    assert all(p.status_code == 200 for p in pages)
    assert "http_4xx" in pages[0].text and "Replay this event" in pages[0].text
    assert dead in pages[2].text
    bad = client.get(PREFIX + "/events?event_id=nope", headers=h)
    assert bad.status_code == 400 and "not a UUID" in bad.text
    everything = client.get(PREFIX + "/api/events?limit=500", headers=h).json()["events"]
    assert len(everything) == len(events(store))
    assert all("payload" not in e for e in everything) and "payload" not in detail
    for response in pages + [client.get(PREFIX + "/api/events?limit=500", headers=h)]:
        assert PII not in response.text and "pii-marker" not in response.text


# --- actions -----------------------------------------------------------------------------------------------

def dag_run(run_id):
    from sqlalchemy import select

    from airflow.models import DagRun
    from airflow.models.log import Log
    from airflow.utils.session import create_session

    with create_session() as session:
        run = session.scalar(select(DagRun).where(DagRun.run_id == run_id))
        audit = session.scalar(select(Log).where(Log.run_id == run_id, Log.event == "moodle_sync_ui.replay"))
        return ({"dag_id": run.dag_id, "conf": run.conf, "user": run.triggering_user_name,
                 "type": str(getattr(run.run_type, "value", run.run_type)),
                 "state": str(getattr(run.state, "value", run.state))},
                {"owner": audit.owner, "extra": json.loads(audit.extra)})


def replay_dag_paused():
    from airflow.models import DagModel
    from airflow.utils.session import create_session

    with create_session() as session:
        return DagModel.get_current("moodle_sync_replay", session=session).is_paused


def run_the_replay_task(conf):
    """What the queued run's task does, with its params (the DAG's defaults overlaid by the run's conf)."""
    from airflow.dag_processing.dagbag import DagBag

    from moodle_sync.config import EVENTLOG_CONN_ID, WEBHOOK_CONN_ID
    from moodle_sync.ops.replay import run_replay

    dag = DagBag(dag_folder=os.environ["AIRFLOW__CORE__DAGS_FOLDER"]).dags["moodle_sync_replay"]
    params = {key: dag.params[key] for key in dag.params} | conf
    return run_replay(EVENTLOG_CONN_ID, WEBHOOK_CONN_ID, params)


def test_replay_one_event_queues_a_replay_dag_run_that_requeues_it(client, tokens, store):
    by_status = operated_log_without_moodle(store)
    [dead] = by_status["dead"]
    h = bearer(tokens["operator"])
    r = client.post(PREFIX + "/api/replay/event", json={"event_id": dead}, headers=h)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["matched"] == 1 and body["dag_paused"] is replay_dag_paused()  # the page warns when it is
    run, audit = dag_run(body["dag_run_id"])
    assert run == {"dag_id": "moodle_sync_replay", "conf": {"event_ids": [dead], "dry_run": False},
                   "user": "operator", "type": "manual", "state": "queued"}
    assert audit == {"owner": "operator", "extra": {"event_ids": [dead], "dry_run": False}}
    assert status_of(store, dead) == "dead"  # nothing changes until the run runs

    assert run_the_replay_task(run["conf"])["requeued"] == 1
    assert status_of(store, dead) == "pending"

    sent = by_status["sent"][0]
    assert client.post(PREFIX + "/api/replay/event", json={"event_id": sent}, headers=h).status_code == 409
    assert client.post(PREFIX + "/api/replay/event", json={"event_id": "733439cb-d281-5f85-afff-b1ee12369c03"},
                       headers=h).status_code == 404
    assert client.post(PREFIX + "/api/replay/event", json={"event_id": "x"}, headers=h).status_code == 400
    # a cross-site HTML form cannot post JSON: anything else is refused before any work
    form = client.post(PREFIX + "/api/replay/event", data={"event_id": dead}, headers=h)
    assert form.status_code == 415


def test_replay_dead_since_previews_then_queues_one_run_for_all(client, tokens, store):
    operated_log_without_moodle(store)
    from moodle_sync.delivery.webhook import WebhookSettings, deliver_due
    from demo.receiver import Receiver

    with Receiver(token="test-token-123") as receiver:  # a second dead event, a user this time
        add_events(store, "user", [(42, 1)])
        receiver.state.control(fail_status=422, fail_next=1)
        deliver_due(store, WebhookSettings(base_url=receiver.url, token="test-token-123"), entity="user", owner="t")
    dead = events_with(store, "dead")
    assert len(dead) == 2
    since = (dt.datetime.now(dt.timezone.utc) - dt.timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    h = bearer(tokens["operator"])
    preview = client.get(PREFIX + "/api/replay/dead", params={"since": since}, headers=h).json()
    assert preview["matched"] == 2 and preview["can_replay"] is True
    assert client.get(PREFIX + "/api/replay/dead", params={"since": since, "entity_type": "grade"},
                      headers=h).json()["matched"] == 1
    future = (dt.datetime.now(dt.timezone.utc) + dt.timedelta(hours=1)).isoformat()
    assert client.post(PREFIX + "/api/replay/dead", json={"since": future}, headers=h).status_code == 409
    assert client.post(PREFIX + "/api/replay/dead", json={"since": "yesterday"}, headers=h).status_code == 400

    r = client.post(PREFIX + "/api/replay/dead", json={"since": since}, headers=h)
    assert r.status_code == 200, r.text
    run, _ = dag_run(r.json()["dag_run_id"])
    assert run["conf"] == {"status": "dead", "since": since.replace("Z", "+00:00"), "entity_type": None,
                           "dry_run": False}
    assert run_the_replay_task(run["conf"])["requeued"] == 2
    assert all(status_of(store, e) == "pending" for e in dead)


# --- failure modes -----------------------------------------------------------------------------------------

@pytest.mark.postgres  # a database it makes on PostgreSQL
def test_an_event_log_without_tables_or_connection_gives_a_clear_503(client, tokens, monkeypatch):
    h = bearer(tokens["watcher"])
    conn = fresh_database("postgres", scratch_db("mzs_test_ui_empty"), "moodle_sync_db")  # no migration ran
    conn.close()
    r = client.get(PREFIX + "/api/health", headers=h)
    assert r.status_code == 503 and "no tables yet" in r.json()["detail"]
    monkeypatch.delenv("AIRFLOW_CONN_MOODLE_SYNC_DB")
    r = client.get(PREFIX + "/api/health", headers=h)
    assert r.status_code == 503 and "moodle_sync_db" in r.json()["detail"]
    page = client.get(PREFIX + "/", headers={**h, "Accept": "text/html"})
    assert page.status_code == 503 and "AIRFLOW_CONN_MOODLE_SYNC_DB" in page.text


def test_airflow_lists_the_plugin_with_its_app_and_nav_entry(client, tokens):
    from airflow import plugins_manager

    plugins, errors = plugins_manager._get_plugins()
    assert errors == {}
    # plugins/.airflowignore: only the plugin file is loaded as a plugin module, not the package's modules
    assert [str(p.source) for p in plugins] == ["$PLUGINS_FOLDER/moodle_sync_ui.py"]
    listed = client.get("/api/v2/plugins", headers=bearer(tokens["admin"])).json()["plugins"]
    [ours] = [p for p in listed if p["name"] == "moodle_sync_ui"]
    assert [a["url_prefix"] for a in ours["fastapi_apps"]] == [PREFIX]
    [view] = ours["external_views"]
    assert (view["href"], view["url_route"], view["destination"]) == ("moodle-sync/", "moodle-sync", "nav")
    icon = client.get(PREFIX + "/static/icon.svg", headers=bearer(tokens["watcher"]))
    assert icon.status_code == 200 and icon.headers["content-type"].startswith("image/svg+xml")
