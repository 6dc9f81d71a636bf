"""moodle_sync.ops.health: the sync interval of each entity, from its DAG's schedule."""

from __future__ import annotations

from moodle_sync.ops.health import entity_intervals, schedule_interval_seconds


def test_schedule_intervals_come_from_the_entity_schedules():
    assert schedule_interval_seconds("*/15 * * * *") == 900 and schedule_interval_seconds("0 * * * *") == 3600
    assert entity_intervals() == {"user": 900, "enrolment": 900, "grade": 900}
