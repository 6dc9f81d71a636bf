"""An initial sync killed mid-way resumes after its last committed chunk: nothing lost, nothing twice."""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import time
import uuid

import pytest

from conftest import ROOT, wait_until
from support.helpers import FIXTURE_NOW, SITE, events, run_sync
from moodle_sync.outbox.entity_store import EntityStore
from moodle_sync.capture import sync
from moodle_sync.capture.sync import event_id

pytestmark = pytest.mark.slow  # a sync in a subprocess, killed and resumed

KILLED_RUN = """
import sys
sys.path.insert(0, {plugins!r})
from moodle_sync.outbox import db
from moodle_sync.entities import GRADES
from moodle_sync.capture.sync import sync_entity
from moodle_sync.capture.window import Window

now = {now}
sync_entity(GRADES, db.connect("moodle_db"), db.connect("moodle_sync_db"), Window("initial", None, now, now),
            prefix="mdl_", run_id="killed", chunk_rows=25)
"""


def _count(store, sql: str) -> int:
    value = store.query(sql)[0][0]
    store.commit()
    return int(value)


def test_an_initial_sync_killed_mid_way_resumes_after_its_last_committed_chunk(moodle, store, caplog,
                                                                              monkeypatch):
    keys = [f"{u}:{i}" for u, i in moodle.query(
        "SELECT userid, itemid FROM mdl_grade_grades WHERE finalgrade IS NOT NULL OR feedback IS NOT NULL "
        "ORDER BY id")]
    assert len(keys) == 736
    # Another transaction holds the key of the 400th grade (an uncommitted row with its unique key), so the
    # run stops on it with its earlier chunks committed: then it is killed (SIGKILL: no cleanup at all).
    blocker = store.reopen()
    blocker.execute("INSERT INTO moodle_sync_event_log (event_id, event_type, entity_type, entity_key, sequence, "
                    "payload, status) VALUES (%(id)s, 'grade.created', 'grade', %(key)s, 1, '{}', 'pending')",
                    {"id": str(uuid.uuid4()), "key": keys[399]})
    child = subprocess.Popen([sys.executable, "-c", KILLED_RUN.format(plugins=str(ROOT / "plugins"), now=FIXTURE_NOW)],
                             env=os.environ.copy())
    try:
        assert wait_until(lambda: _count(store, "SELECT COUNT(*) FROM moodle_sync_progress") >= 10, timeout=60)
        time.sleep(1.0)  # the writers run into the held key; the pipeline stalls
        os.kill(child.pid, signal.SIGKILL)
        child.wait(timeout=10)
    finally:
        if child.poll() is None:
            child.kill()
        blocker.rollback()
        blocker.close()
    committed = _count(store, "SELECT COUNT(*) FROM moodle_sync_event_log")
    assert 0 < committed < 736
    assert _count(store, "SELECT COUNT(*) FROM moodle_sync_watermark") == 0  # the run never finished

    resume_after, _ = EntityStore(store, "grade").resume_point()
    assert resume_after > 0
    monkeypatch.setattr(sync, "PROGRESS_SECONDS", 0.0)
    with caplog.at_level(logging.INFO, logger="moodle_sync.capture.sync"):
        result = run_sync("grade", moodle, store)
    assert "resuming the initial sync after id" in caplog.text
    assert "left" in caplog.text and "rows/s" in caplog.text  # the progress lines
    # it read only what came after its last committed chunk, and wrote only what it had not
    assert result.read == _count(moodle, f"SELECT COUNT(*) FROM mdl_grade_grades WHERE id > {resume_after}")
    assert result.events == 736 - committed
    log = events(store, "grade")
    assert sorted(e["entity_key"] for e in log) == sorted(keys)  # every grade once: none lost, none twice
    assert all(e["sequence"] == 1 and e["event_id"] == event_id(SITE, "grade", e["entity_key"], 1) for e in log)
    assert _count(store, "SELECT COUNT(*) FROM moodle_sync_progress") == 0
    assert _count(store, "SELECT COUNT(*) FROM moodle_sync_watermark") == 1
    assert run_sync("grade", moodle, store).events == 0
