"""A local webhook receiver that speaks the legacy backend's contract, for the demo, tests and benchmarks.

POST /api/v1/webhooks: checks the bearer token, refuses unknown event types with 400 like the backend,
dedupes by event_id (answers ``deduplicated``), and can be told to fail: a fixed status for the next N
requests, or a random share of requests. GET /_events lists what it received; POST /_control changes
the failure mode. Run it alone: ``python -m moodle_sync.receiver --port 8099 --token demo-token``.
"""

from __future__ import annotations

import argparse
import json
import random
import socket
import struct
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

ACCEPTED_TYPES = {"user_created", "user_updated", "enrollment_created", "enrollment_deleted", "grade_updated",
                  "course_created", "course_updated"}


class ReceiverState:
    def __init__(self, token: str | None = None, seed: int | None = None):
        self.token = token
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
        if self.path.startswith("/_events"):
            with self.state.lock:
                return self._reply(200, {"requests": self.state.requests, "unique": len(self.state.events),
                                         "deliveries": self.state.deliveries})
        self._reply(404, {"detail": "not found"})

    def do_POST(self):
        raw = self._body()
        if self.path.startswith("/_control"):
            self.state.control(**json.loads(raw or b"{}"))
            return self._reply(200, {"ok": True})
        if self.path.rstrip("/") != "/api/v1/webhooks":
            return self._reply(404, {"detail": "not found"})
        if self.state.token and self.headers.get("Authorization") != f"Bearer {self.state.token}":
            return self._reply(401, {"detail": "Invalid token"})
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


class _Server(ThreadingHTTPServer):
    request_queue_size = 256  # the default backlog of 5 drops a burst of new connections for 1 s
    daemon_threads = True


class Receiver:
    """A receiver on 127.0.0.1 in a background thread: ``with Receiver() as r: r.url``."""

    def __init__(self, port: int = 0, token: str | None = None, seed: int | None = None):
        self.state = ReceiverState(token=token, seed=seed)
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
    parser.add_argument("--token", default=None, help="bearer token to require (none: accept any)")
    args = parser.parse_args()
    state = ReceiverState(token=args.token)
    handler = type("Handler", (_Handler,), {"state": state})
    server = _Server((args.host, args.port), handler)
    print(f"receiver listening on http://{args.host}:{args.port}/api/v1/webhooks", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
