"""Failure alerts through real sinks on loopback: SMTP (with STARTTLS and AUTH), a Slack-style incoming webhook
and a generic JSON webhook. A failing task's callback names DAG, task, run, try, error and log URL on every
channel; no secret reaches a message or a log; a broken channel is logged and skipped; repeats are throttled."""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import types

import pytest

from moodle_sync.ops import alerts  # noqa: F401  (imports Airflow, which sets up logging, before caplog hooks in)
from support.sinks import HttpSink, SmtpSink, free_port, self_signed_tls

SMTP_PASSWORD = "smtp-Pa55word-xyz"
SLACK_SECRET = "T0001/B0002/slackSecretPart42"
HOOK_TOKEN = "hook-token-Secret-77"
SECRETS = (SMTP_PASSWORD, SLACK_SECRET, HOOK_TOKEN)


def connection(conn_id, **fields):
    from airflow.sdk import Connection

    extra = fields.pop("extra", {})
    return Connection(conn_id=conn_id, extra=json.dumps(extra), **fields)


def set_conn(monkeypatch, conn_id, **fields):
    monkeypatch.setenv(f"AIRFLOW_CONN_{conn_id.upper()}", json.dumps(fields))


def notification():
    from moodle_sync.ops.alerts import Notification

    return Notification(title="something broke", text="line one\nline <two> & more", severity="critical",
                        data={"kind": "test", "answer": 42})


@pytest.fixture
def smtp():
    with SmtpSink(credentials=("alerts@example.org", SMTP_PASSWORD)) as sink:
        yield sink


@pytest.fixture
def web():
    with HttpSink() as sink:
        yield sink


@pytest.fixture
def three_channels(monkeypatch, smtp, web):
    """moodle_sync_alerts (email), ops_slack (Slack) and ops_hook (webhook), all on loopback."""
    set_conn(monkeypatch, "moodle_sync_alerts", conn_type="smtp", host="127.0.0.1", port=smtp.port,
             login="alerts@example.org", password=SMTP_PASSWORD,
             extra={"to": "ops@example.org, oncall@example.org", "starttls": False})
    set_conn(monkeypatch, "ops_slack", conn_type="slackwebhook", host=f"http://127.0.0.1:{web.port}/services",
             password=SLACK_SECRET)
    set_conn(monkeypatch, "ops_hook", conn_type="http", host="127.0.0.1", port=web.port, schema="http",
             password=HOOK_TOKEN, extra={"endpoint": "/alerts"})
    monkeypatch.setenv("MOODLE_SYNC_ALERT_CONN_IDS", "moodle_sync_alerts,ops_slack,ops_hook")
    return smtp, web


def test_email_goes_over_starttls_or_ssl_with_login_and_never_carries_the_password(tmp_path, monkeypatch):
    from moodle_sync.ops.alerts import dispatch, load_channels

    context, ca_file = self_signed_tls(tmp_path)
    with SmtpSink(credentials=("alerts@example.org", SMTP_PASSWORD), tls_context=context) as sink:
        set_conn(monkeypatch, "mail", conn_type="smtp", host="127.0.0.1", port=sink.port,
                 login="alerts@example.org", password=SMTP_PASSWORD,
                 extra={"to": "ops@example.org", "from": "sync@example.org", "ca_bundle": ca_file})
        assert dispatch(notification(), load_channels(["mail"])) == (1, 0)
        # the same server without our CA: the certificate is refused, nothing is sent in the clear
        set_conn(monkeypatch, "mail", conn_type="smtp", host="127.0.0.1", port=sink.port,
                 login="alerts@example.org", password=SMTP_PASSWORD, extra={"to": "ops@example.org"})
        assert dispatch(notification(), load_channels(["mail"])) == (0, 1)
    with SmtpSink(credentials=("alerts@example.org", SMTP_PASSWORD), tls_context=context, implicit_tls=True) as tls:
        set_conn(monkeypatch, "mail", conn_type="smtp", host="127.0.0.1", port=tls.port,
                 login="alerts@example.org", password=SMTP_PASSWORD,
                 extra={"to": "ops@example.org", "ssl": True, "ca_bundle": ca_file})
        assert dispatch(notification(), load_channels(["mail"])) == (1, 0)
    assert len(tls.messages) == 1 and tls.messages[0]["tls"] and tls.messages[0]["auth"][1] == SMTP_PASSWORD
    [mail] = sink.messages
    assert mail["tls"] and mail["auth"] == ("alerts@example.org", SMTP_PASSWORD)
    assert mail["from"] == "sync@example.org" and mail["to"] == ["ops@example.org"]
    assert mail["message"]["Subject"] == "[moodle-zoho-sync] something broke"
    assert "line <two> & more" in mail["message"].get_content()
    assert SMTP_PASSWORD.encode() not in mail["raw"]


def test_slack_and_webhook_bodies(three_channels):
    from moodle_sync.ops.alerts import dispatch, load_channels

    smtp, web = three_channels
    assert dispatch(notification(), load_channels()) == (3, 0)
    slack, hook = sorted(web.requests, key=lambda r: r["path"] != "/services/" + SLACK_SECRET)
    assert slack["path"] == "/services/" + SLACK_SECRET
    assert slack["json"] == {"text": "*something broke*\nline one\nline &lt;two&gt; &amp; more"}
    assert hook["path"] == "/alerts" and hook["headers"]["authorization"] == f"Bearer {HOOK_TOKEN}"
    assert hook["json"] == {"source": "moodle-zoho-sync", "severity": "critical", "title": "something broke",
                            "text": "line one\nline <two> & more", "kind": "test", "answer": 42}
    assert "authorization" not in slack["headers"]
    assert len(smtp.messages) == 1 and smtp.messages[0]["to"] == ["ops@example.org", "oncall@example.org"]


def test_broken_channels_are_logged_without_secrets_and_the_others_still_deliver(monkeypatch, web, caplog, capfd):
    from moodle_sync.ops.alerts import dispatch, load_channels

    dead = free_port()
    set_conn(monkeypatch, "mail", conn_type="smtp", host="127.0.0.1", port=dead, password=SMTP_PASSWORD,
             login="u@example.org", extra={"to": "ops@example.org", "starttls": "false", "timeout": 2})
    set_conn(monkeypatch, "slack", conn_type="slackwebhook", host=f"http://127.0.0.1:{dead}/services",
             password=SLACK_SECRET)
    set_conn(monkeypatch, "hook", conn_type="http", host=f"http://127.0.0.1:{web.port}", password=HOOK_TOKEN)
    monkeypatch.setenv("MOODLE_SYNC_ALERT_CONN_IDS", "mail, slack, missing, hook")
    with caplog.at_level(logging.INFO, logger="moodle_sync.ops.alerts"):
        channels = load_channels()
        assert [c.conn_id for c in channels] == ["mail", "slack", "hook"]
        assert dispatch(notification(), channels) == (1, 2)
    assert len(web.requests) == 1
    errors = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    assert any("'missing' is not defined" in e for e in errors)
    assert any(e.startswith("alert channel mail (email) failed: ConnectionRefusedError") for e in errors)
    assert any(e.startswith("alert channel slack (slack) failed: ConnectionError") for e in errors)
    logged = caplog.text + "".join(capfd.readouterr())
    assert "/services/***" in logged  # requests names the URL in its error: the token part is cut out
    for secret in SECRETS:
        assert secret not in logged


def test_no_channel_secret_goes_out_in_a_message(three_channels):
    from moodle_sync.ops.alerts import Notification, dispatch, load_channels

    smtp, web = three_channels
    leaky = Notification(title=f"token {HOOK_TOKEN}", text=f"password {SMTP_PASSWORD}, url .../{SLACK_SECRET}",
                         data={"kind": "test", "nested": [{"error": f"said {HOOK_TOKEN}"}]})
    assert dispatch(leaky, load_channels()) == (3, 0)
    sent = smtp.messages[0]["raw"].decode() + "".join(r["raw"].decode() for r in web.requests)
    for secret in SECRETS:
        assert secret not in sent
    hook = [r["json"] for r in web.requests if r["path"] == "/alerts"][0]
    assert hook["title"] == "token ***" and hook["nested"] == [{"error": "said ***"}]


def test_a_webhook_that_refuses_is_a_failed_channel(monkeypatch, caplog):
    from moodle_sync.ops.alerts import dispatch, load_channels

    with HttpSink(status=500) as web, caplog.at_level(logging.ERROR, logger="moodle_sync.ops.alerts"):
        set_conn(monkeypatch, "hook", conn_type="http", host=f"http://127.0.0.1:{web.port}", password=HOOK_TOKEN)
        assert dispatch(notification(), load_channels(["hook"])) == (0, 1)
    assert "failed: RuntimeError: HTTP 500: no thanks" in caplog.text


def run_dag(dag_id):
    from airflow.dag_processing.dagbag import DagBag

    run = DagBag(dag_folder=os.environ["AIRFLOW__CORE__DAGS_FOLDER"]).dags[dag_id].test()
    return str(getattr(run.state, "value", run.state)), run.run_id


@pytest.mark.slow  # a DAG run
def test_a_failing_task_alerts_every_channel_with_dag_task_run_try_error_and_log_url(
        airflow_db, store, three_channels, monkeypatch, caplog, capfd):
    from urllib.parse import quote

    smtp, web = three_channels
    monkeypatch.setenv("MOODLE_SYNC_ALERT_BACKLOG_MINUTES", "soon")  # the monitor's task fails on it
    with caplog.at_level(logging.INFO):
        state, run_id = run_dag("moodle_sync_monitor")
    assert state == "failed"

    [mail] = smtp.messages
    slack = [r for r in web.requests if r["path"].startswith("/services/")]
    hook = [r for r in web.requests if r["path"] == "/alerts"]
    assert len(slack) == 1 and len(hook) == 1
    body = hook[0]["json"]
    error = "AirflowFailException: MOODLE_SYNC_ALERT_BACKLOG_MINUTES='soon' is not a number (or 'off')"  # no retry
    assert body["kind"] == "task_failed" and body["dag_id"] == "moodle_sync_monitor" and body["task_id"] == "check"
    assert body["run_id"] == run_id and body["try_number"] == 1 and body["error"] == error
    assert body["log_url"] == f"http://localhost:8080/dags/moodle_sync_monitor/runs/{quote(run_id)}/tasks/check?try_number=1"
    for text in (mail["message"].get_content(), slack[0]["json"]["text"], body["text"]):
        for expected in ("DAG:   moodle_sync_monitor", "Task:  check", f"Run:   {run_id}", "Try:   1", error,
                         body["log_url"]):
            assert expected in text, (expected, text)
    assert mail["message"]["Subject"] == "[moodle-zoho-sync] task failed: moodle_sync_monitor.check (try 1)"

    logged = caplog.text + "".join(capfd.readouterr())
    assert "moodle-zoho-sync task failed: dag=moodle_sync_monitor task=check" in logged
    sent = mail["raw"].decode() + slack[0]["raw"].decode() + hook[0]["raw"].decode()
    for secret in SECRETS:
        assert secret not in logged and secret not in sent
    assert store.query("SELECT alert_key FROM moodle_sync_alert_state") == [("task:moodle_sync_monitor.check",)]


@pytest.mark.slow  # a DAG run with one retry (30 s apart)
def test_when_the_event_log_is_down_the_first_try_warns_and_the_last_alerts_with_the_configured_base_url(
        airflow_db, three_channels, monkeypatch):
    from urllib.parse import quote

    smtp, web = three_channels
    monkeypatch.setenv("AIRFLOW_CONN_MOODLE_SYNC_DB", f"mysql://root@127.0.0.1:{free_port()}/nothing")
    monkeypatch.setenv("AIRFLOW__API__BASE_URL", "http://127.0.0.1:18080/airflow/")  # as the demo sets it
    state, run_id = run_dag("moodle_sync_monitor")
    assert state == "failed"
    subjects = [" ".join(str(m["message"]["Subject"]).split()) for m in smtp.messages]  # a long subject is folded
    assert subjects == ["[moodle-zoho-sync] task failed, will retry: moodle_sync_monitor.check (try 1)",
                        "[moodle-zoho-sync] task failed: moodle_sync_monitor.check (try 2)"]
    hook = [r["json"] for r in web.requests if r["path"] == "/alerts"]
    assert [(h["severity"], h["kind"], h["try_number"]) for h in hook] == [("warning", "task_retry", 1),
                                                                           ("critical", "task_failed", 2)]
    for h in hook:  # unthrottled (the state is in the database that is down) and naming the connection
        assert h["error"].startswith("DatabaseUnavailable: connection `moodle_sync_db` (127.0.0.1:"), h["error"]
    assert hook[1]["log_url"] == (f"http://127.0.0.1:18080/airflow/dags/moodle_sync_monitor/runs/{quote(run_id)}"
                                  "/tasks/check?try_number=2")


def probe_context(error="boom", dag_id="mzs_probe", task_id="t", try_number=3, map_index=-1):
    ti = types.SimpleNamespace(dag_id=dag_id, task_id=task_id, try_number=try_number, map_index=map_index,
                               run_id="manual__1", log_url=f"http://airflow/dags/{dag_id}/runs/manual__1/tasks/{task_id}")
    return {"ti": ti, "run_id": "manual__1", "exception": RuntimeError(error) if error is not None else None}


def test_a_retried_try_warns_and_its_throttle_never_holds_back_the_alert(store, three_channels):
    from moodle_sync.ops.alerts import SyncFailureNotifier, SyncRetryNotifier

    smtp, web = three_channels
    SyncRetryNotifier()(probe_context(try_number=1))
    SyncRetryNotifier()(probe_context(try_number=2))  # the warning is throttled like an alert
    SyncFailureNotifier()(probe_context(try_number=3))
    hook = [r["json"] for r in web.requests if r["path"] == "/alerts"]
    assert [(h["severity"], h["try_number"]) for h in hook] == [("warning", 1), ("critical", 3)]
    assert "Airflow retries it; the alert follows if the last try fails too." in hook[0]["text"]
    assert [" ".join(str(m["message"]["Subject"]).split()) for m in smtp.messages] == [
        "[moodle-zoho-sync] task failed, will retry: mzs_probe.t (try 1)",
        "[moodle-zoho-sync] task failed: mzs_probe.t (try 3)"]


def test_a_task_failed_from_outside_its_code_is_no_unknown_error_and_no_early_warning(store, three_channels, caplog):
    from moodle_sync.ops.alerts import SyncFailureNotifier, SyncRetryNotifier

    smtp, web = three_channels
    # what the dag-processor passes when the executor failed a task that never started: no exception
    SyncRetryNotifier()(probe_context(error=None, try_number=1))
    assert smtp.messages == [] and web.requests == []
    assert "no early warning sent: the task's code raised nothing" in caplog.text
    SyncFailureNotifier()(probe_context(error=None, try_number=2))
    [hook] = [r["json"] for r in web.requests if r["path"] == "/alerts"]
    assert "unknown" not in hook["error"] and hook["error"].startswith("no error from the task's own code: Airflow "
                                                                       "failed it from outside")



def test_repeated_failures_of_a_task_are_throttled_and_counted(store, three_channels, monkeypatch, caplog):
    from moodle_sync.ops.alerts import SyncFailureNotifier

    smtp, web = three_channels
    notifier = SyncFailureNotifier()
    for _ in range(3):
        notifier(probe_context())
    assert len(smtp.messages) == 1 and len(web.requests) == 2  # one alert per channel, two failures held back
    assert "alert not sent: mzs_probe.t was alerted at" in caplog.text
    notifier(probe_context(task_id="other"))  # another task is another alert
    assert len(smtp.messages) == 2

    # the repeat interval passes: the next failure goes out and says how many were held back
    store.execute("UPDATE moodle_sync_alert_state SET last_sent_at = %(t)s WHERE alert_key = 'task:mzs_probe.t'",
                  {"t": store.ts(dt.datetime.now(dt.timezone.utc) - dt.timedelta(minutes=31))})
    store.commit()
    notifier(probe_context(error="boom again"))
    assert len(smtp.messages) == 3
    hook = [r["json"] for r in web.requests if r["path"] == "/alerts"][-1]
    assert hook["error"] == "RuntimeError: boom again" and hook["suppressed"] == 2
    assert "(2 later failure(s) of this task" in smtp.messages[-1]["message"].get_content()

    monkeypatch.setenv("MOODLE_SYNC_ALERT_TASK_REPEAT_MINUTES", "0")  # every failure
    notifier(probe_context())
    notifier(probe_context())
    assert len(smtp.messages) == 5


def test_the_alert_goes_out_when_the_event_log_is_unreachable(three_channels, monkeypatch, caplog):
    from moodle_sync.ops.alerts import SyncFailureNotifier

    smtp, web = three_channels
    monkeypatch.setenv("AIRFLOW_CONN_MOODLE_SYNC_DB", f"mysql://root@127.0.0.1:{free_port()}/nothing")
    SyncFailureNotifier()(probe_context(error="event log database is down"))
    SyncFailureNotifier()(probe_context(error="event log database is down"))
    assert len(smtp.messages) == 2 and len(web.requests) == 4  # unthrottled rather than silent
    assert "alert state unreadable (connection `moodle_sync_db` (127.0.0.1:" in caplog.text


def test_without_an_alert_connection_the_failure_is_only_logged(monkeypatch, caplog):
    from moodle_sync.ops.alerts import SyncFailureNotifier

    monkeypatch.delenv("MOODLE_SYNC_ALERT_CONN_IDS", raising=False)
    monkeypatch.delenv("AIRFLOW_CONN_MOODLE_SYNC_ALERTS", raising=False)
    with caplog.at_level(logging.INFO, logger="moodle_sync.ops.alerts"):
        SyncFailureNotifier()(probe_context(map_index=3))
    [line] = [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR]
    assert line == ("moodle-zoho-sync task failed: dag=mzs_probe task=t run=manual__1 try=3 error=RuntimeError: boom "
                    "log=http://airflow/dags/mzs_probe/runs/manual__1/tasks/t")
    assert "no alert connection 'moodle_sync_alerts': alerts are only logged" in caplog.text


def test_the_notifier_never_raises_even_on_a_bad_setting(three_channels, monkeypatch, caplog):
    from moodle_sync.ops.alerts import SyncFailureNotifier

    monkeypatch.setenv("MOODLE_SYNC_ALERT_TASK_REPEAT_MINUTES", "soon")
    SyncFailureNotifier()(probe_context())
    assert "failure alert could not be sent: ConfigError: MOODLE_SYNC_ALERT_TASK_REPEAT_MINUTES='soon'" in caplog.text


def test_an_error_text_with_a_connection_secret_is_redacted_in_the_message(three_channels):
    from moodle_sync.ops.alerts import task_failure_notification

    # Airflow masked the webhook token when the connection was read; an error quoting it is cut
    from moodle_sync.ops.alerts import load_channels

    load_channels()
    n = task_failure_notification(probe_context(error=f"backend said: bad token {HOOK_TOKEN}"))
    assert HOOK_TOKEN not in n.text and HOOK_TOKEN not in json.dumps(n.data) and "bad token ***" in n.text


def test_a_refused_slack_url_in_the_password_is_logged_without_any_secret_part(monkeypatch, caplog, capfd):
    """The whole webhook URL in the password: the refused connection names only its path, which must not get out
    (neither through this module's redaction nor through Airflow's masker)."""
    from airflow.sdk.log import redact as airflow_redact
    from moodle_sync.ops.alerts import dispatch, load_channels

    dead = free_port()  # a real closed loopback port: the connection is refused
    set_conn(monkeypatch, "slack_url", conn_type="slackwebhook",
             password=f"http://127.0.0.1:{dead}/services/{SLACK_SECRET}")
    with caplog.at_level(logging.INFO, logger="moodle_sync.ops.alerts"):
        channels = load_channels(["slack_url"])
        assert dispatch(notification(), channels) == (0, 1)
    error = next(r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR)
    assert error.startswith("alert channel slack_url (slack) failed: ConnectionError") and "with url: ***" in error
    logged = caplog.text + "".join(capfd.readouterr())
    parts = [SLACK_SECRET, "slackSecretPart42", "T0001", "B0002", SLACK_SECRET.replace("/", "%2F")]
    assert [p for p in parts if p in logged] == []
    # what the library said, as Airflow's masker alone leaves it
    refused = f"Max retries exceeded with url: /services/{SLACK_SECRET} (token slackSecretPart42)"
    masked = str(airflow_redact(refused))
    assert [p for p in parts if p in masked] == []
