"""Which Moodle time window a run syncs.

- ``since``/``until`` params: resync exactly that window (a manual repair).
- scheduled runs: their data interval, opened ``overlap`` seconds early; if the stored watermark lags behind
  the interval (runs were missed), from the watermark instead, so nothing is skipped.
- backfill runs (and every run of a ``_history`` DAG): their data interval, opened ``overlap`` seconds early;
  mode 'backfill', which leaves the watermark and the entity's last successful sync to the scheduled runs.
- a manual run without params, or any run without a real interval: from the watermark to now.
- no watermark yet (empty event log): the initial full sync.
Re-reading a period is harmless: a change already emitted yields no second event.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass

from moodle_sync.config import OVERLAP_SECONDS, ConfigError

DEFAULT_OVERLAP_SECONDS = OVERLAP_SECONDS.default


@dataclass(frozen=True)
class Window:
    mode: str  # 'initial' | 'incremental' | 'interval' | 'backfill' | 'resync' | 'reconcile' (moodle_sync_reconcile)
    since: int | None  # None: every row (initial full sync, reconciliation)
    until: int
    now: int

    @property
    def full(self) -> bool:
        return self.since is None

    def as_dict(self) -> dict:
        return asdict(self)


def to_unix(value) -> int | None:
    """Unix seconds from an int, a numeric string, an ISO date/datetime string or a datetime."""
    if value is None or value == "":
        return None
    if isinstance(value, dt.datetime):
        return int((value if value.tzinfo else value.replace(tzinfo=dt.timezone.utc)).timestamp())
    if isinstance(value, (int, float)):
        return int(value)
    text = str(value).strip()
    if text.lstrip("-").isdigit():
        return int(text)
    try:
        parsed = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError as exc:
        raise ConfigError(
            f"cannot read {value!r} as a time: use unix seconds or ISO 8601, e.g. 2026-11-01T00:00:00Z"
        ) from exc
    return to_unix(parsed)


def iso(seconds: int | None) -> str:
    """Unix seconds as ISO 8601 UTC for logs ("-" for none: an initial or full sync)."""
    if seconds is None:
        return "-"
    return dt.datetime.fromtimestamp(seconds, dt.timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z")


def resync_bounds(since, until, now: int) -> tuple[int, int] | None:
    """The window the ``since``/``until`` params ask to resync (None: no resync asked); a bad one is refused."""
    since_param, until_param = to_unix(since), to_unix(until)
    if since_param is None and until_param is None:
        return None
    start = since_param if since_param is not None else 0
    end = until_param if until_param is not None else now
    if end <= start:
        raise ConfigError(f"params: 'until' ({until or iso(now)}) must be after 'since' ({since})")
    return start, end


def resolve_window(*, run_type: str | None, interval_start, interval_end, since=None, until=None,
                   watermark: int | None, now: int, overlap: int = DEFAULT_OVERLAP_SECONDS) -> Window:
    bounds = resync_bounds(since, until, now)
    if bounds:
        return Window("resync", *bounds, now)
    if watermark is None:
        return Window("initial", None, now, now)
    start_s, end_s = to_unix(interval_start), to_unix(interval_end)
    if run_type in ("scheduled", "backfill") and start_s is not None and end_s is not None and end_s > start_s:
        if run_type == "backfill":
            return Window("backfill", max(0, start_s - overlap), end_s, now)
        return Window("interval", max(0, min(start_s, watermark) - overlap), end_s, now)
    return Window("incremental", max(0, watermark - overlap), now, now)
