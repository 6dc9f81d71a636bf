-- At the end of a run: the due flips it handled (a re-read key's next flip is later than %(now)s).
DELETE FROM moodle_sync_flip WHERE entity_type = %(entity)s AND due_at <= %(now)s
