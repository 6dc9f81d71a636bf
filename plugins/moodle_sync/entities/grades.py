"""Moodle grades (one per user and grade item) with Moodle's percentage and the grade as Moodle shows it (letter
or scale label, date graded, marking workflow, attempt, grader, plain-text feedback, advanced grading
outcomes): key ``userid:itemid``. docs/payloads.md lists every field and where it comes from."""

from __future__ import annotations

import logging

from moodle_sync.config import GRADES_SCHEDULE
from moodle_sync.entities.base import EntitySpec, KeySource, WatchedRows, as_int, log_other

log = logging.getLogger(__name__)

GRADETYPE_NONE, GRADETYPE_VALUE, GRADETYPE_SCALE, GRADETYPE_TEXT = 0, 1, 2, 3
TOTAL_ITEM_TYPES = ("course", "category")
#: lib/gradelib.php grade_get_letters(null): Moodle's letters when no context along the course's path has any
DEFAULT_LETTERS = ((93.0, "A"), (90.0, "A-"), (87.0, "B+"), (83.0, "B"), (80.0, "B-"), (77.0, "C+"), (73.0, "C"),
                   (70.0, "C-"), (67.0, "D+"), (60.0, "D"), (0.0, "F"))
#: mod/assign/locallib.php: ASSIGN_MARKING_WORKFLOW_STATE_NOTMARKED, ASSIGN_GRADING_STATUS_GRADED / _NOT_GRADED
NOTMARKED, GRADED, NOT_GRADED = "notmarked", "graded", "notgraded"
#: the old plugin's grader roles (get_grader_role_legacy), by the SQL's rank
GRADER_ROLES = {3: "iv", 2: "teacher", 1: "other"}
OUTCOME_CHUNK = 1000  # assignment grades per outcomes query


def is_assignment_grade(item_type, item_module, itemnumber) -> bool:
    """An assignment's own grade (not one of its outcome items, itemnumber >= 1000, nor a total or manual item):
    what the old plugin sent, and what a legacy endpoint takes by default. An unknown itemnumber (a payload from
    before it was stored) counts as 0."""
    return item_type == "mod" and item_module == "assign" and int(itemnumber or 0) == 0


def assignment_key(item_type, item_module, itemnumber, iteminstance, itemid):
    """``assignment_id``, the third part of the legacy backend's record key: an assignment's instance id for its
    own grade, ``item-<grade item id>`` for every other item (a namespace of its own: never an instance id)."""
    if is_assignment_grade(item_type, item_module, itemnumber) and iteminstance is not None:
        return int(iteminstance)
    return f"item-{int(itemid)}" if itemid is not None else None


def delete_names(moodle, prefix: str, keys_ids: list[dict]) -> list[dict]:
    """What a deleted grade's payload carries besides its ids, re-read from Moodle (the key's state keeps ids
    only): the student's and the course's names (delete_user() keeps a user's names; a grade's deletion leaves
    its course), the item's name and kind, ``assignment_id`` by today's rule, and the grade cleared with
    ``status`` "deleted". A name Moodle no longer has stays None (the caller falls back on the key's last
    event)."""
    def read(sql: str, ids: set) -> dict:
        ids = sorted(int(i) for i in ids if i is not None)
        if not ids:
            return {}
        in_list = moodle.sql("shared", "in_bound_list", column="id", param="ids")
        rows = moodle.query(moodle.sql("moodle", sql, prefix=prefix, ids_in=in_list), {"ids": moodle.bind_list(ids)})
        return {int(r[0]): r[1:] for r in rows}

    users = read("grade_delete_users", {k.get("userid") for k in keys_ids})
    courses = read("grade_delete_courses", {k.get("courseid") for k in keys_ids})
    items = read("grade_delete_items", {k.get("itemid") for k in keys_ids})
    moodle.commit()
    out = []
    for ids in keys_ids:
        extra: dict = {"status": "deleted"}
        item = items.get(ids.get("itemid"))
        if item is not None:
            itemname, itemtype, itemmodule, iteminstance, itemnumber, courseid = item
            extra.update(item_name=itemname or {"course": "Course total", "category": "Category total"}.get(itemtype),
                         item_type=itemtype, item_module=itemmodule, iteminstance=as_int(iteminstance),
                         itemnumber=as_int(itemnumber))
            if ids.get("courseid") is None and courseid is not None:
                extra["courseid"] = int(courseid)
        kind = {**ids, **{k: v for k, v in extra.items() if v is not None}}
        if kind.get("item_type"):
            extra["assignment_id"] = assignment_key(kind.get("item_type"), kind.get("item_module"),
                                                    kind.get("itemnumber"), kind.get("iteminstance"), ids.get("itemid"))
        user = users.get(ids.get("userid"))
        if user is not None:
            first, last = user
            extra["user_fullname"] = f"{first or ''} {last or ''}".strip() or None
        course = courses.get(kind.get("courseid"))
        if course is not None:
            extra.update(course_name=course[0], course_shortname=course[1])
        out.append(extra)
    return out


class GradeContext(dict):
    """Per-run context of the grade transform: the site's letters, scales and timezone, and the outcomes reader
    (its own Moodle connection, opened when an assignment of the chunk uses advanced grading)."""

    def close(self) -> None:
        reader = self.get("outcomes")
        if reader is not None:
            reader.close()


class OutcomesReader:
    """Learning outcomes of assignment grades, one query per method and chunk, on a second connection (the
    first one is streaming the grades): ``read({assign_grade_id: assign_id}) -> {assign_grade_id: [outcome]}``."""

    def __init__(self, moodle, prefix: str, definitions: dict[int, list[tuple[int, str]]], btec: bool):
        self.moodle, self.prefix, self.definitions, self.btec = moodle, prefix, definitions, btec
        self.side = None

    def close(self) -> None:
        if self.side is not None:
            self.side.close()
            self.side = None

    def read(self, grades: dict[int, int]) -> dict[int, list[dict]]:
        from moodle_sync.entities.text import content_to_text

        wanted: dict[str, tuple[set, list]] = {}
        for grade_id, assign_id in grades.items():
            for definitionid, method in self.definitions.get(assign_id, ()):
                if method == "btec" and not self.btec:
                    continue
                defs, items = wanted.setdefault(method, (set(), []))
                defs.add(definitionid)
                items.append(grade_id)
        if not wanted:
            return {}
        if self.side is None:
            self.side = self.moodle.reopen() if self.moodle.conn_id else self.moodle
        db, out = self.side, {}
        try:
            for method, (defs, items) in sorted(wanted.items()):
                sql = db.sql("moodle", f"grade_outcomes_{method}", prefix=self.prefix,
                             definitions_in=db.sql("shared", "in_bound_list", column="gin.definitionid",
                                                   param="definitions"),
                             items_in=db.sql("shared", "in_bound_list", column="gin.itemid", param="items"))
                for start in range(0, len(items), OUTCOME_CHUNK):
                    part = items[start:start + OUTCOME_CHUNK]
                    rows = db.query(sql, {"definitions": db.bind_list(sorted(defs)), "items": db.bind_list(part)})
                    for row in rows:
                        if method == "rubric":  # rubric criteria have no short name: C<sortorder>
                            itemid, sortorder, desc, descformat, score, remark, remarkformat = row
                            code = f"C{sortorder}"
                        elif method == "guide":
                            itemid, code, desc, descformat, score, remark, remarkformat = row
                        else:
                            itemid, code, desc, score, remark = row
                            descformat, remarkformat = 1, 1
                        out.setdefault(int(itemid), []).append({
                            "code": code, "description": content_to_text(desc, descformat),
                            "score": _number(score), "feedback": content_to_text(remark, remarkformat) or ""})
        finally:
            db.commit()
        return out


def _missing(value) -> bool:
    """None, NaN or pandas' NA (known by its type: pandas is not imported at import time)."""
    return value is None or type(value).__name__ == "NAType" or value != value


def _number(value):
    if value is None:
        return None
    value = float(value)
    return int(value) if value.is_integer() else value


def context(moodle, prefix: str) -> GradeContext:
    """The small per-site tables a grade's display needs, read once per run."""
    letters: dict[int, list[tuple[float, str]]] = {}
    for contextid, boundary, letter in moodle.query(moodle.sql("moodle", "grade_letters", prefix=prefix)):
        letters.setdefault(int(contextid), []).append((float(boundary), letter))
    scales = {int(i): [item.strip() for item in str(scale or "").split(",")]  # grade_scale::load_items()
              for i, scale in moodle.query(moodle.sql("moodle", "grade_scales", prefix=prefix))}
    settings = dict(moodle.query(moodle.sql("moodle", "grade_site_settings", prefix=prefix)))
    definitions: dict[int, list[tuple[int, str]]] = {}
    for assign_id, definitionid, method in moodle.query(moodle.sql("moodle", "grade_grading_definitions",
                                                                   prefix=prefix)):
        definitions.setdefault(int(assign_id), []).append((int(definitionid), method))
    moodle.commit()
    btec = False
    if any(m == "btec" for defs in definitions.values() for _, m in defs):
        try:
            moodle.query(moodle.sql("moodle", "grade_btec_tables", prefix=prefix))
            btec = True
        except Exception as exc:  # the plugin is not installed: its tables do not exist
            log.info("grade: no gradingform_btec tables (%s): btec outcomes are not read", exc)
        moodle.rollback()
    return GradeContext(letters=letters, scales=scales, timezone=site_timezone(settings.get("timezone")),
                        outcomes=OutcomesReader(moodle, prefix, definitions, btec) if definitions else None)


def site_timezone(name):
    """The site's default timezone (mdl_config ``timezone``), which PHP's date() used in the old plugin; '99' (the
    server's own, core_date::set_default_server_timezone()) or an unknown name: UTC."""
    from zoneinfo import ZoneInfo

    if name and str(name) != "99":
        try:
            return ZoneInfo(str(name))
        except Exception:
            log.warning("grade: unknown site timezone %r: graded_at in UTC", name)
    return ZoneInfo("UTC")


def _course_letters(path, letters: dict[int, list[tuple[float, str]]], cache: dict):
    """grade_get_letters(context_course): the course context, then its parents nearest first (categories, then
    the system context, where the site's letters are), the first that has letters; else Moodle's defaults."""
    if path not in cache:
        found = DEFAULT_LETTERS
        for ctxid in reversed([int(p) for p in str(path or "").split("/") if p]):
            if ctxid in letters:
                found = tuple(letters[ctxid])
                break
        cache[path] = found
    return cache[path]


def grade_letters(df, lo, hi, letters: dict, default_only: bool = False):
    """The letter of each value grade, as lib/gradelib.php grade_format_gradevalue_letter() finds it: the value
    standardised to 0..100 over the item's range (grade_grade::standardise_score: max == min gives 100), clamped
    (bounded_number), each boundary standardised the same way, the first boundary (descending) at or below the
    value; none matches, or no value: no letter. Floats as PHP's (never the rounded percentage)."""
    import numpy as np

    value = df["finalgrade"].to_numpy(dtype=float, na_value=np.nan)
    lo, hi = lo.to_numpy(dtype=float, na_value=np.nan), hi.to_numpy(dtype=float, na_value=np.nan)
    with np.errstate(divide="ignore", invalid="ignore"):
        std = np.where(hi == lo, 100.0, (value - lo) / (hi - lo) * 100.0 + 0.0)
    std = np.minimum(np.maximum(std, 0.0), 100.0)
    out = np.full(len(df), None, dtype=object)
    paths = df["course_context_path"].to_numpy(dtype=object)
    graded = ~np.isnan(std)
    cache: dict = {}
    for path in set(paths[graded].tolist()):  # one lookup per course, vectorised over its rows
        rows = np.flatnonzero(graded & (paths == path))
        found = _course_letters(path, letters, cache)
        # each boundary standardised like the value (standardise_score(boundary, 0, 100, 0, 100))
        bounds = np.array([(b - 0.0) / (100.0 - 0.0) * (100.0 - 0.0) + 0.0 for b, _ in found])
        names = np.array([letter for _, letter in found], dtype=object)
        order = np.argsort(bounds, kind="stable")  # ascending; the first (descending) boundary <= value wins
        at = np.searchsorted(bounds[order], std[rows], side="right") - 1
        hit = at >= 0
        out[rows[hit]] = names[order][at[hit]]
    return out.tolist()


def scale_labels(df, scales: dict) -> list:
    """A scale grade's label: lib/gradelib.php grade_format_gradevalue_real() takes
    ``scale_items[bounded_grade(value) - 1]``, grade_item::bounded_grade() rounding half away from zero (PHP's
    round(v + 0.00001)) and clamping to the item's range."""
    import numpy as np

    value = df["finalgrade"].to_numpy(dtype=float, na_value=np.nan)
    lo = df["item_grademin"].to_numpy(dtype=float, na_value=np.nan)
    hi = df["item_grademax"].to_numpy(dtype=float, na_value=np.nan)
    v = value + 0.00001
    rounded = np.sign(v) * np.floor(np.abs(v) + 0.5)
    index = np.minimum(np.maximum(rounded, lo), hi)
    out = [None] * len(df)
    scaleids = df["scaleid"].tolist()
    for i in np.flatnonzero(~np.isnan(index)):
        items = scales.get(int(scaleids[i])) if not _missing(scaleids[i]) else None
        k = int(index[i]) - 1
        if items and 0 <= k < len(items):
            out[i] = items[k]
    return out


def grade_percentage(df):
    """(percentage, range_min, range_max) as Moodle computes a grade's percentage.

    The range comes from the grade item, except for course and category totals, where Moodle uses the
    grade's own rawgrademin/rawgrademax. max == min gives the top of the range (100), the result is
    clamped to 0..100, and text or "none" items carry no number.
    """
    import numpy as np

    is_total = df["item_type"].isin(TOTAL_ITEM_TYPES)
    lo = df["rawgrademin"].where(is_total, df["item_grademin"])
    hi = df["rawgrademax"].where(is_total, df["item_grademax"])
    span = hi - lo
    with np.errstate(divide="ignore", invalid="ignore"):
        pct = (df["finalgrade"] - lo) / span * 100.0
    pct = pct.where(span != 0, 100.0).clip(0.0, 100.0).round(2)
    numeric = df["gradetype"].isin((GRADETYPE_VALUE, GRADETYPE_SCALE)) & df["finalgrade"].notna()
    return pct.where(numeric), lo, hi


def transform(df, now: int, context: dict | None = None):
    import numpy as np

    from moodle_sync.entities import frame
    from moodle_sync.entities.text import content_to_text

    context = context or {}
    for col in ("feedbackformat", "itemnumber", "grader_userid", "grader_firstname", "grader_lastname",
                "course_context_path", "grader_role_rank", "assign_id", "markingworkflow", "assign_grade_id",
                "assign_grade", "attemptnumber", "workflowstate"):
        if col not in df:  # a chunk read by an older query (tests): the grade's display fields stay empty
            df[col] = None
    frame.numeric(df, ["rawgrade", "finalgrade", "rawgrademin", "rawgrademax", "item_grademin", "item_grademax",
                       "assign_grade"])
    frame.ints(df, ["userid", "itemid", "grade_id", "rawscaleid", "hidden", "locked", "overridden", "excluded",
                    "timecreated", "timemodified", "iteminstance", "gradetype", "scaleid", "courseid",
                    "user_exists", "item_exists", "itemnumber", "feedbackformat", "grader_userid",
                    "grader_role_rank", "assign_id", "markingworkflow", "assign_grade_id", "attemptnumber"])
    frame.text(df, ["feedback", "item_type", "item_module", "item_name", "course_name", "course_shortname",
                    "user_username", "user_email", "user_firstname", "user_lastname", "grader_firstname",
                    "grader_lastname", "course_context_path", "workflowstate"])
    for col in ("rawgrade", "finalgrade", "rawgrademin", "rawgrademax", "item_grademin", "item_grademax"):
        df[col] = df[col].round(5)
    pct, lo, hi = grade_percentage(df)
    df["percentage"] = pct
    df["grademin"] = lo
    df["grademax"] = hi
    is_scale = df["gradetype"] == GRADETYPE_SCALE
    df["scale_index"] = df["finalgrade"].round().where(is_scale & df["finalgrade"].notna()).astype("Int64")
    df["has_value"] = df["finalgrade"].notna() | df["feedback"].map(bool, na_action="ignore").fillna(False)
    # Feedback as plain text (lib/weblib.php content_to_text() by feedbackformat): "" is no feedback
    df["feedback"] = [content_to_text(v, f) or None if v else None
                      for v, f in zip(df["feedback"].tolist(), df["feedbackformat"].tolist())]
    df["item_name"] = df["item_name"].where(df["item_name"].notna(), df["item_type"].map(
        {"course": "Course total", "category": "Category total"}))
    # One CRM record per grade: an assignment's own grade is keyed by the assignment's instance id, as the old
    # plugin did; every other item (totals, manual, other activities, outcome items) by its grade item id in a
    # namespace of its own ("item-<itemid>"): the two can never meet (issue 11: a course total's category id
    # equalled an assignment's instance id).
    assign_grade = ((df["item_type"] == "mod") & (df["item_module"] == "assign")
                    & (df["itemnumber"].fillna(0) == 0)).fillna(False).astype(bool)
    df["assignment_id"] = np.where(assign_grade, df["iteminstance"].astype(object),
                                   ("item-" + df["itemid"].astype(str)).astype(object))
    df["user_fullname"] = (df["user_firstname"].fillna("") + " " + df["user_lastname"].fillna("")).str.strip()
    _display(df, lo, hi, assign_grade.to_numpy(), context, now)
    df["quarantine_reason"] = frame.reasons(df, [
        (df["user_exists"] != 1, "user missing"),
        (df["item_exists"] != 1, "grade item missing"),
        (df["courseid"].isna() | df["course_name"].isna(), "course missing"),
        (df["gradetype"].isna() | ~df["gradetype"].isin((0, 1, 2, 3)), "unknown grade type"),
        (df["grademax"].notna() & df["grademin"].notna() & (df["grademax"] < df["grademin"]),
         "grade range max below min"),
        (df["finalgrade"].notna() & ~np.isfinite(df["finalgrade"].astype(float)), "grade is not a number"),
    ])
    return df


def _display(df, lo, hi, assign_grade, context: dict, now: int) -> None:
    """The grade as Moodle shows it: ``grade`` (letter or scale label), ``graded_at``, ``status`` and
    ``workflow_state``, ``attempt_number``, the grader, ``learning_outcomes``."""
    import numpy as np
    import pandas as pd

    is_scale = (df["gradetype"] == GRADETYPE_SCALE).fillna(False).to_numpy(dtype=bool)
    is_value = (df["gradetype"] == GRADETYPE_VALUE).fillna(False).to_numpy(dtype=bool)
    letters = grade_letters(df, lo, hi, context.get("letters") or {}) if is_value.any() else [None] * len(df)
    labels = scale_labels(df, context.get("scales") or {}) if is_scale.any() else [None] * len(df)
    df["grade_display"] = np.where(is_scale, np.array(labels, dtype=object),
                                   np.where(is_value, np.array(letters, dtype=object), None))
    # "date graded" (assign::convert_grade_for_gradebook: dategraded = the grade's timemodified, stored in
    # grade_grades.timemodified) as PHP's date('Y-m-d H:i:s') in the site's default timezone
    tz = context.get("timezone") or site_timezone(None)
    when = pd.to_datetime(df["timemodified"].astype("Float64").to_numpy(dtype=float, na_value=np.nan), unit="s",
                          utc=True)
    df["graded_at"] = pd.Series(when.tz_convert(tz).strftime("%Y-%m-%d %H:%M:%S"), index=df.index,
                                dtype=object).where(df["timemodified"].notna().to_numpy(), None)
    # assign::get_grading_status(): with marking workflow, the user's flag (notmarked when none); else graded
    # when the user's latest grade is set (grade >= 0; ASSIGN_GRADE_NOT_SET is -1), notgraded otherwise
    is_assign = df["assign_id"].notna().to_numpy() & assign_grade
    workflow = (df["markingworkflow"].fillna(0) != 0).to_numpy(dtype=bool) & is_assign
    flag = df["workflowstate"].where(df["workflowstate"].map(bool, na_action="ignore").fillna(False), NOTMARKED)
    graded = np.where((df["assign_grade"] >= 0).fillna(False).to_numpy(dtype=bool), GRADED, NOT_GRADED)
    df["workflow_state"] = pd.Series(np.where(workflow, flag.to_numpy(dtype=object), None), index=df.index)
    df["status"] = pd.Series(np.where(workflow, flag.to_numpy(dtype=object), np.where(is_assign, graded, None)),
                             index=df.index)
    df["attempt_number"] = (df["attemptnumber"] + 1).where(pd.Series(is_assign, index=df.index))
    # who last modified the grade (grade_grades.usermodified: assign_grades.grader for an assignment's push,
    # the overriding teacher for a gradebook override), fullname() as "First Last" (fullnamedisplay=language)
    df["grader_name"] = (df["grader_firstname"].fillna("") + " " + df["grader_lastname"].fillna("")).str.strip()
    df["grader_name"] = df["grader_name"].where(df["grader_firstname"].notna() | df["grader_lastname"].notna(), None)
    df["grader_role"] = df["grader_role_rank"].map(GRADER_ROLES, na_action="ignore")
    df["grader_role"] = df["grader_role"].where(df["grader_userid"].notna() & df["grader_role"].notna(),
                                                np.where(df["grader_userid"].notna(), "other", None))
    df["learning_outcomes"] = _outcomes(df, is_assign, context.get("outcomes"))
    # integers as integers on the wire (a nullable integer column with a gap would be written as floats)
    for column, source in (("attempt_number", "attempt_number"), ("grader_userid_out", "grader_userid"),
                           ("itemnumber_out", "itemnumber")):
        df[column] = pd.Series([None if _missing(v) else int(v) for v in df[source].tolist()], index=df.index,
                               dtype=object)


def _outcomes(df, is_assign, reader) -> list:
    """Each assignment grade's advanced grading outcomes ([] when the assignment uses none); None elsewhere."""
    grade_ids = df["assign_grade_id"].tolist()
    found = {}
    if reader is not None:
        assign_ids = df["assign_id"].tolist()
        wanted = {int(grade_ids[i]): int(assign_ids[i]) for i in range(len(df))
                  if is_assign[i] and not _missing(grade_ids[i])}
        if wanted:
            found = reader.read(wanted)
    out = []
    for i, gid in enumerate(grade_ids):
        if not is_assign[i]:
            out.append(None)
        else:
            out.append([] if _missing(gid) else found.get(int(gid), []))
    return out


def log_grade_deleted(row: dict):
    """A grade_deleted log row (also written where grade history is disabled)."""
    userid, itemid = as_int(row["relateduserid"]), as_int(log_other(row).get("itemid"))
    if not userid or not itemid:
        return None
    ids = {"grade_id": as_int(row["objectid"]), "userid": userid, "itemid": itemid,
           "courseid": as_int(row["courseid"])}
    return f"{userid}:{itemid}", ids, as_int(row["timecreated"])


def history_grade(row: dict):
    """A grade_grades_history row (any action; a delete's ids name what was deleted), joined to its grade item."""
    userid, itemid = as_int(row["userid"]), as_int(row["itemid"])
    if not userid or not itemid:
        return None
    iteminstance = as_int(row["iteminstance"])
    ids = {"grade_id": as_int(row["oldid"]), "userid": userid, "itemid": itemid, "iteminstance": iteminstance,
           "item_type": row["itemtype"], "item_module": row["itemmodule"], "courseid": as_int(row["courseid"]),
           "itemnumber": as_int(row.get("itemnumber"))}
    if row["itemtype"]:  # the item still exists
        ids["assignment_id"] = assignment_key(row["itemtype"], row["itemmodule"], ids["itemnumber"], iteminstance,
                                              itemid)
    return f"{userid}:{itemid}", ids, as_int(row["timemodified"])


GRADES = EntitySpec(
    name="grade",
    dag_id="moodle_sync_grades",
    schedule_setting=GRADES_SCHEDULE,
    description="Moodle grades (one per user and grade item) with Moodle's percentage to the CRM.",
    select_sql="grades",
    changed_sql="grades_changed",
    changed_sql_without_history="grades_changed_without_history",
    key_columns=("userid", "itemid"),
    source_id=("grade_id", "gg.id", "grade_grades"),
    transform=transform,
    context=context,
    delete_names=delete_names,
    payload_fields={
        "grade_id": "grade_id", "userid": "userid", "user_username": "user_username",
        "user_email": "user_email", "user_fullname": "user_fullname", "itemid": "itemid",
        "iteminstance": "iteminstance", "item_name": "item_name", "item_type": "item_type",
        "item_module": "item_module", "courseid": "courseid", "course_name": "course_name",
        "course_shortname": "course_shortname", "finalgrade_numeric": "percentage",
        "raw_grade": "rawgrade", "grade_value": "finalgrade",
        "grademax": "grademax", "grademin": "grademin", "gradetype": "gradetype", "scaleid": "scaleid",
        "scale_index": "scale_index", "feedback": "feedback", "hidden": "hidden", "locked": "locked",
        "overridden": "overridden", "excluded": "excluded", "timecreated": "timecreated",
        "timemodified": "timemodified", "assignment_id": "assignment_id",
        # the grade as Moodle shows it (issue 11)
        "itemnumber": "itemnumber_out", "grade": "grade_display", "graded_at": "graded_at", "status": "status",
        "workflow_state": "workflow_state", "attempt_number": "attempt_number", "grader_userid": "grader_userid_out",
        "grader_name": "grader_name", "grader_role": "grader_role", "learning_outcomes": "learning_outcomes",
    },
    change_fields=("userid", "itemid", "grade_value", "finalgrade_numeric", "raw_grade", "grademax", "grademin",
                   "gradetype", "scale_index", "feedback", "hidden", "locked", "overridden", "excluded",
                   "grade", "graded_at", "status", "workflow_state", "attempt_number", "grader_userid",
                   "learning_outcomes"),
    modified_column="timemodified",
    event_types=("grade.created", "grade.updated"),
    has_value_column="has_value",
    watched=WatchedRows(sql="grade_items_state", column="gg.itemid", keys_sql="grades_of_items"),
    # user_graded: a site without grade history still logs its grades (the sync then scans its window)
    wake_events=(r"\core\event\user_graded", r"\core\event\grade_item_updated"),
    keys_sql="grades_keys",
    candidates_sql="grades_candidates",
    identity_fields=("grade_id", "userid", "itemid", "iteminstance", "item_type", "item_module", "courseid",
                     "assignment_id", "itemnumber"),
    # the legacy backend takes a deleted grade as grade_updated with the grade cleared and `deleted` set
    delete_values={"deleted": True},
    key_sources=(
        # every grade_grade insert, update and delete writes a history row (lock, hide, "No grade" included):
        # with it read, a run re-reads only those grades (and the grades of items whose range changed)
        KeySource(name="grade_history", sql="grade_history_rows", bounds_sql="grade_history_bounds",
                  reader=history_grade, needs_history=True, covers_changes=True),
        # the log's grade_deleted also covers sites with $CFG->disablegradehistory
        KeySource(name="log", sql="log_events", bounds_sql="log_bounds", reader=log_grade_deleted,
                  eventnames=(r"\core\event\grade_deleted",), needs_log=True),
    ),
)
