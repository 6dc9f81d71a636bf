UPDATE moodle_sync_event_log SET locked_by = %(owner)s, locked_until = %(lease_until)s
WHERE {in_bound_list(column=id, param=ids)}
