"""Backfills: the DAGs' own timetable cut into runs, each run syncing its interval as a backfill run does."""

from __future__ import annotations

import datetime as dt

import pytest

from support.helpers import FIXTURE_NOW, by_key, events, moodle_exec, run_sync
from support.moodle_writes import history_row

UTC = dt.timezone.utc
ENTITIES = ("user", "enrolment", "grade")


def backfill_intervals(entity: str, start: dt.datetime, end: dt.datetime) -> list[tuple[dt.datetime, dt.datetime]]:
    """The data intervals `airflow backfill create --from-date start --to-date end` gives the entity's DAG runs:
    the DAG's own timetable, walked from interval to interval."""
    from airflow.serialization.encoders import coerce_to_core_timetable
    from airflow.timetables.base import DataInterval, TimeRestriction

    import runpy

    from conftest import ROOT
    from moodle_sync.entities import BY_NAME

    dag = runpy.run_path(str(ROOT / "dags" / "moodle_sync_entities.py"))[BY_NAME[entity].dag_id]
    timetable = coerce_to_core_timetable(dag.timetable)  # as the scheduler sees it
    import pendulum

    restriction = TimeRestriction(earliest=pendulum.instance(start), latest=pendulum.instance(end), catchup=True)
    intervals, last = [], None
    while (info := timetable.next_dagrun_info(last_automated_data_interval=last, restriction=restriction)):
        last = DataInterval(info.data_interval.start, info.data_interval.end)
        intervals.append((last.start, last.end))
    return intervals


def backfill(entity: str, moodle, store, start: dt.datetime, end: dt.datetime, now: int) -> int:
    """Every backfill run of the period, oldest first (`--max-active-runs 1`); the events they created."""
    created = 0
    for interval in backfill_intervals(entity, start, end):
        created += run_sync(entity, moodle, store, now=now, run_type="backfill", interval=interval).events
    return created


def test_a_backfill_over_an_already_synced_period_yields_no_event(moodle, store):
    now = FIXTURE_NOW
    for entity in ENTITIES:
        run_sync(entity, moodle, store, now=now)
    before = len(events(store))
    # the fixture's Moodle wrote everything between 01:55 and 02:05 UTC (FACTS.md): cover it and more
    start, end = dt.datetime(2026, 11, 27, 1, 0, tzinfo=UTC), dt.datetime(2026, 11, 27, 3, 0, tzinfo=UTC)
    intervals = backfill_intervals("grade", start, end)  # --to-date is inclusive: runs start up to it
    assert len(intervals) == 9 and intervals[0] == (start, start + dt.timedelta(minutes=15))
    assert {entity: backfill(entity, moodle, store, start, end, now) for entity in ENTITIES} == {
        "user": 0, "enrolment": 0, "grade": 0}
    assert len(events(store)) == before


@pytest.mark.slow  # a sync per interval of a day
def test_a_backfill_over_an_unsynced_period_yields_exactly_the_changes_of_that_period(moodle, store):
    now = FIXTURE_NOW
    for entity in ENTITIES:
        run_sync(entity, moodle, store, now=now)
    # Moodle goes on while the sync is stopped: changes on 2 December (the period to backfill) and on 4 December
    before = int(dt.datetime(2026, 11, 30, 8, 0, tzinfo=UTC).timestamp())
    inside = int(dt.datetime(2026, 12, 2, 10, 7, tzinfo=UTC).timestamp())
    later = int(dt.datetime(2026, 12, 4, 9, 0, tzinfo=UTC).timestamp())
    moodle_exec(
        moodle,
        ("UPDATE mdl_user SET city = 'Lagos', timemodified = %s WHERE id = 111", (inside,)),
        ("UPDATE mdl_user SET city = 'Quito', timemodified = %s WHERE id = 112", (later,)),
        ("UPDATE mdl_user SET city = 'Accra', timemodified = %s WHERE id = 113", (before,)),
        ("UPDATE mdl_user_enrolments SET status = 1, timemodified = %s WHERE id = 234", (inside,)),
        ("UPDATE mdl_grade_grades SET rawgrade = 41.5, finalgrade = 41.5, timemodified = %s "
         "WHERE userid = 104 AND itemid = 30", (inside,)),
        history_row(104, 30, 2, inside, "mod/assign"),
        ("UPDATE mdl_grade_grades SET locked = %s WHERE userid = 106 AND itemid = 29", (later,)),
        history_row(106, 29, 2, later),
    )
    start, end = dt.datetime(2026, 12, 2, tzinfo=UTC), dt.datetime(2026, 12, 3, tzinfo=UTC)
    assert len(backfill_intervals("user", start, end)) == 97  # --to-date is inclusive: runs start up to it
    seen = {entity: by_key(events(store, entity)) for entity in ENTITIES}
    created = {entity: backfill(entity, moodle, store, start, end, later + 60) for entity in ENTITIES}
    assert created == {"user": 1, "enrolment": 1, "grade": 1}
    new = {e: {k: v[-1] for k, v in by_key(events(store, e)).items() if len(v) > len(seen[e].get(k, []))}
           for e in ENTITIES}
    assert set(new["user"]) == {"111"} and new["user"]["111"]["payload"]["city"] == "Lagos"
    assert set(new["enrolment"]) == {"234"} and new["enrolment"]["234"]["payload"]["status"] == 1
    assert set(new["grade"]) == {"104:30"} and new["grade"]["104:30"]["payload"]["grade_value"] == 41.5
    # the backfill did not move the watermark over the unsynced gap before it: the next runs pick up the rest,
    # before and after the backfilled period, once (and ue 232, which started on 4 December)
    assert {e: run_sync(e, moodle, store, now=later + 120).events for e in ENTITIES} == {
        "user": 2, "enrolment": 1, "grade": 1}
    assert {e: run_sync(e, moodle, store, now=later + 180).events for e in ENTITIES} == {
        "user": 0, "enrolment": 0, "grade": 0}
