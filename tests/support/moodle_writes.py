"""Moodle's own writes, replicated row for row (../shared/moodle/FACTS.md and the fixture's rows): the deletes
(unenrol_user, delete_user, role_unassign, a gradebook reset, disabling an enrolment method) and the changes
(user_update_user, enrol_user, role_assign, update_user_enrol, a gradebook grade). Each writes what Moodle
writes: the rows, grade_grades_history rows (action 3 a copy of the deleted grade), and logstore_standard_log
rows in Moodle's order, with ``other`` as JSON (``jsonformat = 1``) or PHP-serialized (``jsonformat = 0``).
The SQL is plain enough for a Moodle on MariaDB and on PostgreSQL.
"""

from __future__ import annotations

import json

ADMIN = 2  # the acting user of every write here (Moodle's CLI runs as admin)
CONTEXT_USER, CONTEXT_COURSE = 30, 50


def php_serialize(value) -> str:
    """PHP's serialize() for the values Moodle puts in a log row's ``other`` (string lengths in bytes)."""
    if value is None:
        return "N;"
    if value is True or value is False:
        return f"b:{int(value)};"
    if isinstance(value, int):
        return f"i:{value};"
    if isinstance(value, float):
        return f"d:{value!r};"
    if isinstance(value, str):
        return f's:{len(value.encode())}:"{value}";'
    items = list(enumerate(value)) if isinstance(value, (list, tuple)) else list(value.items())
    return f"a:{len(items)}:{{" + "".join(php_serialize(k) + php_serialize(v) for k, v in items) + "}"


def _rows(moodle, sql, params=None) -> list[dict]:
    with moodle.conn.cursor() as cur:
        cur.execute(sql, params)
        names = [d[0] for d in cur.description]
        return [dict(zip(names, row)) for row in cur.fetchall()]


def _s(value) -> str | None:
    """A value as PHP reads it from the database: a string (decimals with their 5 places), or null."""
    if value is None:
        return None
    if isinstance(value, float):
        return f"{value:.5f}"
    return str(value)


def log_format(moodle) -> str:
    """'json' or 'php', as Moodle's logstore_standard | jsonformat says."""
    rows = _rows(moodle, "SELECT value FROM mdl_config_plugins WHERE plugin = 'logstore_standard' "
                         "AND name = 'jsonformat'")
    return "php" if rows and str(rows[0]["value"]) == "0" else "json"


def log_event(moodle, t, eventname, *, action, target, objecttable, objectid, crud, edulevel, contextid,
              contextlevel, contextinstanceid, courseid, relateduserid, other, log_id=None) -> None:
    """One row of logstore_standard_log as logstore_standard writes it from a CLI script."""
    encoded = php_serialize(other) if log_format(moodle) == "php" else json.dumps(other, separators=(",", ":"))
    columns = ("eventname, component, action, target, objecttable, objectid, crud, edulevel, contextid, "
               "contextlevel, contextinstanceid, userid, courseid, relateduserid, anonymous, other, timecreated, "
               "origin, ip, realuserid")
    values = [eventname, "core", action, target, objecttable, objectid, crud, edulevel, contextid, contextlevel,
              contextinstanceid, ADMIN, courseid, relateduserid, 0, encoded, t, "cli", None, None]
    if log_id is not None:  # a row whose id was taken earlier but whose transaction commits late
        columns, values = "id, " + columns, [log_id, *values]
    moodle.execute(f"INSERT INTO mdl_logstore_standard_log ({columns}) VALUES ({', '.join(['%s'] * len(values))})",
                   values)


def context_id(moodle, level: int, instance: int) -> int:
    return _rows(moodle, "SELECT id FROM mdl_context WHERE contextlevel = %s AND instanceid = %s",
                 (level, instance))[0]["id"]


def role_assign(moodle, roleid: int, contextid: int, userid: int, t: int) -> None:
    """role_assign(): an insert-only row, then role_assigned (other: the assignment's id, component, itemid)."""
    moodle.execute("INSERT INTO mdl_role_assignments (roleid, contextid, userid, timemodified, modifierid, component, "
                   "itemid, sortorder) VALUES (%s, %s, %s, %s, %s, '', 0, 0)", (roleid, contextid, userid, t, ADMIN))
    raid = _rows(moodle, "SELECT MAX(id) AS id FROM mdl_role_assignments WHERE userid = %s AND contextid = %s",
                 (userid, contextid))[0]["id"]
    ctx = _rows(moodle, "SELECT contextlevel, instanceid FROM mdl_context WHERE id = %s", (contextid,))[0]
    log_event(moodle, t, r"\core\event\role_assigned", action="assigned", target="role", objecttable="role",
              objectid=roleid, crud="c", edulevel=0, contextid=contextid, contextlevel=ctx["contextlevel"],
              contextinstanceid=ctx["instanceid"],
              courseid=ctx["instanceid"] if ctx["contextlevel"] == CONTEXT_COURSE else 0, relateduserid=userid,
              other={"id": int(raid), "component": "", "itemid": 0})


def delete_grade(moodle, grade: dict, t: int, source: str) -> None:
    """grade_grade::delete($source): a history row (action 3, a copy of the row), the delete, grade_deleted."""
    moodle.execute(
        """INSERT INTO mdl_grade_grades_history (action, oldid, source, timemodified, loggeduser, itemid, userid,
           rawgrade, rawgrademax, rawgrademin, rawscaleid, usermodified, finalgrade, hidden, locked, locktime,
           exported, overridden, excluded, feedback, feedbackformat, information, informationformat)
           SELECT 3, id, %s, %s, %s, itemid, userid, rawgrade, rawgrademax, rawgrademin, rawscaleid, usermodified,
           finalgrade, hidden, locked, locktime, exported, overridden, excluded, feedback, feedbackformat,
           information, informationformat FROM mdl_grade_grades WHERE id = %s""",
        (source, t, ADMIN, grade["id"]))
    moodle.execute("DELETE FROM mdl_grade_grades WHERE id = %s", (grade["id"],))
    courseid = grade["courseid"]
    log_event(moodle, t, r"\core\event\grade_deleted", action="deleted", target="grade", objecttable="grade_grades",
              objectid=grade["id"], crud="d", edulevel=1, contextid=context_id(moodle, CONTEXT_COURSE, courseid),
              contextlevel=CONTEXT_COURSE, contextinstanceid=courseid, courseid=courseid,
              relateduserid=grade["userid"],
              other={"itemid": _s(grade["itemid"]), "overridden": bool(grade["overridden"]),
                     "finalgrade": _s(grade["finalgrade"])})


def _grades(moodle, where: str, params) -> list[dict]:
    return _rows(moodle, "SELECT gg.id, gg.userid, gg.itemid, gg.finalgrade, gg.overridden, gi.courseid "
                         "FROM mdl_grade_grades gg JOIN mdl_grade_items gi ON gi.id = gg.itemid "
                         f"WHERE {where} ORDER BY gi.sortorder, gg.id", params)


def role_unassign(moodle, ra: dict, t: int) -> None:
    """role_unassign(): the assignment row goes (no timestamp anywhere), role_unassigned is logged."""
    moodle.execute("DELETE FROM mdl_role_assignments WHERE id = %s", (ra["id"],))
    ctx = _rows(moodle, "SELECT contextlevel, instanceid FROM mdl_context WHERE id = %s", (ra["contextid"],))[0]
    log_event(moodle, t, r"\core\event\role_unassigned", action="unassigned", target="role", objecttable="role",
              objectid=ra["roleid"], crud="d", edulevel=0, contextid=ra["contextid"],
              contextlevel=ctx["contextlevel"], contextinstanceid=ctx["instanceid"],
              courseid=ctx["instanceid"] if ctx["contextlevel"] == CONTEXT_COURSE else 0,
              relateduserid=ra["userid"],
              other={"id": _s(ra["id"]), "component": ra["component"], "itemid": _s(ra["itemid"])})


def unenrol_user(moodle, ueid: int, t: int) -> None:
    """enrol_plugin::unenrol_user(): the enrolment's own roles, the row; if it was the user's last enrolment
    in the course also every role in the course and every grade of the course (history 'userdelete');
    then user_enrolment_deleted with the old row in ``other``."""
    ue = _rows(moodle, "SELECT ue.*, e.courseid, e.enrol FROM mdl_user_enrolments ue "
                       "JOIN mdl_enrol e ON e.id = ue.enrolid WHERE ue.id = %s", (ueid,))[0]
    courseid, userid = ue["courseid"], ue["userid"]
    ctx = context_id(moodle, CONTEXT_COURSE, courseid)
    for ra in _rows(moodle, "SELECT * FROM mdl_role_assignments WHERE userid = %s AND contextid = %s "
                            "AND component = %s AND itemid = %s ORDER BY id",
                    (userid, ctx, f"enrol_{ue['enrol']}", ue["enrolid"])):
        role_unassign(moodle, ra, t)
    moodle.execute("DELETE FROM mdl_user_enrolments WHERE id = %s", (ueid,))
    others = _rows(moodle, "SELECT ue.id FROM mdl_user_enrolments ue JOIN mdl_enrol e ON e.id = ue.enrolid "
                           "WHERE ue.userid = %s AND e.courseid = %s", (userid, courseid))
    last = not others
    if last:
        for ra in _rows(moodle, "SELECT * FROM mdl_role_assignments WHERE userid = %s AND contextid = %s "
                                "ORDER BY id", (userid, ctx)):
            role_unassign(moodle, ra, t)
        for grade in _grades(moodle, "gg.userid = %s AND gi.courseid = %s", (userid, courseid)):
            delete_grade(moodle, grade, t, "userdelete")
        moodle.execute("DELETE FROM mdl_user_lastaccess WHERE userid = %s AND courseid = %s", (userid, courseid))
    row = {k: _s(ue[k]) for k in ("id", "status", "enrolid", "userid", "timestart", "timeend", "modifierid",
                                  "timecreated", "timemodified", "courseid")}
    row.update(enrol=ue["enrol"], lastenrol=last)
    log_event(moodle, t, r"\core\event\user_enrolment_deleted", action="deleted", target="user_enrolment",
              objecttable="user_enrolments", objectid=ueid, crud="d", edulevel=0, contextid=ctx,
              contextlevel=CONTEXT_COURSE, contextinstanceid=courseid, courseid=courseid, relateduserid=userid,
              other={"userenrolment": row, "enrol": ue["enrol"]})
    moodle.commit()


def delete_user(moodle, userid: int, t: int) -> None:
    """delete_user(): every grade (history 'userdelete'), every enrolment (unenrol_user), every remaining
    role, then the soft delete of the user row in one update, then user_deleted."""
    import hashlib

    for grade in _grades(moodle, "gg.userid = %s", (userid,)):
        delete_grade(moodle, grade, t, "userdelete")
    for ue in _rows(moodle, "SELECT id FROM mdl_user_enrolments WHERE userid = %s ORDER BY id", (userid,)):
        unenrol_user(moodle, ue["id"], t)
    for ra in _rows(moodle, "SELECT * FROM mdl_role_assignments WHERE userid = %s ORDER BY id", (userid,)):
        role_unassign(moodle, ra, t)
    user = _rows(moodle, "SELECT * FROM mdl_user WHERE id = %s", (userid,))[0]
    moodle.execute("UPDATE mdl_user SET deleted = 1, username = %s, email = %s, idnumber = '', picture = 0, "
                   "timemodified = %s WHERE id = %s",
                   (f"{user['email']}.{t}", hashlib.md5(user["username"].encode()).hexdigest(), t, userid))
    ctx = context_id(moodle, CONTEXT_USER, userid)
    log_event(moodle, t, r"\core\event\user_deleted", action="deleted", target="user", objecttable="user",
              objectid=userid, crud="d", edulevel=0, contextid=ctx, contextlevel=CONTEXT_USER,
              contextinstanceid=userid, courseid=0, relateduserid=userid,
              other={"username": user["username"], "email": user["email"], "idnumber": user["idnumber"],
                     "picture": _s(user["picture"]), "mnethostid": _s(user["mnethostid"])})
    moodle.commit()


def reset_course_grades(moodle, courseid: int, t: int) -> None:
    """Course reset, "Delete all grades": grade_item::delete_all_grades('reset') for every item of the course
    (the items stay)."""
    for grade in _grades(moodle, "gi.courseid = %s", (courseid,)):
        delete_grade(moodle, grade, t, "reset")
    moodle.commit()


def disable_instance(moodle, enrolid: int) -> None:
    """enrol_plugin::update_status(ENROL_INSTANCE_DISABLED): only enrol.status changes (no time column)."""
    moodle.execute("UPDATE mdl_enrol SET status = 1 WHERE id = %s", (enrolid,))
    moodle.commit()


def purge_log_and_history_deletes(moodle) -> None:
    """What the fast path reads, gone: the log emptied (purged, or never enabled) and no history action 3."""
    moodle.execute("DELETE FROM mdl_logstore_standard_log")
    moodle.execute("DELETE FROM mdl_grade_grades_history WHERE action = 3")
    moodle.commit()


def history_row(userid, itemid, action, t, source="gradebook"):
    """The grade_grades_history row Moodle writes for every grade insert/update/delete via the API."""
    return ("""INSERT INTO mdl_grade_grades_history (action, oldid, source, timemodified, loggeduser, itemid, userid,
               rawgrade, rawgrademax, rawgrademin, rawscaleid, usermodified, finalgrade, hidden, locked, locktime,
               exported, overridden, excluded, feedback, feedbackformat, information, informationformat)
               SELECT %(action)s, id, %(source)s, %(t)s, 2, itemid, userid, rawgrade, rawgrademax, rawgrademin,
               rawscaleid, usermodified, finalgrade, hidden, locked, locktime, exported, overridden, excluded,
               feedback, feedbackformat, information, informationformat
               FROM mdl_grade_grades WHERE userid = %(u)s AND itemid = %(i)s""",
            {"action": action, "source": source, "t": t, "u": userid, "i": itemid})


# Writes that change a row, with the log and history rows Moodle writes with them (the fixture's rows 2758,
# 16-17, 2807, 1239 show their shape). Each bumps the row's timemodified as Moodle does and commits.

def update_user(moodle, userid: int, t: int, **fields) -> None:
    """user_update_user(): the changed fields and timemodified in one update, then user_updated ('other' null)."""
    sets = ", ".join(f"{name} = %s" for name in fields)
    moodle.execute(f"UPDATE mdl_user SET {sets}{', ' if sets else ''}timemodified = %s WHERE id = %s",
                   (*fields.values(), t, userid))
    log_event(moodle, t, r"\core\event\user_updated", action="updated", target="user", objecttable="user",
              objectid=userid, crud="u", edulevel=0, contextid=context_id(moodle, CONTEXT_USER, userid),
              contextlevel=CONTEXT_USER, contextinstanceid=userid, courseid=0, relateduserid=userid, other=None)
    moodle.commit()


def enrol_user(moodle, enrolid: int, userid: int, t: int, roleid: int = 5, timestart: int = 0,
               timeend: int = 0) -> int:
    """enrol_plugin::enrol_user(): the user_enrolments row, user_enrolment_created, then role_assign() and
    role_assigned; the new user_enrolments id."""
    instance = _rows(moodle, "SELECT courseid, enrol FROM mdl_enrol WHERE id = %s", (enrolid,))[0]
    courseid = instance["courseid"]
    moodle.execute("INSERT INTO mdl_user_enrolments (status, enrolid, userid, timestart, timeend, modifierid, "
                   "timecreated, timemodified) VALUES (0, %s, %s, %s, %s, %s, %s, %s)",
                   (enrolid, userid, timestart, timeend, ADMIN, t, t))
    ueid = _rows(moodle, "SELECT id FROM mdl_user_enrolments WHERE enrolid = %s AND userid = %s",
                 (enrolid, userid))[0]["id"]
    ctx = context_id(moodle, CONTEXT_COURSE, courseid)
    log_event(moodle, t, r"\core\event\user_enrolment_created", action="created", target="user_enrolment",
              objecttable="user_enrolments", objectid=ueid, crud="c", edulevel=0, contextid=ctx,
              contextlevel=CONTEXT_COURSE, contextinstanceid=courseid, courseid=courseid, relateduserid=userid,
              other={"enrol": instance["enrol"]})
    role_assign(moodle, roleid, ctx, userid, t)
    moodle.commit()
    return ueid


def update_user_enrol(moodle, ueid: int, t: int, **fields) -> None:
    """enrol_plugin::update_user_enrol() (status, timestart, timeend): the row with timemodified and modifierid,
    then user_enrolment_updated."""
    ue = _rows(moodle, "SELECT ue.userid, e.courseid, e.enrol FROM mdl_user_enrolments ue "
                       "JOIN mdl_enrol e ON e.id = ue.enrolid WHERE ue.id = %s", (ueid,))[0]
    sets = "".join(f"{name} = %s, " for name in fields)
    moodle.execute(f"UPDATE mdl_user_enrolments SET {sets}modifierid = %s, timemodified = %s WHERE id = %s",
                   (*fields.values(), ADMIN, t, ueid))
    log_event(moodle, t, r"\core\event\user_enrolment_updated", action="updated", target="user_enrolment",
              objecttable="user_enrolments", objectid=ueid, crud="u", edulevel=0,
              contextid=context_id(moodle, CONTEXT_COURSE, ue["courseid"]), contextlevel=CONTEXT_COURSE,
              contextinstanceid=ue["courseid"], courseid=ue["courseid"], relateduserid=ue["userid"],
              other={"enrol": ue["enrol"]})
    moodle.commit()


def grade_user(moodle, gradeid: int, finalgrade: float, t: int, feedback: str | None = None) -> None:
    """grade_item::update_final_grade() from the gradebook: finalgrade, overridden and timemodified, a history row
    (action 2, source 'gradebook'), then user_graded (the course totals' aggregation is left out)."""
    grade = _grades(moodle, "gg.id = %s", (gradeid,))[0]
    extra = ", feedback = %s, feedbackformat = 1" if feedback is not None else ""
    moodle.execute(f"UPDATE mdl_grade_grades SET finalgrade = %s, overridden = %s, usermodified = %s, "
                   f"timemodified = %s{extra} WHERE id = %s",
                   (finalgrade, t, ADMIN, t, *((feedback,) if feedback is not None else ()), gradeid))
    sql, params = history_row(grade["userid"], grade["itemid"], 2, t)
    moodle.execute(sql, params)
    courseid = grade["courseid"]
    log_event(moodle, t, r"\core\event\user_graded", action="graded", target="user", objecttable="grade_grades",
              objectid=gradeid, crud="u", edulevel=1, contextid=context_id(moodle, CONTEXT_COURSE, courseid),
              contextlevel=CONTEXT_COURSE, contextinstanceid=courseid, courseid=courseid,
              relateduserid=grade["userid"],
              other={"itemid": _s(grade["itemid"]), "overridden": True, "finalgrade": finalgrade})
    moodle.commit()
