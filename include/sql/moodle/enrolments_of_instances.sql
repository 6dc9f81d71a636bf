-- The enrolments of the enrolment methods whose status changed (index on enrolid).
SELECT ue.id FROM {prefix}user_enrolments ue WHERE {in_bound_list(column=ue.enrolid, param=watched_ids)}
