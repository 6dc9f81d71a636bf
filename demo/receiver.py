"""A local webhook receiver that speaks the legacy backend's contract, for the demo, tests and benchmarks.

POST /api/v1/webhooks: checks the bearer token and, given signing secrets, the Standard Webhooks signature
(its own HMAC check, written from the specification rather than with ``moodle_sync.delivery.signing``, so it really
checks the sender), refuses unknown event types with 400 like the backend, dedupes by event_id (answers
``deduplicated``), and can be told to fail: a fixed status for the next N requests, or a random share of
requests. POST /alerts takes the alerts of a generic webhook alert channel (bearer token). GET /_events lists
what it received, GET /_health answers 200; POST /_control changes the failure mode.

Run it alone: ``python -m demo.receiver --port 8099``; its secrets come from the environment
(``RECEIVER_TOKEN``, ``RECEIVER_SIGNING_SECRETS``, ``RECEIVER_ALERT_TOKEN``) so that they stay off the
command line, which every user of the machine can read.
"""

from __future__ import annotations

import argparse
import base64
import binascii
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

#: How far a webhook-timestamp may be from the receiver's clock (the specification's suggested tolerance).
SIGNATURE_TOLERANCE_SECONDS = 300
ALERTS_PATH = "/alerts"

ACCEPTED_TYPES = {"user_created", "user_updated", "enrollment_created", "enrollment_deleted", "grade_updated",
                  "course_created", "course_updated"}


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


class ReceiverState:
    def __init__(self, token: str | None = None, seed: int | None = None, signing_secrets: str | None = None,
                 alert_token: str | None = None):
        self.token = token
        self.signing_secrets = (signing_secrets or "").split()  # whsec_... secrets, any of them verifies
        self.alert_token = alert_token
        self.verified = 0  # requests whose signature was checked and valid
        self.alerts: list[dict] = []  # bodies received on /alerts
        self.lock = threading.Lock()
        self.events: dict[str, dict] = {}  # event_id -> first body received
        self.deliveries: list[dict] = []  # every accepted request, in arrival order
        self.requests = 0
        self.fail_status: int | None = None
        self.fail_next = 0
        self.fail_rate = 0.0
        self.retry_after: str | None = None
        self.delay_seconds = 0.0
        self.delay_next = 0
        self.reset_next = 0
        self.raw: list[tuple[dict, bytes]] = []  # (headers, body) of accepted requests
        self.random = random.Random(seed)

    def control(self, fail_status=None, fail_next=0, fail_rate=0.0, retry_after=None, delay_seconds=0.0,
                delay_next=0, reset_next=0):
        """fail_status for the next fail_next requests (or a fail_rate share, 500 by default), with an optional
        Retry-After; delay_next requests answered after delay_seconds; reset_next connections reset."""
        with self.lock:
            self.fail_status, self.fail_next, self.fail_rate = fail_status, int(fail_next), float(fail_rate)
            self.retry_after = retry_after
            self.delay_seconds, self.delay_next, self.reset_next = float(delay_seconds), int(delay_next), int(reset_next)

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


def _entity_key(body: dict) -> str:
    data = body["event_data"]
    for field in ("enrollment_id", "grade_id"):
        if field in data:
            return f"{data['userid']}:{data['itemid']}" if field == "grade_id" else str(data[field])
    return str(data.get("userid"))


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body go in one segment: no 40 ms delayed-ACK stall
    wbufsize = -1
    state: ReceiverState

    def log_message(self, *args):  # quiet: tests and benchmarks send thousands of requests
        pass

    def _reply(self, status: int, body: dict, headers: dict | None = None):
        data = json.dumps(body).encode()
        self.send_response(status)
        for name, value in (headers or {}).items():
            self.send_header(name, value)
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
                                         "alerts": self.state.alerts})
        self._reply(404, {"detail": "not found"})

    def do_POST(self):
        raw = self._body()
        if self.path.startswith("/_control"):
            self.state.control(**json.loads(raw or b"{}"))
            return self._reply(200, {"ok": True})
        if self.path.rstrip("/") == ALERTS_PATH:
            return self._alert(raw)
        if self.path.rstrip("/") != "/api/v1/webhooks":
            return self._reply(404, {"detail": "not found"})
        if self.state.token and self.headers.get("Authorization") != f"Bearer {self.state.token}":
            return self._reply(401, {"detail": "Invalid token"})
        if self.state.signing_secrets:
            if not signature_valid(self.state.signing_secrets, self.headers, raw):
                return self._reply(401, {"detail": "Invalid signature"})
            with self.state.lock:
                self.state.verified += 1
        action, status, delay = self.state.decide()
        if delay:
            time.sleep(delay)
        if action == "reset":  # RST instead of an answer
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.close_connection = True
            self.connection.close()
            return
        if action == "fail":
            headers = {}
            if self.state.retry_after is not None:
                headers["Retry-After"] = self.state.retry_after
            if 300 <= status < 400:
                headers["Location"] = "http://127.0.0.1:9/elsewhere"
            return self._reply(status, {"success": False, "message": "told to fail"}, headers)
        try:
            body = json.loads(raw)
            if "type" in body and "data" in body:  # the 'standard' profile: id in the webhook-id header
                body = {"event_id": self.headers.get("webhook-id"), "event_type": body["type"],
                        "event_data": body["data"], "standard": True}
            event_id, event_type = body["event_id"], body["event_type"]
            assert isinstance(body["event_data"], dict)
        except Exception:
            return self._reply(400, {"detail": "Invalid event"})
        if event_type not in ACCEPTED_TYPES and not body.get("standard"):
            return self._reply(400, {"detail": "Unsupported event type"})
        if event_type == "grade_updated" and not body.get("standard") and not (body["event_data"].get("student_id") and
                                                  body["event_data"].get("assignment_id")):
            return self._reply(400, {"detail": "student_id and assignment_id are required"})
        with self.state.lock:
            duplicate = event_id in self.state.events
            if not duplicate:
                self.state.events[event_id] = body
            self.state.raw.append(({k.lower(): v for k, v in self.headers.items()}, raw))
            self.state.deliveries.append({"event_id": event_id, "event_type": event_type,
                                          "sequence": body["event_data"].get("sequence"),
                                          "duplicate": duplicate, "entity_key": _entity_key(body),
                                          "authorization": self.headers.get("Authorization"),
                                          "header_names": sorted(k.lower() for k in self.headers.keys())})
        self._reply(200, {"success": True, "event_id": event_id, "message": "ok",
                          "action": "deduplicated" if duplicate else "created"})


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


class _Server(ThreadingHTTPServer):
    request_queue_size = 256  # the default backlog of 5 drops a burst of new connections for 1 s
    daemon_threads = True


class Receiver:
    """A receiver on 127.0.0.1 in a background thread: ``with Receiver() as r: r.url``."""

    def __init__(self, port: int = 0, token: str | None = None, seed: int | None = None,
                 signing_secrets: str | None = None, alert_token: str | None = None):
        self.state = ReceiverState(token=token, seed=seed, signing_secrets=signing_secrets, alert_token=alert_token)
        handler = type("Handler", (_Handler,), {"state": self.state})
        self.server = _Server(("127.0.0.1", port), handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8099)
    parser.add_argument("--token", default=os.environ.get("RECEIVER_TOKEN"),
                        help="bearer token to require (default: $RECEIVER_TOKEN; none: accept any)")
    parser.add_argument("--signing-secrets", default=os.environ.get("RECEIVER_SIGNING_SECRETS"),
                        help="whsec_ secrets, space separated, one of which must sign every webhook "
                             "(default: $RECEIVER_SIGNING_SECRETS; none: signatures are not checked)")
    parser.add_argument("--alert-token", default=os.environ.get("RECEIVER_ALERT_TOKEN"),
                        help=f"bearer token {ALERTS_PATH} requires (default: $RECEIVER_ALERT_TOKEN)")
    args = parser.parse_args()
    state = ReceiverState(token=args.token, signing_secrets=args.signing_secrets, alert_token=args.alert_token)
    handler = type("Handler", (_Handler,), {"state": state})
    server = _Server((args.host, args.port), handler)
    print(f"receiver listening on http://{args.host}:{args.port}/api/v1/webhooks (bearer token "
          f"{'required' if args.token else 'not checked'}, signatures "
          f"{'verified' if state.signing_secrets else 'not checked'}), alerts on {ALERTS_PATH}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
