"""Payload profiles: how an event-log row becomes a request body.

The log stores the entity's state and a canonical type (``user.created``, ``grade.updated``, ...); the
wire format is chosen per endpoint at delivery time, so switching profiles never rewrites the log.
"""

from __future__ import annotations

import datetime as dt
import time

import msgspec

from moodle_sync.outbox.payloads import as_dict

_encode = msgspec.json.Encoder().encode

#: The backend of the legacy plugin accepts only these types (../shared/contracts/LEGACY_WEBHOOK.md):
#: no grade_created, enrolment updates travel as enrollment_created with the current state,
#: deleted or suspended users as user_updated with their flags, a deleted enrolment as enrollment_deleted,
#: and a deleted grade as grade_updated with the grade cleared and ``deleted: true`` (moodle_sync.capture.deletes).
LEGACY_TYPES = {
    "user.created": "user_created",
    "user.updated": "user_updated",
    "user.deleted": "user_updated",
    "enrolment.created": "enrollment_created",
    "enrolment.updated": "enrollment_created",
    "enrolment.deleted": "enrollment_deleted",
    "grade.created": "grade_updated",
    "grade.updated": "grade_updated",
    "grade.deleted": "grade_updated",
}


def legacy_event_data(event_type: str, data: dict) -> dict:
    """The plugin's duplicate fields, derived here so the log stores each value once: ``finalgrade`` repeats
    ``finalgrade_numeric``, and the backend's grade handler reads ``student_id``/``course_id``."""
    if event_type.startswith("grade."):
        data["finalgrade"] = data.get("finalgrade_numeric")
        data["student_id"] = data.get("userid")
        data["course_id"] = data.get("courseid")
    return data


def legacy(event_id: str, event_type: str, payload: str | bytes, now: float | None = None) -> bytes:
    """``{event_id, event_type, event_data, moodle_event_id, timestamp}`` exactly as the plugin sent it."""
    body = {
        "event_id": event_id,
        "event_type": LEGACY_TYPES[event_type],
        "event_data": legacy_event_data(event_type, as_dict(payload)),
        "moodle_event_id": None,
        "timestamp": int(now if now is not None else time.time()),
    }
    return _encode(body)


def standard(event_id: str, event_type: str, payload: str | bytes, now: float | None = None) -> bytes:
    """Standard Webhooks payload: ``{"type": "user.updated", "timestamp": ISO 8601, "data": {...}}``."""
    moment = dt.datetime.fromtimestamp(now if now is not None else time.time(), dt.timezone.utc)
    body = {"type": event_type, "timestamp": moment.isoformat().replace("+00:00", "Z"), "data": as_dict(payload)}
    return _encode(body)


PROFILES = {"legacy": legacy, "standard": standard}
