"""The change-detection mechanism shared by every entity: Moodle rows in, one event per real change out.

For each chunk streamed from Moodle: transform and validate (pandas), quarantine bad rows, hash each
good row's ``change_fields`` and compare with the key's stored state. A different hash is a change: the
key's sequence goes up by one and the event id is uuid5(site, entity, key, sequence), so the same change
seen twice (re-run, overlapping window, backfill) finds the same hash and yields nothing, while A -> B -> A
yields three events. Events, states and the watermark commit together (the last chunk's transaction holds
the watermark); earlier chunks commit as they go, which is safe because their state moved with them.
"""

from __future__ import annotations

import hashlib
import importlib
import json
import logging
import time
import uuid
from dataclasses import asdict, dataclass, field

from moodle_sync import eventlog
from moodle_sync.db import Database, utcnow
from moodle_sync.entities import EntitySpec
from moodle_sync.window import Window

log = logging.getLogger(__name__)

#: Namespace of every event id: uuid5(EVENT_NAMESPACE, "<site>:<entity>:<key>:<sequence>").
EVENT_NAMESPACE = uuid.UUID("6f1d3c1e-5a7b-4d2c-9a55-3d1f0e9b7c21")
DEFAULT_CHUNK_ROWS = 10_000


@dataclass
class SyncResult:
    entity: str
    window: dict
    read: int = 0
    quarantined: int = 0
    unchanged: int = 0
    skipped_empty: int = 0
    events: int = 0
    seconds: float = 0.0
    quarantine_reasons: dict = field(default_factory=dict)

    def as_dict(self) -> dict:
        return asdict(self)


def event_id(site: str, entity: str, key: str, sequence: int) -> str:
    return str(uuid.uuid5(EVENT_NAMESPACE, f"{site}:{entity}:{key}:{sequence}"))


def content_hash(values: list) -> str:
    return hashlib.blake2b(json.dumps(values, separators=(",", ":"), ensure_ascii=False).encode(),
                           digest_size=16).hexdigest()


def site_config(moodle: Database, prefix: str) -> dict[str, str]:
    return {name: value for name, value in moodle.query(moodle.sql("moodle", "site_config", prefix=prefix))}


def _records(df, columns: dict[str, str]) -> list[dict]:
    """Rows as dicts of plain Python values (NaN/NA -> None), payload field names as keys."""
    cols = {}
    for field_name, column in columns.items():
        series = df[column]
        cols[field_name] = series.astype(object).where(series.notna(), None).tolist()
    names = list(cols)
    return [dict(zip(names, values)) for values in zip(*cols.values())]


def _entity_keys(df, spec: EntitySpec) -> list[str]:
    parts = [df[c].astype("Int64").astype(str) for c in spec.key_columns]
    key = parts[0]
    for part in parts[1:]:
        key = key + ":" + part
    return key.tolist()


def _watched_changes(spec: EntitySpec, moodle: Database, store: Database, prefix: str):
    """(fragment SQL, current snapshot): keys of watched Moodle rows whose value changed since last run."""
    current = {str(k): str(v) for k, v in moodle.query(moodle.sql("moodle", spec.watched.sql, prefix=prefix))}
    previous = eventlog.watched_state(store, spec.name)
    changed = sorted(int(k) for k, v in current.items() if previous.get(k) != v)
    return (", ".join(str(k) for k in changed) or "-1"), current


def sync_entity(spec: EntitySpec, moodle: Database, store: Database, window: Window, *, prefix: str,
                run_id: str | None = None, chunk_rows: int = DEFAULT_CHUNK_ROWS) -> SyncResult:
    """Turn every real change of ``spec`` in ``window`` into one event row; return the counts."""
    import pandas as pd

    transform = getattr(importlib.import_module("moodle_sync.transform"), spec.transform)
    started = time.monotonic()
    result = SyncResult(entity=spec.name, window=window.as_dict())
    config = site_config(moodle, prefix)
    site = config.get("siteidentifier") or moodle.conn_id
    history_enabled = str(config.get("disablegradehistory", "0")) in ("0", "")

    fragments = {"prefix": prefix}
    watched_now = None
    if spec.watched:
        fragments[spec.watched.fragment], watched_now = _watched_changes(spec, moodle, store, prefix)
    if window.full:
        changed = "1 = 1"
    else:
        changed = moodle.sql("moodle", spec.changed_sql_for(history_enabled), **fragments)
    select = moodle.sql("moodle", spec.select_sql, changed=changed, **fragments)
    # Rows with no value can only matter for keys synced before; with no state at all, skip them in SQL.
    include_empty = 1 if eventlog.has_state(store, spec.name) else 0
    params = {"since": window.since or 0, "until": window.until, "now": window.now, "include_empty": include_empty}
    log.info("%s: %s sync, since=%s until=%s now=%s", spec.name, window.mode, window.since, window.until, window.now)

    change_fields = list(spec.change_fields)
    last_report = started
    try:
        for n, (columns, rows) in enumerate(moodle.stream(select, params, chunk_rows)):
            if n:
                store.commit()
            df = transform(pd.DataFrame.from_records(rows, columns=columns), window.now)
            result.read += len(df)
            bad = df["quarantine_reason"].notna()
            if bad.any():
                bad_rows = list(zip(_entity_keys(df[bad], spec), df.loc[bad, "quarantine_reason"]))
                eventlog.quarantine(store, spec.name, bad_rows, run_id)
                result.quarantined += len(bad_rows)
                for _, reason in bad_rows:
                    result.quarantine_reasons[reason] = result.quarantine_reasons.get(reason, 0) + 1
                df = df[~bad]
            keys = _entity_keys(df, spec)
            has_value = df[spec.has_value_column].tolist() if spec.has_value_column else None
            modified = df[spec.modified_column].astype(object).where(df[spec.modified_column].notna(), None).tolist()
            payloads = _records(df, spec.payload_fields)
            states = eventlog.lookup_state(store, spec.name, keys)
            now_ts = store.ts(utcnow())
            events, new_states = [], []
            for i, (key, payload) in enumerate(zip(keys, payloads)):
                previous = states.get(key)
                if previous is None and has_value is not None and not has_value[i]:
                    result.skipped_empty += 1  # never had a grade or feedback: not in the sync yet
                    continue
                digest = content_hash([payload[f] for f in change_fields])
                if previous is not None and previous[1] == digest:
                    result.unchanged += 1
                    continue
                sequence = previous[0] + 1 if previous else 1
                if spec.deleted_flag and payload.get(spec.deleted_flag):
                    etype = f"{spec.name}.deleted"
                else:
                    etype = spec.event_types[0] if sequence == 1 else spec.event_types[1]
                payload["sequence"] = sequence
                events.append((event_id(site, spec.name, key, sequence), etype, spec.name, key, sequence,
                               json.dumps(payload, separators=(",", ":"), ensure_ascii=False), now_ts,
                               modified[i], run_id, now_ts, now_ts))
                new_states.append((spec.name, key, sequence, digest, now_ts))
                states[key] = (sequence, digest)  # a key seen twice in one run is one change, not two
            eventlog.write_events(store, events, new_states)
            result.events += len(events)
            if time.monotonic() - last_report > 10:
                last_report = time.monotonic()
                rate = result.read / (last_report - started)
                log.info("%s: %d rows read (%.0f rows/s), %d events so far", spec.name, result.read, rate, result.events)
        eventlog.set_watermark(store, spec.name, window.until, run_id)
        if watched_now is not None:
            eventlog.replace_watched_state(store, spec.name, watched_now)
        result.seconds = round(time.monotonic() - started, 3)
        eventlog.record_run(store, result, run_id)
        store.commit()
    except Exception:
        store.rollback()
        raise
    log.info("%s: read %d, quarantined %d %s, unchanged %d, events %d in %.1fs", spec.name, result.read,
             result.quarantined, result.quarantine_reasons or "", result.unchanged, result.events, result.seconds)
    return result
