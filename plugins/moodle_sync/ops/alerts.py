"""Alerts: channels configured by Airflow connections, and the failure callback of every task.

A channel is an Airflow connection: email over SMTP (stdlib ``smtplib``), a Slack incoming webhook, or a
generic HTTP webhook (JSON POST, bearer token), chosen by the connection's type or its ``channel`` extra.
``MOODLE_SYNC_ALERT_CONN_IDS`` lists the connections (comma-separated; default ``moodle_sync_alerts``; none
defined: alerts are only logged). Secrets (SMTP password, webhook URL or token) are registered with
Airflow's secrets masker and also cut out of every error text here, so they reach neither a log nor a
message. A channel that fails is logged and skipped: it never hides the failure it was reporting.

Why not the SMTP provider's notifier (installed with Airflow core): it sends HTML only, tries STARTTLS on
top of SSL by default and retries a dead server 5 x 30 s inside a task's failure handling; 30 lines of
``smtplib`` with a short timeout suit a callback better. No Slack provider is needed for one POST.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import re
import smtplib
import ssl
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.utils import formatdate, make_msgid

from airflow.sdk import BaseNotifier

from moodle_sync import redaction
from moodle_sync.config import ALERT_CONN_IDS, ALERT_TASK_REPEAT_MINUTES, ALERTS_CONN_ID, EVENTLOG_CONN_ID, ConfigError

log = logging.getLogger("moodle_sync.ops.alerts")

SOURCE = "moodle-zoho-sync"
MAX_ERROR_CHARS = 2000

_KINDS = {"smtp": "email", "email": "email",
          "slack": "slack", "slackwebhook": "slack", "slack_webhook": "slack",
          "http": "webhook", "https": "webhook", "webhook": "webhook"}


class AlertDeliveryError(RuntimeError):
    """Alerts were due and no channel could deliver them."""


@dataclass(frozen=True)
class Notification:
    """One message for every channel: a one-line title, a plain-text body, and structured data for webhooks."""

    title: str
    text: str
    severity: str = "critical"  # critical, warning or resolved
    data: dict = field(default_factory=dict)


def _mask(secret: str | None) -> None:
    """Register a secret, in every form it can be echoed in, with Airflow's masker (task and supervisor logs)."""
    redaction.mask(secret)


def _airflow_redact(text: str) -> str:
    """Whatever Airflow masks (connection passwords, sensitive extras) also leaves an error text."""
    try:
        from airflow.sdk.log import redact

        return str(redact(text))
    except Exception:  # the masker is a nicety here; our own channel secrets are cut out anyway
        return text


def redact(text: str, secrets) -> str:
    """``text`` without any form of the secrets (as given, URL-encoded, JSON-escaped: moodle_sync.redaction)."""
    return redaction.redact(text, secrets)


def _flag(extra: dict, key: str, default: bool) -> bool:
    value = extra.get(key, default)
    return value if isinstance(value, bool) else str(value).strip().lower() in ("1", "true", "yes", "on")


def _number(extra: dict, key: str, default: float, conn_id: str) -> float:
    try:
        value = float(extra.get(key, default))
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"alert connection {conn_id!r}: extra {key!r} must be a number") from exc
    if value <= 0:
        raise ConfigError(f"alert connection {conn_id!r}: extra {key!r} must be positive")
    return value


def _base_url(conn, default_schema: str) -> str:
    host = (conn.host or "").rstrip("/")
    base = host if "://" in host else f"{conn.schema or default_schema}://{host}"
    if conn.port:
        scheme, _, rest = base.partition("://")
        netloc, slash, path = rest.partition("/")
        base = f"{scheme}://{netloc}:{conn.port}{slash}{path}"
    return base


@dataclass
class EmailChannel:
    conn_id: str
    host: str
    port: int
    sender: str
    recipients: tuple[str, ...]
    login: str | None = None
    password: str | None = field(default=None, repr=False)
    use_ssl: bool = False
    starttls: bool = True
    timeout: float = 10.0
    ca_bundle: str | None = None
    kind: str = "email"

    @property
    def secrets(self) -> tuple[str, ...]:
        return (self.password,) if self.password else ()

    def message(self, n: Notification) -> EmailMessage:
        msg = EmailMessage()
        msg["Subject"] = f"[{SOURCE}] {n.title}"[:250].replace("\r", " ").replace("\n", " ")
        msg["From"] = self.sender
        msg["To"] = ", ".join(self.recipients)
        msg["Date"] = formatdate(usegmt=True)
        msg["Message-ID"] = make_msgid(domain="moodle-zoho-sync")
        msg.set_content(n.text + "\n")
        return msg

    def send(self, n: Notification) -> None:
        context = ssl.create_default_context(cafile=self.ca_bundle)
        if self.use_ssl:
            client = smtplib.SMTP_SSL(self.host, self.port, timeout=self.timeout, context=context)
        else:
            client = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
        try:
            if self.starttls and not self.use_ssl:
                client.starttls(context=context)  # no STARTTLS offered: an error, never a silent plain send
            if self.login:
                client.login(self.login, self.password or "")
            client.send_message(self.message(n))
        finally:
            try:
                client.quit()
            except Exception:
                client.close()


@dataclass
class HttpChannel:
    """A Slack incoming webhook or a generic JSON webhook."""

    conn_id: str
    kind: str  # slack or webhook
    url: str = field(repr=False)
    token: str | None = field(default=None, repr=False)
    timeout: float = 10.0
    verify: bool | str = True
    url_secret: str | None = field(default=None, repr=False)  # the part of the URL that is a credential

    @property
    def secrets(self) -> tuple[str, ...]:
        # a Slack URL's path and its T.../B.../... segments give it away on their own (a refused connection
        # names only the path)
        parts = redaction.url_secret_parts(self.url_secret) if self.url_secret and self.kind == "slack" else []
        return tuple(s for s in (self.token, self.url_secret, *parts) if s)

    def body(self, n: Notification) -> dict:
        if self.kind == "slack":
            escape = lambda s: s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")  # noqa: E731
            return {"text": f"*{escape(n.title)}*\n{escape(n.text)}"}
        return {"source": SOURCE, "severity": n.severity, "title": n.title, "text": n.text, **n.data}

    def send(self, n: Notification) -> None:
        import requests

        headers = {"Content-Type": "application/json", "User-Agent": SOURCE}
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        response = requests.post(self.url, data=json.dumps(self.body(n), default=str), headers=headers,
                                 timeout=self.timeout, allow_redirects=False, verify=self.verify)
        if not 200 <= response.status_code < 300:
            raise RuntimeError(f"HTTP {response.status_code}: {response.text[:200]}")


def channel_from_connection(conn):
    """The channel a connection describes (docs/alerts.md lists the fields and extras)."""
    extra = conn.extra_dejson or {}
    conn_id = conn.conn_id
    kind = str(extra.get("channel") or _KINDS.get((conn.conn_type or "").lower(), "")).lower()
    if kind not in ("email", "slack", "webhook"):
        raise ConfigError(f"alert connection {conn_id!r}: type {conn.conn_type!r} is no alert channel; use type "
                          "smtp, slackwebhook or http, or set the extra 'channel' to email, slack or webhook")
    timeout = _number(extra, "timeout", 10.0, conn_id)
    if kind == "email":
        if not conn.host:
            raise ConfigError(f"alert connection {conn_id!r}: set the SMTP server as host")
        to = extra.get("to") or []
        recipients = tuple(a for a in (re.split(r"\s*[,;]\s*", to) if isinstance(to, str) else to) if a)
        if not recipients:
            raise ConfigError(f"alert connection {conn_id!r}: set the extra 'to' (addresses, comma-separated)")
        port = int(conn.port or 0)
        use_ssl = _flag(extra, "ssl", port == 465)
        sender = extra.get("from") or extra.get("from_email") or (
            conn.login if conn.login and "@" in conn.login else f"{SOURCE}@localhost")
        channel = EmailChannel(conn_id=conn_id, host=conn.host, port=port or (465 if use_ssl else 25),
                               sender=sender, recipients=recipients, login=conn.login or None,
                               password=conn.password or None, use_ssl=use_ssl,
                               starttls=_flag(extra, "starttls", not use_ssl), timeout=timeout,
                               ca_bundle=extra.get("ca_bundle"))
    else:
        verify = extra.get("ca_bundle") or _flag(extra, "verify", True)
        if kind == "slack":
            secret = conn.password or ""
            if secret.startswith(("http://", "https://")):
                url = secret  # the whole webhook URL in the password
            else:
                if not secret:
                    raise ConfigError(f"alert connection {conn_id!r}: put the Slack webhook URL (or its "
                                      "T.../B.../... part) in the password")
                base = _base_url(conn, "https") if conn.host else "https://hooks.slack.com/services"
                url = base.rstrip("/") + "/" + secret.lstrip("/")
            channel = HttpChannel(conn_id=conn_id, kind="slack", url=url, timeout=timeout, verify=verify,
                                  url_secret=secret)
        else:
            if not conn.host:
                raise ConfigError(f"alert connection {conn_id!r}: set the webhook's host (and schema, port)")
            url = _base_url(conn, "https").rstrip("/") + "/" + str(extra.get("endpoint", "")).lstrip("/")
            channel = HttpChannel(conn_id=conn_id, kind="webhook", url=url, token=conn.password or None,
                                  timeout=timeout, verify=verify)
    for secret in channel.secrets:
        _mask(secret)
    return channel


def configured_conn_ids() -> tuple[list[str], bool]:
    """(connection ids, explicitly configured?) from MOODLE_SYNC_ALERT_CONN_IDS."""
    raw = os.environ.get(ALERT_CONN_IDS.env)
    if raw is None:
        return [ALERTS_CONN_ID], False
    return [c.strip() for c in raw.split(",") if c.strip()], True


def load_channels(conn_ids: list[str] | None = None) -> list:
    """The channels of the configured connections; a missing or wrong one is logged and left out."""
    from airflow.sdk import BaseHook
    from airflow.sdk.exceptions import AirflowNotFoundException

    explicit = conn_ids is not None
    if conn_ids is None:
        conn_ids, explicit = configured_conn_ids()
    channels = []
    for conn_id in conn_ids:
        try:
            conn = BaseHook.get_connection(conn_id)
        except AirflowNotFoundException:
            if explicit:
                log.error("alert connection %r is not defined (listed in %s): it gets no alert", conn_id,
                          ALERT_CONN_IDS.env)
            else:
                log.info("no alert connection %r: alerts are only logged", conn_id)
            continue
        try:
            channels.append(channel_from_connection(conn))
        except Exception as exc:  # a wrong channel must not stop the others
            log.error("alert connection %r is unusable: %s", conn_id,
                      redact(str(exc), (conn.password or "",)))
    return channels


def _scrub(value, secrets):
    if isinstance(value, str):
        return redact(_airflow_redact(value), secrets)
    if isinstance(value, dict):
        return {k: _scrub(v, secrets) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_scrub(v, secrets) for v in value]
    return value


def dispatch(notification: Notification, channels: list) -> tuple[int, int]:
    """Send to every channel; (delivered, failed). No channel's secret goes out in a message, and a failing
    channel is logged without its secrets."""
    secrets = [s for channel in channels for s in channel.secrets]
    notification = Notification(title=_scrub(notification.title, secrets), text=_scrub(notification.text, secrets),
                                severity=notification.severity, data=_scrub(notification.data, secrets))
    delivered = failed = 0
    for channel in channels:
        try:
            channel.send(notification)
            delivered += 1
            log.info("alert sent through %s (%s)", channel.conn_id, channel.kind)
        except Exception as exc:
            failed += 1
            reason = redact(f"{type(exc).__name__}: {exc}", channel.secrets)
            log.error("alert channel %s (%s) failed: %s", channel.conn_id, channel.kind, reason[:500])
    return delivered, failed


#: what a callback gets without an exception: Airflow failed the task from outside its code (the executor reported
#: it failed before it ran, e.g. the api-server was not up yet; it was killed; it lost its heartbeat)
NO_EXCEPTION = ("no error from the task's own code: Airflow failed it from outside (it did not start, e.g. the "
                "api-server was not reachable yet, was killed or lost its heartbeat); the scheduler's log says which")


def task_failure_notification(context, *, final: bool = True) -> Notification:
    """DAG, task, run, try number, error and log URL of a failed task (its error text redacted). ``final``: the
    last try (critical); else a try that Airflow retries (an early warning)."""
    ti = context.get("ti") or context.get("task_instance")
    dag_id = getattr(ti, "dag_id", None) or getattr(context.get("dag"), "dag_id", "?")
    task_id = getattr(ti, "task_id", "?")
    map_index = getattr(ti, "map_index", -1)
    try_number = getattr(ti, "try_number", "?")
    run_id = context.get("run_id") or getattr(ti, "run_id", "?")
    try:
        log_url = ti.log_url  # Airflow builds it on [api] base_url
    except Exception:
        log_url = None
    exc = context.get("exception")
    error = _airflow_redact(f"{type(exc).__name__}: {exc}" if isinstance(exc, BaseException) else str(exc or NO_EXCEPTION))
    error = error[:MAX_ERROR_CHARS]
    task = f"{task_id}[{map_index}]" if isinstance(map_index, int) and map_index >= 0 else task_id
    if final:
        title = f"task failed: {dag_id}.{task} (try {try_number})"
    else:
        title = f"task failed, will retry: {dag_id}.{task} (try {try_number})"
    text = "\n".join([f"DAG:   {dag_id}", f"Task:  {task}", f"Run:   {run_id}", f"Try:   {try_number}",
                      f"Error: {error}", f"Log:   {log_url or '(no log url)'}"])
    if not final:
        text += "\nAirflow retries it; the alert follows if the last try fails too."
    data = {"kind": "task_failed" if final else "task_retry", "dag_id": dag_id, "task_id": task_id,
            "map_index": map_index, "run_id": run_id, "try_number": try_number, "error": error, "log_url": log_url}
    return Notification(title=title, text=text, severity="critical" if final else "warning", data=data)


def alert_message(context, *, final: bool = True) -> str:
    """The one line every failure writes to the task log (ERROR on the last try, WARNING before a retry)."""
    d = task_failure_notification(context, final=final).data
    what = "task failed" if final else "task failed, will retry"
    return (f"{SOURCE} {what}: dag={d['dag_id']} task={d['task_id']} run={d['run_id']} "
            f"try={d['try_number']} error={d['error']} log={d['log_url'] or '(no log url)'}")


def _task_repeat() -> dt.timedelta:
    raw = ALERT_TASK_REPEAT_MINUTES.raw()
    try:
        minutes = float(raw)
    except ValueError as exc:
        raise ConfigError(f"{ALERT_TASK_REPEAT_MINUTES.env}={raw!r}: give minutes (0: alert on every failure)") from exc
    return dt.timedelta(minutes=max(minutes, 0.0))


def _open_state_store():
    """The event-log database for the alert state, or None: the state is best effort, an alert about a
    broken database must still go out."""
    from moodle_sync.outbox import db

    try:
        return db.connect(EVENTLOG_CONN_ID)
    except Exception as exc:
        log.warning("alert state unreadable (%s): this alert is sent unthrottled", _airflow_redact(str(exc))[:500])
        return None


class SyncFailureNotifier(BaseNotifier):
    """On a task's final failure: one ERROR line in the task log, the failure recorded for the operator's page
    (an entity DAG's), then the message to every alert channel, at most once per
    ``MOODLE_SYNC_ALERT_TASK_REPEAT_MINUTES`` (30) for the same DAG and task. Never raises: Airflow has already
    recorded the failure, and a broken channel must not bury it."""

    template_fields = ()
    final = True
    key_prefix = "task:"

    def notify(self, context) -> None:
        try:
            if self.final:
                log.error(alert_message(context))
            else:
                log.warning(alert_message(context, final=False))
            notification = task_failure_notification(context, final=self.final)
            store = _open_state_store()
            try:
                if store is not None:
                    _record_failure(store, notification.data, final=self.final)
                if not self.final and not isinstance(context.get("exception"), BaseException):
                    # failed from outside (e.g. at start-up, before the api-server answered): the retry will tell
                    log.warning("no early warning sent: the task's code raised nothing; the alert follows if the "
                                "last try fails too")
                    return
                channels = load_channels()
                if channels:
                    self._send(notification, channels, store, self.key_prefix)
            finally:
                if store is not None:
                    store.close()
        except Exception as exc:  # whatever happens here, the task's own failure stays what Airflow shows
            log.error("failure alert could not be sent: %s", _airflow_redact(f"{type(exc).__name__}: {exc}")[:500])


    @staticmethod
    def _send(notification: Notification, channels: list, store, key_prefix: str) -> None:
        from moodle_sync.ops import alert_state

        d = notification.data
        key = f"{key_prefix}{d['dag_id']}.{d['task_id']}"
        repeat = _task_repeat()
        store = store if repeat else None
        state = None
        if store is not None:
            try:
                state = alert_state.get(store, key)
                now = dt.datetime.now(dt.timezone.utc)
                if not alert_state.due(state, now, repeat):
                    alert_state.record_suppressed(store, key)
                    store.commit()
                    log.warning("alert not sent: %s.%s was alerted at %s, less than %s ago (%s)", d["dag_id"],
                                d["task_id"], state.last_sent_at.isoformat(), repeat, ALERT_TASK_REPEAT_MINUTES.env)
                    return
            except Exception as exc:
                store.rollback()
                log.warning("alert state unreadable (%s): this alert is sent unthrottled", type(exc).__name__)
                store = None
        if state and state.suppressed:
            notification = Notification(
                title=notification.title, severity=notification.severity,
                text=notification.text + f"\n({state.suppressed} later failure(s) of this task since the "
                                         f"alert of {state.last_sent_at.isoformat()} were not alerted)",
                data=dict(d, suppressed=state.suppressed))
        delivered, _ = dispatch(notification, channels)
        if delivered and store is not None:
            try:
                alert_state.record_sent(store, key, notification.severity, notification.title)
                store.commit()
            except Exception as exc:
                store.rollback()
                log.warning("alert state not recorded (%s)", type(exc).__name__)


class SyncRetryNotifier(SyncFailureNotifier):
    """On a failed try that Airflow retries: the early warning (severity warning), with its own throttle, so the
    alert of the last try is never held back by it. The alert of the last try comes from SyncFailureNotifier."""

    final = False
    key_prefix = "retry:"


def _entity_of(dag_id: str) -> str | None:
    from moodle_sync.entities import ENTITIES

    return next((spec.name for spec in ENTITIES if spec.dag_id == dag_id), None)


def _record_failure(store, data: dict, *, final: bool) -> None:
    """An entity DAG's failed try, for the operator's page (best effort: the alert matters more)."""
    from moodle_sync.outbox import eventlog

    entity = _entity_of(str(data.get("dag_id")))
    if entity is None:
        return
    try:
        eventlog.record_failure(store, entity, run_id=data.get("run_id"), task_id=str(data.get("task_id")),
                                try_number=data.get("try_number"), final=final, error=str(data.get("error")))
        store.commit()
    except Exception as exc:
        store.rollback()
        log.warning("failure not recorded for the operator's page (%s)", type(exc).__name__)
