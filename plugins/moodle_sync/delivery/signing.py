"""Standard Webhooks signatures (https://www.standardwebhooks.com/): what a receiver verifies.

Headers: ``webhook-id`` (the event_id, stable across retries), ``webhook-timestamp`` (unix seconds) and
``webhook-signature``: ``v1,<base64 HMAC-SHA256 of "id.timestamp.body">`` for every configured secret,
space separated, so a receiver keeps verifying while secrets rotate.
"""

from __future__ import annotations

import base64
import hashlib
import hmac

from moodle_sync.config import ConfigError

PREFIX = "whsec_"


def parse_secrets(value: str | None) -> list[bytes]:
    """Keys from ``whsec_<base64>`` secrets separated by spaces (or commas)."""
    keys = []
    for item in (value or "").replace(",", " ").split():
        if not item.startswith(PREFIX):
            raise ConfigError("signing_secrets: every secret must look like whsec_<base64> (Standard Webhooks)")
        try:
            keys.append(base64.b64decode(item[len(PREFIX):], validate=True))
        except ValueError as exc:
            raise ConfigError("signing_secrets: a whsec_ secret is not valid base64") from exc
    return keys


def signature_headers(keys: list[bytes], event_id: str, timestamp: int, body: bytes) -> dict[str, str]:
    if not keys:
        return {}
    signed = f"{event_id}.{timestamp}.".encode() + body
    signatures = " ".join(
        "v1," + base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode() for key in keys
    )
    return {"webhook-id": event_id, "webhook-timestamp": str(timestamp), "webhook-signature": signatures}
