"""The receiver (demo/receiver.py) as a real HTTP server on loopback: it answers like the legacy backend of
../shared/contracts/LEGACY_WEBHOOK.md (422 echoing the body, 400 on an unknown type, stub handlers, the 10-second
memory of a grade's composite key, 500 on a missing student_id/assignment_id, no event_id dedup, no token check)
and keeps the CRM record the backend writes per composite key. As the demo and the compose stack use it, it also
checks tokens and Standard Webhooks signatures when told to (against the reference library's signer, not ours)
and takes alerts from a generic webhook alert channel."""

from __future__ import annotations

import base64
import datetime as dt
import json
import os
import socket
import subprocess
import sys
import time

import requests

import pytest

from support.helpers import add_events, events
from moodle_sync.outbox import eventlog
from moodle_sync.delivery.webhook import EndpointPaused, WebhookSettings, deliver_due
from demo.receiver import Receiver

TOKEN = "receiver-test-token"


def whsec() -> str:
    return "whsec_" + base64.b64encode(os.urandom(32)).decode()


def post(receiver, body: bytes, headers: dict) -> requests.Response:
    return requests.post(f"{receiver.url}/api/v1/webhooks", data=body, timeout=10,
                         headers={"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json", **headers})


def signed(secret: str, body: bytes, msg_id: str, when: dt.datetime) -> dict:
    from standardwebhooks.webhooks import Webhook

    return {"webhook-id": msg_id, "webhook-timestamp": str(int(when.timestamp())),
            "webhook-signature": Webhook(secret).sign(msg_id, when, body.decode())}


def test_the_receiver_accepts_what_standardwebhooks_signs_and_refuses_the_rest():
    old, new, stranger = whsec(), whsec(), whsec()
    body = json.dumps({"event_id": "e1", "event_type": "user_updated", "event_data": {"userid": 7}}).encode()
    now = dt.datetime.now(dt.timezone.utc)
    with Receiver(token=TOKEN, signing_secrets=f"{new} {old}") as receiver:
        assert post(receiver, body, signed(new, body, "e1", now)).status_code == 200
        assert post(receiver, body, signed(old, body, "e1", now)).status_code == 200  # rotation: either secret
        refused = {
            "no signature": {},
            "a stranger's secret": signed(stranger, body, "e1", now),
            "another body": signed(new, body + b" ", "e1", now),
            "another id": {**signed(new, body, "e2", now), "webhook-id": "e1"},
            "ten minutes old": signed(new, body, "e1", now - dt.timedelta(minutes=10)),
        }
        for case, headers in refused.items():
            response = post(receiver, body, headers)
            assert (response.status_code, response.json()["detail"]) == (401, "Invalid signature"), case
        assert receiver.state.verified == 2 and len(receiver.state.deliveries) == 2


def test_signed_deliveries_verify_at_the_receiver_and_a_wrong_secret_pauses_the_endpoint(store):
    secret = whsec()
    key = base64.b64decode(secret[len("whsec_"):])
    ids = add_events(store, "user", [(1, 1), (2, 1), (3, 1)])
    with Receiver(token=TOKEN, signing_secrets=secret) as receiver:
        wrong = WebhookSettings(base_url=receiver.url, token=TOKEN, signing_keys=(os.urandom(32),))
        with pytest.raises(EndpointPaused, match="HTTP 401"):  # no event is spent; the answer's text is not kept
            deliver_due(store, wrong, owner="t")
        assert [e["status"] for e in events(store)] == ["pending"] * 3 and not receiver.state.events
        assert receiver.state.received[0]["status"] == 401 and receiver.state.verified == 0  # refused: the signature
        eventlog.set_endpoint_state(store, wrong.endpoint_id, "ok")  # what resume_endpoint does
        store.commit()
        right = WebhookSettings(base_url=receiver.url, token=TOKEN, signing_keys=(key,))
        assert deliver_due(store, right, owner="t").sent == 3
        assert receiver.state.verified == 3 and set(receiver.state.events) == set(ids)


def test_alerts_reach_the_receiver_through_a_webhook_alert_channel_with_its_token():
    from airflow.sdk import Connection

    from moodle_sync.ops.alerts import Notification, channel_from_connection, dispatch

    with Receiver(token=TOKEN, alert_token="alert-token-1") as receiver:
        def channel(password):
            return channel_from_connection(Connection(
                conn_id="demo_alerts", conn_type="http", host="127.0.0.1", port=receiver.port, schema="http",
                password=password, extra=json.dumps({"endpoint": "/alerts"})))

        assert dispatch(Notification(title="t1", text="x"), [channel("alert-token-1")]) == (1, 0)
        assert dispatch(Notification(title="t2", text="x"), [channel("wrong-token")]) == (0, 1)
        assert [a["title"] for a in receiver.state.alerts] == ["t1"]
        assert receiver.state.alerts[0]["source"] == "moodle-zoho-sync"


def test_the_receiver_takes_its_secrets_from_the_environment_not_the_command_line():
    """As the compose stack starts it: RECEIVER_* variables, nothing secret on its command line."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {**os.environ, "RECEIVER_TOKEN": TOKEN, "RECEIVER_REQUIRE_AUTH": "1", "RECEIVER_SIGNING_SECRETS": whsec(),
           "RECEIVER_ALERT_TOKEN": "alert-token-2", "RECEIVER_GRADE_WINDOW_SECONDS": "2.5",
           "PYTHONPATH": os.pathsep.join(sys.path)}
    proc = subprocess.Popen([sys.executable, "-m", "demo.receiver", "--port", str(port)], env=env,
                            stdout=subprocess.PIPE, text=True)
    try:
        line = proc.stdout.readline()  # printed once the socket listens
        assert "bearer token required, signatures verified, grade keys remembered 2.5s" in line, line
        url = f"http://127.0.0.1:{port}"
        no_token = requests.post(f"{url}/api/v1/webhooks", data=b"{}", timeout=5)
        assert (no_token.status_code, no_token.json()["detail"]) == (401, "Invalid token")
        unsigned = requests.post(f"{url}/api/v1/webhooks", data=b"{}", timeout=5,
                                 headers={"Authorization": f"Bearer {TOKEN}"})
        assert (unsigned.status_code, unsigned.json()["detail"]) == (401, "Invalid signature")
        wrong = requests.post(f"{url}/alerts", json={"title": "x"}, timeout=5, headers={"Authorization": "Bearer no"})
        right = requests.post(f"{url}/alerts", json={"title": "x"}, timeout=5,
                              headers={"Authorization": "Bearer alert-token-2"})
        assert (wrong.status_code, right.status_code) == (401, 200)
    finally:
        proc.terminate()
        proc.wait(timeout=10)


# --- the legacy backend's behaviour (../shared/contracts/LEGACY_WEBHOOK.md) -----------------------------------

def webhook(receiver, body, *, token: str | None = None, content_type: str | None = "application/json",
            raw: bytes | None = None) -> requests.Response:
    """POST a body to the receiver as the plugin would (JSON, optional bearer token)."""
    headers = {"Content-Type": content_type} if content_type else {}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    data = raw if raw is not None else json.dumps(body).encode()
    return requests.post(f"{receiver.url}/api/v1/webhooks", data=data, headers=headers, timeout=10)


def grade(key: tuple, event_id: str | None = None, timestamp: int | None = None, **data) -> dict:
    """A grade_updated body for the composite key (student_id, course_id, assignment_id)."""
    student, course, assignment = key
    return {"event_id": event_id or f"g-{student}-{course}-{assignment}-{os.urandom(4).hex()}",
            "event_type": "grade_updated", "moodle_event_id": None, "timestamp": timestamp,
            "event_data": {"student_id": student, "course_id": course, "assignment_id": assignment, **data}}


def fastapi_reference():
    """A FastAPI app with the backend's body model, written here from the contract (not the receiver's): what
    the real backend answers to a body of the wrong shape."""
    from typing import Any, Dict, Optional

    from fastapi import FastAPI
    from fastapi.testclient import TestClient
    from pydantic import BaseModel, Field

    class WebhookEvent(BaseModel):
        event_id: str = Field(...)
        event_type: str = Field(...)
        event_data: Dict[str, Any] = Field(...)
        moodle_event_id: Optional[int] = Field(default=None)
        timestamp: Optional[int] = Field(default=None)

    async def receive_webhook(event):
        return {"success": True, "event_id": event.event_id}

    receive_webhook.__annotations__["event"] = WebhookEvent  # a class, not this module's postponed string
    app = FastAPI()
    app.post("/api/v1/webhooks")(receive_webhook)
    return TestClient(app)


WRONG_SHAPES = {
    "no event_id (a user's personal data)": (json.dumps({"event_type": "user_created", "event_data": {
        "userid": 7, "email": "ann.lee@example.org", "firstname": "Ann", "lastname": "Lee"}}).encode(), None),
    "event_data a list": (b'{"event_id": "e", "event_type": "user_created", "event_data": [1, 2]}', None),
    "event_id a number": (b'{"event_id": 5, "event_type": "user_created", "event_data": {}}', None),
    "timestamp with a fraction": (b'{"event_id": "e", "event_type": "user_created", "event_data": {}, '
                                  b'"timestamp": 1.5}', None),
    "a JSON array": (b"[1, 2]", None),
    "not JSON": (b"userid=7&email=ann", None),
    "no body": (b"", None),
    "JSON sent as text/plain": (b'{"event_id": "e", "event_type": "user_created", "event_data": {}}', "text/plain"),
}


def test_a_body_of_the_wrong_shape_gets_fastapis_422_which_echoes_the_body():
    reference = fastapi_reference()
    with Receiver() as receiver:
        for case, (raw, content_type) in WRONG_SHAPES.items():
            got = webhook(receiver, None, raw=raw, content_type=content_type or "application/json")
            expected = reference.post("/api/v1/webhooks", content=raw,
                                      headers={"Content-Type": content_type or "application/json"})
            assert (got.status_code, got.json()) == (422, expected.json()), case
        # the whole body, personal data included, comes back in detail[].input: the real backend's behaviour
        missing = webhook(receiver, None, raw=WRONG_SHAPES["no event_id (a user's personal data)"][0]).json()
        assert missing["detail"][0]["loc"] == ["body", "event_id"]
        assert missing["detail"][0]["input"]["event_data"]["email"] == "ann.lee@example.org"
        # unknown top-level fields are ignored, a number as a string is taken as the number
        fine = {"event_id": "e", "event_type": "user_created", "event_data": {}, "sequence": 3, "timestamp": "12"}
        assert webhook(receiver, fine).status_code == reference.post("/api/v1/webhooks", json=fine).status_code == 200
        assert [r["status"] for r in receiver.state.received] == [422] * (len(WRONG_SHAPES) + 1) + [200]
        assert receiver.state.crm_records() == {} and receiver.state.bodies(status=200) == [fine]


def test_an_event_type_the_backend_does_not_know_gets_400():
    with Receiver() as receiver:
        for event_type in ("grade_created", "user_deleted", "enrolment_created", ""):
            response = webhook(receiver, {"event_id": "e", "event_type": event_type,
                                          "event_data": {"student_id": 1, "course_id": 2, "assignment_id": 3}})
            assert (response.status_code, response.json()) == (
                400, {"detail": f"Unsupported event type: {event_type}"}), event_type
        assert receiver.state.crm_records() == {} and not receiver.state.deliveries


def test_users_enrolments_and_courses_are_answered_by_stubs_that_write_nothing_and_event_ids_are_not_compared():
    expected = {"user_created": "created", "user_updated": "updated", "enrollment_created": "created",
                "enrollment_deleted": "deleted", "course_created": "created", "course_updated": "updated"}
    with Receiver() as receiver:
        for event_type, action in expected.items():
            body = {"event_id": "same-id", "event_type": event_type, "event_data": {"userid": 7, "courseid": 4}}
            answer = webhook(receiver, body)
            assert answer.status_code == 200, event_type
            assert set(answer.json()) == {"success", "event_id", "message", "processed_at", "action"}
            assert (answer.json()["success"], answer.json()["event_id"], answer.json()["action"]) == (
                True, "same-id", action)
        # the same event_id six times: every one processed, none 'deduplicated'
        assert [d["action"] for d in receiver.state.deliveries] == list(expected.values())
        assert [b["event_type"] for b in receiver.state.bodies()] == list(expected)
        assert receiver.state.bodies("enrollment_deleted", action="deleted")[0]["event_data"]["courseid"] == 4
        assert receiver.state.crm_records() == {} and receiver.state.crm_writes == []


def test_the_real_10_second_memory_of_a_grade_key_drops_the_second_grade_even_after_a_failure():
    """The real window (10 s, the default): the test waits for it once."""
    a, b, c, d = (43, 4, 3), (44, 4, 3), ("", 4, 9), (43, 4, 5)
    with Receiver() as receiver:
        assert receiver.state.grade_window_seconds == 10
        start = time.monotonic()
        first = grade(a, grade="Pass", student_name="Ann Lee", course_name="Biology")
        assert webhook(receiver, first).json()["action"] == "created"
        newer = webhook(receiver, grade(a, grade="Merit", student_name="Ann Lee", course_name="Biology"))
        assert (newer.status_code, newer.json()["action"]) == (200, "deduplicated")  # 200, and not applied
        assert webhook(receiver, first).json()["action"] == "deduplicated"  # its own event_id changes nothing
        # the memory starts with the request, even if processing then fails
        receiver.state.control(crm_fail_next=1)
        failed = webhook(receiver, grade(b, grade="Distinction"))
        assert (failed.status_code, failed.json()["detail"]) == (500, "Error: CRM unreachable (told to fail)")
        assert webhook(receiver, grade(b, grade="Distinction")).json()["action"] == "deduplicated"  # lost
        # a missing student_id is a 500 'Error: ' after its (partial) key was remembered
        missing = webhook(receiver, grade(c, grade="Pass"))
        assert (missing.status_code, missing.json()) == (500, {"detail": "Error: "})
        assert webhook(receiver, grade(c, grade="Pass")).json()["action"] == "deduplicated"
        assert webhook(receiver, grade(d, grade="Refer")).json()["action"] == "created"  # another key: no effect
        assert sorted(receiver.state.crm_records()) == ["43_4_3", "43_4_5"]
        assert receiver.state.crm_record("43_4_3")["Grade"] == "P"

        time.sleep(max(0.0, start + 9.0 - time.monotonic()))
        assert webhook(receiver, grade(a, grade="Merit")).json()["action"] == "deduplicated"  # 9 s: still
        time.sleep(max(0.0, start + 10.5 - time.monotonic()))  # 10 s after the first, not after the 9 s one
        assert webhook(receiver, grade(a, grade="Merit", student_name="Ann Lee",
                                       course_name="Biology")).json()["action"] == "updated"
        assert webhook(receiver, grade(b, grade="Distinction")).json()["action"] == "created"
        records = receiver.state.crm_records()
        assert (records["43_4_3"]["Grade"], records["44_4_3"]["Grade"]) == ("M", "D")
        assert [(w["key"], w["action"]) for w in receiver.state.crm_writes] == [
            ("43_4_3", "created"), ("43_4_5", "created"), ("43_4_3", "updated"), ("44_4_3", "created")]
        assert [d["action"] for d in receiver.state.deliveries].count("deduplicated") == 5


#: A window short enough to write one key several times without waiting 10 s for each write: the mapping
#: tests are about the record's fields, the real window is tested above.
SHORT_WINDOW = 0.2


def write_again(receiver, body) -> dict:
    """Send a grade of a key written before, once the (short) window has passed."""
    time.sleep(SHORT_WINDOW + 0.05)
    answer = webhook(receiver, body)
    assert answer.status_code == 200, answer.text
    return answer.json()


def test_a_grade_becomes_the_crm_record_the_backend_writes_field_by_field():
    import datetime as dt

    stamp = 1795744839
    full = {"grade": "D", "btec_grade": "Refer", "graded_at": "2026-11-27 02:00:39", "status": "graded",
            "workflow_state": "released", "attempt_number": 2, "feedback": "Well argued", "grader_name": "M. Jones",
            "grader_role": "teacher", "student_name": "Ann Lee", "user_fullname": "Lee, Ann", "course_name": "Biology",
            "grade_id": 222, "learning_outcomes": [
                {"code": "P1", "description": "Explain", "score": 1, "feedback": "ok", "level": "P"},
                {"code": "M1", "description": "Analyse", "score": 0, "feedback": ""}]}
    with Receiver(grade_window_seconds=SHORT_WINDOW) as receiver:
        assert webhook(receiver, grade((43, 4, 3), timestamp=stamp, **full)).json()["action"] == "created"
        assert receiver.state.crm_record("43_4_3") == {
            "Moodle_Grade_Composite_Key": "43_4_3", "BTEC_Grade_Name": "Ann Lee - Biology - D - 2026-11-27",
            "Student_Name": "Ann Lee", "Class_Name": "Biology", "Grade": "D", "Moodle_Grade_ID": "222",
            "Attempt_Number": 2, "Attempt_Date": "2026-11-27 02:00:39", "Grade_Status": "graded",
            "Feedback": "Well argued", "Grader_Name": "M. Jones", "Learning_Outcomes": [
                {"code": "P1", "description": "Explain", "score": 1, "feedback": "ok"},
                {"code": "M1", "description": "Analyse", "score": 0, "feedback": ""}]}

        # each fallback on its own key: (event_data, timestamp) -> the fields it decides
        today = dt.date.today().isoformat()
        local = dt.datetime.fromtimestamp(stamp).strftime("%Y-%m-%d %H:%M:%S")  # the backend's clock and zone
        cases = [
            ({"btec_grade": "Distinction"}, None, {"Grade": "D"}),
            ({"grade": "Pass", "btec_grade": "Fail"}, None, {"Grade": "P"}),
            ({"grade": "Fail"}, None, {"Grade": "F"}),
            ({"grade": "", "btec_grade": "Merit"}, None, {"Grade": "M"}),
            ({"grade": "B+"}, None, {"Grade": "B+"}),  # other values as they are
            ({}, None, {"Grade": "N/A", "Grade_Status": "Not marked", "Attempt_Number": 1, "Feedback": "",
                        "Learning_Outcomes": [], "Student_Name": "", "Class_Name": "", "Moodle_Grade_ID": "",
                        "Attempt_Date": today}),
            ({}, stamp, {"Attempt_Date": local}),
            ({"graded_at": None}, stamp, {"Attempt_Date": local}),
            ({"workflow_state": "inmarking"}, None, {"Grade_Status": "inmarking"}),
            ({"user_fullname": "Bo Kim"}, None, {"Student_Name": "Bo Kim"}),
            ({"grader_name": "I. Verifier", "grader_role": "iv"}, None, {"IV_Name": "I. Verifier"}),
            ({"grader_name": "Someone", "grader_role": "other"}, None, {"Grader_Name": "Someone"}),
        ]
        for n, (data, timestamp, fields) in enumerate(cases, start=100):
            assert webhook(receiver, grade((n, 4, 3), timestamp=timestamp, **data)).json()["action"] == "created"
            record = receiver.state.crm_record(f"{n}_4_3")
            assert {k: record.get(k) for k in fields} == fields, data
        assert "Grader_Name" not in receiver.state.crm_record("110_4_3")  # iv: the IV field only
        assert receiver.state.crm_record("None_4_3") is None  # no record under a partial key

        # an update writes in place: a later grade's fields overwrite, fields it does not write stay;
        # 'deleted' is ignored, and null names blank the record (the backend's quirk, issue 11 point 3)
        key = (7, 4, 3)
        assert webhook(receiver, grade(key, **{**full, "grader_role": "iv", "grader_name": "I. V."})).json()[
            "action"] == "created"
        answer = write_again(receiver, grade(key, deleted=True, student_name=None, user_fullname=None,
                                             course_name=None, grade_id=222, finalgrade=None))
        assert answer["action"] == "updated"
        record = receiver.state.crm_record("7_4_3")
        assert (record["Student_Name"], record["Class_Name"], record["Grade"], record["Grade_Status"]) == (
            "", "", "N/A", "Not marked")
        assert record["IV_Name"] == "I. V." and "deleted" not in record
        assert len(receiver.state.crm_records()) == 1 + len(cases) + 1
        assert [w["action"] for w in receiver.state.crm_writes if w["key"] == "7_4_3"] == ["created", "updated"]


def test_the_token_is_not_checked_unless_the_receiver_is_told_to_require_it():
    body = {"event_id": "e", "event_type": "user_updated", "event_data": {"userid": 1}}
    with Receiver(token=TOKEN) as receiver:  # the real backend: a token is sent, never checked
        assert [webhook(receiver, body, token=t).status_code for t in (None, "wrong", TOKEN)] == [200, 200, 200]
    with Receiver(token=TOKEN, require_token=True) as receiver:  # a backend that does check it
        wrong = webhook(receiver, body, token="wrong")
        assert (wrong.status_code, wrong.json()) == (401, {"detail": "Invalid token"})
        assert webhook(receiver, body, token=TOKEN).status_code == 200
        assert receiver.state.requests == 1 and len(receiver.state.deliveries) == 1
    with pytest.raises(ValueError):
        Receiver(require_token=True)


def test_error_bodies_echo_the_token_and_grow_long_only_when_told():
    from urllib.parse import quote

    token = "s3cr/et+tok=="
    forms = [token.encode(), quote(token, safe="").encode(), b"s3cr\\/et+tok=="]
    body = {"event_id": "e", "event_type": "user_updated", "event_data": {"userid": 1}}
    with Receiver() as receiver:
        receiver.state.control(fail_status=500, fail_next=1)
        plain = webhook(receiver, body, token=token)
        assert plain.status_code == 500 and not any(f in plain.content for f in forms)  # off by default

        receiver.state.control(fail_status=503, fail_next=1, echo_token=True)
        echoed = webhook(receiver, body, token=token)
        assert echoed.status_code == 503 and all(f in echoed.content for f in forms), echoed.content
        refused = webhook(receiver, {"event_type": "user_updated"}, token=token)  # 422, 400, 500 too
        assert refused.status_code == 422 and all(f in refused.content for f in forms)
        assert webhook(receiver, grade((1, 2, None)), token=token).content.count(token.encode()) == 1
        ok = webhook(receiver, body, token=token)
        assert ok.status_code == 200 and token.encode() not in ok.content  # error bodies only

        receiver.state.control(fail_status=502, fail_next=1, echo_token=True, long_body=20_000)
        long = webhook(receiver, body, token=token)
        assert long.status_code == 502 and 19_900 <= len(long.content) <= 20_000
        assert long.content[:200].count(token.encode()) == 1 and long.content[-200:].count(token.encode()) == 1
        assert long.json()["detail"] == "told to fail" and "é" in long.json()["trace"]  # multi-byte filler
        assert len(webhook(receiver, body, token=token).content) < 300  # a 200: not padded

        receiver.state.control(long_body=5_000, long_body_success=True)
        padded = webhook(receiver, body, token=token)
        assert padded.status_code == 200 and len(padded.content) >= 4_900 and padded.json()["action"] == "updated"
        receiver.state.control()
        assert len(webhook(receiver, {"event_type": "x"}, token=token).content) < 300
