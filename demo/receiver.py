"""A local webhook receiver that behaves like the legacy backend (../shared/contracts/LEGACY_WEBHOOK.md) and keeps
the CRM state that backend would write, for the demo, the tests and the compose stack.

POST /api/v1/webhooks, as the real backend answers it:
- the body is the backend's model ``{event_id: str, event_type: str, event_data: object, moodle_event_id: int|null,
  timestamp: int|null}`` (unknown top-level fields ignored), validated by pydantic as FastAPI does: a body of the
  wrong shape gets **422** with FastAPI's error shape, whose ``detail[].input`` echoes the request body (personal
  data included, as the real backend does);
- an event type it does not know gets **400** ``Unsupported event type: <type>``;
- ``user_*``, ``enrollment_*``, ``course_*``: 200 with ``action`` created/updated/deleted, nothing written (the
  backend's handlers are stubs), the body kept in ``received``;
- ``grade_updated``: the backend's 10-second memory per composite key ``{student_id}_{course_id}_{assignment_id}``,
  set when the request starts, even if processing then fails: a second grade of the key inside the window is
  answered 200 ``deduplicated`` and not processed. Then a missing or empty ``student_id``/``assignment_id`` gets
  **500** ``Error: ``; otherwise the key's CRM record (``BTEC_Grades``) is created or updated in place, field by
  field as the backend maps them (``crm_fields``), and the answer says ``created`` or ``updated``;
- ``event_id`` is never compared: a resent event is processed again;
- the token is not checked (the real backend never answers 401). ``require_token=True`` (``--require-token``,
  ``RECEIVER_REQUIRE_AUTH=1``) makes it a backend that does check it; given signing secrets it verifies every
  Standard Webhooks signature with its own HMAC check (written from the specification, not with
  ``moodle_sync.delivery.signing``, so that it really checks the sender). Both answer 401 when they refuse.
A body of the project's ``standard`` profile (exactly ``{type, timestamp, data}``; the real backend would answer
422) is taken as a Standard Webhooks receiver would take it: recorded, answered 200, nothing written to the CRM.

Test controls (``state.control(...)`` or POST /_control): a fixed failure for the next N requests or a random share
of them (answered before the backend's handler, as a proxy would: no key is remembered), slow answers (a grade's
key is remembered before the wait), connection resets, the CRM failing for the next N grades (the backend's own 500,
after the key was remembered), error bodies that echo the bearer token, long bodies. POST /alerts takes the
alerts of a generic webhook alert channel (bearer token). GET /_events lists what it received, GET /_crm the CRM
records, GET /_health answers 200.

Run it alone: ``python -m demo.receiver --port 8099``; its secrets come from the environment
(``RECEIVER_TOKEN``, ``RECEIVER_SIGNING_SECRETS``, ``RECEIVER_ALERT_TOKEN``) so that they stay off the
command line, which every user of the machine can read.
"""

from __future__ import annotations

import argparse
import base64
import binascii
import copy
import datetime as dt
import hashlib
import hmac
import json
import os
import random
import socket
import struct
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Dict, Optional
from urllib.parse import quote

from pydantic import BaseModel, Field, ValidationError

#: How far a webhook-timestamp may be from the receiver's clock (the specification's suggested tolerance).
SIGNATURE_TOLERANCE_SECONDS = 300
WEBHOOK_PATH = "/api/v1/webhooks"
ALERTS_PATH = "/alerts"
#: The backend's memory of a grade's composite key, in seconds (per process).
GRADE_WINDOW_SECONDS = 10.0
GRADE_WINDOW_ENV = "RECEIVER_GRADE_WINDOW_SECONDS"

#: The backend's handlers: the stubs answer these actions and write nothing; grade_updated writes the CRM.
STUB_ACTIONS = {"user_created": "created", "user_updated": "updated", "enrollment_created": "created",
                "enrollment_deleted": "deleted", "course_created": "created", "course_updated": "updated"}
ACCEPTED_TYPES = {*STUB_ACTIONS, "grade_updated"}
#: The body of the project's ``standard`` profile, which goes to a Standard Webhooks receiver, not this backend.
STANDARD_FIELDS = {"type", "timestamp", "data"}
#: The backend maps these grade names to the CRM's letters; any other value is stored as it is.
BTEC_LETTERS = {"Fail": "F", "Refer": "R", "Pass": "P", "Merit": "M", "Distinction": "D"}
#: What a long body is made of: multi-byte characters too, so that a cut in the middle of one shows.
_FILLER = "zoho.crm.request() délai dépassé → retry; "


class WebhookEvent(BaseModel):
    """The backend's body model."""

    event_id: str = Field(...)
    event_type: str = Field(...)
    event_data: Dict[str, Any] = Field(...)
    moodle_event_id: Optional[int] = Field(default=None)
    timestamp: Optional[int] = Field(default=None)


class NewerWebhookEvent(WebhookEvent):
    """A newer backend's model, which requires a field the sender does not send (control ``reject_next``)."""

    webhook_version: str = Field(...)


class _MissingGradeField(Exception):
    """The handler's own 400 for a missing student_id/assignment_id: caught, it becomes a 500 ``Error: ``."""

    def __str__(self) -> str:
        return ""


def composite_key(data: dict) -> str:
    """The backend's key of a CRM grade record (an f-string: a missing part reads ``None``)."""
    return f"{data.get('student_id')}_{data.get('course_id')}_{data.get('assignment_id')}"


def crm_fields(key: str, data: dict, timestamp: int | None, today: dt.date | None = None) -> dict:
    """The fields of the ``BTEC_Grades`` record the backend writes for a grade's ``event_data`` (an update
    overwrites these fields and keeps the record's others); raises like the handler on a value it cannot take."""
    grade = data.get("grade") or data.get("btec_grade")
    grade = BTEC_LETTERS.get(grade, grade) if grade else "N/A"
    if data.get("graded_at"):
        date = data["graded_at"]
    elif timestamp:
        date = dt.datetime.fromtimestamp(timestamp).strftime("%Y-%m-%d %H:%M:%S")  # the backend's local time
    else:
        date = (today or dt.date.today()).isoformat()
    student = data.get("student_name") or data.get("user_fullname") or ""  # a null name blanks the record's
    course = data.get("course_name") or ""
    fields = {
        "Moodle_Grade_Composite_Key": key,
        "BTEC_Grade_Name": f"{student} - {course} - {grade} - {str(date)[:10]}",
        "Student_Name": student,
        "Class_Name": course,
        "Grade": grade,
        "Moodle_Grade_ID": "" if data.get("grade_id") is None else str(data["grade_id"]),
        "Attempt_Number": int(data["attempt_number"]) if data.get("attempt_number") else 1,
        "Attempt_Date": date,
        "Grade_Status": data.get("status") or data.get("workflow_state") or "Not marked",
        "Feedback": data.get("feedback") or "",
        "Learning_Outcomes": [{"code": lo.get("code", ""), "description": lo.get("description", ""),
                               "score": lo.get("score", ""), "feedback": lo.get("feedback", "")}
                              for lo in data.get("learning_outcomes") or []],
    }
    role, grader = data.get("grader_role"), data.get("grader_name") or ""
    if role == "iv":
        fields["IV_Name"] = grader
    elif role == "teacher" or grader:
        fields["Grader_Name"] = grader
    return fields


def signature_valid(secrets: list[str], headers, body: bytes, now: float | None = None) -> bool:
    """Standard Webhooks: some ``v1,<base64>`` of ``webhook-signature`` is the HMAC-SHA256, under one of the
    ``whsec_<base64>`` secrets, of ``<webhook-id>.<webhook-timestamp>.<body>``, and the timestamp is recent."""
    msg_id, stamp = headers.get("webhook-id"), headers.get("webhook-timestamp")
    if not msg_id or not stamp or not stamp.isdigit():
        return False
    if abs((time.time() if now is None else now) - int(stamp)) > SIGNATURE_TOLERANCE_SECONDS:
        return False
    given = [item.partition(",")[2] for item in (headers.get("webhook-signature") or "").split()
             if item.startswith("v1,")]
    signed = f"{msg_id}.{stamp}.".encode() + body
    for secret in secrets:
        try:
            key = base64.b64decode(secret.removeprefix("whsec_"), validate=True)
        except (binascii.Error, ValueError):
            continue
        expected = base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
        if any(hmac.compare_digest(expected, signature) for signature in given):
            return True
    return False


def window_from_env() -> float:
    value = os.environ.get(GRADE_WINDOW_ENV)
    return float(value) if value else GRADE_WINDOW_SECONDS


class ReceiverState:
    """What the receiver remembers, and what tests read.

    - ``crm_records()`` / ``crm_record(key)``: the CRM's ``BTEC_Grades`` records by composite key (copies);
      ``crm_writes``: every write, in order (``key``, ``action``, ``event_id``, ``fields``);
    - ``received``: every request on the webhook path in arrival order (``event_id``, ``event_type``, ``body`` as
      parsed or None, ``status``, ``action``, ``crm_key``, ``at``); ``bodies(...)`` filters their bodies;
    - ``deliveries``: the requests answered 200 (``event_id``, ``event_type``, ``action``, ``crm_key``,
      ``sequence``, ``entity_key``, ``duplicate``: the event_id was seen before, an observation only, ...);
      ``events``: event_id -> first body answered 200; ``raw``: (headers, body) of those; ``requests``: requests
      past the token and signature checks; ``verified``: valid signatures; ``alerts``: bodies on /alerts.
    """

    def __init__(self, token: str | None = None, seed: int | None = None, signing_secrets: str | None = None,
                 alert_token: str | None = None, require_token: bool = False,
                 grade_window_seconds: float | None = None):
        if require_token and not token:
            raise ValueError("require_token needs the token to require")
        self.token = token
        self.require_token = require_token
        self.signing_secrets = (signing_secrets or "").split()  # whsec_... secrets, any of them verifies
        self.alert_token = alert_token
        self.grade_window_seconds = window_from_env() if grade_window_seconds is None else float(grade_window_seconds)
        self.verified = 0  # requests whose signature was checked and valid
        self.alerts: list[dict] = []  # bodies received on /alerts
        self.lock = threading.Lock()
        self.events: dict[str, dict] = {}  # event_id -> first body answered 200 (no dedup: an observation)
        self.deliveries: list[dict] = []  # every request answered 200, in arrival order
        self.received: list[dict] = []  # every request on the webhook path, whatever its answer
        self.grade_memory: dict[str, float] = {}  # composite key -> monotonic start of its last remembered request
        self.crm: dict[str, dict] = {}  # BTEC_Grades records by Moodle_Grade_Composite_Key
        self.crm_writes: list[dict] = []
        self.requests = 0
        self.raw: list[tuple[dict, bytes]] = []  # (headers, body) of requests answered 200
        self.streamed: list[int] = []  # bytes written of each endless answer before the client hung up
        self.random = random.Random(seed)
        self.control()

    def control(self, fail_status=None, fail_next=0, fail_rate=0.0, retry_after=None, delay_seconds=0.0,
                delay_next=0, reset_next=0, crm_fail_next=0, crm_fail_key=None, echo_token=False, long_body=0,
                long_body_success=False, content_type=None, error_body=None, endless_body=False, reject_next=0):
        """Set every failure mode at once (no argument: none).

        fail_status for the next fail_next requests (or a fail_rate share, 500 by default), with an optional
        Retry-After, answered before the backend's handler (as a proxy would: no grade key is remembered);
        delay_next requests answered after delay_seconds (a grade's key is remembered before the wait, as the slow
        backend would); reset_next connections reset; crm_fail_next grades fail in the handler with the backend's
        500 ``Error: ...`` after their key was remembered (the CRM unreachable); with crm_fail_key, only grades of
        that CRM key count (the others of a concurrent batch go through, whatever their order). echo_token: error bodies repeat
        the request's bearer token verbatim, URL-encoded and as PHP's json_encode writes it (``\\/``).
        long_body: error bodies (with long_body_success, also 200 bodies) padded to at least that many bytes.
        content_type: the Content-Type header of error answers (a charset Python does not know, say); error_body:
        the text of error answers instead of the JSON (NUL and control characters, say); endless_body: error
        answers announce 1 GB and stream it until the client hangs up (``streamed``: bytes written to each).
        reject_next: the next N well-formed bodies fail a newer backend's model (a required field missing), and
        the 422 echoes the whole body in ``detail[].input``, personal data included, as FastAPI does."""
        with self.lock:
            self.fail_status, self.fail_next, self.fail_rate = fail_status, int(fail_next), float(fail_rate)
            self.retry_after = retry_after
            self.delay_seconds, self.delay_next, self.reset_next = float(delay_seconds), int(delay_next), int(reset_next)
            self.crm_fail_next, self.crm_fail_key = int(crm_fail_next), crm_fail_key
            self.echo_token, self.long_body, self.long_body_success = bool(echo_token), int(long_body), \
                bool(long_body_success)
            self.content_type, self.error_body, self.endless_body = content_type, error_body, bool(endless_body)
            self.reject_next = int(reject_next)

    def decide(self) -> tuple[str | None, int | None, float]:
        """(action, status, delay): action None (answer normally), 'fail' or 'reset'."""
        with self.lock:
            self.requests += 1
            delay = 0.0
            if self.delay_next > 0:
                self.delay_next -= 1
                delay = self.delay_seconds
            if self.reset_next > 0:
                self.reset_next -= 1
                return "reset", None, delay
            if self.fail_status and self.fail_next > 0:
                self.fail_next -= 1
                return "fail", self.fail_status, delay
            if self.fail_rate and self.random.random() < self.fail_rate:
                return "fail", self.fail_status or 500, delay
        return None, None, delay

    def remember(self, key: str, started: float) -> bool:
        """The backend's memory: False if ``key`` was remembered less than the window before ``started``
        (deduplicated, and the memory is not renewed); else remember it from ``started``."""
        with self.lock:
            last = self.grade_memory.get(key)
            if last is not None and started - last < self.grade_window_seconds:
                return False
            self.grade_memory[key] = started
            return True

    def forget_grade_keys(self) -> None:
        """What a restart of the backend's process does to its memory."""
        with self.lock:
            self.grade_memory.clear()

    def take_rejection(self) -> bool:
        with self.lock:
            if self.reject_next > 0:
                self.reject_next -= 1
                return True
            return False

    def take_crm_failure(self, key: str) -> bool:
        with self.lock:
            if self.crm_fail_next > 0 and self.crm_fail_key in (None, key):
                self.crm_fail_next -= 1
                return True
            return False

    def write_crm(self, key: str, fields: dict, event_id: str) -> str:
        """Create or update the key's record in place, as the backend does; returns the action."""
        with self.lock:
            action = "updated" if key in self.crm else "created"
            self.crm.setdefault(key, {}).update(copy.deepcopy(fields))
            self.crm_writes.append({"key": key, "action": action, "event_id": event_id,
                                    "fields": copy.deepcopy(fields), "at": time.time()})
            return action

    # --- accessors for tests ---------------------------------------------------------------------------------

    def crm_records(self) -> dict[str, dict]:
        """Every CRM grade record by composite key, as the CRM holds it now (a copy)."""
        with self.lock:
            return copy.deepcopy(self.crm)

    def crm_record(self, key: str) -> dict | None:
        with self.lock:
            return copy.deepcopy(self.crm.get(key))

    def bodies(self, event_type: str | None = None, action: str | None = None,
               status: int | None = None) -> list[dict]:
        """The parsed bodies received on the webhook path, in arrival order, filtered by event type, the
        answer's action (``created``, ``updated``, ``deleted``, ``deduplicated``) and HTTP status."""
        with self.lock:
            return [copy.deepcopy(r["body"]) for r in self.received
                    if (event_type is None or r["event_type"] == event_type)
                    and (action is None or r["action"] == action) and (status is None or r["status"] == status)]


def _entity_key(body: dict) -> str:
    data = body["event_data"]
    if "grade_id" in data:
        return f"{data.get('userid')}:{data.get('itemid')}"
    if "enrollment_id" in data:
        return str(data["enrollment_id"])
    return str(data.get("userid"))


def _json_default(value):
    if isinstance(value, (bytes, bytearray)):
        return bytes(value).decode("utf-8", "replace")
    return str(value)


def fastapi_errors(errors: list[dict], prefix: tuple = ("body",)) -> list[dict]:
    """pydantic's errors as FastAPI's 422 lists them: ``loc`` under ``body``, no ``url``."""
    return [{**error, "loc": [*prefix, *error.get("loc", ())]} for error in errors]


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body go in one segment: no 40 ms delayed-ACK stall
    wbufsize = -1
    state: ReceiverState

    def log_message(self, *args):  # quiet: tests and benchmarks send thousands of requests
        pass

    def _reply(self, status: int, body: dict | bytes, headers: dict | None = None):
        data = body if isinstance(body, bytes) else json.dumps(body, default=_json_default).encode()
        self.send_response(status)
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        if "Content-Type" not in (headers or {}):
            self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)
        self.wfile.flush()

    def _body(self) -> bytes:
        return self.rfile.read(int(self.headers.get("Content-Length") or 0))

    def do_GET(self):
        if self.path.startswith("/_health"):
            return self._reply(200, {"ok": True})
        if self.path.startswith("/_events"):
            with self.state.lock:
                return self._reply(200, {"requests": self.state.requests, "unique": len(self.state.events),
                                         "verified": self.state.verified, "deliveries": self.state.deliveries,
                                         "alerts": self.state.alerts, "crm": self.state.crm})
        if self.path.startswith("/_crm"):
            return self._reply(200, self.state.crm_records())
        self._reply(404, {"detail": "Not Found"})

    def do_POST(self):
        started = time.monotonic()  # the backend remembers a grade's key from the start of its request
        raw = self._body()
        if self.path.startswith("/_control"):
            self.state.control(**json.loads(raw or b"{}"))
            return self._reply(200, {"ok": True})
        if self.path.rstrip("/") == ALERTS_PATH:
            return self._alert(raw)
        if self.path.rstrip("/") != WEBHOOK_PATH:
            return self._reply(404, {"detail": "Not Found"})
        self._webhook(raw, started)

    # --- the webhook path --------------------------------------------------------------------------------------

    def _wait(self):
        """The slowness the test asked for, once per request, before the backend processes or answers."""
        delay, self._delay = getattr(self, "_delay", 0.0), 0.0
        if delay:
            time.sleep(delay)

    def _answer(self, status: int, payload: dict, *, body=None, event_id=None, event_type=None, action=None,
                crm_key=None, headers=None):
        """Answer a webhook request (record it first, so that a test reading the state after the answer sees it)."""
        self._wait()
        entry = {"event_id": event_id, "event_type": event_type, "body": body, "status": status, "action": action,
                 "crm_key": crm_key, "at": time.time()}
        with self.state.lock:
            self.state.received.append(entry)
            if status == 200:
                duplicate = event_id in self.state.events
                if not duplicate:
                    self.state.events[event_id] = body
                self.state.raw.append(({k.lower(): v for k, v in self.headers.items()}, self._raw))
                self.state.deliveries.append({
                    "event_id": event_id, "event_type": event_type, "action": action, "crm_key": crm_key,
                    "sequence": body["event_data"].get("sequence"), "duplicate": duplicate,
                    "entity_key": _entity_key(body), "authorization": self.headers.get("Authorization"),
                    "header_names": sorted(k.lower() for k in self.headers.keys())})
        if status >= 300 and self.state.endless_body:
            return self._stream(status, headers)
        if status >= 300 and self.state.content_type:
            headers = {**(headers or {}), "Content-Type": self.state.content_type}
        if status >= 300 and self.state.error_body is not None:
            return self._reply(status, str(self.state.error_body).encode(), headers)
        self._reply(status, self._dress(status, payload), headers)

    def _stream(self, status: int, headers: dict | None):
        """An answer that announces 1 GB and writes it until the client hangs up (never held in memory)."""
        chunk, total, written = (_FILLER * 1600).encode()[:65536], 1 << 30, 0
        self.send_response(status)
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(total))
        self.end_headers()
        try:
            while written < total:
                self.wfile.write(chunk[:total - written])
                written += len(chunk[:total - written])
        except OSError:  # the client dropped the connection: what a capped reader must do
            pass
        finally:
            self.close_connection = True
            with self.state.lock:
                self.state.streamed.append(written)

    def _dress(self, status: int, payload: dict) -> bytes:
        """The answer's bytes; when told to, an error answer echoes the bearer token (at its start and, in a long
        body, again at its end) and a long answer is padded to ``long_body`` bytes."""
        text = json.dumps(payload, default=_json_default)
        error = status >= 300
        auth = self.headers.get("Authorization") or ""
        echo = error and self.state.echo_token and auth
        pad = self.state.long_body if (error or self.state.long_body_success) else 0
        if not echo and not pad:
            return text.encode()

        def echoed(suffix: str) -> str:
            if not echo:
                return ""
            token = auth.removeprefix("Bearer ")
            php = json.dumps(token).replace("/", "\\/")  # PHP's json_encode escapes the slash (and non-ASCII)
            # the header as received, not JSON-escaped: verbatim
            return (f', "authorization{suffix}": "{auth}", "token_urlencoded{suffix}": "{quote(token, safe="")}", '
                    f'"token_php{suffix}": {php}')

        head, tail = text[:-1] + echoed(""), echoed("_again") + "}"
        if not pad:
            return (head + "}").encode()
        room = pad - len(head.encode()) - len(tail.encode()) - len(', "trace": ""')
        filler = ""
        if room > 0:
            filler = (_FILLER * (room // len(_FILLER) + 1))[:room]
            while len(filler.encode()) > room:  # whole characters only, within the room left
                filler = filler[:-1]
        return (head + f', "trace": "{filler}"' + tail).encode()

    def _webhook(self, raw: bytes, started: float):
        self._raw, self._delay = raw, 0.0
        state = self.state
        if state.require_token and self.headers.get("Authorization") != f"Bearer {state.token}":
            return self._answer(401, {"detail": "Invalid token"})
        if state.signing_secrets:
            if not signature_valid(state.signing_secrets, self.headers, raw):
                return self._answer(401, {"detail": "Invalid signature"})
            with state.lock:
                state.verified += 1
        action, status, self._delay = state.decide()
        if action == "reset":  # RST instead of an answer
            self._wait()
            with state.lock:
                state.received.append({"event_id": None, "event_type": None, "body": None, "status": None,
                                       "action": "reset", "crm_key": None, "at": time.time()})
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.close_connection = True
            self.connection.close()
            return
        if action == "fail":
            headers = {}
            if state.retry_after is not None:
                headers["Retry-After"] = state.retry_after
            if 300 <= status < 400:
                headers["Location"] = "http://127.0.0.1:9/elsewhere"
            told = _parsed(raw)
            return self._answer(status, {"detail": "told to fail"}, body=told, headers=headers,
                                **(_ids(told) if isinstance(told, dict) else {}))

        # FastAPI reads a JSON body (application/json or */*+json) and validates it against the model
        body: Any = None
        if raw:
            content_type = (self.headers.get("Content-Type") or "").split(";")[0].strip().lower()
            if content_type == "application/json" or (content_type.startswith("application/")
                                                      and content_type.endswith("+json")):
                try:
                    body = json.loads(raw)
                except json.JSONDecodeError as exc:
                    return self._answer(422, {"detail": [{"type": "json_invalid", "loc": ["body", exc.pos],
                                                          "msg": "JSON decode error", "input": {},
                                                          "ctx": {"error": exc.msg}}]})
                except ValueError:
                    return self._answer(400, {"detail": "There was an error parsing the body"})
            else:
                body = raw
        if isinstance(body, dict) and set(body) == STANDARD_FIELDS and isinstance(body["data"], dict):
            # the 'standard' profile, for a Standard Webhooks receiver: its id is in the webhook-id header (signed)
            msg_id = self.headers.get("webhook-id")
            return self._answer(200, {"success": True, "event_id": msg_id, "message": "ok", "action": "created"},
                                body={"event_id": msg_id, "event_type": body["type"], "event_data": body["data"],
                                      "standard": True},
                                event_id=msg_id, event_type=body["type"], action="created")
        if body is None:
            return self._answer(422, {"detail": [{"type": "missing", "loc": ["body"], "msg": "Field required",
                                                  "input": None}]})
        try:
            event = WebhookEvent.model_validate(body, from_attributes=True)
        except ValidationError as exc:
            return self._answer(422, {"detail": fastapi_errors(exc.errors(include_url=False))},
                                **({"body": body, **_ids(body)} if isinstance(body, dict) else {}))
        ids = {"body": body, "event_id": event.event_id, "event_type": event.event_type}
        if state.take_rejection():
            try:
                NewerWebhookEvent.model_validate(body)
            except ValidationError as exc:
                return self._answer(422, {"detail": fastapi_errors(exc.errors(include_url=False))}, **ids)
        if event.event_type not in ACCEPTED_TYPES:
            return self._answer(400, {"detail": f"Unsupported event type: {event.event_type}"}, **ids)
        if event.event_type != "grade_updated":
            return self._answer(200, self._success(event, STUB_ACTIONS[event.event_type]),
                                action=STUB_ACTIONS[event.event_type], **ids)
        data = event.event_data
        key = composite_key(data)
        if not state.remember(key, started):
            return self._answer(200, self._success(event, "deduplicated",
                                                   f"Duplicate grade_updated for {key} within "
                                                   f"{state.grade_window_seconds:g}s ignored"),
                                action="deduplicated", crm_key=key, **ids)
        self._wait()  # a slow backend has remembered the key already
        try:
            if state.take_crm_failure(key):
                raise ConnectionError("CRM unreachable (told to fail)")
            if not data.get("student_id") or not data.get("assignment_id"):
                raise _MissingGradeField()
            fields = crm_fields(key, data, event.timestamp)
        except Exception as exc:  # the handler turns every failure into a 500 'Error: ...'
            return self._answer(500, {"detail": f"Error: {exc}"}, crm_key=key, **ids)
        action = state.write_crm(key, fields, event.event_id)
        return self._answer(200, self._success(event, action), action=action, crm_key=key, **ids)

    @staticmethod
    def _success(event: WebhookEvent, action: str, message: str | None = None) -> dict:
        return {"success": True, "event_id": event.event_id,
                "message": message or f"Event {event.event_type} processed successfully",
                "processed_at": dt.datetime.now(dt.timezone.utc).replace(tzinfo=None).isoformat(), "action": action}

    def _alert(self, raw: bytes):
        if self.state.alert_token and self.headers.get("Authorization") != f"Bearer {self.state.alert_token}":
            return self._reply(401, {"detail": "Invalid token"})
        try:
            body = json.loads(raw)
            assert isinstance(body, dict)
        except Exception:
            return self._reply(400, {"detail": "Invalid alert"})
        with self.state.lock:
            self.state.alerts.append(body)
        self._reply(200, {"success": True})


def _ids(body: dict) -> dict:
    """event_id and event_type of a body that may not be the model, for the log of what was received."""
    return {"event_id": body.get("event_id"), "event_type": body.get("event_type")}


def _parsed(raw: bytes):
    try:
        return json.loads(raw)
    except ValueError:
        return None


class _Server(ThreadingHTTPServer):
    request_queue_size = 256  # the default backlog of 5 drops a burst of new connections for 1 s
    daemon_threads = True


class Receiver:
    """A receiver on 127.0.0.1 in a background thread: ``with Receiver() as r: r.url``; ``r.state`` is what it
    remembers (``ReceiverState``: the CRM records, what it received, the controls)."""

    def __init__(self, port: int = 0, token: str | None = None, seed: int | None = None,
                 signing_secrets: str | None = None, alert_token: str | None = None, *,
                 require_token: bool = False, grade_window_seconds: float | None = None):
        """``token`` is checked only with ``require_token`` (the real backend checks none); signatures are
        verified when ``signing_secrets`` are given; ``grade_window_seconds``: the backend's memory of a grade
        key (default $RECEIVER_GRADE_WINDOW_SECONDS, else 10 s, the real backend's)."""
        self.state = ReceiverState(token=token, seed=seed, signing_secrets=signing_secrets, alert_token=alert_token,
                                   require_token=require_token, grade_window_seconds=grade_window_seconds)
        handler = type("Handler", (_Handler,), {"state": self.state})
        self.server = _Server(("127.0.0.1", port), handler)
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    @property
    def port(self) -> int:
        return self.server.server_address[1]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> "Receiver":
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()


def _flag(value: str | None) -> bool:
    return (value or "").strip().lower() in ("1", "true", "yes", "on")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8099)
    parser.add_argument("--token", default=os.environ.get("RECEIVER_TOKEN"),
                        help="the bearer token (default: $RECEIVER_TOKEN); checked only with --require-token")
    parser.add_argument("--require-token", action="store_true",
                        default=_flag(os.environ.get("RECEIVER_REQUIRE_AUTH")),
                        help="answer 401 to a request without the token, which the real backend never does "
                             "(default: $RECEIVER_REQUIRE_AUTH)")
    parser.add_argument("--signing-secrets", default=os.environ.get("RECEIVER_SIGNING_SECRETS"),
                        help="whsec_ secrets, space separated, one of which must sign every webhook "
                             "(default: $RECEIVER_SIGNING_SECRETS; none: signatures are not checked)")
    parser.add_argument("--alert-token", default=os.environ.get("RECEIVER_ALERT_TOKEN"),
                        help=f"bearer token {ALERTS_PATH} requires (default: $RECEIVER_ALERT_TOKEN)")
    parser.add_argument("--grade-window-seconds", type=float, default=None,
                        help=f"the backend's memory of a grade key (default: ${GRADE_WINDOW_ENV}, else "
                             f"{GRADE_WINDOW_SECONDS:g})")
    args = parser.parse_args()
    if args.require_token and not args.token:
        parser.error("--require-token needs a token (--token or $RECEIVER_TOKEN)")
    state = ReceiverState(token=args.token, signing_secrets=args.signing_secrets, alert_token=args.alert_token,
                          require_token=args.require_token, grade_window_seconds=args.grade_window_seconds)
    handler = type("Handler", (_Handler,), {"state": state})
    server = _Server((args.host, args.port), handler)
    print(f"receiver listening on http://{args.host}:{args.port}{WEBHOOK_PATH} (bearer token "
          f"{'required' if state.require_token else 'not checked'}, signatures "
          f"{'verified' if state.signing_secrets else 'not checked'}, grade keys remembered "
          f"{state.grade_window_seconds:g}s), alerts on {ALERTS_PATH}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
