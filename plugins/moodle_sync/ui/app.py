"""The operator's page as a FastAPI app, mounted by the Airflow plugin under ``/moodle-sync``.

HTML pages (health, statistics, event browser, one event) are rendered on the server; ``/api/...`` serves
the same data as JSON (``/api/health`` is the endpoint for external monitors). Every route requires an
authenticated Airflow user with access to plugins (app-wide dependency); replays need edit rights on the
replay DAG. Requests that change something are JSON POSTs: a cross-site form cannot send them, and the
session cookie is SameSite=Lax.
"""

from __future__ import annotations

import datetime as dt
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

from fastapi import Depends, FastAPI, HTTPException, Query, Request, status
from fastapi.responses import HTMLResponse, JSONResponse, Response
from fastapi.templating import Jinja2Templates
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from moodle_sync.ops import health
from moodle_sync.ui import charts, queries
from moodle_sync.ui.actions import ReplayUnavailable, replay_dag_paused, trigger_replay
from moodle_sync.ui.queries import BadQuery
from moodle_sync.ui.security import REPLAY_DAG_ID, can_replay, replayer, viewer
from moodle_sync.config import EVENTLOG_CONN_ID

URL_PREFIX = "/moodle-sync"
HOURS_CHOICES = (6, 24, 72, 168, 720)
TEMPLATES = Jinja2Templates(directory=str(Path(__file__).with_name("templates")))

ICON = ('<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 24 24" fill="none" stroke="#3a7bd5" '
        'stroke-width="2" stroke-linecap="round" stroke-linejoin="round"><path d="M21 12a9 9 0 0 1-15.5 6.2"/>'
        '<path d="M3 12a9 9 0 0 1 15.5-6.2"/><path d="M18 2v4h-4"/><path d="M6 22v-4h4"/></svg>')


@contextmanager
def event_log():
    """A connection to the event log for one request; the reasons it can fail become clear 503/400 answers."""
    from moodle_sync.outbox import db
    from moodle_sync.config import ConfigError

    try:
        store = db.connect(EVENTLOG_CONN_ID)
    except ConfigError as exc:
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, str(exc)) from exc
    except Exception as exc:
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE,
                            f"the event log database ({EVENTLOG_CONN_ID}) is unreachable: {type(exc).__name__}") from exc
    try:
        yield store
    except BadQuery as exc:
        raise HTTPException(status.HTTP_400_BAD_REQUEST, str(exc)) from exc
    except HTTPException:
        raise
    except Exception as exc:
        if store.is_missing_schema(exc):
            raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE,
                                "the event log has no tables yet (or older ones): they are created by the first "
                                "run of any moodle_sync DAG") from exc
        raise
    finally:
        store.close()


def _base(request: Request) -> str:
    """This app's path as the browser sees it (mount point and any [api] base_url path included)."""
    return request.scope.get("root_path", "").rstrip("/")


def _airflow_base(request: Request) -> str:
    return _base(request).removesuffix(URL_PREFIX)


def since_iso(value) -> float | None:
    if not value:
        return None
    return (dt.datetime.now(dt.timezone.utc) - dt.datetime.fromisoformat(value)).total_seconds()


def short_time(value) -> str:
    return value[:19].replace("T", " ") if value else "-"


def unix_time(value) -> str:
    return dt.datetime.fromtimestamp(int(value), dt.timezone.utc).strftime("%Y-%m-%d %H:%M:%S") if value is not None else "-"


TEMPLATES.env.filters.update(age=health.human_duration, short_time=short_time, since=since_iso, unix_time=unix_time)


def render(request: Request, template: str, user, status_code: int = 200, **context) -> HTMLResponse:
    return TEMPLATES.TemplateResponse(request, template, {
        "base": _base(request), "airflow_base": _airflow_base(request), "user_name": user.get_name(),
        "can_replay": can_replay(user), "replay_dag": REPLAY_DAG_ID, **context}, status_code=status_code)


class ReplayEventBody(BaseModel):
    event_id: str = Field(max_length=64)


class ReplayDeadBody(BaseModel):
    since: str = Field(max_length=64, description="ISO 8601; events created since then")
    entity_type: str | None = Field(default=None, max_length=20)


def _require_json(request: Request) -> None:
    if request.headers.get("content-type", "").split(";")[0].strip().lower() != "application/json":
        raise HTTPException(status.HTTP_415_UNSUPPORTED_MEDIA_TYPE, "send the request body as application/json")


def create_app() -> FastAPI:
    app = FastAPI(title="moodle-sync operator's page", dependencies=[Depends(viewer)],
                  docs_url=None, redoc_url=None, openapi_url=None)

    @app.middleware("http")
    async def headers(request: Request, call_next):
        """Framed only by Airflow's own UI (same origin); operational data is never stored by a cache."""
        response = await call_next(request)
        response.headers.setdefault("Cache-Control", "no-store")
        response.headers["X-Frame-Options"] = "SAMEORIGIN"
        response.headers["Content-Security-Policy"] = "frame-ancestors 'self'"
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["Referrer-Policy"] = "same-origin"
        return response

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException):
        """JSON under /api; elsewhere a small page (with a sign-in link when the session is missing)."""
        headers = getattr(exc, "headers", None)
        if request.url.path.startswith(_base(request) + "/api/") or "text/html" not in request.headers.get("accept", ""):
            return JSONResponse({"detail": exc.detail}, status_code=exc.status_code, headers=headers)
        login = None
        if exc.status_code == status.HTTP_401_UNAUTHORIZED:
            from airflow.api_fastapi.app import get_auth_manager

            login = get_auth_manager().get_url_login(next_url=str(request.url.path))
        return TEMPLATES.TemplateResponse(request, "error.html", {"status": exc.status_code, "detail": exc.detail,
                                                                  "login": login, "base": _base(request)},
                                          status_code=exc.status_code, headers=headers)

    # ---- JSON ---------------------------------------------------------------------------------------------

    @app.get("/api/health")
    def api_health(fail_on: Annotated[str | None, Query(pattern="^(degraded|failing)$")] = None):
        """The health snapshot. ``fail_on=failing`` (or ``degraded``) answers 503 from that status on, for
        monitors that only look at the HTTP status."""
        with event_log() as store:
            snap = health.snapshot(store, endpoints=health.configured_endpoints())
        bad = {"failing": {"failing"}, "degraded": {"degraded", "failing"}}.get(fail_on or "", set())
        return JSONResponse(snap, status_code=503 if snap["status"] in bad else 200)

    @app.get("/api/stats")
    def api_stats(hours: int = 24):
        with event_log() as store:
            return queries.statistics(store, hours=hours)

    @app.get("/api/events")
    def api_events(entity_type: str | None = None, entity_key: str | None = None, status: str | None = None,
                   event_type: str | None = None, before_id: int | None = None, limit: int = 50):
        with event_log() as store:
            return {"events": queries.search_events(store, entity_type=entity_type, entity_key=entity_key,
                                                    status=status, event_type=event_type, before_id=before_id,
                                                    limit=limit)}

    @app.get("/api/events/{event_id}")
    def api_event(event_id: str):
        with event_log() as store:
            found = queries.event(store, event_id)
        if found is None:
            raise HTTPException(status.HTTP_404_NOT_FOUND, f"no event {event_id}")
        return found

    @app.get("/api/replay/dead")
    def api_replay_dead_preview(request: Request, since: str, entity_type: str | None = None,
                                user=Depends(viewer)):
        """How many dead events a replay since ``since`` would requeue (nothing is changed)."""
        with event_log() as store:
            when = _since(since)
            matched = queries.count_dead_since(store, when, entity_type)
        return {"since": when.isoformat(), "entity_type": entity_type or None, "matched": matched,
                "can_replay": can_replay(user)}

    @app.post("/api/replay/event", dependencies=[Depends(_require_json)])
    def api_replay_event(body: ReplayEventBody, user=Depends(replayer)):
        """Requeue one event (same event_id, fresh attempt budget) through the replay DAG."""
        with event_log() as store:
            found = queries.event(store, body.event_id)
        if found is None:
            raise HTTPException(status.HTTP_404_NOT_FOUND, f"no event {body.event_id}")
        if found["status"] == "sent":
            raise HTTPException(status.HTTP_409_CONFLICT, f"event {found['event_id']} was sent: nothing to replay")
        return _trigger({"event_ids": [found["event_id"]], "dry_run": False}, user, matched=1)

    @app.post("/api/replay/dead", dependencies=[Depends(_require_json)])
    def api_replay_dead(body: ReplayDeadBody, user=Depends(replayer)):
        """Requeue every dead event created since ``since`` (of one entity type, or all) through the replay DAG."""
        with event_log() as store:
            when = _since(body.since)
            matched = queries.count_dead_since(store, when, body.entity_type)
        if not matched:
            raise HTTPException(status.HTTP_409_CONFLICT, f"no dead event created since {when.isoformat()}")
        return _trigger({"status": "dead", "since": when.isoformat(), "entity_type": body.entity_type or None,
                         "dry_run": False}, user, matched=matched)

    # ---- pages --------------------------------------------------------------------------------------------

    @app.get("/", response_class=HTMLResponse)
    def health_page(request: Request, user=Depends(viewer)):
        with event_log() as store:
            snap = health.snapshot(store, endpoints=health.configured_endpoints())
        default_since = (dt.datetime.now(dt.timezone.utc) - dt.timedelta(days=1)).strftime("%Y-%m-%dT%H:%M")
        return render(request, "health.html", user, tab="health", snap=snap, entity_types=queries.ENTITY_TYPES,
                      default_since=default_since, replay_paused=replay_dag_paused())

    @app.get("/stats", response_class=HTMLResponse)
    def stats_page(request: Request, hours: int = 24, user=Depends(viewer)):
        with event_log() as store:
            stats = queries.statistics(store, hours=hours)
        fmt = "%H:%M" if stats["bucket_seconds"] < 86400 else "%m-%d"
        labels = [dt.datetime.fromisoformat(b).strftime(fmt) for b in stats["buckets"]]
        by_status = charts.stacked_bars(labels, stats["by_status"], title=f"Events created per "
                                        f"{'hour' if stats['bucket_seconds'] == 3600 else 'day'}, by current status")
        by_type = charts.stacked_bars(labels, stats["by_type"] or {"(none)": [0] * len(labels)},
                                      title="Events created, by type")
        latency = stats["latency"].get("all")
        latency_chart = charts.stacked_bars(
            [f"{h['from_ms']:g}" for h in latency["histogram"]], {"sent events": [h["count"] for h in latency["histogram"]]},
            title="Latency created -> sent (ms, log bins)") if latency else None
        return render(request, "stats.html", user, tab="stats", stats=stats, hours_choices=HOURS_CHOICES,
                      by_status=by_status, by_type=by_type, latency_chart=latency_chart)

    @app.get("/events", response_class=HTMLResponse)
    def events_page(request: Request, event_id: str | None = None, entity_type: str | None = None,
                    entity_key: str | None = None, status_: Annotated[str | None, Query(alias="status")] = None,
                    event_type: str | None = None, before_id: int | None = None, user=Depends(viewer)):
        form = {"event_id": event_id or "", "entity_type": entity_type or "", "entity_key": entity_key or "",
                "status": status_ or "", "event_type": event_type or ""}
        error, rows = None, []
        try:
            with event_log() as store:
                if event_id and event_id.strip():
                    found = queries.event(store, event_id)
                    rows = [found] if found else []
                else:
                    rows = queries.search_events(store, entity_type=entity_type or None,
                                                 entity_key=(entity_key or "").strip() or None, status=status_ or None,
                                                 event_type=event_type or None, before_id=before_id)
        except HTTPException as exc:
            if exc.status_code != status.HTTP_400_BAD_REQUEST:
                raise
            error = exc.detail
        older = None
        if len(rows) == 50 and not event_id:
            older = {k: v for k, v in form.items() if v and k != "event_id"} | {"before_id": rows[-1]["id"]}
        return render(request, "events.html", user, status_code=400 if error else 200, tab="events", form=form,
                      rows=rows, error=error, older=older, entity_types=queries.ENTITY_TYPES,
                      statuses=health.STATUSES, event_types=queries.EVENT_TYPES)

    @app.get("/events/{event_id}", response_class=HTMLResponse)
    def event_page(request: Request, event_id: str, user=Depends(viewer)):
        with event_log() as store:
            found = queries.event(store, event_id)
        if found is None:
            raise HTTPException(status.HTTP_404_NOT_FOUND, f"no event {event_id}")
        return render(request, "event.html", user, tab="events", event=found, replay_paused=replay_dag_paused())

    @app.get("/static/icon.svg")
    def icon():
        return Response(ICON, media_type="image/svg+xml", headers={"Cache-Control": "private, max-age=86400"})

    return app


def _since(value: str) -> dt.datetime:
    when = queries.parse_time(value)
    if when is None:
        raise BadQuery("since is required (ISO 8601, e.g. 2026-11-20T00:00:00Z)")
    return when


def _trigger(conf: dict, user, *, matched: int) -> dict:
    try:
        result = trigger_replay(conf, user)
    except ReplayUnavailable as exc:
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, str(exc)) from exc
    return {**result, "matched": matched}


app = create_app()
