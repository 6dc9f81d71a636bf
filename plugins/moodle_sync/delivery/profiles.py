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


#: Which grades an endpoint takes (connection extra ``grade_items``; docs/payloads.md). Every choice is one CRM
#: record per Moodle grade: an assignment's own grade is keyed by the assignment's instance id, any other item
#: by ``item-<grade item id>`` (moodle_sync.entities.grades.assignment_key), so no two grades share a key.
GRADE_ITEMS = {
    "assign": "assignment grades only (mod_assign, itemnumber 0): what the old plugin sent",
    "mod": "grades of activities (grade items of type 'mod'), not totals, manual or imported items",
    "all": "every grade: totals, categories, manual items, outcome items too",
}
#: ``grade_items`` when the connection does not set it: the legacy backend gets what the plugin sent.
DEFAULT_GRADE_ITEMS = {"legacy": "assign", "standard": "all"}


def grade_items_of(settings_or_profile, grade_items: str | None = None) -> str:
    profile = getattr(settings_or_profile, "payload_profile", settings_or_profile)
    chosen = grade_items or getattr(settings_or_profile, "grade_items", None)
    return chosen or DEFAULT_GRADE_ITEMS.get(profile, "all")


def skip_reason(settings_or_profile, grade_items: str | None, event_type: str, data: dict) -> str | None:
    """Why an endpoint does not take this event (its final status is then ``skipped``, with this reason, and
    nothing is sent), or None when it does. ``settings_or_profile``: WebhookSettings or a profile name;
    ``grade_items``: the endpoint's choice (None: the settings', else the profile's default)."""
    if not event_type.startswith("grade.") or "item_type" not in data:
        return None  # not a grade, or a payload that does not say its item (not written by a sync): taken
    from moodle_sync.entities.grades import is_assignment_grade

    chosen = grade_items_of(settings_or_profile, grade_items)
    item_type, module, number = data.get("item_type"), data.get("item_module"), data.get("itemnumber")
    what = f"grade item {data.get('itemid')} ({item_type or 'unknown type'}" + \
        (f"/{module}" if module else "") + (f", itemnumber {number}" if number else "") + ")"
    if chosen == "assign" and not is_assignment_grade(item_type, module, number):
        return f"grade_items=assign: {what} is not an assignment's grade"
    if chosen == "mod" and item_type != "mod":
        return f"grade_items=mod: {what} is not an activity's grade"
    return None


def _name(*values):
    """The first value that is a non-empty name."""
    for value in values:
        if value not in (None, ""):
            return value
    return None


def legacy_event_data(event_type: str, data: dict) -> dict:
    """The plugin's duplicate fields, derived here so the log stores each value once: ``finalgrade`` repeats
    ``finalgrade_numeric``; the grade handler (../shared/contracts/LEGACY_WEBHOOK.md) reads ``student_id``,
    ``course_id``, ``grade`` else ``btec_grade``, ``student_name``, ``course_name``, ``grader_name`` (an older
    backend ``grader_fullname``). The backend writes ``Student_Name``/``Class_Name`` from whatever it gets, a
    null included: a name is never sent as null (the username, the short name, then the id stand in)."""
    if event_type.startswith("grade."):
        data["finalgrade"] = data.get("finalgrade_numeric")
        data["student_id"] = data.get("userid")
        data["course_id"] = data.get("courseid")
        data["btec_grade"] = data.get("grade")
        student = _name(data.get("user_fullname"), data.get("user_username"), f"Moodle user {data.get('userid')}")
        data["student_name"] = data["user_fullname"] = student
        data["course_name"] = _name(data.get("course_name"), data.get("course_shortname"),
                                    f"Moodle course {data.get('courseid')}")
        data["assignment_name"] = data.get("item_name")
        data["grader_fullname"] = data.get("grader_name")
        data["student_email"] = data.get("user_email")
        if data.get("learning_outcomes") is None:
            data["learning_outcomes"] = []
        data["composite_key"] = f"{data['student_id']}_{data['course_id']}_{data.get('assignment_id')}"
        data["sync_type"] = "complete"
    return data


def legacy(event_id: str, event_type: str, payload: str | bytes, now: float | None = None) -> bytes:
    """``{event_id, event_type, event_data, moodle_event_id, timestamp}`` exactly as the plugin sent it. A deleted
    grade's ``timestamp`` is when it was deleted (the backend's date when ``graded_at`` is missing)."""
    data = legacy_event_data(event_type, as_dict(payload))
    timestamp = int(now if now is not None else time.time())
    if event_type == "grade.deleted" and data.get("timemodified"):
        timestamp = int(data["timemodified"])
    body = {
        "event_id": event_id,
        "event_type": LEGACY_TYPES[event_type],
        "event_data": data,
        "moodle_event_id": None,
        "timestamp": timestamp,
    }
    return _encode(body)


def standard(event_id: str, event_type: str, payload: str | bytes, now: float | None = None) -> bytes:
    """Standard Webhooks payload: ``{"type": "user.updated", "timestamp": ISO 8601, "data": {...}}``."""
    moment = dt.datetime.fromtimestamp(now if now is not None else time.time(), dt.timezone.utc)
    body = {"type": event_type, "timestamp": moment.isoformat().replace("+00:00", "Z"), "data": as_dict(payload)}
    return _encode(body)


PROFILES = {"legacy": legacy, "standard": standard}
