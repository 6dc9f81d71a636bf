"""Delete events: keys the sync believes exist (live state) that Moodle no longer has.

Moodle hard-deletes enrolments (``unenrol_user``) and grades (user deletion, unenrolment, course reset), so
a delete can only be seen as an absence. Two detectors name keys to check and both end here: the fast path
(keys the log or the grade history named since its cursor, ``moodle_sync.capture.fastpath``) and reconciliation
(every live key, page by page, ``moodle_sync_reconcile``). Per batch: the states of the keys; which of the
live ones Moodle still has (the entity's ``*_keys.sql``, an index lookup); for each missing one, one
``<entity>.deleted`` event with the key's next sequence, and the state marked deleted in the same transaction.
A second detection then finds nothing; a key that comes back continues its sequence as a new ``created``.

The Moodle row is gone, so the payload's ids come from the key, the source row that named it (log,
history) and, above all, the ids kept in the key's state (``key_identity``: ids only, never names). Names
(a backend may write them over its record: the legacy one does) are re-read from Moodle at delete time
(``EntitySpec.delete_names``: a deleted user keeps their names, a deleted grade its course); a name Moodle no
longer has comes from the key's last event in the log (sealed there, opened here with the cipher).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable

import msgspec

from moodle_sync.outbox import eventlog
from moodle_sync.outbox import payloads
from moodle_sync.capture.fastpath import key_params, parse_key
from moodle_sync.outbox.db import Database, utcnow
from moodle_sync.outbox.entity_store import EntityStore
from moodle_sync.entities import EntitySpec

log = logging.getLogger(__name__)

BATCH_KEYS = 5_000
#: names a delete falls back on from the key's last event when Moodle no longer has them
NAME_FIELDS = ("user_fullname", "course_name", "course_shortname", "item_name")
_encode = msgspec.json.Encoder().encode


def _key_ids(spec: EntitySpec, key: str) -> dict:
    """The ids a key is made of (``userid:itemid`` for a grade), as payload fields."""
    by_column = {column: f for f, column in spec.payload_fields.items()}
    parts = parse_key(key) or ()
    return {by_column.get(column, column): value for column, value in zip(spec.key_columns, parts)}


def identity(spec: EntitySpec, *sources: dict | None) -> dict:
    """The key's ids from several sources, later ones winning, limited to the entity's identity fields."""
    ids: dict = {}
    for source in sources:
        for f, value in (source or {}).items():
            if f in spec.identity_fields and value is not None:
                ids[f] = value
    return {f: ids[f] for f in spec.identity_fields if f in ids}


def existing_keys(spec: EntitySpec, moodle: Database, prefix: str, keys: list[str]) -> set[str]:
    """Which of ``keys`` exist in Moodle now (one indexed query per call)."""
    parsed = [(key, parse_key(key)) for key in keys]
    valid = [(key, parts) for key, parts in parsed if parts and len(parts) == len(spec.key_columns)]
    if not valid:
        return set()
    sql = moodle.sql("moodle", spec.keys_sql, prefix=prefix, candidates=moodle.sql("moodle", spec.candidates_sql))
    rows = moodle.query(sql, key_params(moodle, [parts for _, parts in valid]))
    moodle.commit()
    return {":".join(str(int(v)) for v in row) for row in rows}


def process(spec: EntitySpec, moodle: Database, state: EntityStore, keys: Iterable[str], *, prefix: str,
            make_event_id: Callable[[str, int], str], seal: Callable[[bytes, str], str], run_id: str | None,
            now: int, hints: dict[str, tuple[dict, int | None]] | None = None,
            open_payload: Callable[[bytes, str], bytes] | None = None, deleted_hash: str) -> int:
    """Emit the delete of every key in ``keys`` that has a live state and is gone from Moodle; commit per
    batch. ``hints``: key -> (ids, time of the deletion) from the source row that named the key; ``seal``
    stores a payload (crypto.PayloadCipher.seal), ``open_payload`` reads a stored one (names a delete falls
    back on); ``deleted_hash`` is the content hash a deleted key's state holds (ContentHasher.deleted)."""
    store = state.db
    hints = hints or {}
    keys = list(keys)
    emitted = 0
    for start in range(0, len(keys), BATCH_KEYS):
        batch = keys[start:start + BATCH_KEYS]
        states = state.for_delete(batch)
        store.commit()
        live = [key for key in batch if key in states and not states[key].deleted]
        if not live:
            continue
        present = existing_keys(spec, moodle, prefix, live)
        gone = [key for key in live if key not in present and parse_key(key)]
        if not gone:
            continue
        now_ts = store.ts(utcnow())
        events, new_states = [], []
        gone_ids = {}
        for key in gone:
            stored = states[key].ids
            hint_ids, _ = hints.get(key, ({}, None))
            gone_ids[key] = identity(spec, _key_ids(spec, key), hint_ids, payloads.as_dict(stored) if stored else None)
        names = _names(spec, moodle, prefix, state, gone_ids, open_payload)
        for key in gone:
            sequence = states[key].sequence
            _, when = hints.get(key, ({}, None))
            ids = gone_ids[key]
            payload = {f: None for f in spec.payload_fields}
            payload.update(ids)
            payload.update(names.get(key, {}))
            payload.update(spec.delete_values)
            payload.update(timemodified=when if when is not None else now, sequence=sequence + 1)
            eid = make_event_id(key, sequence + 1)
            events.append((eid, f"{spec.name}.deleted", spec.name, key, sequence + 1,
                           seal(_encode(payload), eid), "pending", now_ts, when, run_id, now_ts, now_ts, now_ts))
            new_states.append((spec.name, key, sequence + 1, deleted_hash, now_ts, _encode(ids).decode(), 1))
        try:
            eventlog.write_events(store, events, new_states)
            store.commit()
        except Exception:
            store.rollback()
            raise
        emitted += len(events)
    return emitted


def _names(spec: EntitySpec, moodle: Database, prefix: str, state: EntityStore, gone_ids: dict[str, dict],
           open_payload) -> dict[str, dict]:
    """key -> payload fields a delete carries besides its ids: re-read from Moodle, then the names Moodle no
    longer has from the key's last event (when the log still has it)."""
    if not spec.delete_names or not gone_ids:
        return {}
    keys = list(gone_ids)
    names = dict(zip(keys, spec.delete_names(moodle, prefix, [gone_ids[k] for k in keys])))
    fields = [f for f in NAME_FIELDS if f in spec.payload_fields]
    missing = [k for k in keys if any(names[k].get(f) is None for f in fields)]
    if missing and open_payload is not None:
        store = state.db
        keys_in = store.sql("shared", "in_bound_list", column="entity_key", param="keys")
        rows = store.query(store.sql(eventlog.AREA, "last_payloads", keys_in=keys_in),
                           {"entity": spec.name, "keys": store.bind_list(missing),
                            "deleted_type": f"{spec.name}.deleted"})
        store.commit()
        last = {str(key): (str(eid), payload) for key, _seq, eid, payload in rows}  # ordered: the newest wins
        for key, (eid, stored) in last.items():
            try:
                previous = payloads.as_dict(open_payload(stored, eid))
            except Exception as exc:  # unreadable (a key no longer held): the names stay as Moodle gave them
                log.warning("%s %s: its last event could not be read for names (%s)", spec.name, key, exc)
                continue
            for f in fields:
                if names[key].get(f) is None and previous.get(f) is not None:
                    names[key][f] = previous[f]
    return {k: {f: v for f, v in extra.items() if v is not None} for k, extra in names.items()}


def reconcile(spec: EntitySpec, moodle: Database, state: EntityStore, *, prefix: str,
              make_event_id: Callable[[str, int], str], seal: Callable[[bytes, str], str], run_id: str | None,
              now: int, open_payload: Callable[[bytes, str], bytes] | None = None, deleted_hash: str) -> int:
    """Walk every live key of ``spec`` in pages (memory: one page, whatever the site size) and emit the deletes
    of those Moodle no longer has."""
    emitted, after, checked = 0, "", 0
    while True:
        page = state.live_keys(after, BATCH_KEYS)
        if not page:
            break
        after = page[-1]
        checked += len(page)
        emitted += process(spec, moodle, state, page, prefix=prefix, make_event_id=make_event_id, seal=seal,
                           run_id=run_id, now=now, open_payload=open_payload, deleted_hash=deleted_hash)
    log.info("%s: reconciliation checked %d live keys against Moodle, %d deleted", spec.name, checked, emitted)
    return emitted
