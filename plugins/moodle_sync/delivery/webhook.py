"""Webhook delivery: claim due events, POST them through the HTTP provider's async hook, record outcomes.

One mechanism for every deliverer (each entity DAG's first delivery, the retry DAG's mapped workers):
claim a batch under a lease (``eventlog.claim_due``), send it on one aiohttp session with bounded
concurrency, an optional rate limit and the connection's timeouts, classify each answer
(``moodle_sync.delivery.policy``), then store outcomes and one ``moodle_sync_delivery_attempt`` row per attempt.
The provider's hook would send every unknown connection extra as an HTTP header: ``WebhookHook`` builds
its headers itself, so settings and secrets never reach the wire (the token only as the bearer).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import json
import math
import re
import ssl
import time
import unicodedata
from dataclasses import asdict, dataclass, field
from typing import Any

from airflow.providers.http.hooks.http import HttpAsyncHook, SessionConfig

from moodle_sync.outbox import eventlog
from moodle_sync.outbox.crypto import PayloadCipher, cipher_from_connection
from moodle_sync.outbox.db import Database, utcnow
from moodle_sync.delivery.policy import RetryPolicy, classify, parse_retry_after
from moodle_sync.delivery.profiles import GRADE_ITEMS, PROFILES, grade_items_of, skip_reason
from moodle_sync.delivery.signing import parse_secrets, signature_headers
from moodle_sync.config import WEBHOOK_CONN_ID, ConfigError

log = logging.getLogger(__name__)

DEFAULT_ENDPOINT = "/api/v1/webhooks"
#: At most this many bytes (UTF-8) of a stored reason (``last_error``, ``response_excerpt``).
EXCERPT_BYTES = 2048
#: At most this much of an answer is read, then the connection is dropped: enough for the backend's JSON answer,
#: its ``action`` and a 422's error locations.
READ_BYTES = 64 * 1024
ACTION_CHARS = 32
#: Error classes of events that can never be sent as stored: ``dead`` at once, without a request.
UNSENDABLE = "payload"
#: Event types whose key the backend remembers for ``dedup_window_seconds``, per payload profile: the legacy
#: backend's grade handler (../shared/contracts/LEGACY_WEBHOOK.md, "Responses"). A retry of a failed one waits
#: out that window; an answer ``deduplicated`` is handled for every type and profile.
KEYED_MEMORY = {"legacy": ("grade.",)}


class EndpointPaused(RuntimeError):
    """The backend answered 410 Gone (or 401/403): delivery to it is paused until an operator resumes it."""


@dataclass(frozen=True)
class WebhookSettings:
    """What a ``moodle_sync_webhook`` connection configures (README lists the extras and defaults)."""

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
    signing_keys: tuple[bytes, ...] = field(default=(), repr=False)
    rate_limit_per_second: float | None = None
    policy: RetryPolicy = RetryPolicy()
    lease_seconds: float | None = None  # default: derived from batch size, concurrency and timeouts
    coalesce: bool = True  # several waiting events of one key: send only the newest (docs/delivery.md)
    grade_items: str | None = None  # which grades the endpoint takes (profiles.GRADE_ITEMS); None: the profile's

    @property
    def endpoint_id(self) -> str:
        return self.base_url + self.endpoint

    @property
    def lease(self) -> dt.timedelta:
        """Long enough for a whole batch to time out in the worst case, so a live lease never lapses."""
        if self.lease_seconds:
            return dt.timedelta(seconds=self.lease_seconds)
        rounds = math.ceil(self.batch_size / self.concurrency)
        seconds = rounds * (self.timeout + self.connect_timeout) + 60
        if self.rate_limit_per_second:
            seconds += self.batch_size / self.rate_limit_per_second
        return dt.timedelta(seconds=max(300, seconds))

    @classmethod
    def from_connection(cls, conn) -> "WebhookSettings":
        extra = conn.extra_dejson or {}
        name = conn.conn_id
        host = (conn.host or "").rstrip("/")
        if not host:
            raise ConfigError(f"connection {name!r} has no host: set the backend's host (and port, schema)")
        base = host if "://" in host else f"{conn.schema or 'http'}://{host}"  # as HttpHook does
        if conn.port:
            base += f":{conn.port}"

        def number(key, default, kind=float, allow_none=False):
            value = extra.get(key, default)
            if value is None and allow_none:
                return None
            try:
                value = kind(value)
            except (TypeError, ValueError) as exc:
                raise ConfigError(f"connection {name!r}: extra {key!r} must be a number, not {value!r}") from exc
            if value <= 0:
                raise ConfigError(f"connection {name!r}: extra {key!r} must be positive")
            return value

        profile = extra.get("payload_profile", "legacy")
        if profile not in PROFILES:
            raise ConfigError(f"connection {name!r}: payload_profile {profile!r} is not one of {sorted(PROFILES)}")
        grade_items = extra.get("grade_items") or None
        if grade_items is not None and grade_items not in GRADE_ITEMS:
            raise ConfigError(f"connection {name!r}: grade_items {grade_items!r} is not one of {sorted(GRADE_ITEMS)}")
        jitter = float(extra.get("retry_jitter", RetryPolicy.jitter))
        if not 0 <= jitter < 1:
            raise ConfigError(f"connection {name!r}: retry_jitter must be between 0 and 1")
        try:
            window = float(extra.get("dedup_window_seconds", RetryPolicy.dedup_window.total_seconds()))
        except (TypeError, ValueError) as exc:
            raise ConfigError(f"connection {name!r}: extra 'dedup_window_seconds' must be a number") from exc
        if not 0 <= window <= 3600:
            raise ConfigError(f"connection {name!r}: dedup_window_seconds must be between 0 and 3600")
        default = RetryPolicy()
        policy = RetryPolicy(
            base=dt.timedelta(seconds=number("retry_base_seconds", default.base.total_seconds())),
            cap=dt.timedelta(seconds=number("retry_cap_seconds", default.cap.total_seconds())),
            jitter=jitter,
            max_attempts=number("max_attempts", default.max_attempts, int),
            max_age=dt.timedelta(hours=number("max_age_hours", default.max_age.total_seconds() / 3600)),
            dedup_window=dt.timedelta(seconds=window),
        )
        return cls(
            base_url=base,
            token=conn.password or None,
            endpoint=extra.get("endpoint", DEFAULT_ENDPOINT),
            timeout=number("timeout", 30.0),
            connect_timeout=number("connect_timeout", 10.0),
            verify=str(extra.get("verify", True)).lower() not in ("false", "0", "no"),
            ca_bundle=extra.get("ca_bundle"),
            concurrency=number("concurrency", 32, int),
            batch_size=number("batch_size", 500, int),
            payload_profile=profile,
            signing_keys=tuple(parse_secrets(extra.get("signing_secrets"))),
            rate_limit_per_second=number("rate_limit_per_second", None, float, allow_none=True),
            policy=policy,
            lease_seconds=number("lease_seconds", None, float, allow_none=True),
            coalesce=str(extra.get("coalesce", True)).lower() not in ("false", "0", "no"),
            grade_items=grade_items,
        )


class WebhookHook(HttpAsyncHook):
    """HttpAsyncHook whose session config comes from ``WebhookSettings``, not from raw connection extras."""

    def __init__(self, settings: WebhookSettings, http_conn_id: str = WEBHOOK_CONN_ID):
        super().__init__(method="POST", http_conn_id=http_conn_id, retry_limit=1)
        self.settings = settings

    async def config(self) -> SessionConfig:
        if not self._config:
            import aiohttp

            s = self.settings
            headers = {"Content-Type": "application/json", "User-Agent": "moodle-zoho-sync"}
            if s.token:
                headers["Authorization"] = f"Bearer {s.token}"
            options: dict[str, Any] = {
                "timeout": aiohttp.ClientTimeout(total=s.timeout, connect=s.connect_timeout),
                "allow_redirects": False,  # a 3xx is a failure, never a silent re-POST elsewhere
                "check_response": False,
            }
            if s.base_url.startswith("https"):
                if not s.verify:
                    options["ssl"] = False
                elif s.ca_bundle:
                    options["ssl"] = ssl.create_default_context(cafile=s.ca_bundle)
            self._config = SessionConfig(base_url=s.base_url, headers=headers, auth=None, extra_options=options)
        return self._config


@dataclass
class DeliveryResult:
    entity: str | None
    attempted: int = 0
    sent: int = 0
    failed: int = 0
    dead: int = 0
    deduplicated: int = 0  # answered 2xx "deduplicated": waiting again, after the backend's window
    superseded: int = 0  # older events of a key replaced by its newest at the claim (never sent)
    unreachable: int = 0  # failures where no HTTP answer came back at all
    skipped: int = 0  # events the endpoint does not take (grade_items): status 'skipped', never sent
    paused: bool = False
    statuses: dict = field(default_factory=dict)
    seconds: float = 0.0

    def as_dict(self) -> dict:
        return asdict(self)


@dataclass
class Answer:
    status: int | None
    error_class: str | None
    excerpt: str | None
    retry_after: str | None
    started_at: dt.datetime
    duration_ms: int
    action: str | None = None  # the JSON answer's "action" (created, updated, deduplicated, ...), cleaned

    @property
    def answered_at(self) -> dt.datetime:
        return self.started_at + dt.timedelta(milliseconds=self.duration_ms)


class RateLimiter:
    """At most ``rate`` request starts per second for this deliverer (None: unlimited)."""

    def __init__(self, rate: float | None):
        self.interval = 1.0 / rate if rate else 0.0
        self.next_at = time.monotonic()

    async def wait(self) -> None:
        if not self.interval:
            return
        now = time.monotonic()
        at = max(self.next_at, now)
        self.next_at = at + self.interval
        if at > now:
            await asyncio.sleep(at - now)


def _redact(text: str, settings: WebhookSettings) -> str:
    """The text without the token in any form a backend echoes it in (URL-encoded, JSON-escaped: redaction)."""
    from moodle_sync import redaction

    if settings.token:
        redaction.mask(settings.token)  # cached: each form registered with Airflow's masker once
        text = redaction.redact(text, (settings.token,))
    return text[:EXCERPT_BYTES]


def clean_text(text: str, limit: int = EXCERPT_BYTES) -> str:
    """``text`` fit to store and show: control and format characters, NUL and lone surrogates become spaces (a NUL
    is a DataError on PostgreSQL), cut to ``limit`` bytes of UTF-8 on a whole character."""
    text = "".join(" " if unicodedata.category(c) in ("Cc", "Cf", "Cs") else c for c in text)
    return text.encode("utf-8")[:limit].decode("utf-8", "ignore")


#: What a stored reason may take of an answer's words: a field name, an error type, a code. Never free text.
_TOKEN = re.compile(r"[A-Za-z0-9_.:-]{1,64}")
_MEDIA_TYPE = re.compile(r"[A-Za-z0-9.+-]{1,40}/[A-Za-z0-9.+-]{1,60}")
LOCATIONS_KEPT = 5


def _token(value) -> str | None:
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        return None
    return str(value) if _TOKEN.fullmatch(str(value)) else None


def answer_reason(status: int, raw: bytes, content_type: str | None, capped: bool = False) -> str:
    """What is kept of a non-2xx answer: its status and, of a JSON answer, only tokens that cannot carry the
    payload's values (FastAPI's error locations and types, a ``code``). Never the answer's text: FastAPI's 422
    repeats the whole request body (names, emails) in ``detail[].input``, a 500 may quote it too."""
    reason = f"HTTP {status}"
    value = None
    if raw.lstrip().startswith(b"{"):
        try:
            value = json.loads(raw)
        except ValueError:  # not JSON, or cut at READ_BYTES
            value = None
    if isinstance(value, dict):
        detail = value.get("detail")
        if isinstance(detail, list) and detail:
            where = []
            for item in detail[:LOCATIONS_KEPT]:
                item = item if isinstance(item, dict) else {}
                loc = item.get("loc") if isinstance(item.get("loc"), list) else []
                path = ".".join(t for t in map(_token, loc) if t is not None)
                where.append(f"{path or '?'} ({_token(item.get('type')) or '?'})")
            more = len(detail) - LOCATIONS_KEPT
            reason += ": validation error at " + ", ".join(where) + (f" and {more} more" if more > 0 else "")
        code = _token(value.get("code", value.get("error_code")))
        if code:
            reason += f" [code {code}]"
    media = (content_type or "").split(";")[0].strip()
    media = media if _MEDIA_TYPE.fullmatch(media) else "unknown type"
    size = f"over {len(raw)}" if capped else str(len(raw))
    return reason + f" (answer of {size} bytes of {media} not kept: it may echo the payload)"


class _Sender:
    """POSTs on one aiohttp session set up from the hook's resolved configuration (base URL, headers, timeouts,
    TLS, no redirects). Requests go straight to that session: the hook's per-request path wraps each call in
    a tenacity retry loop, and retries here belong to the event log, not to the call."""

    def __init__(self, config: SessionConfig, endpoint: str):
        import aiohttp

        self.url = config.base_url.rstrip("/") + "/" + endpoint.lstrip("/")
        self.headers = dict(config.headers or {})
        self.options = {k: v for k, v in (config.extra_options or {}).items() if k != "check_response"}
        self.session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0))

    async def post(self, body: bytes, headers: dict):
        return await self.session.post(self.url, data=body, headers={**self.headers, **headers}, **self.options)

    async def close(self) -> None:
        await self.session.close()


_ACTION_JUNK = re.compile(r"[^A-Za-z0-9_.:-]+")


def answer_action(raw: bytes) -> str | None:
    """The ``action`` of a JSON object answer (the legacy backend: created, updated, deleted, deduplicated), as
    a short clean token; None when the body is no JSON object or has none."""
    if not raw.lstrip().startswith(b"{"):
        return None
    try:
        value = json.loads(raw)
    except ValueError:  # not JSON, or cut at READ_BYTES
        return None
    action = value.get("action") if isinstance(value, dict) else None
    if action is None or isinstance(action, (dict, list)):
        return None
    return _ACTION_JUNK.sub("_", str(action).strip())[:ACTION_CHARS] or None


async def _read_capped(response, limit: int = READ_BYTES) -> tuple[bytes, bool]:
    """Up to ``limit`` bytes of the answer, and whether there was more (then the caller drops the connection)."""
    chunks, size = [], 0
    while size < limit:
        chunk = await response.content.read(limit - size)
        if not chunk:
            break
        chunks.append(chunk)
        size += len(chunk)
    return b"".join(chunks), size >= limit and not response.content.at_eof()


def _unsendable(event: dict, exc: Exception) -> str:
    from cryptography.exceptions import InvalidTag

    if isinstance(exc, InvalidTag):
        why = "the stored payload does not decrypt (InvalidTag: altered, or copied from another event)"
    else:  # the class only: a decoder's message may quote the payload
        why = f"the stored payload cannot be read or encoded ({type(exc).__name__})"
    return f"event {event['event_id']} ({event.get('event_type')} {event.get('entity_type')} " \
           f"{event.get('entity_key')}): {why}; dead without a request"


async def _post(sender: _Sender, settings: WebhookSettings, event: dict, body_for) -> Answer:
    import aiohttp

    started_at, t0 = utcnow(), time.monotonic()
    status = error_class = excerpt = retry_after = action = None
    try:
        body, headers = body_for(event)
    except ConfigError as exc:  # its key is not in the connection: the operator's fix, not the event's fault
        return Answer(None, "key_missing", clean_text(str(exc)), None, started_at, 0)
    except Exception as exc:
        excerpt = _unsendable(event, exc)
        log.error("%s", excerpt)
        return Answer(None, UNSENDABLE, clean_text(excerpt), None, started_at, 0)
    try:
        response = await sender.post(body, headers)
        status = response.status
        try:
            raw, capped = await _read_capped(response)
        except BaseException:
            response.close()
            raise
        if capped:  # the rest is never read: drop the connection rather than drain or reuse it
            response.close()
        else:
            response.release()
        retry_after = response.headers.get("Retry-After")
        action = answer_action(raw)
        if not 200 <= status < 300:
            excerpt = _redact(answer_reason(status, raw, response.headers.get("Content-Type"), capped), settings)
        elif action == "deduplicated":
            excerpt = f"HTTP {status}: deduplicated (the backend remembered this key and did not apply it)"
    except asyncio.TimeoutError:
        error_class, excerpt = "timeout", f"timeout: no complete answer within {settings.timeout:g} s"
    except (aiohttp.ClientSSLError, aiohttp.ClientConnectorCertificateError, ssl.SSLError) as exc:
        error_class, excerpt = "tls", _redact(f"tls: {exc}", settings)
    except (aiohttp.ClientConnectorError, ConnectionError) as exc:  # before any answer: our own words
        error_class, excerpt = "network", _redact(f"network: {type(exc).__name__}: {exc}", settings)
    except Exception as exc:  # a broken answer (its text may quote the request): the class only
        if status is None:
            error_class = "network"
        excerpt = f"{f'HTTP {status}' if status else 'network'}: the answer could not be read ({type(exc).__name__})"
    return Answer(status, error_class, clean_text(excerpt) if excerpt else None, retry_after, started_at,
                  int((time.monotonic() - t0) * 1000), action)


def _body_builder(settings: WebhookSettings, cipher: PayloadCipher):
    build = PROFILES[settings.payload_profile]
    keys = list(settings.signing_keys)
    open_payload = cipher.open

    def body_for(event: dict) -> tuple[bytes, dict[str, str]]:
        now = time.time()
        payload = event.pop("opened", None) or open_payload(event["payload"], event["event_id"])
        body = build(event["event_id"], event["event_type"], payload, now)
        return body, signature_headers(keys, event["event_id"], int(now), body)

    return body_for


def _skip_not_taken(store: Database, settings: WebhookSettings, cipher: PayloadCipher, owner: str, batch: list[dict],
                    result: DeliveryResult) -> list[dict]:
    """The claimed events the endpoint takes; the others (a grade its ``grade_items`` leaves out) get the final
    status ``skipped`` with the reason in ``last_error``: no request, no attempt row, counted in ``skipped``.
    An opened payload is kept on the event for its body."""
    if grade_items_of(settings) == "all":
        return batch
    from moodle_sync.outbox.payloads import as_dict

    taken, skipped = [], []
    for event in batch:
        if event["event_type"].startswith("grade."):
            try:
                event["opened"] = cipher.open(event["payload"], event["event_id"])
                data = as_dict(event["opened"])
            except Exception:  # unreadable or its key missing: sending it decides and records that, per event
                event.pop("opened", None)
                taken.append(event)
                continue
            reason = skip_reason(settings, None, event["event_type"], data)
            if reason:
                skipped.append({"id": event["id"], "error": reason})
                continue
        taken.append(event)
    if skipped:
        eventlog.mark_skipped(store, owner, skipped)
        result.skipped += len(skipped)
    return taken


def _outcomes(batch: list[dict], answers: list[Answer], store: Database, policy: RetryPolicy, result,
              run_id, task_id, remembered: tuple[str, ...] = ()) -> tuple[dict, str | None, bool]:
    """Classify a batch's answers into the rows ``eventlog.record_results`` stores. ``remembered``: prefixes
    of the event types whose key the backend remembers (KEYED_MEMORY): their failed attempts are retried no
    sooner than the backend's window after the answer, whatever the backoff or a ``Retry-After`` says.
    Also returns why the endpoint pauses and whether it throttles."""
    now = utcnow()
    ts_now = store.ts(now)
    out = {"sent": [], "failed": [], "deduplicated": [], "dead": [], "released": [], "attempts": []}
    pause_reason, throttled = None, False
    for event, answer in zip(batch, answers):
        if answer.error_class == "key_missing":  # not sent: given back untouched, the task fails after the batch
            out["released"].append({"id": event["id"]})
            continue
        outcome = classify(answer.status, answer.error_class, answer.action)
        attempt = event["attempts"] + 1  # every request, answers "deduplicated" included
        budget_spent = attempt - event.get("deduplicated", 0)  # those do not spend the budget
        result.statuses[str(answer.status)] = result.statuses.get(str(answer.status), 0) + 1
        base = {"id": event["id"], "now": ts_now, "http_status": answer.status}
        next_at = None
        if outcome.kind == "sent":
            out["sent"].append(base)
        elif outcome.kind == "pause":
            pause_reason = pause_reason or (answer.excerpt or f"HTTP {answer.status}")[:200]
            out["released"].append({"id": event["id"]})
        elif outcome.error_class == "deduplicated" and not policy.too_old(event["budget_started_at"], now):
            next_at = policy.after_deduplicated(answer.answered_at, event.get("deduplicated", 0) + 1)
            out["deduplicated"].append(dict(base, next_retry_at=store.ts(next_at), error=(
                f"deduplicated: the backend remembered this key and did not apply this content; resent at "
                f"{next_at.isoformat(timespec='seconds')}")))
        elif outcome.kind == "dead" or policy.exhausted(budget_spent, event["budget_started_at"], now):
            out["dead"].append(dict(base, error=answer.excerpt))
        else:
            throttled |= outcome.error_class == "throttled"
            result.unreachable += answer.status is None
            next_at = policy.next_attempt_at(now, budget_spent, parse_retry_after(answer.retry_after, now))
            if remembered and event["event_type"].startswith(remembered):
                # the backend's memory of the key started with this request, failed or not
                next_at = max(next_at, policy.not_before(answer.answered_at))
            out["failed"].append(dict(base, error=answer.excerpt, next_retry_at=store.ts(next_at)))
        out["attempts"].append((event["event_id"], attempt, store.ts(answer.started_at), answer.duration_ms,
                                answer.status, "paused" if outcome.kind == "pause" else outcome.kind,
                                outcome.error_class, answer.excerpt, store.ts(next_at) if next_at else None,
                                run_id, task_id, answer.action))
    result.attempted += len(batch) - len(out["released"])
    result.sent += len(out["sent"])
    result.failed += len(out["failed"])
    result.deduplicated += len(out["deduplicated"])
    result.dead += len(out["dead"])
    return out, pause_reason, throttled


async def _deliver(store: Database, settings: WebhookSettings, hook: WebhookHook, cipher: PayloadCipher, *,
                   entity: str | None, owner: str, run_id: str | None, task_id: str | None,
                   max_events: int | None, endpoint_state: str = "ok") -> DeliveryResult:
    """Send batch after batch: once a batch's answers are in, its outcomes are recorded and the next batch is
    claimed in one thread call (the one DB connection, used by that thread only). A key's later event cannot be
    claimed while an earlier one is pending or failed, so per-key order holds."""
    result = DeliveryResult(entity=entity)
    limiter = RateLimiter(settings.rate_limit_per_second)
    in_flight = asyncio.Semaphore(settings.concurrency)
    body_for = _body_builder(settings, cipher)
    remembered = KEYED_MEMORY.get(settings.payload_profile, ()) if settings.policy.dedup_window else ()
    sender = _Sender(await hook.config(), settings.endpoint)

    def claim():
        while True:  # a batch the endpoint takes none of is recorded skipped: claim on
            if max_events is not None and result.attempted >= max_events:
                return []
            claimed = eventlog.claim_due(store, entity, owner, settings.batch_size, settings.lease,
                                         coalesce=settings.coalesce)
            result.superseded += claimed.superseded
            batch = _skip_not_taken(store, settings, cipher, owner, claimed, result)
            if batch or not claimed:
                return batch

    async def send(event):
        async with in_flight:
            await limiter.wait()
            return await _post(sender, settings, event, body_for)

    try:
        batch = await asyncio.to_thread(claim)
        while batch:
            sending = asyncio.gather(*(send(e) for e in batch))
            answers = await sending
            out, pause_reason, throttled = _outcomes(batch, answers, store, settings.policy, result, run_id, task_id,
                                                     remembered)
            key_missing = next((a.excerpt for a in answers if a.error_class == "key_missing"), None)
            stop = bool(pause_reason or throttled or key_missing)

            def record_and_claim_next():
                eventlog.record_results(store, owner, **out)
                return [] if stop else claim()

            batch = await asyncio.to_thread(record_and_claim_next)
            log.info("delivered %d/%d so far (%d failed, %d dead, %d deduplicated, %d superseded)", result.sent,
                     result.attempted, result.failed, result.dead, result.deduplicated, result.superseded)
            state = "paused" if pause_reason else "throttled" if throttled else "ok" if out["sent"] else endpoint_state
            if state != endpoint_state:
                await asyncio.to_thread(eventlog.set_endpoint_state, store, settings.endpoint_id, state,
                                        pause_reason or ("429/503 answers" if throttled else None))
                endpoint_state = state
            if pause_reason:
                result.paused = True
                raise EndpointPaused(
                    f"{settings.endpoint_id} answered {pause_reason!r}: delivery to it is paused and no event was "
                    "consumed. Fix the endpoint or the token, then resume with the moodle_sync_replay DAG "
                    "(param resume_endpoint=true)."
                )
            if key_missing:
                raise ConfigError(key_missing)
            if throttled:
                log.warning("the backend is throttling (429/503): this run stops claiming more events")
    finally:
        await sender.close()
    return result


def deliver_due(store: Database, settings: WebhookSettings, *, entity: str | None = None, owner: str,
                http_conn_id: str = WEBHOOK_CONN_ID, run_id: str | None = None, task_id: str | None = None,
                max_events: int | None = None, cipher: PayloadCipher | None = None) -> DeliveryResult:
    """Deliver due events (of ``entity``, or all); fail loudly if the endpoint answered none of them.

    Payloads are opened with ``cipher`` (default: the ``moodle_sync_encryption`` connection's).
    """
    started = time.monotonic()
    cipher = cipher or cipher_from_connection()
    if settings.base_url.startswith("https") and not settings.verify:
        log.warning("TLS verification is OFF for %s (connection extra verify=false): the backend's identity "
                    "is not checked", settings.base_url)
    state, reason = eventlog.endpoint_state(store, settings.endpoint_id)
    if state == "paused":
        log.warning("delivery to %s is paused (%s): nothing sent. Resume with the moodle_sync_replay DAG, "
                    "param resume_endpoint=true", settings.endpoint_id, reason)
        return DeliveryResult(entity=entity, paused=True)
    hook = WebhookHook(settings, http_conn_id=http_conn_id)
    result = asyncio.run(_deliver(store, settings, hook, cipher, entity=entity, owner=owner, run_id=run_id,
                                  task_id=task_id, max_events=max_events, endpoint_state=state))
    result.seconds = round(time.monotonic() - started, 3)
    log.info("%s: attempted %d, sent %d, failed %d, dead %d, deduplicated %d, superseded %d, skipped %d in %.1fs %s",
             entity or "all", result.attempted, result.sent, result.failed, result.dead, result.deduplicated,
             result.superseded, result.skipped, result.seconds, result.statuses)
    if result.attempted and result.sent == 0 and result.unreachable == result.attempted:
        raise ConnectionError(
            f"webhook endpoint {settings.endpoint_id} was unreachable for all {result.attempted} events; they stay "
            f"in the event log as 'failed' and will be retried. Check the moodle_sync_webhook connection and the "
            f"backend."
        )
    return result


def settings_from_connection(conn_id: str = WEBHOOK_CONN_ID) -> WebhookSettings:
    from airflow.sdk import BaseHook

    try:
        conn = BaseHook.get_connection(conn_id)
    except Exception as exc:
        raise ConfigError(
            f"Airflow connection {conn_id!r} is not defined: create it (type http, host/port of the backend, "
            f"password = bearer token) or set AIRFLOW_CONN_{conn_id.upper()}."
        ) from exc
    return WebhookSettings.from_connection(conn)
