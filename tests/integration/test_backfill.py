"""Backfills: the DAGs' own timetable cut into runs, each run syncing its interval as a backfill run does; the
history DAGs (a day per run) through their own task body; the watermark and the last successful sync stay the
scheduled syncs'."""

from __future__ import annotations

import datetime as dt

import pytest

from support.helpers import FIXTURE_NOW, by_key, events, moodle_exec, run_sync
from support.moodle_writes import history_row
from support import moodle_writes as mw

UTC = dt.timezone.utc
ENTITIES = ("user", "enrolment", "grade")


def dag_of(entity: str, history: bool = False):
    """The entity's DAG (or its history DAG) as its file declares it."""
    import runpy

    from conftest import ROOT
    from moodle_sync.entities import BY_NAME

    if history:
        return runpy.run_path(str(ROOT / "dags" / "moodle_sync_history.py"))[BY_NAME[entity].dag_id + "_history"]
    return runpy.run_path(str(ROOT / "dags" / "moodle_sync_entities.py"))[BY_NAME[entity].dag_id]


def backfill_intervals(entity: str, start: dt.datetime, end: dt.datetime,
                       history: bool = False) -> list[tuple[dt.datetime, dt.datetime]]:
    """The data intervals `airflow backfill create --from-date start --to-date end` gives the entity's DAG runs
    (or its history DAG's): the DAG's own timetable as the scheduler walks it (the bench's own walk)."""
    from bench.backfill_bench import intervals

    return intervals(dag_of(entity, history), start, end)


def backfill(entity: str, moodle, store, start: dt.datetime, end: dt.datetime, now: int) -> int:
    """Every backfill run of the period, oldest first (`--max-active-runs 1`); the events they created."""
    created = 0
    for interval in backfill_intervals(entity, start, end):
        created += run_sync(entity, moodle, store, now=now, run_type="backfill", interval=interval).events
    return created


def changes_around_2_december(moodle) -> tuple[int, int]:
    """Moodle goes on while the sync is stopped: changes on 2 December 2026 (``inside`` the backfilled period),
    on 30 November (before it) and on 4 December (``later``); returns (inside, later)."""
    before = int(dt.datetime(2026, 11, 30, 8, 0, tzinfo=UTC).timestamp())
    inside = int(dt.datetime(2026, 12, 2, 10, 7, tzinfo=UTC).timestamp())
    later = int(dt.datetime(2026, 12, 4, 9, 0, tzinfo=UTC).timestamp())
    # in time order, as Moodle's log ids are
    mw.update_user(moodle, 113, before, city="Accra")
    mw.update_user(moodle, 111, inside, city="Lagos")
    mw.update_user_enrol(moodle, 234, inside, status=1)
    moodle_exec(
        moodle,
        ("UPDATE mdl_grade_grades SET rawgrade = 41.5, finalgrade = 41.5, timemodified = %s "
         "WHERE userid = 104 AND itemid = 30", (inside,)),
        history_row(104, 30, 2, inside, "mod/assign"),
        ("UPDATE mdl_grade_grades SET locked = %s WHERE userid = 106 AND itemid = 29", (later,)),
        history_row(106, 29, 2, later),
    )
    mw.update_user(moodle, 112, later, city="Quito")
    moodle.commit()
    return inside, later


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
    inside, later = changes_around_2_december(moodle)
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


def history_backfill(entity: str, start: dt.datetime, end: dt.datetime) -> int:
    """Every run of `airflow backfill create --dag-id <history DAG> --from-date start --to-date end`, oldest first,
    through the history DAG's own task body; the events they created."""
    import types

    from moodle_sync import tasks
    from moodle_sync.entities import BY_NAME

    dag = dag_of(entity, history=True)
    created = 0
    for first, last in backfill_intervals(entity, start, end, history=True):
        run_id = f"backfill__{first.isoformat()}"
        context = {"dag": dag, "dag_run": types.SimpleNamespace(conf={}, run_type="backfill"), "params": {},
                   "data_interval_start": first, "data_interval_end": last, "run_id": run_id}
        created += tasks.sync_history(BY_NAME[entity], context)["events"]
    return created


def watermark_row(store, entity: str) -> tuple:
    row = store.query("SELECT synced_until, dag_run_id, updated_at FROM moodle_sync_watermark "
                      "WHERE entity_type = %(entity)s", {"entity": entity})[0]
    store.commit()
    return tuple(row)


def test_a_month_of_history_is_31_daily_runs_where_the_entity_dag_needs_2976():
    start, end = dt.datetime(2026, 10, 1, tzinfo=UTC), dt.datetime(2026, 10, 31, tzinfo=UTC)
    for entity in ENTITIES:
        days = backfill_intervals(entity, start, end, history=True)  # --to-date is inclusive: runs start up to it
        assert len(days) == 31 and all(b - a == dt.timedelta(days=1) for a, b in days)
        assert days[0][0] == start and days[-1][1] == dt.datetime(2026, 11, 1, tzinfo=UTC)
        assert all(a[1] == b[0] for a, b in zip(days, days[1:]))  # one after the other, no gap, no overlap
    # the same month through the entity DAG: a run per 15 minutes
    assert len(backfill_intervals("grade", start, end + dt.timedelta(hours=23, minutes=45))) == 31 * 96


def test_a_history_backfill_over_an_unsynced_period_yields_exactly_its_changes_and_leaves_the_watermark(
        moodle, store):
    from moodle_sync.ops.health import snapshot

    now = FIXTURE_NOW
    for entity in ENTITIES:
        run_sync(entity, moodle, store, now=now, run_id=f"scheduled__{entity}")
    # Moodle goes on while the sync is stopped: changes on 2 December (in the backfilled days) and around them
    inside, later = changes_around_2_december(moodle)
    watermarks = {entity: watermark_row(store, entity) for entity in ENTITIES}
    seen = {entity: by_key(events(store, entity)) for entity in ENTITIES}
    start, end = dt.datetime(2026, 12, 1, tzinfo=UTC), dt.datetime(2026, 12, 3, tzinfo=UTC)
    assert {entity: history_backfill(entity, start, end) for entity in ENTITIES} == {
        "user": 1, "enrolment": 1, "grade": 1}  # 3 runs each: 1, 2 and 3 December
    new = {e: {k: v[-1] for k, v in by_key(events(store, e)).items() if len(v) > len(seen[e].get(k, []))}
           for e in ENTITIES}
    assert set(new["user"]) == {"111"} and new["user"]["111"]["payload"]["city"] == "Lagos"
    assert set(new["enrolment"]) == {"234"} and new["enrolment"]["234"]["payload"]["status"] == 1
    assert set(new["grade"]) == {"104:30"} and new["grade"]["104:30"]["payload"]["grade_value"] == 41.5
    # the watermark and the last successful sync are still the scheduled runs'
    assert {entity: watermark_row(store, entity) for entity in ENTITIES} == watermarks
    health = snapshot(store, now=dt.datetime.fromtimestamp(later, UTC))["entities"]
    assert {entity: health[entity]["last_run_id"] for entity in ENTITIES} == {
        entity: f"scheduled__{entity}" for entity in ENTITIES}
    # the next scheduled runs pick up the rest, before and after the backfilled days, once (and ue 232, which
    # started on 4 December)
    assert {e: run_sync(e, moodle, store, now=later + 120).events for e in ENTITIES} == {
        "user": 2, "enrolment": 1, "grade": 1}
    assert {e: run_sync(e, moodle, store, now=later + 180).events for e in ENTITIES} == {
        "user": 0, "enrolment": 0, "grade": 0}


def test_a_backfill_of_an_entity_dag_leaves_the_watermark_and_the_last_successful_sync(moodle, store):
    from moodle_sync.ops.health import snapshot

    for entity in ENTITIES:
        run_sync(entity, moodle, store, now=FIXTURE_NOW, run_id=f"scheduled__{entity}")
    watermarks = {entity: watermark_row(store, entity) for entity in ENTITIES}
    start, end = dt.datetime(2026, 11, 27, 1, 0, tzinfo=UTC), dt.datetime(2026, 11, 27, 2, 0, tzinfo=UTC)
    for entity in ENTITIES:  # the backfill's runs read a synced period that joins the watermark
        for interval in backfill_intervals(entity, start, end):
            run_sync(entity, moodle, store, now=FIXTURE_NOW + 60, run_type="backfill", interval=interval,
                     run_id=f"backfill__{interval[0].isoformat()}")
    assert {entity: watermark_row(store, entity) for entity in ENTITIES} == watermarks
    health = snapshot(store, now=dt.datetime.fromtimestamp(FIXTURE_NOW + 120, UTC))["entities"]
    assert {entity: health[entity]["last_run_id"] for entity in ENTITIES} == {
        entity: f"scheduled__{entity}" for entity in ENTITIES}


def test_a_history_run_refuses_an_entity_that_never_synced(moodle, store):
    from airflow.sdk.exceptions import AirflowFailException

    day = dt.datetime(2026, 11, 26, tzinfo=UTC)
    with pytest.raises(AirflowFailException, match="run moodle_sync_grades first"):  # no retry can fix it
        history_backfill("grade", day, day)
    assert events(store) == []


def test_the_readmes_backfill_runs_as_written_and_makes_31_runs(airflow_dags):
    import re
    import shlex

    from conftest import ROOT, airflow_cli

    readme = (ROOT / "README.md").read_text()
    unpause = re.search(r"^airflow dags unpause \S+$", readme, re.M).group(0)
    create = re.search(r"^airflow backfill create .+$", readme, re.M).group(0)
    assert "moodle_sync_grades_history" in unpause and "moodle_sync_grades_history" in create
    airflow_cli(*shlex.split(unpause)[1:])
    planned = airflow_cli(*shlex.split(create)[1:], "--dry-run")  # the runs it would create, none created
    dates = re.findall(r"^\| (2026-\d\d-\d\d) 00:00:00", planned, re.M)  # a table row per run
    assert len(dates) == 31 == len(set(dates)), planned[:3000]
    assert (min(dates), max(dates)) == ("2026-10-01", "2026-10-31")
