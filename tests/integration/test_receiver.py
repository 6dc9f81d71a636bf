"""The demo receiver as the demo and the compose stack use it: it checks Standard Webhooks signatures (against
the reference library's signer, not ours) and takes alerts from a generic webhook alert channel."""

from __future__ import annotations

import base64
import datetime as dt
import json
import os
import socket
import subprocess
import sys

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
        with pytest.raises(EndpointPaused, match="Invalid signature"):  # 401: no event is spent
            deliver_due(store, wrong, owner="t")
        assert [e["status"] for e in events(store)] == ["pending"] * 3 and not receiver.state.events
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
    env = {**os.environ, "RECEIVER_TOKEN": TOKEN, "RECEIVER_SIGNING_SECRETS": whsec(),
           "RECEIVER_ALERT_TOKEN": "alert-token-2", "PYTHONPATH": os.pathsep.join(sys.path)}
    proc = subprocess.Popen([sys.executable, "-m", "demo.receiver", "--port", str(port)], env=env,
                            stdout=subprocess.PIPE, text=True)
    try:
        line = proc.stdout.readline()  # printed once the socket listens
        assert "bearer token required, signatures verified" in line, line
        url = f"http://127.0.0.1:{port}"
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
