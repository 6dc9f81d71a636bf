"""How a sync event's payload is stored: its values in a fixed field order, the field names once, in code.

A grade's payload is ~620 bytes as a JSON object, ~250 as the array of its values: the field names were
more than half of every event row, and the bytes written are most of the event-log server's work in a
large sync (bench/README.md). So a sync event
stores ``["<schema id>", value, value, ..., sequence]`` (inside the seal) and the schema id names the
field list: ``<entity>/<fingerprint of the field names>``. Reading turns it back into the same object
(same keys, same order, same values), so the wire bodies do not change. Payloads stored as JSON objects
(delete events, rows from before this format) are read as they are. A key's ids kept in its state
(``key_identity``) use the same form under ``<entity>.ids/<fingerprint>``.

Changing an entity's payload fields changes its schema id. Events already in a log carry the old id and
still have to be delivered: add the old field list to ``EARLIER`` (``tests/unit/test_payloads.py`` pins the
current ids and says so when one changes).
"""

from __future__ import annotations

import hashlib
from functools import cache

import msgspec

from moodle_sync.entities import ENTITIES, EntitySpec

#: Field lists of schemas no longer produced (schema id -> field names), kept so that their events still read.
EARLIER: dict[str, tuple[str, ...]] = {
    # grades before the grade as Moodle shows it (issue 11: letter, graded_at, status, grader, outcomes, ...)
    "grade/1226a200": ("userid", "itemid", "grade_value", "finalgrade_numeric", "raw_grade", "grademax", "grademin",
                       "gradetype", "scale_index", "feedback", "hidden", "locked", "overridden", "excluded",
                       "grade_id", "user_username", "user_email", "user_fullname", "iteminstance", "item_name",
                       "item_type", "item_module", "courseid", "course_name", "course_shortname", "scaleid",
                       "timecreated", "timemodified", "assignment_id", "sequence"),
    # a grade key's ids before ``itemnumber`` was kept (outcome items of an assignment are told apart by it)
    "grade.ids/65bd3882": ("grade_id", "userid", "itemid", "iteminstance", "item_type", "item_module", "courseid",
                           "assignment_id"),
}

_decode = msgspec.json.Decoder().decode


class PayloadFormatError(ValueError):
    """A stored payload names a schema this code does not know (written by a newer or patched version)."""


def stored_fields(spec: EntitySpec) -> tuple[str, ...]:
    """The payload fields in stored order: the change fields first, then the rest of ``payload_fields``, then
    ``sequence`` (the key order the payload object always had, so the wire bodies keep it)."""
    rest = [f for f in spec.payload_fields if f not in spec.change_fields]
    return (*spec.change_fields, *rest, "sequence")


def _schema_id(name: str, fields: tuple[str, ...]) -> str:
    return f"{name}/{hashlib.blake2b(','.join(fields).encode(), digest_size=4).hexdigest()}"


def schema_id(spec: EntitySpec) -> str:
    return _schema_id(spec.name, stored_fields(spec))


def identity_schema_id(spec: EntitySpec) -> str:
    """The same form serves a key's ids kept in its state (``key_identity``, read back by deletes)."""
    return _schema_id(f"{spec.name}.ids", spec.identity_fields)


@cache
def schemas() -> dict[str, tuple[str, ...]]:
    current = {schema_id(spec): stored_fields(spec) for spec in ENTITIES}
    current.update({identity_schema_id(spec): spec.identity_fields for spec in ENTITIES if spec.identity_fields})
    return {**EARLIER, **current}


def row_head(spec: EntitySpec) -> bytes:
    """What a stored payload starts with, before its values: ``["<schema id>",``."""
    return b'["%s",' % schema_id(spec).encode()


def identity_head(spec: EntitySpec) -> bytes:
    return b'["%s",' % identity_schema_id(spec).encode()


def as_dict(plain: str | bytes) -> dict:
    """A stored payload (opened: see crypto.PayloadCipher.open) or key identity as the object it stands for."""
    value = _decode(plain)
    if isinstance(value, dict):
        return value
    if not isinstance(value, list) or not value or not isinstance(value[0], str):
        raise PayloadFormatError("a stored payload is neither a JSON object nor a schema-tagged array")
    fields = schemas().get(value[0])
    if fields is None:
        raise PayloadFormatError(
            f"a stored payload names schema {value[0]!r}, unknown to this version: it was written by another "
            f"version of moodle_sync; add that version's field list to moodle_sync.outbox.payloads.EARLIER")
    if len(fields) != len(value) - 1:
        raise PayloadFormatError(f"a stored payload of schema {value[0]!r} has {len(value) - 1} values for "
                                 f"{len(fields)} fields")
    return dict(zip(fields, value[1:]))
