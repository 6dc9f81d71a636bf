"""The operator's page in a real browser: a real `airflow api-server` (started once for this module) serving
Airflow's UI with the plugin, headless Chromium (Debian's `chromium`) driven over the DevTools protocol with
the session cookie a login leaves, assertions on the rendered page, screenshots in artifacts/ for CI, and
a replay clicked in the page that becomes a run of the replay DAG."""

from __future__ import annotations

import base64
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from conftest import ROOT, airflow_cli, fresh_database, scratch_db, wait_until
from support.helpers import operated_log

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
ARTIFACTS = ROOT / "artifacts"
PASSWORDS = {"operator": "pw-operator-2", "watcher": "pw-watcher-2"}

pytestmark = [pytest.mark.slow]  # the api-server and a browser


@pytest.fixture(autouse=True)
def _chromium():
    if CHROMIUM is None:  # fail, never skip: make test installs it (scripts/bootstrap.sh)
        pytest.fail("chromium is not installed: run `bash scripts/bootstrap.sh packages` as root "
                    "(Debian: apt-get install chromium)")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def http(method: str, url: str, body: dict | None = None, headers: dict | None = None):
    request = urllib.request.Request(url, method=method, data=json.dumps(body).encode() if body else None,
                                     headers={"Content-Type": "application/json", **(headers or {})})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as exc:
        return exc.code, None
    except (urllib.error.URLError, ConnectionError):  # not listening (yet)
        return None, None


def stop(process: subprocess.Popen) -> None:
    """Stop a process this module started, and the workers it forked (its own process group)."""
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)


@pytest.fixture(scope="module")
def event_log():
    """A MariaDB event log with every status, attempts and a run log, for the server to show."""
    from moodle_sync.outbox import eventlog
    from demo.receiver import Receiver

    previous = os.environ.get("AIRFLOW_CONN_MOODLE_SYNC_DB")
    store = fresh_database("mysql", scratch_db("mzs_test_ui_browser"), "moodle_sync_db")
    eventlog.migrate(store)
    with Receiver(token="test-token-123") as receiver:
        by_status = operated_log(store, receiver)
    uri = os.environ["AIRFLOW_CONN_MOODLE_SYNC_DB"]
    yield {"store": store, "by_status": by_status, "uri": uri}
    store.close()
    if previous is not None:
        os.environ["AIRFLOW_CONN_MOODLE_SYNC_DB"] = previous


@pytest.fixture(scope="module")
def server(airflow_dags, event_log, tmp_path_factory):
    """`airflow api-server` on a free port, the simple auth manager with two users; yields its base URL."""
    home = tmp_path_factory.mktemp("api-server")
    passwords = home / "passwords.json"
    passwords.write_text(json.dumps(PASSWORDS))
    port = free_port()
    env = dict(os.environ,
               AIRFLOW__CORE__AUTH_MANAGER="airflow.api_fastapi.auth.managers.simple.simple_auth_manager.SimpleAuthManager",
               AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS="operator:user,watcher:viewer",
               AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE=str(passwords),
               AIRFLOW__API_AUTH__JWT_SECRET="browser-test-jwt-secret-0123456789abcdef-0123456789abcdef",
               AIRFLOW__API__EXPOSE_CONFIG="False")
    # as an operator would: the connection lives in Airflow's metadata DB (Admin > Connections), not in the env
    env.pop("AIRFLOW_CONN_MOODLE_SYNC_DB", None)
    airflow_cli("connections", "delete", "moodle_sync_db", check=False)
    airflow_cli("connections", "add", "moodle_sync_db", "--conn-uri", event_log["uri"])
    log = open(home / "api-server.log", "w")
    process = subprocess.Popen([os.path.join(os.path.dirname(sys.executable), "airflow"), "api-server",
                                "--host", "127.0.0.1", "--port", str(port), "--workers", "1"],
                               env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    try:
        up = wait_until(lambda: process.poll() is None and http("GET", base + "/api/v2/monitor/health")[0] == 200,
                        timeout=180, interval=0.5)
        assert up, f"api-server did not start: {(home / 'api-server.log').read_text()[-3000:]}"
        yield base
    finally:
        stop(process)
        log.close()


@pytest.fixture(scope="module")
def tokens(server):
    out = {}
    for user, password in PASSWORDS.items():
        status, body = http("POST", server + "/auth/token", {"username": user, "password": password})
        assert status == 201, status
        out[user] = body["access_token"]
    return out


class Browser:
    """Headless Chromium over the DevTools protocol (one page)."""

    def __init__(self):
        from websockets.sync.client import connect

        self.profile = tempfile.mkdtemp(prefix="mzs-chromium-")
        self.process = subprocess.Popen(
            [CHROMIUM, "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
             "--no-first-run", "--no-default-browser-check", "--remote-debugging-port=0", "--hide-scrollbars",
             f"--user-data-dir={self.profile}", "--window-size=1440,1000", "about:blank"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        port_file = Path(self.profile) / "DevToolsActivePort"
        assert wait_until(lambda: port_file.is_file() and len(port_file.read_text().split()) >= 2, timeout=30), \
            "chromium did not open its DevTools port"
        port = port_file.read_text().split()[0]
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=10) as response:
            page = next(t for t in json.loads(response.read()) if t["type"] == "page")
        self.ws = connect(page["webSocketDebuggerUrl"], max_size=None, open_timeout=10)
        self.next_id = 0
        self.call("Emulation.setDeviceMetricsOverride", width=1440, height=1000, deviceScaleFactor=1, mobile=False)

    def call(self, method: str, **params):
        self.next_id += 1
        self.ws.send(json.dumps({"id": self.next_id, "method": method, "params": params}))
        while True:
            message = json.loads(self.ws.recv(timeout=60))
            if message.get("id") == self.next_id:
                if "error" in message:
                    raise RuntimeError(f"{method}: {message['error']}")
                return message["result"]

    def evaluate(self, expression: str):
        result = self.call("Runtime.evaluate", expression=expression, returnByValue=True, awaitPromise=True)
        if "exceptionDetails" in result:
            raise RuntimeError(result["exceptionDetails"])
        return result["result"].get("value")

    def open(self, url: str) -> None:
        self.call("Page.navigate", url=url)

    def wait_for(self, expression: str, timeout: float = 60):
        assert wait_until(lambda: bool(self.evaluate(expression)), timeout=timeout, interval=0.25), \
            f"timed out waiting for: {expression}\n{self.evaluate('document.body.innerText')[:3000]}"
        return self.evaluate(expression)

    def screenshot(self, name: str) -> Path:
        ARTIFACTS.mkdir(exist_ok=True)
        path = ARTIFACTS / name
        path.write_bytes(base64.b64decode(self.call("Page.captureScreenshot", format="png")["data"]))
        print(f"screenshot: {path}")
        return path

    def close(self) -> None:
        try:
            self.ws.close()
        finally:
            stop(self.process)
            shutil.rmtree(self.profile, ignore_errors=True)


@pytest.fixture(scope="module")
def browser():
    b = Browser()
    yield b
    b.close()


def sign_in(browser, server, token):
    """What the login page leaves behind: the `_token` cookie of the Airflow UI's session."""
    browser.call("Network.clearBrowserCookies")
    browser.call("Network.setCookie", name="_token", value=token, url=server + "/", path="/")


FRAME = "document.querySelector('iframe') && document.querySelector('iframe').contentDocument"


def test_the_page_in_airflows_navigation_shows_the_health_of_each_entity(server, tokens, browser, event_log):
    sign_in(browser, server, tokens["watcher"])
    browser.open(server + "/plugin/moodle-sync")
    # the UI lists the plugin in its navigation and frames the page
    browser.wait_for("!!document.querySelector('a[href$=\"plugin/moodle-sync\"], a[href*=\"plugin/moodle-sync\"]')")
    rows = browser.wait_for(f"(() => {{ const d = {FRAME}; return d && Array.from("
                            "d.querySelectorAll('#entities tr[data-entity]')).map(r => r.dataset.entity) })()")
    assert rows == ["user", "enrolment", "grade"]
    cells = browser.evaluate(f"(() => {{ const d = {FRAME}; return Array.from("
                             "d.querySelectorAll('#entities tr[data-entity=\"user\"] td')).map(c => c.innerText.trim()) })()")
    assert cells[4:8] == ["0", "3", "0", "3"]  # pending, failed, dead, sent of the users
    assert browser.evaluate(f"{FRAME}.querySelector('#status').innerText") == "failing"
    assert "grade: 1 dead events" in browser.evaluate(f"{FRAME}.querySelector('#overall').innerText")
    assert "read only" in browser.evaluate(f"{FRAME}.querySelector('header').innerText")
    browser.screenshot("ui-screenshot.png")


def test_statistics_render_their_charts(server, tokens, browser):
    sign_in(browser, server, tokens["watcher"])
    browser.open(server + "/moodle-sync/stats?hours=24")
    assert browser.wait_for("document.querySelectorAll('svg.chart rect').length") > 3
    assert "user.created" in browser.evaluate("document.querySelector('#chart-type').textContent")
    assert browser.evaluate("document.querySelector('#latency tbody tr').innerText").startswith("all")
    browser.screenshot("ui-statistics.png")


def test_replay_clicked_in_the_page_queues_a_replay_dag_run(server, tokens, browser, event_log):
    from sqlalchemy import select

    from airflow.models import DagRun
    from airflow.utils.session import create_session

    [dead] = event_log["by_status"]["dead"]
    sign_in(browser, server, tokens["watcher"])
    browser.open(server + f"/moodle-sync/events/{dead}")
    browser.wait_for("!!document.querySelector('#attempts tbody tr')")
    assert "http_4xx" in browser.evaluate("document.querySelector('#attempts').innerText")
    assert browser.evaluate("document.querySelector('[data-replay-event]').disabled") is True  # a viewer

    sign_in(browser, server, tokens["operator"])
    browser.open(server + "/moodle-sync/")  # "replay all dead since": the preview counts them
    browser.wait_for("!!document.querySelector('#replay-dead')")
    browser.evaluate("document.querySelector('#replay-dead [name=since]').value = '2026-01-01T00:00'; "
                     "document.querySelector('#replay-dead [name=preview]').click(); true")
    assert browser.wait_for("document.querySelector('#notice').innerText").startswith(
        "1 dead event(s) created since 2026-01-01T00:00:00+00:00")

    browser.open(server + f"/moodle-sync/events/{dead}")
    browser.wait_for("!!document.querySelector('[data-replay-event]') && !document.querySelector('[data-replay-event]').disabled")
    browser.evaluate("window.confirm = () => true; document.querySelector('[data-replay-event]').click(); true")
    text = browser.wait_for("(() => { const t = document.querySelector('#notice').innerText; "
                            "return t.includes('queued as run') && t })()", timeout=30)
    run_id = browser.evaluate("document.querySelector('#notice a').innerText")
    assert run_id in text and run_id.startswith("manual__")
    browser.screenshot("ui-replay.png")
    with create_session() as session:
        run = session.scalar(select(DagRun).where(DagRun.run_id == run_id))
        assert (run.dag_id, run.conf, run.triggering_user_name) == (
            "moodle_sync_replay", {"event_ids": [dead], "dry_run": False}, "operator")
