"""The synced entities, one module each: one mechanism (``moodle_sync.capture.sync``) serves them all.

Like a singer-sdk stream, each entity declares its key, its replication query, the fields it sends and the
fields whose change is a real change (``change_fields``: a login that bumps ``lastaccess`` or an edit that
only bumps ``timemodified`` is no change), and carries its behaviour as functions: its pandas ``transform``
and the readers of the Moodle tables that name its deletes. A fourth entity is one module here and its SQL in
include/sql/moodle/. Nothing here imports pandas at import time: DAG files import this package.
"""

from __future__ import annotations

from moodle_sync.entities.base import EntitySpec, KeySource, WatchedRows
from moodle_sync.entities.enrolments import ENROLMENTS
from moodle_sync.entities.grades import GRADES
from moodle_sync.entities.users import USERS

ENTITIES: tuple[EntitySpec, ...] = (USERS, ENROLMENTS, GRADES)
BY_NAME = {spec.name: spec for spec in ENTITIES}

__all__ = ["BY_NAME", "ENROLMENTS", "ENTITIES", "GRADES", "USERS", "EntitySpec", "KeySource", "WatchedRows"]
