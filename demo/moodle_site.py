"""A Moodle-shaped database for the demo and the benchmark, written the way Moodle 4.5 writes it.

Why: the sync's change detection lives on Moodle's quirks, which a naive generator would not have:
installer users with ``timecreated = 0``, soft-deleted users whose enrolments, roles and grades are hard-deleted,
expiry that writes nothing, an enrolment instance disabled without touching any time column, grade rows with
NULL ``timemodified`` (regrade placeholders, "No grade"), lock/hide/exclude that only the grade history shows.
The shared fixture (../shared/moodle, see its FACTS.md) shows these at one size and one date; this module makes
the same shapes at any size, relative to any "now", on MariaDB/MySQL and PostgreSQL.

* ``create_schema`` creates the 22 tables the sync reads (the log store and its settings among them) (``include/sql/demo/<dialect>/moodle_schema.sql``).
* ``seed`` writes a small, deterministic site with one example of every edge case and returns their ids.
* ``apply_changes`` then changes a few rows as Moodle's APIs would, for an incremental run to pick up.
* ``bulk_seed`` writes the benchmark site (100,000 users, 1,000,000 grades by default) in large batches.
* ``apply_bulk_changes`` then makes N changes of one entity, for the incremental bench (bench/incremental_bench.py).
* Every write is logged in ``logstore_standard_log`` as Moodle logs it (``config_plugins`` enables the store).

Grade rows go through ``_Gradebook``, which writes them the way Moodle's grade_grade API does (a history row per
insert, update and delete; natural aggregation of category and course totals), so seed, bulk_seed and
apply_changes share one implementation of Moodle's grading rules. Rows are inserted with explicit ids (the
edge cases reference each other); PostgreSQL sequences are moved past them afterwards.

Run ``python -m demo.moodle_site --conn-uri mysql://root@127.0.0.1:3306/moodle_demo`` (see ``main``).
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import random
import re
import sys
import time
import unicodedata
from collections.abc import Iterable, Iterator, Sequence
from decimal import Decimal
from typing import Any
from urllib.parse import unquote, urlsplit

from moodle_sync.capture.fastpath import log_enabled
from moodle_sync.outbox.db import Database
from moodle_sync.outbox.sql import load, split_statements, validate_prefix
from moodle_sync.config import ConfigError

DAY = 86_400
GUEST_ID, ADMIN_ID = 1, 2
CATEGORY_CONTEXT = 3  # system context 1, front page 2, category 3: install order
SITE_COURSE, CATEGORY_ID = 1, 1
CONTEXT_SYSTEM, CONTEXT_USER, CONTEXT_COURSECAT, CONTEXT_COURSE, CONTEXT_MODULE = 10, 30, 40, 50, 70
ENROL_ENABLED, ENROL_DISABLED = 0, 1
UE_ACTIVE, UE_SUSPENDED = 0, 1
FORMAT_MOODLE, FORMAT_PLAIN = 0, 2
HISTORY_INSERT, HISTORY_UPDATE, HISTORY_DELETE = 1, 2, 3

TABLES = ("config", "user", "role", "role_assignments", "context", "course", "enrol", "user_enrolments",
          "grade_items", "grade_grades", "grade_grades_history", "scale",
          # the grade as Moodle shows it (issue 11)
          "assign", "assign_grades", "assign_user_flags", "grade_letters", "modules", "course_modules",
          "grading_areas", "grading_definitions",
          # the log store, the incremental sync's change feed (issue 12)
          "config_plugins", "logstore_standard_log")

#: Moodle's standard roles, with the ids and archetypes its installer gives them.
ROLES = (("manager", 1), ("coursecreator", 2), ("editingteacher", 3), ("teacher", 4), ("student", 5),
         ("guest", 6), ("user", 7), ("frontpage", 8))
ROLE = {shortname: rid for shortname, rid in ROLES}

#: Moodle's two standard scales; scale 1 is the 3-item one the fixture's scale item uses.
SCALES = (
    ("Separate and Connected ways of knowing",
     "Mostly separate knowing,Separate and connected,Mostly connected knowing",
     "The scale based on the theory of separate and connected knowing."),
    ("Default competence scale", "Not yet competent,Competent",
     "A binary rating scale that provides no further information beyond whether someone has demonstrated "
     "proficiency or not."),
)

FIRST_NAMES = (
    "Amélie", "Björn", "Chloé", "Dániel", "Émile", "François", "Guðrún", "Håkon", "Inés", "Jürgen", "Kateřina",
    "Łukasz", "Mónica", "Nuño", "Øystein", "Pál", "Renée", "Søren", "Tomás", "Zoë", "Aiko", "Hiroshi", "Mei",
    "Wei", "Priya", "Arjun", "Fatima", "Omar", "Yusuf", "Ayşe", "Çağla", "Oğuz", "Kwame", "Amara", "Chidi",
    "Nia", "Sofía", "José", "João", "Conceição", "Małgorzata", "Zoltán", "Ilse", "Matthäus", "Siobhán", "Seán",
    "Ngọc", "Thảo", "Minh", "Jae-won", "Seo-yeon", "Ana", "Luis", "Camille", "Noémie", "Jiří", "Ágnes",
    "Leilani", "Rangi", "Aroha", "Darius", "Layla", "Mateus", "Giulia", "Lorenzo", "Eleni", "Dimitris", "Olga",
    "Nikolai", "Marta", "Sven", "Astrid", "Ingrid", "Rafael", "Beatriz", "Ahmed", "Yasmin", "Samuel", "Grace",
)
LAST_NAMES = (
    "Müller", "García", "Núñez", "Dubois", "Lefèvre", "Øvergård", "Kowalczyk", "Wójcik", "Nováková", "Dvořák",
    "Yılmaz", "Öztürk", "Haddad", "El-Amin", "Nakamura", "Satō", "Kim", "Nguyễn", "Trần", "Patel", "Sharma",
    "Okafor", "Mensah", "O'Brien", "Ó Súilleabháin", "Fernández", "Gonçalves", "Ribeiro", "Kovács", "Szabó",
    "Jørgensen", "Åström", "Lindqvist", "Schäfer", "Weiß", "Rossi", "Bianchi", "Papadopoulos", "Ivanova",
    "Petrović", "Horváth", "Castañeda", "Ærøe", "Sánchez", "Björklund", "Þórsdóttir", "Mäkinen", "Virtanen",
    "Dąbrowski", "Çelik", "Lê", "Park", "Choi", "Tanaka", "Watanabe", "Mwangi", "Otieno", "Adeyemi", "Silva",
    "Costa", "Moreau", "Girard", "Novak", "Horvat", "Kuznetsov", "Smirnova", "Andersen", "Hansen", "Ramírez",
    "Vargas", "MacLeod", "Ní Bhriain", "Wilson", "Thompson", "Te Rangi", "Ngata", "Khan", "Rahman",
)
#: (city, country, dialling code); every country appears at least twice, so a user can move within it.
CITIES = (
    ("Paris", "FR", "33"), ("Lyon", "FR", "33"), ("Berlin", "DE", "49"), ("München", "DE", "49"),
    ("Köln", "DE", "49"), ("Madrid", "ES", "34"), ("Sevilla", "ES", "34"), ("A Coruña", "ES", "34"),
    ("Lisboa", "PT", "351"), ("Porto", "PT", "351"), ("São Paulo", "BR", "55"), ("Belém", "BR", "55"),
    ("Kraków", "PL", "48"), ("Łódź", "PL", "48"), ("Praha", "CZ", "420"), ("Brno", "CZ", "420"),
    ("Zürich", "CH", "41"), ("Genève", "CH", "41"), ("Malmö", "SE", "46"), ("Göteborg", "SE", "46"),
    ("København", "DK", "45"), ("Århus", "DK", "45"), ("Tromsø", "NO", "47"), ("Bergen", "NO", "47"),
    ("Reykjavík", "IS", "354"), ("Akureyri", "IS", "354"), ("İstanbul", "TR", "90"), ("İzmir", "TR", "90"),
    ("Tokyo", "JP", "81"), ("Ōsaka", "JP", "81"), ("Seoul", "KR", "82"), ("Busan", "KR", "82"),
    ("Hà Nội", "VN", "84"), ("Đà Nẵng", "VN", "84"), ("Mumbai", "IN", "91"), ("Bengaluru", "IN", "91"),
    ("Lagos", "NG", "234"), ("Abuja", "NG", "234"), ("Accra", "GH", "233"), ("Kumasi", "GH", "233"),
    ("Nairobi", "KE", "254"), ("Mombasa", "KE", "254"), ("Montréal", "CA", "1"), ("Québec", "CA", "1"),
    ("Ciudad de México", "MX", "52"), ("Mérida", "MX", "52"), ("Bogotá", "CO", "57"), ("Medellín", "CO", "57"),
    ("Cork", "IE", "353"), ("Dún Laoghaire", "IE", "353"), ("Beirut", "LB", "961"), ("Tripoli", "LB", "961"),
    ("Auckland", "NZ", "64"), ("Rotorua", "NZ", "64"), ("Wien", "AT", "43"), ("Graz", "AT", "43"),
)
DEPARTMENTS = ("Biology", "Chemistry", "Economics", "Computer Science", "Mathematics", "Languages", "History",
               "Physics", "Architecture")
STUDENT_DOMAINS = ("students.example.edu",) * 6 + ("example.org", "mail.example.com")
STAFF_DOMAIN = "staff.example.edu"
#: Course catalogue (shortname, fullname); past its end, shortnames get a "-2", "-3"... suffix.
COURSES = (
    ("BIO101", "Biology 101: Cells and Organisms"), ("CHEM201", "Chemistry 201: Reactions and Equilibria"),
    ("ECO110", "Économie internationale"), ("INF120", "Introducción a la programación"),
    ("MAT150", "Mathematik für Ingenieure"), ("JPN101", "Japanese Language I (日本語)"),
    ("HIS210", "Histoire de l'art moderne"), ("PHY101", "Physics 101: Mechanics"),
    ("LIT230", "Literatura latinoamericana"), ("NOR105", "Norsk for utvekslingsstudenter"),
    ("STA200", "Statistics for Social Sciences"), ("ARC140", "Arquitetura e urbanismo"),
)
#: Grade items of every course: (key, itemtype, itemmodule, itemname, gradetype, grademin, grademax, scaleid,
#: in the "Labs" category, idnumber). The course total's grademax is the sum of its children (natural
#: aggregation, Moodle 4.5's default), the category's the sum of its own.
ITEM_TEMPLATE = (
    ("course", "course", None, None, 1, 0, None, None, False, None),
    ("labs", "category", None, None, 1, 0, None, None, False, None),
    ("essay1", "mod", "assign", "Essay 1", 1, 0, 100, None, False, ""),
    ("essay2", "mod", "assign", "Essay 2", 1, 0, 100, None, False, ""),
    ("lab", "mod", "assign", "Lab report", 1, 0, 50, None, True, ""),
    ("participation", "manual", None, "Participation", 1, 0, 50, None, False, "PART"),
    ("safety", "manual", None, "Lab safety (scale)", 2, 1, 3, 1, True, "SAFETY"),
)
LEAF_KEYS = ("essay1", "essay2", "lab", "participation", "safety")

USER_COLUMNS = ("id", "auth", "confirmed", "deleted", "suspended", "mnethostid", "username", "password",
                "idnumber", "firstname", "lastname", "email", "phone1", "institution", "department", "city",
                "country", "lang", "timezone", "firstaccess", "lastaccess", "lastlogin", "currentlogin", "lastip",
                "picture", "description", "maildisplay", "timecreated", "timemodified")
CONTEXT_COLUMNS = ("id", "contextlevel", "instanceid", "path", "depth", "locked")
COURSE_COLUMNS = ("id", "category", "sortorder", "fullname", "shortname", "idnumber", "summary", "summaryformat",
                  "format", "showgrades", "newsitems", "startdate", "enddate", "visible", "timecreated",
                  "timemodified", "enablecompletion", "cacherev")
ENROL_COLUMNS = ("id", "enrol", "status", "courseid", "sortorder", "expirythreshold", "password", "roleid",
                 "customint1", "customint2", "customint3", "customint4", "customint5", "customint6",
                 "timecreated", "timemodified")
UE_COLUMNS = ("id", "status", "enrolid", "userid", "timestart", "timeend", "modifierid", "timecreated",
              "timemodified")
RA_COLUMNS = ("id", "roleid", "contextid", "userid", "timemodified", "modifierid", "component", "itemid",
              "sortorder")
ITEM_COLUMNS = ("id", "courseid", "categoryid", "itemname", "itemtype", "itemmodule", "iteminstance",
                "itemnumber", "idnumber", "gradetype", "grademax", "grademin", "scaleid", "aggregationcoef2",
                "sortorder", "timecreated", "timemodified")
#: grade_grades columns after ``id``; the history table repeats them minus times and aggregation fields.
GRADE_COLUMNS = ("itemid", "userid", "rawgrade", "rawgrademax", "rawgrademin", "rawscaleid", "usermodified",
                 "finalgrade", "hidden", "locked", "locktime", "exported", "overridden", "excluded", "feedback",
                 "feedbackformat", "information", "informationformat", "timecreated", "timemodified",
                 "aggregationstatus", "aggregationweight")
HISTORY_GRADE_COLUMNS = tuple(c for c in GRADE_COLUMNS
                              if c not in ("timecreated", "timemodified", "aggregationstatus", "aggregationweight"))
HISTORY_COLUMNS = ("action", "oldid", "source", "timemodified", "loggeduser") + HISTORY_GRADE_COLUMNS
LOG_COLUMNS = ("eventname", "component", "action", "target", "objecttable", "objectid", "crud", "edulevel",
               "contextid", "contextlevel", "contextinstanceid", "userid", "courseid", "relateduserid", "anonymous",
               "other", "timecreated", "origin", "ip", "realuserid")
#: The log store's settings as a fresh Moodle 4.5 has them (the fixture's rows): the standard store enabled,
#: ``other`` as JSON. include/sql/moodle/log_enabled.sql reads enabled_stores.
PLUGIN_CONFIG = (("tool_log", "version", "2024100700"), ("tool_log", "enabled_stores", "logstore_standard"),
                 ("tool_log", "exportlog", "1"), ("logstore_standard", "version", "2024100700"),
                 ("logstore_standard", "logguests", "1"), ("logstore_standard", "jsonformat", "1"),
                 ("logstore_standard", "loglifetime", "0"), ("logstore_standard", "buffersize", "50"))
#: Read events per active enrolment that bulk_seed() logs by default (course and assignment views): with the
#: rows the writes log, about 3 million log rows at the default size.
BULK_LOG_VIEWS = 6

_Q5 = Decimal("0.00001")
_FOLD = str.maketrans({"ø": "o", "Ø": "O", "ł": "l", "Ł": "L", "æ": "ae", "Æ": "Ae", "ß": "ss", "đ": "d",
                       "Đ": "D", "ı": "i", "þ": "th", "Þ": "Th", "ð": "d", "Ð": "D", "œ": "oe"})


# ----------------------------------------------------------------------------------------------- schema

def create_schema(db: Database, prefix: str = "mdl_") -> None:
    """(Re)create the Moodle tables the sync reads: drops them first, so a demo always starts clean."""
    validate_prefix(prefix)
    if db.dialect == "postgres" and not prefix:
        raise ConfigError("An empty table prefix would name a table 'user', a reserved word in PostgreSQL.")
    for name in ("moodle_schema", "log_indexes"):
        for statement in split_statements(load("demo", name, db.dialect, prefix=prefix)):
            db.execute(statement)
    db.commit()


# ----------------------------------------------------------------------------------------------- helpers

def _dec(value: Any) -> Decimal | None:
    """A DECIMAL(10,5) value, exact (floats from the generator are rounded to cents first)."""
    if value is None:
        return None
    if isinstance(value, float):
        value = f"{value:.2f}"
    return Decimal(value).quantize(_Q5)


def _ascii(text: str) -> str:
    return "".join(c for c in unicodedata.normalize("NFKD", text.translate(_FOLD)) if not unicodedata.combining(c))


def _handle(name: str) -> str:
    """The username part of a name: Moodle usernames are lowercase ASCII (no extended characters by default)."""
    return re.sub(r"[^a-z0-9-]", "", _ascii(name).lower())


def _password_hash(username: str, seed: int) -> str:
    """Looks like Moodle's SHA-512 crypt hash ($6$rounds=10000$salt$hash); nobody can log in with it."""
    digest = hashlib.sha512(f"{seed}:{username}".encode()).digest()
    text = base64.b64encode(digest + hashlib.md5(digest).digest(), altchars=b"./").decode()
    return f"$6$rounds=10000${text[:16]}${text[16:102]}"


class _People:
    """Deterministic people with international names; usernames stay unique by a numeric suffix."""

    def __init__(self, rng: random.Random, seed: int):
        self.rng, self.seed, self._taken = rng, seed, {}

    def make(self, staff: bool = False) -> dict:
        rng = self.rng
        first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
        base = f"{_handle(first)}.{_handle(last)}"
        n = self._taken.get(base, 0)
        self._taken[base] = n + 1
        username = base if n == 0 else f"{base}{n + 1}"  # names hold no digits: "base2" can't clash
        city, country, dial = rng.choice(CITIES)
        return {
            "firstname": first, "lastname": last, "username": username,
            "email": f"{username}@{STAFF_DOMAIN if staff else rng.choice(STUDENT_DOMAINS)}",
            "city": city, "country": country, "department": rng.choice(DEPARTMENTS),
            "phone1": f"+{dial} {rng.randint(100, 999)} {rng.randint(100000, 999999)}" if rng.random() < 0.3 else "",
            "password": _password_hash(username, self.seed),
        }


def _user_row(uid: int, person: dict, *, idnumber: str, timecreated: int, timemodified: int,
              rng: random.Random, last_seen: int) -> dict:
    """A user as user_create_user() writes it, plus login fields for those who have logged in since."""
    row = {"id": uid, "auth": "manual", "confirmed": 1, "deleted": 0, "suspended": 0, "mnethostid": 1,
           "username": person["username"], "password": person["password"], "idnumber": idnumber,
           "firstname": person["firstname"], "lastname": person["lastname"], "email": person["email"],
           "phone1": person["phone1"], "institution": "Demo University", "department": person["department"],
           "city": person["city"], "country": person["country"], "lang": "en", "timezone": "99",
           "firstaccess": 0, "lastaccess": 0, "lastlogin": 0, "currentlogin": 0, "lastip": "", "picture": 0,
           "description": "", "maildisplay": 2, "timecreated": timecreated, "timemodified": timemodified}
    if rng.random() < 0.7 and last_seen > timecreated + 3600:
        first = rng.randint(timecreated + 600, timecreated + 3600)
        current = rng.randint(first, last_seen)
        row.update(firstaccess=first, currentlogin=current,
                   lastlogin=rng.randint(first, current) if rng.random() < 0.8 else 0,
                   lastaccess=min(last_seen, current + rng.randint(0, 1800)),
                   lastip=f"{rng.choice(('198.51.100', '203.0.113'))}.{rng.randint(1, 254)}")
    return row


def _no_login_after(row: dict, when: int) -> None:
    """A suspended or deleted user cannot have logged in since: keep their login fields before ``when``."""
    cap = when - 3600
    if row["lastaccess"] <= cap:
        return
    if row["firstaccess"] > cap:  # every login would have come later: none at all
        row.update(firstaccess=0, lastaccess=0, lastlogin=0, currentlogin=0, lastip="")
        return
    row["currentlogin"] = min(row["currentlogin"], cap)
    row["lastlogin"] = min(row["lastlogin"], row["currentlogin"])
    row["lastaccess"] = cap


def _soft_delete(row: dict, when: int) -> None:
    """delete_user(): one UPDATE; the old email survives only inside the new username."""
    row.update(deleted=1, username=f"{row['email']}.{when}",
               email=hashlib.md5(row["username"].encode()).hexdigest(),
               idnumber="", picture=0, timemodified=when)
    _no_login_after(row, when)


def _tuples(columns: Sequence[str], rows: Iterable[dict]) -> Iterator[tuple]:
    for row in rows:
        yield tuple(row[c] for c in columns)


def _chunks(rows: Iterable, size: int) -> Iterator[list]:
    batch: list = []
    for row in rows:
        batch.append(row)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def _insert(db: Database, prefix: str, table: str, columns: Sequence[str], rows: Iterable[Sequence],
            chunk: int = 10_000) -> int:
    """Insert rows fast: multi-row INSERTs on MySQL (MySQLdb rewrites executemany), COPY on PostgreSQL."""
    names = ", ".join(columns)
    n = 0
    if db.dialect == "postgres":
        with db.conn.cursor() as cur, cur.copy(f"COPY {prefix}{table} ({names}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
                n += 1
        return n
    sql = f"INSERT INTO {prefix}{table} ({names}) VALUES ({', '.join(['%s'] * len(columns))})"
    for batch in _chunks(rows, chunk):
        db.executemany(sql, batch)
        n += len(batch)
    return n


def _check_sizes(users: int, courses: int, *, bulk: bool) -> None:
    """seed() needs room for every edge case; bulk_seed() a teacher and a few students."""
    low_users, low_courses = (10, 1) if bulk else (30, 2)
    if users < low_users or courses < low_courses:
        raise ValueError(f"{'bulk_seed' if bulk else 'seed'}() needs users >= {low_users} and courses >= {low_courses}")


def has_site(db: Database, prefix: str = "mdl_") -> bool:
    """Whether the database already holds a seeded site (its user table with the guest user)."""
    validate_prefix(prefix)
    if not int(db.query(db.sql("demo", "user_table_exists"), {"name": f"{prefix}user"})[0][0]):
        db.commit()
        return False
    found = bool(db.query(f"SELECT id FROM {prefix}user WHERE id = {GUEST_ID}"))
    db.commit()
    return found


def _require_empty(db: Database, prefix: str) -> None:
    if db.query(f"SELECT id FROM {prefix}user WHERE id = {GUEST_ID}"):
        raise ValueError(f"{prefix}user already holds rows: run create_schema() first (it recreates the tables).")


def _finish(db: Database, prefix: str) -> dict[str, int]:
    """Move PostgreSQL's id sequences past the explicit ids, commit, and count every table."""
    if db.dialect == "postgres":
        for table in TABLES:
            db.query(f"SELECT setval(pg_get_serial_sequence('{prefix}{table}', 'id'), "
                     f"COALESCE((SELECT MAX(id) FROM {prefix}{table}), 0) + 1, false)")
    db.commit()
    return {table: int(db.query(f"SELECT COUNT(*) FROM {prefix}{table}")[0][0]) for table in TABLES}


# ----------------------------------------------------------------------------------------------- log store

def _other(value: Any) -> str:
    """A log row's ``other`` as logstore_standard writes it (jsonformat = 1): PHP's json_encode, so compact,
    ASCII-escaped, '/' escaped, and the text 'null' when there is nothing."""
    return json.dumps(value, separators=(",", ":")).replace("/", "\\/")


def _event(eventname: str, t: int, *, context: tuple[int, int, int], objecttable: str | None = None,
           objectid: int | None = None, crud: str, edulevel: int = 0, userid: int = ADMIN_ID,
           courseid: int | None = 0, relateduserid: int | None = None, other: Any = None) -> tuple:
    """One logstore_standard_log row (LOG_COLUMNS order, no id) as a CLI script writes it: origin 'cli', no ip.
    ``context`` is (contextid, contextlevel, contextinstanceid); component, target and action come from the
    event's class name, as Moodle's event base class derives them."""
    component, _, name = eventname.strip("\\").partition("\\event\\")
    target, _, action = name.rpartition("_")
    return (eventname, component, action, target, objecttable, objectid, crud, edulevel, *context, userid, courseid,
            relateduserid, 0, _other(other), t, "cli", None, None)


def _ctx(context: dict) -> tuple[int, int, int]:
    return (context["id"], context["contextlevel"], context["instanceid"])


def _grade_events(history: Iterable[tuple], items: dict[int, dict], course_context: dict[int, tuple]) -> list[tuple]:
    """The log rows of grade_grades_history rows (HISTORY_COLUMNS order), as the fixture shows them: user_graded
    for a module push, a gradebook edit, an aggregation and a course total's creation (acting user -1 for the
    totals), grade_deleted for a delete; nothing for the regrade's placeholders or set_locked/set_hidden."""
    index = {c: i for i, c in enumerate(HISTORY_COLUMNS)}
    rows = []
    for h in history:
        action, gid, source, when, loggeduser = h[:5]
        item = items[h[index["itemid"]]]
        courseid, userid = item["courseid"], h[index["userid"]]
        total = item["itemtype"] in ("course", "category")
        finalgrade, overridden = h[index["finalgrade"]], bool(h[index["overridden"]])
        if action == HISTORY_DELETE:
            rows.append(_event(r"\core\event\grade_deleted", when, context=course_context[courseid],
                               objecttable="grade_grades", objectid=gid, crud="d", edulevel=1, courseid=courseid,
                               relateduserid=userid, userid=loggeduser,
                               other={"itemid": str(item["id"]), "overridden": overridden,
                                      "finalgrade": None if finalgrade is None else f"{finalgrade:.5f}"}))
        elif source in ("mod/assign", "gradebook", "aggregation") or (source == "system" and item["itemtype"] == "course"):
            rows.append(_event(r"\core\event\user_graded", when, context=course_context[courseid],
                               objecttable="grade_grades", objectid=gid, crud="u", edulevel=1, courseid=courseid,
                               relateduserid=userid, userid=-1 if total else loggeduser,
                               other={"itemid": str(item["id"]), "overridden": overridden,
                                      "finalgrade": None if finalgrade is None else float(finalgrade)}))
    return rows


def set_log_enabled(db: Database, prefix: str = "mdl_", enabled: bool = True) -> None:
    """Enable or disable the standard log store, as the admin page "Manage log stores" does (the log's rows stay)."""
    db.execute(f"UPDATE {prefix}config_plugins SET value = %s WHERE plugin = 'tool_log' AND name = 'enabled_stores'",
               ("logstore_standard" if enabled else "",))
    db.commit()


def _write_log(db: Database, prefix: str, rows: Sequence[tuple]) -> int:
    """Append log rows (ids from the sequence, in the order given: Moodle's log ids follow time)."""
    if not rows:
        return 0
    db.executemany(f"INSERT INTO {prefix}logstore_standard_log ({', '.join(LOG_COLUMNS)}) "
                   f"VALUES ({', '.join(['%s'] * len(LOG_COLUMNS))})", rows)
    return len(rows)


# ----------------------------------------------------------------------------------------------- site skeleton

class _Site:
    """Ids, contexts and the rows every Moodle site has (install, category, courses and their gradebooks)."""

    def __init__(self, now: int, seed: int, n_courses: int):
        self.now, self.seed = now, seed
        self.installed = now - 200 * DAY
        self.contexts: list[dict] = []
        self.users: list[dict] = []
        self.courses: list[dict] = []
        self.enrols: list[dict] = []
        self.items: list[dict] = []
        self._next = {"context": 1, "ue": 1, "ra": 1}
        self._context(CONTEXT_SYSTEM, 0, "", 1)
        self._context(CONTEXT_COURSE, SITE_COURSE, "/1", 2)
        self._context(CONTEXT_COURSECAT, CATEGORY_ID, "/1", 2)
        self._install_users()
        for ci in range(n_courses):
            self._course(ci, n_courses)

    def next_id(self, kind: str) -> int:
        value = self._next[kind]
        self._next[kind] = value + 1
        return value

    def _context(self, level: int, instance: int, parent_path: str, depth: int) -> dict:
        cid = self.next_id("context")
        ctx = {"id": cid, "contextlevel": level, "instanceid": instance, "path": f"{parent_path}/{cid}",
               "depth": depth, "locked": 0}
        self.contexts.append(ctx)
        return ctx

    def user_context(self, uid: int) -> dict:
        return self._context(CONTEXT_USER, uid, "/1", 2)

    def _install_users(self) -> None:
        """guest (1) and admin (2) as install.php writes them: timecreated = 0."""
        common = {"auth": "manual", "confirmed": 1, "deleted": 0, "suspended": 0, "mnethostid": 1,
                  "idnumber": "", "phone1": "", "institution": "", "department": "", "city": "", "country": "",
                  "lang": "en", "timezone": "99", "firstaccess": 0, "lastaccess": 0, "lastlogin": 0,
                  "currentlogin": 0, "picture": 0, "timecreated": 0, "timemodified": self.installed + 1}
        self.users.append({**common, "id": GUEST_ID, "username": "guest",
                           "password": _password_hash("guest", self.seed), "firstname": "Guest user",
                           "lastname": " ", "email": "root@localhost", "lastip": "", "maildisplay": 2,
                           "description": "This user is a special user that allows read-only access to some "
                                          "courses."})
        seen = self.now - 3600
        self.users.append({**common, "id": ADMIN_ID, "username": "admin",
                           "password": _password_hash("admin", self.seed), "firstname": "Admin",
                           "lastname": "User", "email": "admin@example.com", "lastip": "0.0.0.0",
                           "maildisplay": 1, "description": None, "firstaccess": self.installed + 60,
                           "lastlogin": seen - DAY, "currentlogin": seen, "lastaccess": seen})
        for uid in (GUEST_ID, ADMIN_ID):
            self.user_context(uid)

    def _course(self, ci: int, n_courses: int) -> None:
        """A course as create_course() makes it: context, manual/guest/self instances and a gradebook."""
        code, fullname = COURSES[ci % len(COURSES)]
        lap = ci // len(COURSES)
        shortname = code if lap == 0 else f"{code}-{lap + 1}"
        if lap:
            fullname = f"{fullname} (group {lap + 1})"
        cid = SITE_COURSE + 1 + ci
        created = self.installed + DAY + ci * max(60, (45 * DAY) // max(1, n_courses))
        start = created + 7 * DAY
        # The second course has ended (as CHEM201 in the fixture); the others run until after "now".
        end = self.now - 25 * DAY if ci == 1 else self.now + 60 * DAY
        course = {"id": cid, "category": CATEGORY_ID, "sortorder": 10000 + n_courses - ci, "fullname": fullname,
                  "shortname": shortname, "idnumber": f"{shortname}-DEMO", "summary": "", "summaryformat": 1,
                  "format": "topics", "showgrades": 1, "newsitems": 5, "startdate": start, "enddate": end,
                  "visible": 1, "timecreated": created, "timemodified": created, "enablecompletion": 1,
                  "cacherev": created}
        course["context"] = self._context(CONTEXT_COURSE, cid, f"/1/{CATEGORY_CONTEXT}", 3)
        # New courses: manual enabled, guest disabled, self disabled (FACTS.md section 2).
        base = len(self.enrols)
        course["manual"], course["guest"], course["self"] = base + 1, base + 2, base + 3
        self.enrols += [
            {"id": base + 1, "enrol": "manual", "status": ENROL_ENABLED, "courseid": cid, "sortorder": 0,
             "expirythreshold": 86400, "password": None, "roleid": ROLE["student"], "customint1": 1,
             "customint2": None, "customint3": None, "customint4": None, "customint5": None, "customint6": None,
             "timecreated": created, "timemodified": created},
            {"id": base + 2, "enrol": "guest", "status": ENROL_DISABLED, "courseid": cid, "sortorder": 1,
             "expirythreshold": 0, "password": "", "roleid": 0, "customint1": None, "customint2": None,
             "customint3": None, "customint4": None, "customint5": None, "customint6": None,
             "timecreated": created, "timemodified": created},
            {"id": base + 3, "enrol": "self", "status": ENROL_DISABLED, "courseid": cid, "sortorder": 2,
             "expirythreshold": 86400, "password": None, "roleid": ROLE["student"], "customint1": 0,
             "customint2": 0, "customint3": 0, "customint4": 1, "customint5": 0, "customint6": 1,
             "timecreated": created, "timemodified": created},
        ]
        # Assignments are graded 20..8 days ago, manual items 6 days ago; the gradebook was opened
        # (regrade: placeholders and totals) 4 days ago, which also bumped every item's timemodified.
        course["grading"] = {"essay1": self.now - 20 * DAY, "essay2": self.now - 14 * DAY,
                             "lab": self.now - 8 * DAY, "participation": self.now - 6 * DAY,
                             "safety": self.now - 6 * DAY}
        course["regraded"] = self.now - 4 * DAY + ci
        course["items"] = self._grade_items(ci, cid, created + 3600, course["regraded"])
        # Each assignment has a module context (its views are logged there); cmid = the assign id here.
        course["modules"] = {key: self._context(CONTEXT_MODULE, item["iteminstance"], course["context"]["path"], 4)
                             for key, item in course["items"].items() if item["itemtype"] == "mod"}
        self.courses.append(course)

    def _grade_items(self, ci: int, cid: int, created: int, regraded: int) -> dict[str, dict]:
        top_category, labs_category = 2 * ci + 1, 2 * ci + 2  # grade_categories ids (table not generated)
        leaves = [t for t in ITEM_TEMPLATE if t[6] is not None]
        labs_max = sum(Decimal(t[6]) for t in leaves if t[8])
        course_max = sum(Decimal(t[6]) for t in leaves if not t[8]) + labs_max
        items: dict[str, dict] = {}
        for sortorder, (key, itype, module, name, gtype, gmin, gmax, scale, in_labs, idnumber) in enumerate(
                ITEM_TEMPLATE, start=1):
            iid = len(self.items) + 1
            if key == "course":
                gmax, parent, instance, weight = course_max, None, top_category, Decimal(0)
            elif key == "labs":
                gmax, parent, instance, weight = labs_max, None, labs_category, labs_max / course_max
            else:
                parent = labs_category if in_labs else top_category
                instance = iid if module else None  # assign ids: any stable number will do here
                weight = Decimal(gmax) / (labs_max if in_labs else course_max)
            item = {"id": iid, "courseid": cid, "categoryid": parent, "itemname": name, "itemtype": itype,
                    "itemmodule": module, "iteminstance": instance, "itemnumber": None if key in ("course", "labs")
                    else 0, "idnumber": idnumber, "gradetype": gtype, "grademax": _dec(gmax),
                    "grademin": _dec(gmin), "scaleid": scale, "aggregationcoef2": _dec(weight),
                    "sortorder": sortorder, "timecreated": created, "timemodified": regraded, "key": key}
            self.items.append(item)
            items[key] = item
        return items

    def enrol(self, rows: list[dict], instance: int, uid: int, created: int, *, status: int = UE_ACTIVE,
              timestart: int = 0, timeend: int = 0, modifier: int = ADMIN_ID) -> dict:
        """enrol_user(): timecreated = timemodified = now, start/end as passed (0 = none)."""
        ue = {"id": self.next_id("ue"), "status": status, "enrolid": instance, "userid": uid,
              "timestart": timestart, "timeend": timeend, "modifierid": modifier, "timecreated": created,
              "timemodified": created}
        rows.append(ue)
        return ue

    def assign(self, rows: list[dict], role: str, context: dict, uid: int, when: int,
               modifier: int = ADMIN_ID) -> dict:
        """role_assign(): insert-only, component '' for manual and self enrolment."""
        ra = {"id": self.next_id("ra"), "roleid": ROLE[role], "contextid": context["id"], "userid": uid,
              "timemodified": when, "modifierid": modifier, "component": "", "itemid": 0, "sortorder": 0}
        rows.append(ra)
        return ra

    def write_base(self, db: Database, prefix: str, site_name: str) -> None:
        siteid = "demo" + hashlib.md5(f"moodle-zoho-sync demo {self.seed}".encode()).hexdigest()[:28] + "localhost"
        config = [("siteidentifier", siteid), ("disablegradehistory", "0"), ("version", "2024100705.01"),
                  ("release", "4.5.5+ (Build: 20250613)"), ("grade_aggregation", "13"), ("siteadmins", "2")]
        _insert(db, prefix, "config", ("id", "name", "value"), [(i, n, v) for i, (n, v) in enumerate(config, 1)])
        _insert(db, prefix, "config_plugins", ("id", "plugin", "name", "value"),
                [(i,) + row for i, row in enumerate(PLUGIN_CONFIG, 1)])
        _insert(db, prefix, "role", ("id", "name", "shortname", "description", "sortorder", "archetype"),
                [(rid, "", short, "", rid, short) for short, rid in ROLES])
        _insert(db, prefix, "scale", ("id", "courseid", "userid", "name", "scale", "description",
                                      "descriptionformat", "timemodified"),
                [(i, 0, 0, name, items, desc, 0, self.installed + 3) for i, (name, items, desc) in
                 enumerate(SCALES, 1)])
        site = {"id": SITE_COURSE, "category": 0, "sortorder": 1, "fullname": site_name, "shortname": "demo",
                "idnumber": "", "summary": "", "summaryformat": 0, "format": "site", "showgrades": 1,
                "newsitems": 3, "startdate": 0, "enddate": 0, "visible": 1, "timecreated": self.installed,
                "timemodified": self.installed + 50, "enablecompletion": 0, "cacherev": self.installed + 40}
        _insert(db, prefix, "course", COURSE_COLUMNS, _tuples(COURSE_COLUMNS, [site] + self.courses))
        _insert(db, prefix, "enrol", ENROL_COLUMNS, _tuples(ENROL_COLUMNS, self.enrols))
        _insert(db, prefix, "grade_items", ITEM_COLUMNS, _tuples(ITEM_COLUMNS, self.items))


# ----------------------------------------------------------------------------------------------- gradebook

class _Gradebook:
    """grade_grades rows changed the way Moodle's grade_grade API changes them.

    Every insert, update and delete appends a grade_grades_history row holding the row as it is after the
    change (``history=False`` skips that, for the benchmark). ``aggregate`` is natural aggregation with
    "aggregate only graded": a total's rawgrademax is the sum of its graded children's maxima, its finalgrade
    their sum; the children's aggregationstatus/weight are rewritten silently (Moodle uses a raw UPDATE).
    """

    def __init__(self, items: Iterable[dict], next_id: int = 1, history: bool = True):
        self.items = {item["id"]: item for item in items}
        self.rows: dict[tuple[int, int], dict] = {}
        self.history: list[tuple] = []
        self.dirty: dict[int, None] = {}  # ids of rows loaded from the database and changed since (ordered)
        self.changed: dict[tuple[int, int], None] = {}  # keys with a history-worthy change
        self.next_id = next_id
        self.keep_history = history
        self._structure: dict[int, tuple] = {}
        self._by_course: dict[int, list[dict]] = {}

    def blank(self, userid: int, itemid: int) -> dict:
        item = self.items[itemid]
        return {"id": None, "itemid": itemid, "userid": userid, "rawgrade": None, "rawgrademax": item["grademax"],
                "rawgrademin": item["grademin"], "rawscaleid": item["scaleid"] if item["gradetype"] == 2 else None,
                "usermodified": None, "finalgrade": None, "hidden": 0, "locked": 0, "locktime": 0, "exported": 0,
                "overridden": 0, "excluded": 0, "feedback": None, "feedbackformat": FORMAT_PLAIN,
                "information": None, "informationformat": 0, "timecreated": None, "timemodified": None,
                "aggregationstatus": "unknown" if item["itemtype"] == "course" else "novalue",
                "aggregationweight": None if item["itemtype"] == "course" else Decimal("0.00000")}

    def _log(self, action: int, row: dict, source: str | None, loggeduser: int, when: int) -> None:
        self.changed[(row["userid"], row["itemid"])] = None
        if self.keep_history:
            self.history.append((action, row["id"], source, when, loggeduser)
                                + tuple(row[c] for c in HISTORY_GRADE_COLUMNS))

    def load(self, row: dict) -> None:
        self.rows[(row["userid"], row["itemid"])] = row

    def insert(self, userid: int, itemid: int, when: int, source: str, loggeduser: int, **values: Any) -> dict:
        row = self.blank(userid, itemid)
        row.update(values, id=self.next_id)
        self.next_id += 1
        self.rows[(userid, itemid)] = row
        self._log(HISTORY_INSERT, row, source, loggeduser, when)
        return row

    def update(self, key: tuple[int, int], when: int, source: str | None, loggeduser: int, **changes: Any) -> dict:
        row = self.rows[key]
        row.update(changes)
        self.dirty[row["id"]] = None
        self._log(HISTORY_UPDATE, row, source, loggeduser, when)
        return row

    def delete(self, key: tuple[int, int], when: int, source: str, loggeduser: int) -> dict:
        row = self.rows.pop(key)
        self._log(HISTORY_DELETE, row, source, loggeduser, when)
        return row

    def _silent(self, row: dict, **changes: Any) -> None:
        if any(row[k] != v for k, v in changes.items()):
            row.update(changes)
            if row["id"] is not None:
                self.dirty[row["id"]] = None

    def structure(self, courseid: int) -> tuple:
        """(course item, [(category item, children)...], course item's children); categories sit under the
        course total (two levels, as the demo gradebooks and the fixture's have)."""
        if not self._by_course:
            for item in sorted(self.items.values(), key=lambda i: i["sortorder"]):
                self._by_course.setdefault(item["courseid"], []).append(item)
        if courseid not in self._structure:
            items = self._by_course[courseid]
            course = next(i for i in items if i["itemtype"] == "course")
            categories = [i for i in items if i["itemtype"] == "category"]
            by_category = {c["iteminstance"]: c for c in categories}
            children: dict[int, list] = {course["id"]: list(categories)}
            for category in categories:
                children[category["id"]] = []
            for item in items:
                if item["itemtype"] in ("course", "category"):
                    continue
                parent = by_category.get(item["categoryid"], course)
                children[parent["id"]].append(item)
            self._structure[courseid] = (course, [(c, children[c["id"]]) for c in categories], children[course["id"]])
        return self._structure[courseid]

    def aggregate(self, userid: int, courseid: int, when: int, loggeduser: int) -> None:
        """grade_regrade_final_grades() for one user: categories first, then the course total."""
        course, categories, top = self.structure(courseid)
        for total, children in categories + [(course, top)]:
            trow = self.rows.get((userid, total["id"]))
            if trow is None:
                continue
            used, total_sum, total_max = [], Decimal(0), Decimal(0)
            for child in children:
                row = self.rows.get((userid, child["id"]))
                if row is None:
                    continue
                if row["finalgrade"] is None or row["excluded"]:
                    self._silent(row, aggregationstatus="dropped" if row["excluded"] else "novalue",
                                 aggregationweight=_dec(0))
                    continue
                child_max = row["rawgrademax"] if child["itemtype"] == "category" else child["grademax"]
                total_sum += row["finalgrade"]
                total_max += child_max
                used.append((row, child_max))
            for row, child_max in used:
                self._silent(row, aggregationstatus="used", aggregationweight=_dec(child_max / total_max))
            final = _dec(total_sum) if used else None
            rawmax = _dec(total_max) if used else total["grademax"]
            if trow["overridden"]:
                final = trow["finalgrade"]
            if final != trow["finalgrade"] or rawmax != trow["rawgrademax"]:
                self.update((userid, total["id"]), when, "aggregation", loggeduser, finalgrade=final,
                            rawgrademax=rawmax, timemodified=when)

    def grade_tuples(self) -> Iterator[tuple]:
        for row in sorted(self.rows.values(), key=lambda r: r["id"]):
            yield (row["id"],) + tuple(row[c] for c in GRADE_COLUMNS)


def _grade_user_course(gb: _Gradebook, rng: random.Random, course: dict, userid: int, teacher: int,
                       *, everything: bool = False, skip: Sequence[str] = ()) -> None:
    """One student's grades in one course, in Moodle's order: assign pushes (mod/assign), gradebook entries
    for manual items (rawgrade stays NULL), then the regrade's placeholders and totals (system, aggregation)."""
    items, grading = course["items"], course["grading"]
    chance = {"essay1": 0.9, "essay2": 0.8, "lab": 0.8, "participation": 0.7, "safety": 0.6}
    keys = [k for k in LEAF_KEYS if k not in skip and (everything or rng.random() < chance[k])]
    if not keys:  # a student nobody graded has no rows at all (the regrade only fills in for graded users)
        keys = [next(k for k in LEAF_KEYS if k not in skip)]
    for key in keys:
        item = items[key]
        when = grading[key] + rng.randint(0, 6 * 3600)
        if item["gradetype"] == 2:
            value = _dec(rng.choice((1, 2, 2, 3, 3, 3)))
        else:
            value = _dec(round(item["grademax"] * Decimal(str(round(rng.triangular(0.3, 1.0, 0.8), 4))), 2))
        if item["itemtype"] == "mod":
            gb.insert(userid, item["id"], when, "mod/assign", teacher, rawgrade=value, finalgrade=value,
                      usermodified=teacher, timemodified=when)
        else:
            gb.insert(userid, item["id"], when, "gradebook", teacher, finalgrade=value, usermodified=teacher,
                      timemodified=when)
    regraded = course["regraded"]
    for key, *_ in ITEM_TEMPLATE:
        if (userid, items[key]["id"]) not in gb.rows:
            gb.insert(userid, items[key]["id"], regraded, "system", teacher)
    gb.aggregate(userid, course["id"], regraded, teacher)


def _seed_log(site: _Site, *, rng: random.Random, ues: list[dict], ras: list[dict], history: list[tuple],
              deleted: tuple[dict, list[dict], list[dict], int], updated_ues: list[tuple[dict, int]]) -> list[tuple]:
    """The log rows of everything seed() wrote, in time order (log ids follow time): user_created and
    user_updated, user_enrolment_created/updated, role_assigned, user_graded, the delete_user() cascade, and
    a few course and assignment views per enrolment (read events, the bulk of a real log)."""
    contexts = {c["id"]: c for c in site.contexts}
    user_ctx = {c["instanceid"]: _ctx(c) for c in site.contexts if c["contextlevel"] == CONTEXT_USER}
    course_ctx = {c["id"]: _ctx(c["context"]) for c in site.courses}
    course_of_enrol = {e["id"]: e for e in site.enrols}
    by_id = {c["id"]: c for c in site.courses}
    user_before, gone_ues, gone_ras, t_del = deleted
    gone = {u["id"] for u in gone_ues}
    rows: list[tuple[int, int, tuple]] = []  # (time, order within the second, row)

    def add(order: int, row: tuple) -> None:
        rows.append((row[LOG_COLUMNS.index("timecreated")], order, row))

    for user in site.users:
        uid = user["id"]
        if uid in (GUEST_ID, ADMIN_ID):  # the installer logs nothing: the log store is not enabled yet
            continue
        add(0, _event(r"\core\event\user_created", user["timecreated"], context=user_ctx[uid], objecttable="user",
                      objectid=uid, crud="c", relateduserid=uid))
        if uid == user_before["id"]:
            continue
        if user["timemodified"] > user["timecreated"]:  # a profile edit or the suspension: user_update_user()
            add(0, _event(r"\core\event\user_updated", user["timemodified"], context=user_ctx[uid], objecttable="user",
                          objectid=uid, crud="u", relateduserid=uid))
    for ue in ues:
        enrol = course_of_enrol[ue["enrolid"]]
        cid = enrol["courseid"]
        # enrol_user(): the enrolment, then its role (the fixture's order within a second)
        add(1, _event(r"\core\event\user_enrolment_created", ue["timecreated"], context=course_ctx[cid],
                      objecttable="user_enrolments", objectid=ue["id"], crud="c", userid=ue["modifierid"],
                      courseid=cid, relateduserid=ue["userid"], other={"enrol": enrol["enrol"]}))
    for ue, when in updated_ues:
        enrol = course_of_enrol[ue["enrolid"]]
        add(1, _event(r"\core\event\user_enrolment_updated", when, context=course_ctx[enrol["courseid"]],
                      objecttable="user_enrolments", objectid=ue["id"], crud="u", courseid=enrol["courseid"],
                      relateduserid=ue["userid"], other={"enrol": enrol["enrol"]}))
    for ra in ras:
        ctx = contexts[ra["contextid"]]
        add(2, _event(r"\core\event\role_assigned", ra["timemodified"], context=_ctx(ctx), objecttable="role",
                      objectid=ra["roleid"], crud="c", userid=ra["modifierid"],
                      courseid=ctx["instanceid"] if ctx["contextlevel"] == CONTEXT_COURSE else 0,
                      relateduserid=ra["userid"], other={"id": ra["id"], "component": ra["component"],
                                                         "itemid": ra["itemid"]}))
    for row in _grade_events(history, {i["id"]: i for i in site.items}, course_ctx):
        add(3, row)
    # delete_user() after its grades: each enrolment's roles and the enrolment (unenrol_user), then the user.
    uid = user_before["id"]
    for ra in gone_ras:
        ctx = contexts[ra["contextid"]]
        add(4, _event(r"\core\event\role_unassigned", t_del, context=_ctx(ctx), objecttable="role",
                      objectid=ra["roleid"], crud="d", courseid=ctx["instanceid"], relateduserid=uid,
                      other={"id": str(ra["id"]), "component": ra["component"], "itemid": str(ra["itemid"])}))
    for ue in gone_ues:
        enrol = course_of_enrol[ue["enrolid"]]
        cid = enrol["courseid"]
        old = {k: str(ue[k]) for k in UE_COLUMNS}
        old.update(courseid=str(cid), enrol=enrol["enrol"], lastenrol=True)
        add(5, _event(r"\core\event\user_enrolment_deleted", t_del, context=course_ctx[cid],
                      objecttable="user_enrolments", objectid=ue["id"], crud="d", courseid=cid, relateduserid=uid,
                      other={"userenrolment": old, "enrol": enrol["enrol"]}))
    add(6, _event(r"\core\event\user_deleted", t_del, context=user_ctx[uid], objecttable="user", objectid=uid,
                  crud="d", relateduserid=uid,
                  other={"username": user_before["username"], "email": user_before["email"],
                         "idnumber": user_before["idnumber"], "picture": "0", "mnethostid": "1"}))
    # Reading: students open their courses and assignments between enrolling and now (course_view(),
    # assign->set_module_viewed()); edulevel 2 (participating), crud r.
    for ue in ues:
        if ue["userid"] in (user_before["id"],) or ue["id"] in gone or ue["timestart"] > site.now:
            continue
        course = by_id[course_of_enrol[ue["enrolid"]]["courseid"]]
        for _ in range(rng.randint(0, 3)):
            when = rng.randint(ue["timecreated"], site.now - 60)
            add(7, _event(r"\core\event\course_viewed", when, context=course_ctx[course["id"]], crud="r", edulevel=2,
                          userid=ue["userid"], courseid=course["id"]))
            if rng.random() < 0.6:
                key = rng.choice(sorted(course["modules"]))
                module = course["modules"][key]
                add(7, _event(r"\mod_assign\event\course_module_viewed", when, context=_ctx(module),
                              objecttable="assign", objectid=module["instanceid"], crud="r", edulevel=2,
                              userid=ue["userid"], courseid=course["id"]))
    return [row for _, _, row in sorted(rows, key=lambda r: (r[0], r[1]))]


# ----------------------------------------------------------------------------------------------- seed

def seed(db: Database, prefix: str = "mdl_", *, users: int = 60, courses: int = 4, seed: int = 42,
         now: int | None = None) -> dict:
    """A small demo site with one of every edge case the sync must handle; returns counts and their ids.

    ``users`` people besides guest and admin (about a tenth of them staff), in ``courses`` courses besides the
    site course. The first course holds the grade edge cases, the second the enrolment ones. Same seed and
    ``now``, same rows. Counts are keyed by table name (without prefix).
    """
    validate_prefix(prefix)
    _check_sizes(users, courses, bulk=False)
    _require_empty(db, prefix)
    now = int(time.time()) if now is None else int(now)
    rng = random.Random(seed)
    site = _Site(now, seed, courses)
    people = _People(rng, seed)
    c0, c1 = site.courses[0], site.courses[1]
    phase_c = now - 2 * DAY  # when the edge-case changes happen (as phase C in the fixture)

    # People: ids grow with timecreated, spread over days -195..-35.
    n_staff = max(4, users // 10)
    first_created, span = now - 195 * DAY, 160 * DAY
    staff, students = [], []
    for n in range(users):
        uid = ADMIN_ID + 1 + n
        is_staff = n < n_staff
        created = first_created + (span * n) // users + rng.randint(0, 3600)
        modified = created if rng.random() < 0.85 else rng.randint(created, now - 10 * DAY)  # a profile edit
        row = _user_row(uid, people.make(staff=is_staff), idnumber=f"T{n + 1:04d}" if is_staff else f"S26{n:05d}",
                        timecreated=created, timemodified=modified, rng=rng, last_seen=now - 3600)
        site.users.append(row)
        site.user_context(uid)
        (staff if is_staff else students).append(row)

    ues: list[dict] = []
    ras: list[dict] = []
    role_of: dict[tuple[int, int], dict] = {}  # (userid, courseid) -> role assignment (role_assign is idempotent)

    def enrol(course: dict, user: dict, role: str, instance: str = "manual", **kw: Any) -> dict:
        opened = site.enrols[course[instance] - 1]["timemodified"]  # self: after the instance was enabled
        created = max(user["timecreated"], opened) + rng.randint(600, 5 * DAY)
        modifier = user["id"] if instance == "self" else ADMIN_ID  # self enrolment: the user's own action
        if instance == "self":
            kw.setdefault("timestart", created)  # enrol_self starts the enrolment when the user enrols
        ue = site.enrol(ues, course[instance], user["id"], created, modifier=modifier, **kw)
        if (user["id"], course["id"]) not in role_of:
            role_of[(user["id"], course["id"])] = site.assign(ras, role, course["context"], user["id"], created,
                                                              modifier)
        ue["course"] = course
        return ue

    # Staff: an editing teacher per course, a non-editing teacher (with an end date) in the first course,
    # and a manager at category level with no enrolment at all (a role without an enrolment).
    teachers = staff[:-2]
    for ci, course in enumerate(site.courses):
        course["teacher"] = teachers[ci % len(teachers)]["id"]
        enrol(course, teachers[ci % len(teachers)], "editingteacher")
    enrol(c0, staff[-2], "teacher", timestart=c0["startdate"], timeend=now + 90 * DAY)
    manager = staff[-1]
    category_context = next(c for c in site.contexts if c["contextlevel"] == CONTEXT_COURSECAT)
    site.assign(ras, "manager", category_context, manager["id"], manager["timecreated"] + DAY)

    # Students: the first 16 are all in the first course (the grade edge cases); everyone takes 1-3 courses.
    for n, student in enumerate(students):
        picks = rng.sample(range(courses), rng.choice((1, 2, 2, 3)) if courses >= 3 else rng.choice((1, 2)))
        if n < 16 and 0 not in picks:
            picks[0] = 0
        for ci in sorted(picks):
            course = site.courses[ci]
            kw: dict[str, Any] = {}
            if ci == 0 and n == 9:  # fixed-term enrolment that has since expired: nothing was written then
                kw = {"timestart": course["startdate"], "timeend": now - 5 * DAY}
            elif ci == 0 and n == 10:  # starts next week
                kw = {"timestart": now + 7 * DAY}
            enrol(course, student, "student", **kw)
    edge_users = [s["id"] for s in students[:11]]
    (deleted, suspended_user, overridden, nograde, locked, hidden, feedback_only, excluded, submitted,
     expired_user, future_user) = students[:11]
    expired_ue = next(u for u in ues if u["userid"] == expired_user["id"] and u["course"] is c0)
    future_ue = next(u for u in ues if u["userid"] == future_user["id"] and u["course"] is c0)

    # Self enrolment: enabled (via the edit form, which bumps enrol.timemodified) in the first course, with one
    # student who is also enrolled manually (two ue rows, one course); enabled in the second course too, then
    # disabled with update_status(), which writes only enrol.status: its users keep status 0.
    self_c0 = site.enrols[c0["self"] - 1]
    self_c0.update(status=ENROL_ENABLED, timemodified=self_c0["timecreated"] + DAY)
    in_course = {(u["userid"], u["course"]["id"]) for u in ues}
    double = students[11]
    double_ue = enrol(c0, double, "student", "self")
    outsiders0 = [s for s in students[16:] if (s["id"], c0["id"]) not in in_course]
    outsiders1 = [s for s in students[16:] if (s["id"], c1["id"]) not in in_course]
    if not outsiders0 or len(outsiders1) < 4:
        raise ValueError("seed(): too few users for the self-enrolment cases; use more users")
    self_only = enrol(c0, outsiders0[0], "student", "self")
    self_c1 = site.enrols[c1["self"] - 1]
    self_c1.update(timemodified=self_c1["timecreated"] + DAY)  # enabled via the edit form...
    disabled_ues = [enrol(c1, student, "student", "self") for student in outsiders1[:4]]
    self_c1.update(status=ENROL_DISABLED)  # ...and later disabled by update_status(): no time written

    # Grades: every student with a started enrolment may have some; the edge-case students have all.
    gb = _Gradebook(site.items)
    for course in site.courses:
        graded = []
        for ue in ues:
            if ue["course"] is course and role_of[(ue["userid"], course["id"])]["roleid"] == ROLE["student"] \
                    and ue["timestart"] < course["grading"]["essay1"] and ue["userid"] not in graded:
                graded.append(ue["userid"])
        for uid in graded:
            forced = uid in edge_users
            if forced or rng.random() < 0.85:
                skip = {submitted["id"]: ("essay2",), feedback_only["id"]: ("participation",)}.get(uid, ())
                _grade_user_course(gb, rng, course, uid, course["teacher"], everything=forced, skip=skip)

    # Phase C: the grade edge cases, in the first course, as the grade_grade API writes them.
    it, teacher, cid = c0["items"], c0["teacher"], c0["id"]
    t = phase_c
    row = gb.rows[(overridden["id"], it["essay1"]["id"])]
    new_final = _dec(min(Decimal(95), row["rawgrade"] + Decimal(12)) if row["rawgrade"] < 90 else row["rawgrade"] - 10)
    gb.update((overridden["id"], it["essay1"]["id"]), t, "gradebook", teacher, finalgrade=new_final, overridden=t,
              timemodified=t, feedback="Adjusted after appeal", feedbackformat=FORMAT_MOODLE, usermodified=teacher)
    gb.aggregate(overridden["id"], cid, t, teacher)
    gb.update((nograde["id"], it["essay1"]["id"]), t + 1, "mod/assign", teacher, rawgrade=None, finalgrade=None,
              timemodified=None, usermodified=teacher)  # assign "No grade": timemodified back to NULL
    gb.aggregate(nograde["id"], cid, t + 1, teacher)
    gb.update((locked["id"], it["participation"]["id"]), t + 2, None, ADMIN_ID, locked=t + 2)
    gb.update((hidden["id"], it["lab"]["id"]), t + 2, None, ADMIN_ID, hidden=1)
    gb.update((excluded["id"], it["essay2"]["id"]), t + 3, "gradebook", ADMIN_ID, excluded=t + 3)
    gb.aggregate(excluded["id"], cid, t + 3, ADMIN_ID)
    gb.update((feedback_only["id"], it["participation"]["id"]), t + 4, "gradebook", teacher, finalgrade=None,
              feedback="Please come and see me.", feedbackformat=FORMAT_MOODLE, usermodified=teacher,
              timemodified=t + 4)
    gb.update((submitted["id"], it["essay2"]["id"]), t + 5, "mod/assign", submitted["id"], timecreated=t + 5,
              usermodified=submitted["id"])  # submitted, not graded yet: timecreated = date submitted

    # Enrolment edge: update_user_enrol() suspends one (status 1, timemodified and modifierid bumped).
    quiet = [s["id"] for s in students[:16]]
    suspended_ue = next(u for u in ues if u["course"] is c1 and u["enrolid"] == c1["manual"]
                        and u["userid"] not in quiet and role_of[(u["userid"], c1["id"])]["roleid"] == ROLE["student"])
    suspended_ue.update(status=UE_SUSPENDED, timemodified=t + 6, modifierid=ADMIN_ID)

    # user_update_user(): suspension bumps timemodified; the user keeps enrolments and grades.
    suspended_user.update(suspended=1, timemodified=now - 36 * 3600)
    _no_login_after(suspended_user, now - 36 * 3600)
    # Ids in creation order, as the database would have given them (the deleted user's rows below leave gaps).
    for table in (ues, ras):
        in_time_order = sorted(table, key=lambda r: (r.get("timecreated", r["timemodified"]), r["id"]))
        for new_id, row in enumerate(in_time_order, 1):
            row["id"] = new_id
        table.sort(key=lambda r: r["id"])
    # delete_user(): grades hard-deleted (history action 3, 'userdelete'), then enrolments and roles, then
    # the soft delete of the user row itself.
    t_del = now - DAY
    for key in [k for k in gb.rows if k[0] == deleted["id"]]:
        gb.delete(key, t_del, "userdelete", ADMIN_ID)
    gone_ues = [u for u in ues if u["userid"] == deleted["id"]]
    gone_ras = [r for r in ras if r["userid"] == deleted["id"]]
    ues = [u for u in ues if u["userid"] != deleted["id"]]
    ras = [r for r in ras if r["userid"] != deleted["id"]]
    before_delete = dict(deleted)
    _soft_delete(deleted, t_del)
    history = sorted(gb.history, key=lambda h: (h[3], h[1]))  # ids in time order, as Moodle would assign
    log = _seed_log(site, rng=random.Random(seed + 1), ues=ues + gone_ues, ras=ras + gone_ras, history=history,
                    deleted=(before_delete, gone_ues, gone_ras, t_del), updated_ues=[(suspended_ue, t + 6)])

    # Write everything.
    site.write_base(db, prefix, "Demo Moodle")
    _insert(db, prefix, "user", USER_COLUMNS, _tuples(USER_COLUMNS, site.users))
    _insert(db, prefix, "context", CONTEXT_COLUMNS, _tuples(CONTEXT_COLUMNS, site.contexts))
    _insert(db, prefix, "user_enrolments", UE_COLUMNS, _tuples(UE_COLUMNS, ues))
    _insert(db, prefix, "role_assignments", RA_COLUMNS, _tuples(RA_COLUMNS, ras))
    _insert(db, prefix, "grade_grades", ("id",) + GRADE_COLUMNS, gb.grade_tuples())
    _insert(db, prefix, "grade_grades_history", ("id",) + HISTORY_COLUMNS,
            [(i,) + h for i, h in enumerate(history, start=1)])
    _insert(db, prefix, "logstore_standard_log", ("id",) + LOG_COLUMNS, [(i,) + r for i, r in enumerate(log, 1)])
    counts = _finish(db, prefix)

    def key(user: dict, item: str) -> tuple[int, int]:
        return (user["id"], it[item]["id"])

    return {**counts, "now": now, "edge": {
        "guest_user": GUEST_ID, "admin_user": ADMIN_ID,
        "deleted_user": deleted["id"], "suspended_user": suspended_user["id"],
        "category_manager": manager["id"], "non_editing_teacher": staff[-2]["id"],
        "expired_enrolment": expired_ue["id"], "future_enrolment": future_ue["id"],
        "suspended_enrolment": suspended_ue["id"],
        "disabled_instance": c1["self"], "disabled_instance_enrolments": [u["id"] for u in disabled_ues],
        "enabled_self_instance": c0["self"], "self_enrolment": self_only["id"],
        "double_enrolment": {"userid": double["id"], "courseid": cid, "self_enrolment": double_ue["id"]},
        "grade_course": cid, "ended_course": c1["id"],
        "course_total_item": it["course"]["id"], "category_total_item": it["labs"]["id"],
        "manual_item": it["participation"]["id"], "scale_item": it["safety"]["id"], "scale": 1,
        "assign_item_max50": it["lab"]["id"],
        "overridden_grade": key(overridden, "essay1"), "no_grade": key(nograde, "essay1"),
        "locked_grade": key(locked, "participation"), "hidden_grade": key(hidden, "lab"),
        "excluded_grade": key(excluded, "essay2"), "feedback_only_grade": key(feedback_only, "participation"),
        "submitted_ungraded_grade": key(submitted, "essay2"),
    }}


# ----------------------------------------------------------------------------------------------- changes

_GRADE_SELECT = "SELECT gg.id, " + ", ".join(f"gg.{c}" for c in GRADE_COLUMNS)
_ITEM_SELECT = ("SELECT id, courseid, categoryid, itemtype, itemmodule, iteminstance, gradetype, grademax, grademin, "
                "scaleid, sortorder")


def _exact(row: tuple) -> tuple:
    """DECIMAL columns back as Decimal: the sync's connections read them as float (moodle_sync.outbox.db)."""
    return tuple(Decimal(repr(v)).quantize(_Q5) if isinstance(v, float) else v for v in row)


def _load_gradebook(db: Database, prefix: str, courseid: int, userids: Sequence[int]) -> _Gradebook:
    names = ("id", "courseid", "categoryid", "itemtype", "itemmodule", "iteminstance", "gradetype", "grademax",
             "grademin", "scaleid", "sortorder")
    items = [dict(zip(names, _exact(r))) for r in db.query(
        f"{_ITEM_SELECT} FROM {prefix}grade_items WHERE courseid = %s", (courseid,))]
    gb = _Gradebook(items)
    for uid in userids:
        for r in db.query(f"{_GRADE_SELECT} FROM {prefix}grade_grades gg JOIN {prefix}grade_items gi "
                          f"ON gi.id = gg.itemid WHERE gg.userid = %s AND gi.courseid = %s", (uid, courseid)):
            gb.load(dict(zip(("id",) + GRADE_COLUMNS, _exact(r))))
    return gb


def _save_gradebook(db: Database, prefix: str, gb: _Gradebook) -> None:
    """Write back what changed: UPDATE each changed row, INSERT the history rows (ids from the sequence)."""
    mutable = [c for c in GRADE_COLUMNS if c not in ("itemid", "userid")]
    by_id = {row["id"]: row for row in gb.rows.values()}
    db.executemany(f"UPDATE {prefix}grade_grades SET {', '.join(f'{c} = %s' for c in mutable)} WHERE id = %s",
                   [tuple(by_id[i][c] for c in mutable) + (i,) for i in gb.dirty])
    db.executemany(f"INSERT INTO {prefix}grade_grades_history ({', '.join(HISTORY_COLUMNS)}) "
                   f"VALUES ({', '.join(['%s'] * len(HISTORY_COLUMNS))})", gb.history)


def _context_of(db: Database, prefix: str, level: int, instance: int) -> tuple[int, int, int]:
    rows = db.query(f"SELECT id FROM {prefix}context WHERE contextlevel = %s AND instanceid = %s", (level, instance))
    return (int(rows[0][0]), level, instance)


def _enrolment_updates(db: Database, prefix: str, ue_ids: Sequence[int], now: int) -> list[tuple]:
    """user_enrolment_updated rows of update_user_enrol() for these enrolments (other: the enrol method)."""
    rows = []
    for chunk in _chunks(ue_ids, 500):
        rows += db.query(f"SELECT ue.id, ue.userid, e.courseid, e.enrol, cx.id FROM {prefix}user_enrolments ue "
                         f"JOIN {prefix}enrol e ON e.id = ue.enrolid JOIN {prefix}context cx ON cx.contextlevel = "
                         f"{CONTEXT_COURSE} AND cx.instanceid = e.courseid "
                         f"WHERE ue.id IN ({', '.join(str(int(i)) for i in chunk)}) ORDER BY ue.id")
    return [_event(r"\core\event\user_enrolment_updated", now, context=(ctx, CONTEXT_COURSE, cid),
                   objecttable="user_enrolments", objectid=ueid, crud="u", courseid=cid, relateduserid=uid,
                   other={"enrol": enrol}) for ueid, uid, cid, enrol, ctx in rows]


def apply_changes(db: Database, prefix: str = "mdl_", *, now: int | None = None) -> dict:
    """Change a few rows as Moodle's APIs would, after seed() (or bulk_seed()), and commit.

    Returns how many users, enrolments and grades now hold different synced content (a login is not such a
    change), a description of each change and the ids involved.
    """
    validate_prefix(prefix)
    logged = log_enabled(db, prefix)  # read before writing: Moodle logs nothing with the store disabled
    now = int(time.time()) if now is None else int(now)
    p = prefix
    description: list[str] = []
    ids: dict[str, Any] = {}

    # Candidates are the first rows by id (LIMIT keeps this cheap on the benchmark database); picks are fixed
    # positions in them, so the same database always gets the same changes.
    active = db.query(f"SELECT id, username, email, city, country FROM {p}user WHERE deleted = 0 AND suspended = 0 "
                      f"AND username NOT IN ('guest', 'admin') ORDER BY id LIMIT 1000")
    if len(active) < 6:
        raise ValueError("apply_changes() needs at least 6 active users: run seed() first")
    (uid, username, email, city, country) = active[len(active) // 3]
    new_email = f"{username}.new@example.net"
    same_country = [c for c, cc, _ in CITIES if cc == country and c != city]
    new_city, new_country = (same_country[0], country) if same_country else \
        next((c, cc) for c, cc, _ in CITIES if c != city)
    # user_update_user(): every profile edit bumps timemodified.
    db.execute(f"UPDATE {p}user SET email = %s, city = %s, country = %s, timemodified = %s WHERE id = %s",
               (new_email, new_city, new_country, now, uid))
    description.append(f"user {uid}: email {email} -> {new_email}, city {city} -> {new_city}"
                       + (f", country {country} -> {new_country}" if new_country != country else "")
                       + " (user_update_user, timemodified = now)")
    ids["profile_user"] = uid

    uid2 = active[len(active) // 2][0]
    db.execute(f"UPDATE {p}user SET suspended = 1, timemodified = %s WHERE id = %s", (now, uid2))
    description.append(f"user {uid2}: suspended = 1 (user_update_user, timemodified = now)")
    ids["suspended_user"] = uid2
    log = [_event(r"\core\event\user_updated", now, context=_context_of(db, p, CONTEXT_USER, u), objecttable="user",
                  objectid=u, crud="u", relateduserid=u) for u in (uid, uid2)]

    uid3 = active[(2 * len(active)) // 3][0]
    # update_user_login_times(): login fields only, timemodified untouched: not a change for the sync.
    db.execute(f"UPDATE {p}user SET firstaccess = CASE WHEN firstaccess = 0 THEN %s ELSE firstaccess END, "
               f"lastlogin = currentlogin, currentlogin = %s, lastaccess = %s, lastip = %s WHERE id = %s",
               (now, now, now, "203.0.113.45", uid3))
    description.append(f"user {uid3}: logged in (lastaccess/currentlogin/lastlogin/lastip only; not counted)")
    ids["login_user"] = uid3
    log.append(_event(r"\core\event\user_loggedin", now, context=(1, CONTEXT_SYSTEM, 0), objecttable="user",
                      objectid=uid3, crud="r", userid=uid3, courseid=0,
                      other={"username": db.query(f"SELECT username FROM {p}user WHERE id = %s", (uid3,))[0][0]}))

    ues = db.query(f"SELECT ue.id FROM {p}user_enrolments ue JOIN {p}enrol e ON e.id = ue.enrolid "
                   f"JOIN {p}user u ON u.id = ue.userid WHERE ue.status = 0 AND e.status = 0 AND ue.timeend = 0 "
                   f"AND ue.timestart < %s AND u.deleted = 0 AND e.enrol = 'manual' ORDER BY ue.id LIMIT 1000", (now,))
    ue_id = ues[len(ues) // 2][0]
    # update_user_enrol(): status change bumps timemodified and modifierid.
    db.execute(f"UPDATE {p}user_enrolments SET status = 1, timemodified = %s, modifierid = %s WHERE id = %s",
               (now, ADMIN_ID, ue_id))
    description.append(f"user_enrolment {ue_id}: status 0 -> 1 (update_user_enrol, timemodified = now)")
    ids["suspended_enrolment"] = ue_id
    log += _enrolment_updates(db, p, [ue_id], now)

    # An id range keeps the planner on the primary key (without it MariaDB sorts every graded row).
    first_grade = db.query(f"SELECT MIN(id) FROM {p}grade_grades")[0][0] or 0
    base = (f"SELECT gg.id, gg.userid, gg.itemid, gi.courseid, gg.usermodified FROM {p}grade_grades gg "
            f"JOIN {p}grade_items gi ON gi.id = gg.itemid JOIN {p}user u ON u.id = gg.userid "
            f"WHERE gg.id < {int(first_grade) + 20_000} AND u.deleted = 0 AND gg.finalgrade IS NOT NULL "
            f"AND gg.locked = 0 AND gg.overridden = 0 AND gg.excluded = 0 AND gg.hidden = 0 AND gi.gradetype = 1 ")
    mods = db.query(base + "AND gi.itemtype = 'mod' AND gg.rawgrade IS NOT NULL ORDER BY gg.id LIMIT 400")
    _gid, r_user, r_item, r_course, r_teacher = mods[len(mods) // 2]
    r_teacher = r_teacher or ADMIN_ID
    manual = [m for m in db.query(base + "AND gi.itemtype = 'manual' ORDER BY gg.id LIMIT 400") if m[1] != r_user]
    _lid, l_user, l_item, l_course, _ = manual[len(manual) // 2]

    # assign->update_grade(): new raw and final grade, timemodified = date graded, history 'mod/assign',
    # then the per-user regrade of the totals (history 'aggregation').
    gb = _load_gradebook(db, p, r_course, [r_user])
    row = gb.rows[(r_user, r_item)]
    item, old = gb.items[r_item], row["rawgrade"]
    step = Decimal(7)
    new = row["rawgrade"] + step if row["rawgrade"] + step <= item["grademax"] else row["rawgrade"] - step
    gb.update((r_user, r_item), now, "mod/assign", r_teacher, rawgrade=_dec(new), finalgrade=_dec(new),
              usermodified=r_teacher, timemodified=now)
    gb.aggregate(r_user, r_course, now, r_teacher)
    totals = [k for k in gb.changed if k != (r_user, r_item)]
    touched = "; totals re-aggregated: " + ", ".join(f"item {k[1]}" for k in totals) if totals else ""
    description.append(f"grade (user {r_user}, item {r_item}): regraded {old} -> {_dec(new)} (mod/assign, "
                       f"timemodified = now, history action 2){touched}")
    _save_gradebook(db, p, gb)
    changed = list(gb.changed)

    # grade_grade->set_locked(): locked = now, timemodified unchanged, history source NULL.
    gb2 = _load_gradebook(db, p, l_course, [l_user])
    gb2.update((l_user, l_item), now, None, ADMIN_ID, locked=now)
    _save_gradebook(db, p, gb2)
    changed += [k for k in gb2.changed if k not in changed]
    description.append(f"grade (user {l_user}, item {l_item}): locked = now (set_locked; timemodified unchanged, "
                       f"history action 2 with source NULL)")
    ids.update(regraded_grade=(r_user, r_item), regraded_totals=totals, locked_grade=(l_user, l_item))
    for book, course in ((gb, r_course), (gb2, l_course)):
        log += _grade_events(book.history, book.items, {course: _context_of(db, p, CONTEXT_COURSE, course)})
    if logged:
        _write_log(db, p, log)
    db.commit()
    return {"user": 2, "enrolment": 1, "grade": len(changed), "description": description, "ids": ids, "now": now}


def _spread(rows: Sequence, count: int) -> list:
    """``count`` rows evenly spread over ``rows`` (the same database always gets the same picks)."""
    if count > len(rows):
        raise ValueError(f"asked for {count} changes, only {len(rows)} candidates")
    return [rows[(i * len(rows)) // count] for i in range(count)]


def apply_bulk_changes(db: Database, prefix: str = "mdl_", *, entity: str, count: int, now: int) -> list[str]:
    """``count`` Moodle-style changes of one entity ('user', 'enrolment' or 'grade'), spread over the site, each
    with the rows Moodle writes for it, and commit; returns the changed keys as the sync names them.

    * user: user_update_user() of email and city (timemodified = now, user_updated);
    * enrolment: update_user_enrol() flipping the status (timemodified, modifierid, user_enrolment_updated);
    * grade: assign->update_grade() of a module grade (rawgrade, finalgrade, timemodified, usermodified; history
      action 2 'mod/assign'; user_graded), then the per-user regrade of the course's totals ('aggregation'),
      whose keys are returned too.
    Log rows only while the store is enabled (log_enabled), as Moodle. Choosing the rows scans the tables; that
    is the bench's setup, not what it measures.
    """
    validate_prefix(prefix)
    logged = log_enabled(db, prefix)  # read before writing: Moodle logs nothing with the store disabled
    p, log, keys = prefix, [], []
    if entity == "user":
        rows = _spread(db.query(f"SELECT u.id, u.username, u.city, u.country, cx.id FROM {p}user u JOIN {p}context cx "
                                f"ON cx.contextlevel = {CONTEXT_USER} AND cx.instanceid = u.id WHERE u.deleted = 0 "
                                f"AND u.suspended = 0 AND u.id > {ADMIN_ID} ORDER BY u.id"), count)
        updates = []
        for uid, username, city, country, ctx in rows:
            new_city = next((c for c, cc, _ in CITIES if cc == country and c != city), "Reykjavík")
            updates.append((f"{username}.{now}@example.net", new_city, now, uid))
            log.append(_event(r"\core\event\user_updated", now, context=(ctx, CONTEXT_USER, uid), objecttable="user",
                              objectid=uid, crud="u", relateduserid=uid))
            keys.append(str(uid))
        db.executemany(f"UPDATE {p}user SET email = %s, city = %s, timemodified = %s WHERE id = %s", updates)
    elif entity == "enrolment":
        rows = _spread(db.query(f"SELECT ue.id, ue.status FROM {p}user_enrolments ue JOIN {p}user u ON u.id = ue.userid "
                                f"WHERE u.deleted = 0 AND ue.status IN ({UE_ACTIVE}, {UE_SUSPENDED}) ORDER BY ue.id"),
                       count)
        db.executemany(f"UPDATE {p}user_enrolments SET status = %s, timemodified = %s, modifierid = %s WHERE id = %s",
                       [(UE_SUSPENDED if status == UE_ACTIVE else UE_ACTIVE, now, ADMIN_ID, ueid) for ueid, status in rows])
        log += _enrolment_updates(db, p, [ueid for ueid, _ in rows], now)
        keys = [str(ueid) for ueid, _ in rows]
    elif entity == "grade":
        # One module grade per (user, course), so every change is a grade of its own and its own regrade.
        candidates = db.query(f"SELECT MIN(gg.id), gg.userid, gi.courseid FROM {p}grade_grades gg "
                              f"JOIN {p}grade_items gi ON gi.id = gg.itemid JOIN {p}user u ON u.id = gg.userid "
                              f"WHERE u.deleted = 0 AND gi.itemtype = 'mod' AND gi.gradetype = 1 "
                              f"AND gg.rawgrade IS NOT NULL AND gg.locked = 0 AND gg.overridden = 0 "
                              f"GROUP BY gg.userid, gi.courseid ORDER BY MIN(gg.id)")
        contexts: dict[int, tuple] = {}
        history_rows: list[tuple] = []
        changed: dict[tuple[int, int], None] = {}
        for gid, uid, cid in _spread(candidates, count):
            gb = _load_gradebook(db, p, cid, [uid])
            key = next(k for k, r in gb.rows.items() if r["id"] == gid)
            row, item = gb.rows[key], gb.items[key[1]]
            step = Decimal(7)
            new = row["rawgrade"] + step if row["rawgrade"] + step <= item["grademax"] else row["rawgrade"] - step
            teacher = row["usermodified"] or ADMIN_ID
            gb.update(key, now, "mod/assign", teacher, rawgrade=_dec(new), finalgrade=_dec(new), usermodified=teacher,
                      timemodified=now)
            gb.aggregate(uid, cid, now, teacher)
            _save_gradebook(db, p, gb)
            if cid not in contexts:
                contexts[cid] = _context_of(db, p, CONTEXT_COURSE, cid)
            log += _grade_events(gb.history, gb.items, contexts)
            history_rows += gb.history
            changed.update(gb.changed)
        keys = [f"{u}:{i}" for u, i in changed]
    else:
        raise ValueError(f"entity {entity!r}: 'user', 'enrolment' or 'grade'")
    if logged:
        _write_log(db, p, log)
    db.commit()
    return keys


# ----------------------------------------------------------------------------------------------- bulk

def bulk_seed(db: Database, prefix: str = "mdl_", *, users: int = 100_000, courses: int = 300,
              enrolments_per_user: int = 3, grades: int = 1_000_000, seed: int = 1, now: int | None = None,
              history: bool = True, log_views: int | None = BULK_LOG_VIEWS, progress: bool = False) -> dict:
    """The benchmark site: ``users`` people, ``courses`` courses, ``grades`` grade_grades rows (exactly, as far
    as the enrolments allow), written in large batches.

    Same rules as seed(), fewer edge cases: ~1% suspended and ~0.2% deleted users (the latter with nothing
    left but their user row), ~2% enrolments expired, ~1% starting in the future, ~1% suspended. Each graded
    student has a row for all 7 items of the course (regrade placeholders included). With ``history`` on,
    every grade gets one history row (action 1), copied server-side by INSERT ... SELECT. The log store gets
    what Moodle logs for all of it (server-side too) plus ``log_views`` course/assignment views per active
    enrolment; ``log_views=None`` writes no log at all (the store is still configured as enabled).
    Returns the table counts plus ``seconds`` per phase.
    """
    validate_prefix(prefix)
    _check_sizes(users, courses, bulk=True)
    _require_empty(db, prefix)
    now = int(time.time()) if now is None else int(now)
    rng = random.Random(seed)
    clock = time.monotonic()
    seconds: dict[str, float] = {}

    def lap(name: str) -> None:
        nonlocal clock
        seconds[name] = round(time.monotonic() - clock, 2)
        clock = time.monotonic()
        if progress:
            print(f"bulk_seed: {name} {seconds[name]}s", file=sys.stderr)

    if db.dialect == "mysql":
        db.execute("SET SESSION unique_checks = 0")  # our ids and keys are unique by construction
    site = _Site(now, seed, courses)
    people = _People(rng, seed)
    epu = min(enrolments_per_user, courses)
    n_staff = max(1, courses // 2)
    n_students = users - n_staff
    first_created, span = now - 195 * DAY, 160 * DAY

    # Plan enrolments first (cheap), so exactly enough (student, course) pairs can be chosen for grading.
    plan: list[tuple[int, ...]] = []   # per student: course indexes (empty for deleted users)
    kinds = bytearray()                 # per planned enrolment: 0 normal, 1 expired, 2 future, 3 suspended
    deleted_flags = bytearray()
    for _ in range(n_students):
        is_deleted = rng.random() < 0.002
        deleted_flags.append(is_deleted)
        picks = () if is_deleted else tuple(sorted(rng.sample(range(courses), epu)))
        plan.append(picks)
        for _c in picks:
            r = rng.random()
            kinds.append(0 if r < 0.96 else 1 if r < 0.98 else 2 if r < 0.99 else 3)
    items_per_course = len(ITEM_TEMPLATE)
    eligible = [i for i, kind in enumerate(kinds) if kind != 2]
    pairs = min(len(eligible), -(-grades // items_per_course))
    graded = set(rng.sample(eligible, pairs))
    lap("plan")

    site.write_base(db, prefix, "Benchmark Moodle")
    staff_rows, ras, ues = [], [], []
    for n in range(n_staff):
        uid = ADMIN_ID + 1 + n
        created = first_created + rng.randint(0, 10 * DAY)
        row = _user_row(uid, people.make(staff=True), idnumber=f"T{n + 1:05d}", timecreated=created,
                        timemodified=created, rng=rng, last_seen=now - 3600)
        staff_rows.append(row)
        site.user_context(uid)
    for ci, course in enumerate(site.courses):
        teacher = staff_rows[ci % n_staff]
        course["teacher"] = teacher["id"]
        created = max(teacher["timecreated"], course["timecreated"]) + 3600
        site.enrol(ues, course["manual"], teacher["id"], created)
        site.assign(ras, "editingteacher", course["context"], teacher["id"], created)
    _insert(db, prefix, "user", USER_COLUMNS, _tuples(USER_COLUMNS, site.users + staff_rows))
    _insert(db, prefix, "user_enrolments", UE_COLUMNS, _tuples(UE_COLUMNS, ues))
    _insert(db, prefix, "role_assignments", RA_COLUMNS, _tuples(RA_COLUMNS, ras))
    lap("site")

    counts = {"grade_grades": 0}
    rare: list[tuple] = []  # log rows of the few users suspended or deleted (the rest is logged server-side)
    next_grade = 1
    enrolment_index = 0
    chunk = 5_000  # students per batch: ~15,000 enrolments and ~50,000 grades
    for start in range(0, n_students, chunk):
        user_rows, ues, ras = [], [], []
        gb = _Gradebook(site.items, next_id=next_grade, history=False)
        for n in range(start, min(start + chunk, n_students)):
            uid = ADMIN_ID + 1 + n_staff + n
            created = first_created + (span * n) // n_students + rng.randint(0, 600)
            row = _user_row(uid, people.make(), idnumber=f"S{n + 1:07d}", timecreated=created,
                            timemodified=created, rng=rng, last_seen=now - 3600)
            ctx = _ctx(site.user_context(uid))
            if rng.random() < 0.01:
                row.update(suspended=1, timemodified=rng.randint(created, now - DAY))
                _no_login_after(row, row["timemodified"])
                rare.append(_event(r"\core\event\user_updated", row["timemodified"], context=ctx, objecttable="user",
                                   objectid=uid, crud="u", relateduserid=uid))
            user_rows.append(row)
            for ci in plan[n]:
                course, kind = site.courses[ci], kinds[enrolment_index]
                when = max(created, course["timecreated"]) + rng.randint(600, 5 * DAY)
                kw: dict[str, Any] = {}
                if kind == 1:
                    kw = {"timestart": course["startdate"], "timeend": rng.randint(now - 30 * DAY, now - DAY)}
                elif kind == 2:
                    kw = {"timestart": rng.randint(now + DAY, now + 30 * DAY)}
                ue = site.enrol(ues, course["manual"], uid, when, **kw)
                if kind == 3:
                    ue.update(status=UE_SUSPENDED, timemodified=rng.randint(when, now - DAY))
                site.assign(ras, "student", course["context"], uid, when)
                if enrolment_index in graded:
                    _grade_user_course(gb, rng, course, uid, course["teacher"])
                enrolment_index += 1
            if deleted_flags[n]:
                before = dict(row)
                _soft_delete(row, rng.randint(created + DAY, now - DAY))
                rare.append(_event(r"\core\event\user_deleted", row["timemodified"], context=ctx, objecttable="user",
                                   objectid=uid, crud="d", relateduserid=uid,
                                   other={"username": before["username"], "email": before["email"],
                                          "idnumber": before["idnumber"], "picture": "0", "mnethostid": "1"}))
        _insert(db, prefix, "user", USER_COLUMNS, _tuples(USER_COLUMNS, user_rows))
        _insert(db, prefix, "user_enrolments", UE_COLUMNS, _tuples(UE_COLUMNS, ues))
        _insert(db, prefix, "role_assignments", RA_COLUMNS, _tuples(RA_COLUMNS, ras))
        rows = list(gb.grade_tuples())[: max(0, grades - counts["grade_grades"])]
        counts["grade_grades"] += _insert(db, prefix, "grade_grades", ("id",) + GRADE_COLUMNS, rows)
        next_grade = gb.next_id
        db.commit()
    lap("users, enrolments, grades")
    _insert(db, prefix, "context", CONTEXT_COLUMNS, _tuples(CONTEXT_COLUMNS, site.contexts))
    db.commit()
    lap("contexts")

    if history:
        # One insert row per grade, copied server-side. Placeholders (timemodified NULL) were inserted by the
        # regrade, whose time is the items' timemodified: the history time is never NULL.
        columns = ", ".join(HISTORY_COLUMNS)
        values = ", ".join(f"gg.{c}" for c in HISTORY_GRADE_COLUMNS)
        sql = (f"INSERT INTO {prefix}grade_grades_history ({columns}) "
               f"SELECT 1, gg.id, CASE WHEN gg.rawgrade IS NOT NULL THEN 'mod/assign' "
               f"WHEN gg.finalgrade IS NOT NULL AND gi.itemtype = 'manual' THEN 'gradebook' ELSE 'system' END, "
               f"COALESCE(gg.timemodified, gi.timemodified), COALESCE(gg.usermodified, {ADMIN_ID}), {values} "
               f"FROM {prefix}grade_grades gg JOIN {prefix}grade_items gi ON gi.id = gg.itemid "
               f"WHERE gg.id >= %s AND gg.id < %s ORDER BY gg.id")
        for low in range(1, next_grade, 200_000):
            db.execute(sql, (low, low + 200_000))
            db.commit()
        lap("history")
    if log_views is not None:
        _bulk_log(db, prefix, now=now, grades_upto=next_grade, views=log_views, rare=rare)
        lap("log")
    if db.dialect == "mysql":
        db.execute("SET SESSION unique_checks = 1")
    # Fresh statistics, as a live Moodle has: the sync's queries are planned on them.
    if db.dialect == "mysql":
        db.query(f"ANALYZE TABLE {', '.join(prefix + t for t in TABLES)}")
    else:
        for table in TABLES:
            db.execute(f"ANALYZE {prefix}{table}")
    result = _finish(db, prefix)
    lap("finish")
    return {**result, "now": now, "seconds": seconds}


_STAGING_COLUMNS = tuple(c for c in LOG_COLUMNS if c not in ("anonymous", "origin", "ip", "realuserid")) + ("seq",)
#: A DECIMAL grade as a double, whose text is PHP's json_encode of the float (95.76, not 95.76000).
_FINALGRADE_DOUBLE = {"mysql": "CAST(gg.finalgrade AS DOUBLE)", "postgres": "CAST(gg.finalgrade AS DOUBLE PRECISION)"}


def _bulk_log(db: Database, prefix: str, *, now: int, grades_upto: int, views: int, rare: list[tuple]) -> None:
    """bulk_seed()'s log, written server-side (include/sql/demo/bulk_log_*.sql): gathered in a staging table,
    then copied in time order. ``rare`` holds rows made in Python (LOG_COLUMNS order)."""
    params = {"admin": ADMIN_ID, "now": now, "lb": "{", "rb": "}",
              "user_created": r"\core\event\user_created", "ue_created": r"\core\event\user_enrolment_created",
              "ue_updated": r"\core\event\user_enrolment_updated", "role_assigned": r"\core\event\role_assigned",
              "user_graded": r"\core\event\user_graded", "course_viewed": r"\core\event\course_viewed",
              "module_viewed": r"\mod_assign\event\course_module_viewed"}

    def run(name: str, **extra: Any) -> None:
        for statement in split_statements(load("demo", name, db.dialect, prefix=prefix,
                                               finalgrade_double=_FINALGRADE_DOUBLE[db.dialect])):
            db.execute(statement, {**params, **extra})
        db.commit()

    run("bulk_log_staging")
    keep = [LOG_COLUMNS.index(c) for c in _STAGING_COLUMNS[:-1]]
    _insert(db, "", "bulk_log_staging", _STAGING_COLUMNS, [tuple(r[i] for i in keep) + (0,) for r in rare])
    run("bulk_log_writes")
    for low in range(1, grades_upto, 200_000):
        run("bulk_log_grades", low=low, high=low + 200_000)
    for n in range(1, views + 1):
        run("bulk_log_views", n=n)
    run("bulk_log_indexes_drop")
    run("bulk_log_copy")
    run("log_indexes")


# ----------------------------------------------------------------------------------------------- CLI

_DB_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,62}$")


def connect_uri(uri: str, *, create: bool = True) -> Database:
    """A Database from a URI (mysql://user:pw@host:port/db or postgres://...), creating the database if
    missing; no Airflow connection needed. Sessions in UTC, autocommit off, as moodle_sync.outbox.db does."""
    parts = urlsplit(uri)
    scheme = parts.scheme.lower()
    dialect = {"mysql": "mysql", "mariadb": "mysql", "postgres": "postgres", "postgresql": "postgres"}.get(scheme)
    if not dialect:
        raise ConfigError(f"URI scheme {scheme!r}: use mysql://, mariadb://, postgres:// or postgresql://")
    name = parts.path.lstrip("/")
    if not _DB_NAME.match(name):
        raise ConfigError(f"database name {name!r}: letters, digits and underscores only")
    user, password = unquote(parts.username or ""), unquote(parts.password or "")
    host = parts.hostname or "127.0.0.1"
    if dialect == "mysql":
        import MySQLdb

        args = {"host": host, "port": parts.port or 3306, "user": user or "root", "passwd": password,
                "charset": "utf8mb4"}
        if create:
            server = MySQLdb.connect(**args)
            try:
                server.cursor().execute(f"CREATE DATABASE IF NOT EXISTS `{name}` "
                                        "CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci")
            finally:
                server.close()
        conn = MySQLdb.connect(db=name, **args)
        conn.autocommit(False)
        with conn.cursor() as cur:
            cur.execute("SET time_zone = '+00:00'")
        return Database(conn=conn, dialect=dialect)
    import psycopg

    args = {"host": host, "port": parts.port or 5432, "user": user or "postgres"}
    if password:
        args["password"] = password
    if create:
        with psycopg.connect(dbname="postgres", autocommit=True, **args) as server:
            if not server.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone():
                server.execute(f'CREATE DATABASE "{name}"')
    conn = psycopg.connect(dbname=name, autocommit=False, **args)
    conn.execute("SET TIME ZONE 'UTC'")
    conn.commit()
    return Database(conn=conn, dialect=dialect)


def main(argv: Sequence[str] | None = None) -> int:
    """Create (or recreate) a Moodle-shaped demo or benchmark database."""
    parser = argparse.ArgumentParser(prog="python -m demo.moodle_site", description=main.__doc__)
    target = parser.add_mutually_exclusive_group(required=True)
    target.add_argument("--conn-uri", help="mysql://root@127.0.0.1:3306/moodle_demo or postgres://...")
    target.add_argument("--conn-id", help="an Airflow connection instead (e.g. moodle_db, as the DAGs read it: "
                                          "no password on the command line)")
    parser.add_argument("--prefix", help="Moodle table prefix (default: the connection's table_prefix, or mdl_)")
    parser.add_argument("--keep-existing", action="store_true",
                        help="leave a database that already holds a site as it is (a restarted stack keeps its "
                             "Moodle and its event log in step)")
    parser.add_argument("--bulk", action="store_true", help="benchmark size (bulk_seed) instead of the demo site")
    parser.add_argument("--users", type=int, help="users besides guest and admin (demo 60, bulk 100000)")
    parser.add_argument("--courses", type=int, help="courses besides the site course (demo 4, bulk 300)")
    parser.add_argument("--grades", type=int, default=1_000_000, help="bulk: grade_grades rows")
    parser.add_argument("--enrolments-per-user", type=int, default=3, help="bulk: courses per student")
    parser.add_argument("--no-history", action="store_true", help="bulk: no grade_grades_history rows")
    parser.add_argument("--log-views", type=int, default=BULK_LOG_VIEWS,
                        help="bulk: course/assignment views logged per active enrolment (log size)")
    parser.add_argument("--seed", type=int, help="random seed (demo 42, bulk 1)")
    parser.add_argument("--now", type=int, help="unix time to build around (default: now)")
    parser.add_argument("--apply-changes", action="store_true", help="then run apply_changes() one second later")
    args = parser.parse_args(argv)
    users = args.users or (100_000 if args.bulk else 60)
    courses = args.courses or (300 if args.bulk else 4)
    try:
        if args.prefix is not None:
            validate_prefix(args.prefix)
        _check_sizes(users, courses, bulk=args.bulk)
    except ValueError as exc:  # before anything is dropped
        parser.error(str(exc))

    if args.conn_id:
        from moodle_sync.outbox import db as dbmod

        db = dbmod.connect(args.conn_id)
        prefix = args.prefix if args.prefix is not None else dbmod.table_prefix(args.conn_id)
    else:
        db = connect_uri(args.conn_uri)
        prefix = args.prefix if args.prefix is not None else "mdl_"
    args.prefix = prefix
    try:
        if args.keep_existing and has_site(db, prefix):
            print(f"{prefix}user already holds a site: left as it is (--keep-existing)")
            return 0
        create_schema(db, args.prefix)
        if args.bulk:
            result = bulk_seed(db, args.prefix, users=users, courses=courses,
                               enrolments_per_user=args.enrolments_per_user, grades=args.grades,
                               seed=1 if args.seed is None else args.seed, now=args.now,
                               history=not args.no_history, log_views=args.log_views, progress=True)
        else:
            result = seed(db, args.prefix, users=users, courses=courses,
                          seed=42 if args.seed is None else args.seed, now=args.now)
        if args.apply_changes:
            result["changes"] = apply_changes(db, args.prefix, now=result["now"] + 1)
    finally:
        db.close()
    print(json.dumps(result, indent=2, default=str, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
