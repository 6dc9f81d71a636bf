"""Stored payloads: the values under a schema id (moodle_sync.outbox.payloads), read back as the same object."""

from __future__ import annotations

import json

import pytest

from moodle_sync.outbox import payloads
from moodle_sync.delivery import profiles
from moodle_sync.entities import BY_NAME, ENTITIES

NOW = 1_790_000_000


def test_the_schema_ids_are_pinned():
    """A changed field list gives its entity a new schema id; events already stored name the old one. Before
    updating this pin, add the old field list to payloads.EARLIER (git show the old entities.py)."""
    assert {spec.name: payloads.schema_id(spec) for spec in ENTITIES} == {
        "user": "user/ac9fd45a", "enrolment": "enrolment/f42a902d", "grade": "grade/b1db78c2"}
    assert {spec.name: payloads.identity_schema_id(spec) for spec in ENTITIES} == {
        "user": "user.ids/466753c1", "enrolment": "enrolment.ids/f6bde47d", "grade": "grade.ids/e7cca3a6"}


def test_a_payload_stored_as_an_object_reads_as_it_is_and_gives_the_same_body():
    spec = BY_NAME["user"]
    values = [f"v{i}" for i in range(len(payloads.stored_fields(spec)))]
    as_values = payloads.row_head(spec) + json.dumps(values)[1:].encode()
    as_object = json.dumps(dict(zip(payloads.stored_fields(spec), values)))
    assert payloads.as_dict(as_values) == payloads.as_dict(as_object)
    assert list(payloads.as_dict(as_values)) == list(payloads.stored_fields(spec))
    for build in (profiles.legacy, profiles.standard):
        assert build("e", "user.updated", as_values, now=NOW) == build("e", "user.updated", as_object, now=NOW)


@pytest.mark.parametrize("stored, message", [
    (b'["grade/00000000",1,2]', "unknown to this version"),
    (b'["user/ac9fd45a",1,2]', "2 values for"),
    (b"[1,2,3]", "neither a JSON object nor a schema-tagged array"),
    (b'"text"', "neither a JSON object nor a schema-tagged array"),
])
def test_a_payload_of_an_unknown_schema_or_shape_is_a_clear_error(stored, message):
    with pytest.raises(payloads.PayloadFormatError, match=message):
        payloads.as_dict(stored)


def test_an_earlier_schema_still_reads(monkeypatch):
    monkeypatch.setitem(payloads.EARLIER, "grade/0ld0ld00", ("userid", "grade_value", "sequence"))
    payloads.schemas.cache_clear()
    try:
        assert payloads.as_dict(b'["grade/0ld0ld00",7,55.5,3]') == {"userid": 7, "grade_value": 55.5, "sequence": 3}
    finally:
        monkeypatch.undo()
        payloads.schemas.cache_clear()
