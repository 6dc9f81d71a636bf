"""Webhook delivery: claim due events, POST them through the HTTP provider's async hook, record outcomes.

One aiohttp session (one connection pool) serves the whole task; requests run with bounded concurrency
and the connection's timeouts. Outcomes: 2xx marks ``sent``; anything else marks ``failed`` with the
error and ``next_retry_at`` = now + base delay with +-20% jitter, for the retry path to pick up.
The provider's hook would send every unknown connection extra as an HTTP header: ``WebhookHook`` builds
its headers itself, so our settings (and the token, except as the bearer) never reach the wire.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import random
import ssl
import time
from dataclasses import asdict, dataclass, field
from typing import Any

from airflow.providers.http.hooks.http import HttpAsyncHook, SessionConfig

from moodle_sync import eventlog
from moodle_sync.db import Database, utcnow
from moodle_sync.profiles import PROFILES
from moodle_sync.sql import ConfigError

log = logging.getLogger(__name__)

DEFAULT_ENDPOINT = "/api/v1/webhooks"
FIRST_RETRY_SECONDS = 60
JITTER = 0.2
ERROR_EXCERPT = 500


@dataclass(frozen=True)
class WebhookSettings:
    """What a ``moodle_sync_webhook`` connection configures (see README for the extras)."""

    base_url: str
    token: str | None = field(default=None, repr=False)
    endpoint: str = DEFAULT_ENDPOINT
    timeout: float = 30.0
    connect_timeout: float = 10.0
    verify: bool = True
    ca_bundle: str | None = None
    concurrency: int = 32
    batch_size: int = 500
    payload_profile: str = "legacy"

    @classmethod
    def from_connection(cls, conn) -> "WebhookSettings":
        extra = conn.extra_dejson or {}
        host = (conn.host or "").rstrip("/")
        if not host:
            raise ConfigError(f"connection {conn.conn_id!r} has no host: set the backend's host (and port, schema)")
        base = host if "://" in host else f"{conn.schema or 'http'}://{host}"  # as HttpHook does
        if conn.port:
            base += f":{conn.port}"

        def number(name, default, kind=float):
            try:
                value = kind(extra.get(name, default))
            except (TypeError, ValueError) as exc:
                raise ConfigError(f"connection {conn.conn_id!r}: extra {name!r} must be a number") from exc
            if value <= 0:
                raise ConfigError(f"connection {conn.conn_id!r}: extra {name!r} must be positive")
            return value

        profile = extra.get("payload_profile", "legacy")
        if profile not in PROFILES:
            raise ConfigError(f"connection {conn.conn_id!r}: payload_profile {profile!r} is not one of {sorted(PROFILES)}")
        verify = extra.get("verify", True)
        return cls(
            base_url=base,
            token=conn.password or None,
            endpoint=extra.get("endpoint", DEFAULT_ENDPOINT),
            timeout=number("timeout", 30.0),
            connect_timeout=number("connect_timeout", 10.0),
            verify=str(verify).lower() not in ("false", "0", "no"),
            ca_bundle=extra.get("ca_bundle"),
            concurrency=number("concurrency", 32, int),
            batch_size=number("batch_size", 500, int),
            payload_profile=profile,
        )


class WebhookHook(HttpAsyncHook):
    """HttpAsyncHook whose session config comes from ``WebhookSettings``, not from raw connection extras."""

    def __init__(self, settings: WebhookSettings, http_conn_id: str = "moodle_sync_webhook"):
        super().__init__(method="POST", http_conn_id=http_conn_id, retry_limit=1)
        self.settings = settings

    async def config(self) -> SessionConfig:
        if not self._config:
            s = self.settings
            headers = {"Content-Type": "application/json", "User-Agent": "moodle-zoho-sync"}
            if s.token:
                headers["Authorization"] = f"Bearer {s.token}"
            ssl_option: Any = None
            if s.base_url.startswith("https"):
                if not s.verify:
                    log.warning("TLS verification is OFF for %s (connection extra verify=false)", s.base_url)
                    ssl_option = False
                else:
                    ssl_option = ssl.create_default_context(cafile=s.ca_bundle) if s.ca_bundle else True
            options: dict[str, Any] = {
                "timeout": _client_timeout(s),
                "allow_redirects": False,  # a 3xx is a failure, never a silent re-POST elsewhere
                "check_response": False,
            }
            if ssl_option is not None:
                options["ssl"] = ssl_option
            self._config = SessionConfig(base_url=s.base_url, headers=headers, auth=None, extra_options=options)
        return self._config


def _client_timeout(s: WebhookSettings):
    import aiohttp

    return aiohttp.ClientTimeout(total=s.timeout, connect=s.connect_timeout)


@dataclass
class DeliveryResult:
    entity: str
    attempted: int = 0
    sent: int = 0
    failed: int = 0
    unreachable: int = 0  # failures where no HTTP answer came back at all
    statuses: dict = field(default_factory=dict)
    seconds: float = 0.0

    def as_dict(self) -> dict:
        return asdict(self)


def next_retry_at(now: dt.datetime, rng: random.Random = random) -> dt.datetime:
    delay = FIRST_RETRY_SECONDS * (1 + rng.uniform(-JITTER, JITTER))
    return now + dt.timedelta(seconds=delay)


async def _post(http, endpoint: str, body: bytes) -> tuple[int | None, str | None]:
    """(status, error text); status None when the request got no HTTP answer."""
    import aiohttp

    try:
        response = await http.run(endpoint=endpoint, data=body)
        try:
            text = await response.text(errors="replace")
        finally:
            response.release()
        if 200 <= response.status < 300:
            return response.status, None
        return response.status, f"HTTP {response.status}: {text[:ERROR_EXCERPT]}"
    except asyncio.TimeoutError:
        return None, "timeout: no answer within the configured timeout"
    except aiohttp.ClientSSLError as exc:
        return None, f"tls: {exc}"[:ERROR_EXCERPT]
    except aiohttp.ClientError as exc:
        return None, f"network: {type(exc).__name__}: {exc}"[:ERROR_EXCERPT]


async def _deliver(store: Database, entity: str, settings: WebhookSettings, owner: str,
                   hook: WebhookHook, lease: dt.timedelta) -> DeliveryResult:
    result = DeliveryResult(entity=entity)
    build = PROFILES[settings.payload_profile]
    limit = asyncio.Semaphore(settings.concurrency)
    async with hook.session() as http:

        async def send(row):
            _id, event_id, event_type, _key, _seq, payload, _attempts = row
            async with limit:
                return await _post(http, settings.endpoint, build(str(event_id), event_type, payload))

        while True:
            batch = eventlog.claim_due(store, entity, owner, settings.batch_size, lease)
            if not batch:
                break
            outcomes = await asyncio.gather(*(send(row) for row in batch))
            now = utcnow()
            sent, failed = [], []
            for row, (status, error) in zip(batch, outcomes):
                result.statuses[str(status)] = result.statuses.get(str(status), 0) + 1
                if error is None:
                    sent.append({"id": row[0], "now": store.ts(now), "http_status": status})
                else:
                    result.unreachable += status is None
                    failed.append({"id": row[0], "now": store.ts(now), "http_status": status, "error": error,
                                   "next_retry_at": store.ts(next_retry_at(now))})
            eventlog.record_results(store, sent, failed)
            result.attempted += len(batch)
            result.sent += len(sent)
            result.failed += len(failed)
            log.info("%s: delivered %d/%d so far (%d failed)", entity, result.sent, result.attempted, result.failed)
    return result


def deliver_due(store: Database, entity: str, settings: WebhookSettings, *, owner: str,
                http_conn_id: str = "moodle_sync_webhook", lease_seconds: int = 300) -> DeliveryResult:
    """Deliver every due event of ``entity``; fail loudly if the endpoint answered none of them."""
    started = time.monotonic()
    hook = WebhookHook(settings, http_conn_id=http_conn_id)
    result = asyncio.run(_deliver(store, entity, settings, owner, hook, dt.timedelta(seconds=lease_seconds)))
    result.seconds = round(time.monotonic() - started, 3)
    log.info("%s: attempted %d, sent %d, failed %d in %.1fs %s", entity, result.attempted, result.sent,
             result.failed, result.seconds, result.statuses)
    if result.attempted and result.sent == 0 and result.unreachable == result.attempted:
        raise ConnectionError(
            f"webhook endpoint {settings.base_url}{settings.endpoint} was unreachable for all {result.attempted} "
            f"events; they stay in the event log as 'failed' and will be retried. Check the moodle_sync_webhook "
            f"connection and the backend."
        )
    return result


def settings_from_connection(conn_id: str = "moodle_sync_webhook") -> WebhookSettings:
    from airflow.sdk import BaseHook

    try:
        conn = BaseHook.get_connection(conn_id)
    except Exception as exc:
        raise ConfigError(
            f"Airflow connection {conn_id!r} is not defined: create it (type http, host/port of the backend, "
            f"password = bearer token) or set AIRFLOW_CONN_{conn_id.upper()}."
        ) from exc
    return WebhookSettings.from_connection(conn)
