"""Every SQL statement lives in ``include/sql``; this module finds and renders them.

A statement is looked up as ``<area>/<dialect>/<name>.sql`` first, then ``<area>/<name>.sql``, so a
dialect-specific file exists only where dialects really differ. A statement may hold a fragment of the
``shared`` area as ``{name(key=value, ...)}`` (``{in_bound_list(column=id, param=ids)}``: a list bound the way
the dialect binds one), filled in for the statement's dialect when it is read. Identifiers that come from
configuration (the Moodle table prefix) are validated before they are put into the text; every
value is bound as a parameter.
"""

from __future__ import annotations

import functools
import re
from pathlib import Path

from moodle_sync.config import SQL_DIR, ConfigError

SQL_ROOT = Path(SQL_DIR.text() or Path(__file__).resolve().parents[3] / "include" / "sql")

_PREFIX_RE = re.compile(r"(?:[A-Za-z][A-Za-z0-9_]{0,29})?")
_COMMENT_RE = re.compile(r"^\s*--.*$", re.MULTILINE)
#: ``{name(key=value, ...)}``: a fragment of the shared area, its values plain SQL words (no commas, brackets)
_SHARED_RE = re.compile(r"\{(\w+)\(([^(){}]*)\)\}")
SHARED = "shared"


def validate_prefix(prefix: str) -> str:
    """Return ``prefix`` if it is a safe SQL identifier prefix, else raise ConfigError."""
    if not isinstance(prefix, str) or not _PREFIX_RE.fullmatch(prefix):  # not match + '$': it accepts a final newline
        raise ConfigError(
            f"Moodle table prefix {prefix!r} is not a valid SQL identifier prefix: use letters, digits and "
            "underscores, starting with a letter, at most 30 characters (Moodle's default is 'mdl_'). "
            "Set it in the 'table_prefix' extra of the moodle_db connection."
        )
    return prefix


@functools.lru_cache(maxsize=None)
def _read(area: str, name: str, dialect: str | None) -> str:
    candidates = ([SQL_ROOT / area / dialect / f"{name}.sql"] if dialect else []) + [SQL_ROOT / area / f"{name}.sql"]
    for path in candidates:
        if path.is_file():
            # Comments are dropped: drivers with pyformat parameters would read a '%' in them.
            text = _COMMENT_RE.sub("", path.read_text(encoding="utf-8")).strip().rstrip(";")
            return _SHARED_RE.sub(lambda match: _shared(match, dialect, path), text)
    raise FileNotFoundError(f"no SQL file for {area}/{name} (dialect {dialect}) under {SQL_ROOT}")


def _shared(match: re.Match, dialect: str | None, path: Path) -> str:
    arguments = {}
    for argument in filter(None, (part.strip() for part in match.group(2).split(","))):
        key, equals, value = argument.partition("=")
        if not equals or not key.strip().isidentifier() or not value.strip():
            raise ConfigError(f"{path}: {match.group(0)} must read {{{match.group(1)}(key=value, ...)}}")
        arguments[key.strip()] = value.strip()
    return load(SHARED, match.group(1), dialect, **arguments)


def load(area: str, name: str, dialect: str | None = None, **fragments: str) -> str:
    """Read a statement and fill its ``{placeholders}`` (table prefix, nested fragments)."""
    text = _read(area, name, dialect)
    if "prefix" in fragments:
        validate_prefix(fragments["prefix"])
    # Fragments may themselves hold {prefix}: render until stable (two passes at most here).
    for _ in range(3):
        rendered = text.format(**fragments) if fragments else text
        if rendered == text:
            break
        text = rendered
    return text


def migrations(dialect: str) -> list[tuple[int, str, str]]:
    """(version, name, statements) of every migration for ``dialect``, in order: ``migrations/<dialect>/`` holds
    the migrations whose SQL differs between dialects, ``migrations/`` those that are the same for both (a
    dialect file of the same name would take the place of the shared one)."""
    folder = SQL_ROOT / "eventlog" / "migrations"
    files = {path.name: path for path in folder.glob("*.sql")}
    files.update({path.name: path for path in (folder / dialect).glob("*.sql")})
    found = []
    names: dict[int, str] = {}
    for path in (files[name] for name in sorted(files)):
        version = int(path.name.split("_", 1)[0])
        # a second file with the same number would never run where the first one already did
        if version in names:
            raise ConfigError(f"migrations {names[version]} and {path.stem} share version {version}: renumber one")
        names[version] = path.stem
        body = _COMMENT_RE.sub("", path.read_text(encoding="utf-8"))
        found.append((version, path.stem, body))
    return found


def split_statements(body: str) -> list[str]:
    """Split a migration file on ';' at line ends (our DDL holds no procedural blocks)."""
    return [s.strip() for s in re.split(r";\s*$", body, flags=re.MULTILINE) if s.strip()]
