"""Every form a configured secret can take in a log line, an error text or a table, and cutting them out.

A secret is rarely echoed as given: a backend or a library hands it back URL-encoded (``abc%2Fdef``), JSON-
escaped (PHP's ``abc\\/def``, a ``\\u`` escape), or, for a URL that is a credential (a Slack webhook), only its
path (``/services/T.../B.../...``: what a refused connection names). ``secret_forms`` lists them all,
``redact`` cuts them out, ``mask`` registers each with Airflow's masker (task and supervisor logs).
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Iterable
from urllib.parse import quote, quote_plus, urlsplit

MASK = "***"
#: shorter parts are not masked on their own (they would cut unrelated words out of every line)
MIN_PART_CHARS = 4


def url_secret_parts(secret: str) -> list[str]:
    """The parts of a credential URL (or of its ``T.../B.../...`` path) that give it away on their own: the
    path, the part after ``services/`` and each of its segments."""
    if "://" in secret:
        parts = urlsplit(secret)
        path = parts.path + (f"?{parts.query}" if parts.query else "")
    else:
        path = secret
    found = [path, path.strip("/")]
    segments = [s for s in path.split("/") if s]
    if "services" in segments:  # a Slack webhook: /services/<team>/<channel>/<token>
        segments = segments[segments.index("services") + 1:]
        found.append("/".join(segments))
    found += segments
    return [p for p in found if len(p) >= MIN_PART_CHARS and p != secret]


def _encodings(text: str) -> set[str]:
    forms = {text, quote(text, safe=""), quote_plus(text), quote(text)}
    for ascii_only in (True, False):
        inner = json.dumps(text, ensure_ascii=ascii_only)[1:-1]
        forms |= {inner, inner.replace("/", "\\/")}  # PHP's json_encode escapes every slash
    return forms


def secret_forms(secret: str | None, *, url: bool = False) -> list[str]:
    """Every form of ``secret`` to cut out, longest first (a longer form holds shorter ones); ``url``: it is a
    credential URL, whose path parts are secret too."""
    if not secret:
        return []
    parts = [secret] + (url_secret_parts(secret) if url else [])
    forms = set()
    for part in parts:
        forms |= _encodings(part)
    return sorted((f for f in forms if len(f) >= MIN_PART_CHARS), key=lambda f: (-len(f), f))


def redact(text: str, secrets: Iterable[str | None], *, url: bool = False) -> str:
    """``text`` with every form of every secret replaced by ``***``."""
    forms = sorted({f for s in secrets for f in secret_forms(s, url=url)}, key=lambda f: (-len(f), f))
    for form in forms:
        if "%" in form:  # %2f or %2F: a percent escape's hex digits may come in either case
            text = re.sub(re.escape(form), MASK, text, flags=re.IGNORECASE)
        elif form in text:
            text = text.replace(form, MASK)
    return text


@functools.lru_cache(maxsize=256)
def mask(secret: str | None, url: bool = False) -> None:
    """Register every form of ``secret`` with Airflow's masker (once per secret and process)."""
    if not secret:
        return
    try:
        from airflow.sdk.log import mask_secret  # 3.3's place (execution_time.secrets_masker is deprecated)
    except ImportError:  # pragma: no cover - older task SDKs
        from airflow.sdk.execution_time.secrets_masker import mask_secret
    for form in secret_forms(secret, url=url):
        mask_secret(form)


_QUOTED_VALUES = re.compile(r"'[^']*'|=\([^)]*\)")


def without_values(text: str) -> str:
    """An error text with the values it quotes elided ('...', PostgreSQL's ``=(...)`` details; its "..." name
    tables and columns): a driver quotes the row it choked on, which may be personal data."""
    return _QUOTED_VALUES.sub(lambda m: "=(...)" if m.group(0).startswith("=") else "'...'", text)
