-- Enrolments whose state may have changed: the row was updated, its start or end time passed within the
-- window (Moodle writes nothing when that happens), its method was edited, or its method's
-- status differs from our last snapshot ({watched}: its id is one of those, bound; disabling one writes no time).
(ue.timemodified >= %(since)s AND ue.timemodified < %(until)s)
OR (ue.timestart >= %(since)s AND ue.timestart < %(until)s)
OR (ue.timeend >= %(since)s AND ue.timeend < %(until)s)
OR (e.timemodified >= %(since)s AND e.timemodified < %(until)s)
OR {watched}
