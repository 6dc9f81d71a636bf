"""The change-detection mechanism shared by every entity: Moodle rows in, one event per real change out.

For each chunk streamed from Moodle: transform and validate (pandas), quarantine bad rows, hash each
good row's ``change_fields`` and compare with the key's stored state. A different hash is a change: the
key's sequence goes up by one and the event id is uuid5(site, entity, key, sequence), so the same change
seen twice (re-run, overlapping window, backfill) finds the same hash and yields nothing, while A -> B -> A
yields three events. A chunk's events and states commit together; the watermark commits with the last
chunk, so a crash mid-run leaves committed chunks whose states moved with them, and a re-run skips them.

Deletes come first in a run (``moodle_sync.capture.deletes``), committed before the rows are streamed: the keys the
fast path named (``moodle_sync.capture.fastpath``), or in a reconciliation every live key, that Moodle no longer
has. The named keys are also re-read with the window's rows (a user whose role was unassigned, a grade
deleted and given again). One sync of an entity runs at a time (``eventlog.entity_lock``).
"""

from __future__ import annotations

import contextlib
import gc
import hashlib
import logging
import time
import uuid
from dataclasses import asdict, dataclass, field, replace

import msgspec

from moodle_sync.capture import deletes, fastpath
from moodle_sync.config import CHUNK_ROWS, LOCK_TIMEOUT_SECONDS
from moodle_sync.outbox import eventlog
from moodle_sync.outbox import payloads
from moodle_sync.outbox.content_hash import ContentHasher, hasher_for
from moodle_sync.outbox.crypto import PayloadCipher, cipher_from_connection
from moodle_sync.outbox.db import Database, utcnow
from moodle_sync.outbox.entity_store import EntityStore, KeyState
from moodle_sync.entities import EntitySpec
from moodle_sync.capture.window import Window, iso

log = logging.getLogger(__name__)

#: Namespace of every event id: uuid5(EVENT_NAMESPACE, "<site>:<entity>:<key>:<sequence>").
EVENT_NAMESPACE = uuid.UUID("6f1d3c1e-5a7b-4d2c-9a55-3d1f0e9b7c21")
DEFAULT_CHUNK_ROWS = CHUNK_ROWS.default
PROGRESS_SECONDS = 10.0  # how often a full read logs its progress
#: Keys per SELECT of a run without a scan: MariaDB turns an IN list longer than its
#: in_predicate_conversion_threshold (1,000) into a join with a table of values, which scans the entity's table.
KEY_BATCH = 1000
#: moodle_sync_meta row ("<name>:<entity>"): the entity's flips are kept for every synced key
FLIPS_KEPT = "flips_kept"
#: A run that wrote at least this many events refreshes the event log's planner statistics (eventlog).
STATISTICS_AFTER_EVENTS = 10_000


@dataclass
class SyncResult:
    entity: str
    window: dict
    read: int = 0
    quarantined: int = 0
    unchanged: int = 0
    skipped_empty: int = 0
    events: int = 0  # every event written, deletes included
    deleted: int = 0  # delete events
    candidates: int = 0  # keys the fast path named
    seconds: float = 0.0
    quarantine_reasons: dict = field(default_factory=dict)

    def as_dict(self) -> dict:
        return asdict(self)


def event_id(site: str, entity: str, key: str, sequence: int) -> str:
    """uuid5(EVENT_NAMESPACE, "<site>:<entity>:<key>:<sequence>")."""
    return event_id_maker(site, entity)(key, sequence)


def event_id_maker(site: str, entity: str):
    """event_id() for one site and entity, with the common prefix hashed once (it runs for every row)."""
    prefix = hashlib.sha1(_NAMESPACE_BYTES + f"{site}:{entity}:".encode())

    def make(key: str, sequence: int) -> str:
        h = prefix.copy()
        h.update(f"{key}:{sequence}".encode())
        digest = bytearray(h.digest()[:16])
        digest[6] = (digest[6] & 0x0F) | 0x50  # version 5
        digest[8] = (digest[8] & 0x3F) | 0x80  # RFC 4122 variant
        x = digest.hex()
        return f"{x[:8]}-{x[8:12]}-{x[12:16]}-{x[16:20]}-{x[20:]}"

    return make


_NAMESPACE_BYTES = EVENT_NAMESPACE.bytes
_encode = msgspec.json.Encoder().encode


def site_config(moodle: Database, prefix: str) -> dict[str, str]:
    return {name: value for name, value in moodle.query(moodle.sql("moodle", "site_config", prefix=prefix))}


_split_json_array = msgspec.json.Decoder(list[msgspec.Raw]).decode


def _json_lines(df, fields: dict[str, str], orient: str = "records", rows: list[int] | None = None) -> list[bytes]:
    """One compact JSON text per row (or per position in ``rows``), encoded for the whole chunk in C: an
    object (payload field -> column) or, with ``orient="values"``, the array of the values in field order.

    pandas writes the array of rows; msgspec splits it into the rows' raw bytes without decoding them.
    NaN/NA become null; floats keep up to 10 decimals (Moodle stores 5); key order is the field order.
    (Not pandas' own ``lines=True``: slower, bench/README.md.)
    """
    import pandas as pd

    if not len(df) or rows == []:
        return []
    if rows is not None and len(rows) == len(df):
        rows = None  # every row (an initial sync): no selection
    frame = pd.DataFrame({name: df[column].to_numpy() if rows is None else df[column].to_numpy()[rows]
                          for name, column in fields.items()})
    return [bytes(raw) for raw in _split_json_array(frame.to_json(orient=orient, force_ascii=False).encode())]


def _entity_keys(df, spec: EntitySpec) -> list[str]:
    parts = [df[c].astype("Int64").astype(str) for c in spec.key_columns]
    key = parts[0]
    for part in parts[1:]:
        key = key + ":" + part
    return key.tolist()


def _watched_changes(spec: EntitySpec, moodle: Database, state: EntityStore, prefix: str):
    """(ids, current snapshot, whether a snapshot was stored before): keys of watched Moodle rows whose value
    changed since last run."""
    current = {str(k): str(v) for k, v in moodle.query(moodle.sql("moodle", spec.watched.sql, prefix=prefix))}
    previous = state.watched()
    changed = sorted(int(k) for k, v in current.items() if previous.get(k) != v)
    return changed, current, bool(previous)


def _write_chunk(db: Database, state: EntityStore, events, states, bad_rows, run_id, progress, new_keys,
                 flips=None) -> None:
    state = state.on(db)
    if bad_rows:
        state.quarantine(bad_rows, run_id)
    eventlog.write_events(db, events, states, new_keys=new_keys)
    if flips is not None:
        state.replace_flips(*flips)
    if progress:
        state.record_progress(*progress, run_id)


def _flips(spec: EntitySpec, df, state_exists: bool):
    """(keys whose stored flips this chunk replaces, [(key, due_at)]) or None for an entity without flips."""
    if not spec.flip_column or not len(df):
        return None
    keys = _entity_keys(df, spec)
    due = df[spec.flip_column]
    flips = [(keys[i], int(v)) for i, (v, ok) in enumerate(zip(due.tolist(), due.notna().tolist())) if ok]
    return (keys if state_exists else []), flips


def _finish_run(db: Database, state: EntityStore, window: Window, run_id, watched_now, result: SyncResult,
                started: float, cursors: dict[str, int], seeds_flips: bool = False,
                has_flips: bool = False, seen: dict[str, set[int]] | None = None) -> None:
    """The last transaction: the last chunk's events, the watermark, the snapshot, the fast path's cursors,
    the flips handled and the run log together."""
    state = state.on(db)
    if window.mode != "backfill":  # a backfill re-reads the past: the watermark stays the scheduled syncs'
        state.set_watermark(window.since, window.until, run_id)
    if watched_now is not None:
        state.replace_watched(watched_now)
    state.set_cursors(cursors, run_id, seen)
    if seeds_flips:
        state.set_meta(FLIPS_KEPT, b"1")
    if has_flips and window.mode not in ("backfill", "resync"):  # keys gone from Moodle leave their due flip
        state.forget_due_flips(window.now)
    if window.mode == "initial":
        state.clear_progress()
    result.seconds = round(time.monotonic() - started, 3)
    eventlog.record_run(db, result, run_id)


@contextlib.contextmanager
def _relaxed_gc(threshold: int = 200_000):
    """Python's cyclic collector runs every 700 allocations by default, and a chunk allocates millions of
    small objects (rows, values, lines), none of them in cycles, so collecting is wasted work (bench/README.md).
    Collect rarely during the sync, and as before after it."""
    before = gc.get_threshold()
    gc.set_threshold(threshold, before[1], before[2])
    try:
        yield
    finally:
        gc.set_threshold(*before)


class _Progress:
    """Progress of a full read in the task log every ``PROGRESS_SECONDS``: rows, rows/s and, from how far the
    ascending source id has come in its table's id range, the share done and the time left."""

    def __init__(self, spec: EntitySpec, moodle: Database, prefix: str, after_id: int, started: float):
        low, high = moodle.query(moodle.sql("moodle", "source_id_range", prefix=prefix, table=spec.source_id[2]))[0]
        moodle.commit()
        self.entity, self.started, self.last = spec.name, started, started
        self.low, self.high = max(int(low or 0), after_id), int(high or 0)

    def report(self, result: SyncResult, at_id: int) -> None:
        now = time.monotonic()
        if now - self.last < PROGRESS_SECONDS:
            return
        self.last = now
        rate = result.read / (now - self.started)
        done = (at_id - self.low) / (self.high - self.low) if self.high > self.low else 1.0
        left = (now - self.started) * (1 - done) / done if done > 0 else float("nan")
        log.info("%s: %d rows read (%.0f rows/s), %d events; at id %d of %d (%.0f%%), about %.0f s left",
                 self.entity, result.read, rate, result.events, at_id, self.high, 100 * done, left)


class _ChunkWriter:
    """Writes chunks on ``writers`` event-log connections in background threads while the main thread reads and
    transforms the next chunk: the drivers release the GIL while the server works, and one connection keeps
    only one server thread busy (a single writer left a core idle).

    Chunk i goes to writer i mod n; each job first commits that writer's previous chunk, so a chunk's events
    and states always commit together. ``finish`` commits the other writers, then writes the watermark and
    run log in the same transaction as the last chunk. State lookups use one more, autocommit connection (a
    run's keys are distinct across chunks, so they never need a writer's uncommitted rows). The writers are
    connections of their own, opened for bulk loads (``Database.load_rows``); ``store`` keeps the entity lock.
    """

    def __init__(self, store: Database, writers: int = 3):
        from concurrent.futures import ThreadPoolExecutor

        parallel = bool(store.conn_id)
        store.commit()  # what the run wrote before its chunks (deletes, progress) is in, whatever the writers do
        self.store = store
        self.conns = [store.reopen(bulk_load=True) for _ in range(writers)] if parallel else [store]
        self.reader = store.reopen(autocommit=True) if parallel else store
        self.pools = [ThreadPoolExecutor(max_workers=1, thread_name_prefix="moodle-sync-writer") if parallel else None
                      for _ in self.conns]
        self.pending = [None] * len(self.conns)
        self.dirty = [False] * len(self.conns)
        self.next = 0

    def _run(self, i: int, job) -> None:
        if self.pools[i] is None:
            job()
        else:
            self.pending[i] = self.pools[i].submit(job)

    def _wait(self, i: int) -> None:
        if self.pending[i] is not None:
            pending, self.pending[i] = self.pending[i], None
            pending.result()

    def submit(self, fn, *args) -> None:
        i, self.next = self.next, (self.next + 1) % len(self.conns)
        self._wait(i)
        conn = self.conns[i]

        def job():
            if self.dirty[i]:
                conn.commit()
                self.dirty[i] = False
            for attempt in range(1, 4):  # this transaction holds only this chunk: a deadlock victim can redo it
                try:
                    fn(conn, *args)
                    break
                except Exception as exc:
                    if attempt == 3 or not conn.is_transient(exc):
                        raise
                    conn.rollback()
                    log.warning("chunk write hit %s; trying again (%d/3)", exc, attempt)
                    time.sleep(0.1 * attempt)
            self.dirty[i] = True

        self._run(i, job)

    def finish(self, fn, *args) -> None:
        last = (self.next - 1) % len(self.conns)
        for i, conn in enumerate(self.conns):
            if i != last:
                self._wait(i)
                conn.commit()
        self._wait(last)
        conn = self.conns[last]

        def job():
            fn(conn, *args)
            conn.commit()

        self._run(last, job)
        self._wait(last)
        self._shutdown()

    def abort(self) -> None:
        try:
            for i in range(len(self.conns)):
                if self.pending[i] is not None:
                    self.pending[i].exception()  # let a running job end before rolling back under it
        finally:
            for conn in self.conns:
                conn.rollback()
            self._shutdown()

    def _shutdown(self) -> None:
        for pool in self.pools:
            if pool is not None:
                pool.shutdown(wait=True)
        for conn in self.conns + [self.reader]:
            if conn is not self.store:
                conn.close()
        self.conns, self.reader = [self.store], self.store


def sync_entity(spec: EntitySpec, moodle: Database, store: Database, window: Window, *, prefix: str,
                run_id: str | None = None, chunk_rows: int = DEFAULT_CHUNK_ROWS,
                cipher: PayloadCipher | None = None, lock_timeout: float = LOCK_TIMEOUT_SECONDS.default,
                fast_path: dict | None = None) -> SyncResult:
    """Turn every real change of ``spec`` in ``window`` into one event row; return the counts.

    A ``reconcile`` window reads every row (re-checking every key's content hash) and first walks every live
    key for deletes; any other window first reads the fast path (``fast_path``: keyword settings of
    ``fastpath.read``). Payloads are sealed by ``cipher`` (default: the ``moodle_sync_encryption``
    connection's, which refuses to run without keys unless plain text is explicitly allowed); content hashes are
    keyed by the event log's hash key (``outbox.content_hash``), sealed under the same keys."""
    cipher = cipher or cipher_from_connection()
    state = EntityStore(store, spec.name)
    with state.lock(lock_timeout), _relaxed_gc():
        hasher = hasher_for(store, cipher)
        return _sync_entity(spec, moodle, state, window, prefix=prefix, run_id=run_id, chunk_rows=chunk_rows,
                            fast_path=fast_path or {}, seal=cipher.seal, open_payload=cipher.open, hasher=hasher)


def _sync_entity(spec: EntitySpec, moodle: Database, state: EntityStore, window: Window, *, prefix: str,
                 run_id: str | None, chunk_rows: int, fast_path: dict, seal, open_payload=None,
                 hasher: ContentHasher) -> SyncResult:
    """Deletes first, then the changed rows chunk by chunk, then the run's last transaction."""
    started = time.monotonic()
    result = SyncResult(entity=spec.name, window=window.as_dict())
    site = site_config(moodle, prefix)
    make_event_id = event_id_maker(site.get("siteidentifier") or moodle.conn_id, spec.name)
    history_enabled = str(site.get("disablegradehistory", "0")) in ("0", "")
    # With no state at all (the initial sync) there is nothing to look up, and rows with no value cannot
    # matter yet (they only do for keys synced before): the SQL skips them.
    state_exists = state.has_state()
    log.info("%s: %s sync, since=%s until=%s now=%s", spec.name, window.mode, iso(window.since), iso(window.until),
             iso(window.now))

    found = _deletes_first(spec, moodle, state, window, result, prefix=prefix, state_exists=state_exists,
                           make_event_id=make_event_id, seal=seal, run_id=run_id, fast_path=fast_path,
                           open_payload=open_payload, deleted_hash=hasher.deleted, history_enabled=history_enabled)
    window, resume_after = _resume_point(spec, state, window)
    selects, watched_now, seeds_flips = _changed_rows(spec, moodle, state, window, found, prefix=prefix,
                                                             history_enabled=history_enabled,
                                                             state_exists=state_exists, resume_after=resume_after)
    changes = _Changes(spec, make_event_id, seal, run_id, state_exists, hasher.of)
    context = spec.context(moodle, prefix) if spec.context else None  # small per-site tables, once per run
    writer = _ChunkWriter(state.db)
    progress = _Progress(spec, moodle, prefix, resume_after, started) if window.full else None
    chunk_after = resume_after
    try:
        for df in _chunks(spec, moodle, selects, chunk_rows, window.now, context):
            result.read += len(df)
            chunk = None
            if window.mode == "initial" and len(df):
                chunk_upto = int(df[spec.source_id[0]].max())
                chunk, chunk_after = (chunk_after, chunk_upto, window.until), chunk_upto
            events, new_states, bad_rows, new_keys = changes.of_chunk(df, state.on(writer.reader), result)
            flips = _flips(spec, df, state_exists)
            writer.submit(_write_chunk, state, events, new_states, bad_rows, run_id, chunk, new_keys, flips)
            if progress:
                progress.report(result, chunk_after)
        writer.finish(_finish_run, state, window, run_id, watched_now, result, started, found.cursors,
                      seeds_flips, bool(spec.flip_column), found.seen)
    except Exception:
        writer.abort()
        raise
    finally:
        if context is not None and hasattr(context, "close"):
            context.close()
    if result.events >= STATISTICS_AFTER_EVENTS:
        eventlog.refresh_statistics(state.db)
        log.info("%s: %d events written: the event log's planner statistics refreshed", spec.name, result.events)
    log.info("%s: read %d, quarantined %d %s, unchanged %d, events %d (deletes %d) in %.1fs", spec.name,
             result.read, result.quarantined, result.quarantine_reasons or "", result.unchanged, result.events,
             result.deleted, result.seconds)
    return result


def _deletes_first(spec: EntitySpec, moodle: Database, state: EntityStore, window: Window, result: SyncResult, *,
                   prefix: str, state_exists: bool, make_event_id, seal, run_id, fast_path: dict,
                   open_payload=None, deleted_hash: str, history_enabled: bool = True) -> fastpath.Candidates:
    """The deletes of the run, each batch committed, so the stream's state lookups see them: in a reconciliation
    every live key Moodle no longer has; otherwise the keys the fast path named that Moodle no longer has.
    Returns what the fast path found (its keys are re-read with the window's rows)."""
    found = fastpath.Candidates()
    if window.mode == "reconcile":
        if state_exists:
            result.deleted = deletes.reconcile(spec, moodle, state, prefix=prefix, make_event_id=make_event_id,
                                               seal=seal, run_id=run_id, now=window.now, open_payload=open_payload,
                                               deleted_hash=deleted_hash)
    else:
        found = fastpath.read(spec, moodle, state, prefix=prefix, since=window.since, until=window.until,
                              ranged=window.mode in ("backfill", "resync"), history_enabled=history_enabled,
                              initial=window.full or not state_exists, **fast_path)
        result.candidates = len(found.keys)
        if found.keys and state_exists:
            result.deleted = deletes.process(spec, moodle, state, found.keys, prefix=prefix,
                                             make_event_id=make_event_id, seal=seal, run_id=run_id, now=window.now,
                                             hints=found.keys, open_payload=open_payload,
                                             deleted_hash=deleted_hash)
    result.events = result.deleted
    return found


def _resume_point(spec: EntitySpec, state: EntityStore, window: Window) -> tuple[Window, int]:
    """An initial sync that was interrupted goes on after its last committed chunk, with the watermark of when
    it began; (window, source id to read after)."""
    if window.mode != "initial":
        return window, 0
    resume_after = 0
    resume = state.resume_point()
    if resume:
        resume_after, started_until = resume
        window = replace(window, until=min(started_until, window.until))
        log.info("%s: resuming the initial sync after id %d (its committed chunks are kept)", spec.name,
                 resume_after)
    state.clear_progress(resume_after)
    state.db.commit()
    return window, resume_after


def _changed_rows(spec: EntitySpec, moodle: Database, state: EntityStore, window: Window,
                  found: fastpath.Candidates, *, prefix: str, history_enabled: bool, state_exists: bool,
                  resume_after: int) -> tuple[list[tuple[str, dict]], dict | None, bool]:
    """(the SELECTs of the rows to compare with their parameters, the watched rows' snapshot to store at the end,
    whether the run fills the flips): every row after ``resume_after`` in a full read; with a source that names every
    change (``found.covered``), only the keys named (by the log or grade history, the watched rows that changed,
    the flips come due); else the rows a scan finds changed in the window, the rows of watched Moodle rows that
    changed, and the keys the fast path named."""
    fragments = {"prefix": prefix}
    params = {"since": window.since or 0, "until": window.until, "now": window.now,
              "include_empty": int(state_exists), "resume_after": resume_after}
    watched_now, watched_ids, had_snapshot = None, [], False
    if spec.watched:
        watched_ids, watched_now, had_snapshot = _watched_changes(spec, moodle, state, prefix)
        if spec.watched.fragment:
            fragments[spec.watched.fragment] = moodle.sql("shared", "in_bound_list", column=spec.watched.column,
                                                          param="watched_ids")
            params["watched_ids"] = moodle.bind_list(watched_ids or [-1])
    seeds_flips = bool(spec.flip_column) and (window.full or not state_exists)
    if window.full:
        changed = f"{spec.source_id[1]} > %(resume_after)s"
    elif found.covered:
        named = dict.fromkeys(found.keys)
        if watched_ids and had_snapshot:  # no snapshot yet (the first run): nothing to compare with
            named.update(dict.fromkeys(_watched_keys(spec, moodle, prefix, watched_ids)))
        # flips fall on Moodle's 100 s grid (next_flip): "due by now" is due by Moodle's rounded now. A backfill
        # or resync takes the flips of its own period (the others are the scheduled runs')
        if spec.flip_column:
            ranged = window.mode in ("backfill", "resync")
            due = state.due_flips(min(window.now, window.until), window.since) if ranged else \
                state.due_flips(window.now)
            named.update(dict.fromkeys(due))
        keys = [parts for parts in map(fastpath.parse_key, named) if parts]
        log.info("%s: %d keys to re-read, named by Moodle's log, grade history, watched rows and due flips "
                 "(no scan)", spec.name, len(keys))
        if spec.flip_column and state.meta(FLIPS_KEPT) is None:  # states from before flips were kept: fill them once
            log.info("%s: filling the enrolments' start and end times once (a scan of the rows still ahead)",
                     spec.name)
            seed = moodle.sql("moodle", spec.flip_seed_sql)
            if keys:  # one statement: the seed's rows and the keys' must not come twice
                seed = moodle.sql("moodle", "changed_or_candidates", changed=seed,
                                  candidates=moodle.sql("moodle", spec.candidates_sql))
                params.update(fastpath.key_params(moodle, keys))
            return ([(moodle.sql("moodle", spec.select_sql, changed=seed, **fragments), params)], watched_now,
                    True)
        # a batch per KEY_BATCH keys: on MariaDB a longer IN list becomes a join that scans the table
        selects = [(moodle.sql("moodle", spec.select_sql, changed=moodle.sql("moodle", spec.candidates_sql),
                               **fragments), dict(params, **fastpath.key_params(moodle, keys[i:i + KEY_BATCH])))
                   for i in range(0, len(keys), KEY_BATCH)]
        return selects, watched_now, seeds_flips
    else:
        changed = moodle.sql("moodle", spec.changed_sql_for(history_enabled), **fragments)
        named = [parts for parts in map(fastpath.parse_key, found.keys) if parts]
        if named:  # the named keys are re-read too (a role unassigned, a grade given again)
            changed = moodle.sql("moodle", "changed_or_candidates", changed=changed,
                                 candidates=moodle.sql("moodle", spec.candidates_sql))
            params.update(fastpath.key_params(moodle, named))
    return [(moodle.sql("moodle", spec.select_sql, changed=changed, **fragments), params)], watched_now, seeds_flips


def _watched_keys(spec: EntitySpec, moodle: Database, prefix: str, watched_ids: list[int]) -> list[str]:
    """The entity's keys that refer to the changed watched rows (an index lookup)."""
    rows = moodle.query(moodle.sql("moodle", spec.watched.keys_sql, prefix=prefix),
                        {"watched_ids": moodle.bind_list(watched_ids)})
    moodle.commit()
    return [":".join(str(int(v)) for v in row) for row in rows]


def _chunks(spec: EntitySpec, moodle: Database, selects: list[tuple[str, dict]], chunk_rows: int, now: int,
            context: dict | None = None):
    """The selected rows, chunk by chunk, through the entity's transform (with the run's context, if any)."""
    import pandas as pd

    extra = (context,) if spec.context else ()
    for columns, rows in (chunk for select, params in selects for chunk in moodle.stream(select, params, chunk_rows)):
        # object columns as the driver gave them: the transform types every column itself
        df = spec.transform(pd.DataFrame(rows, columns=columns, dtype=object), now, *extra)
        del rows
        yield df


class _Changes:
    """A chunk's rows compared with their keys' states: the events of the real changes and the new states."""

    def __init__(self, spec: EntitySpec, make_event_id, seal, run_id: str | None, state_exists: bool, digest):
        self.spec, self.make_event_id, self.seal, self.run_id = spec, make_event_id, seal, run_id
        self.digest = digest  # ContentHasher.of: the keyed hash the states hold
        self.state_exists = state_exists
        # The change hash reads the change fields as a JSON object (its text without the closing brace when
        # other fields follow: what it always read); the payload stores every field's value (outbox.payloads).
        stored = payloads.stored_fields(spec)[:-1]  # all but the sequence, which each event appends
        self.change_fields = {f: spec.payload_fields[f] for f in spec.change_fields}
        self.payload_fields = {f: spec.payload_fields[f] for f in stored}
        self.hash_whole_line = len(stored) == len(self.change_fields)
        self.row_head, self.identity_head = payloads.row_head(spec), payloads.identity_head(spec)
        self.identity_fields = {f: spec.payload_fields[f] for f in spec.identity_fields}

    def _quarantined(self, df, result: SyncResult):
        """(good rows, [(key, reason)] of the bad ones): a bad row is counted and kept with its reason."""
        bad = df["quarantine_reason"].notna()
        if not bad.any():
            return df, []
        bad_rows = list(zip(_entity_keys(df[bad], self.spec), df.loc[bad, "quarantine_reason"]))
        result.quarantined += len(bad_rows)
        for _, reason in bad_rows:
            result.quarantine_reasons[reason] = result.quarantine_reasons.get(reason, 0) + 1
        return df[~bad], bad_rows

    def of_chunk(self, df, state: EntityStore, result: SyncResult):
        """(event rows, state rows, quarantined rows, whether every state row is a new key) of one chunk."""
        spec, make_event_id, seal, run_id = self.spec, self.make_event_id, self.seal, self.run_id
        row_head = self.row_head
        created_type, updated_type = spec.event_types
        deleted_type = f"{spec.name}.deleted"
        df, bad_rows = self._quarantined(df, result)
        keys = _entity_keys(df, spec)
        _digest = self.digest
        digests = [_digest(line if self.hash_whole_line else line[:-1])
                   for line in _json_lines(df, self.change_fields)]
        lines = _json_lines(df, self.payload_fields, orient="values")
        states = state.lookup(keys) if self.state_exists else {}
        has_value = df[spec.has_value_column].tolist() if spec.has_value_column else None
        deleted = df[spec.deleted_flag].tolist() if spec.deleted_flag else None
        modified = df[spec.modified_column].astype(object).where(df[spec.modified_column].notna(), None).tolist()
        now_ts = state.db.ts(utcnow())
        events, written = [], []
        for i, (key, digest) in enumerate(zip(keys, digests)):
            previous = states.get(key)
            if previous is None or previous.deleted:  # never synced, or deleted: (re)enters with a value
                if has_value is not None and not has_value[i]:
                    result.skipped_empty += 1  # never had a grade or feedback: not in the sync yet
                    continue
                sequence = 1 if previous is None else previous.sequence + 1
                first = True
            elif previous.content_hash == digest:
                result.unchanged += 1
                if not previous.has_ids:  # a state from before its ids were kept: store them, no event
                    written.append((i, key, previous.sequence, digest))
                continue
            else:
                sequence = previous.sequence + 1
                first = False
            states[key] = KeyState(sequence, digest, False, True)  # a key seen twice in one run is one change
            etype = deleted_type if deleted and deleted[i] else created_type if first else updated_type
            eid = make_event_id(key, sequence)
            payload = seal(row_head + lines[i][1:-1] + b",%d]" % sequence, eid)
            events.append((eid, etype, spec.name, key, sequence, payload,
                           "pending", now_ts, modified[i], run_id, now_ts, now_ts, now_ts))
            written.append((i, key, sequence, digest))
        # the written rows' ids (every row's when every row was written: rows of a chunk are distinct)
        ids = _json_lines(df, self.identity_fields, orient="values", rows=[w[0] for w in written]) \
            if self.identity_fields and written else None
        new_states = [(spec.name, key, sequence, digest, now_ts,
                       (self.identity_head + ids[n][1:]).decode() if ids else None, 0)
                      for n, (_, key, sequence, digest) in enumerate(written)]
        # no key had a state before this run and none is written twice: its states are inserted, not upserted
        new_keys = not self.state_exists and len({w[1] for w in written}) == len(written)
        result.events += len(events)
        return events, new_states, bad_rows, new_keys
