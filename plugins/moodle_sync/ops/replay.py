"""Dead letters back into delivery: pick events by id or by filters, requeue them with the same event_id."""

from __future__ import annotations

import logging

from moodle_sync.outbox import db
from moodle_sync.outbox import eventlog
from moodle_sync.capture.window import to_unix

log = logging.getLogger(__name__)


def run_replay(eventlog_conn_id: str, webhook_conn_id: str, params: dict) -> dict:
    import datetime as dt

    store = db.connect(eventlog_conn_id)
    try:
        eventlog.migrate(store)
        since = to_unix(params.get("since"))
        ids = [str(i) for i in (params.get("event_ids") or [])]
        found = eventlog.find_replayable(
            store, event_ids=ids, status=None if ids else params.get("status"),
            event_type=None if ids else params.get("event_type"),
            entity_type=None if ids else params.get("entity_type"),
            entity_key=None if ids else params.get("entity_key"),
            since=dt.datetime.fromtimestamp(since, dt.timezone.utc) if since is not None and not ids else None)
        for row in found[:50]:
            log.info("%s %s %s/%s seq %s status %s after %s attempts: %s", "would requeue" if params.get("dry_run", True)
                     else "requeue", row["event_id"], row["entity_type"], row["entity_key"], row["sequence"],
                     row["status"], row["attempts"], (row["last_error"] or "")[:200])
        if len(found) > 50:
            log.info("... and %d more", len(found) - 50)
        result = {"matched": len(found), "requeued": 0, "dry_run": bool(params.get("dry_run", True)),
                  "resumed_endpoint": None}
        if not result["dry_run"]:
            result["requeued"] = eventlog.requeue(store, [row["id"] for row in found])
        if params.get("resume_endpoint"):
            from moodle_sync.delivery.webhook import settings_from_connection

            endpoint = settings_from_connection(webhook_conn_id).endpoint_id
            if not result["dry_run"]:
                eventlog.set_endpoint_state(store, endpoint, "ok", "resumed by moodle_sync_replay")
            result["resumed_endpoint"] = endpoint
        log.info("replay: %s", result)
        return result
    finally:
        store.close()
