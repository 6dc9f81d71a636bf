-- Enrolments whose start or end is still ahead (a scan: read once to fill the flips, see EntitySpec.flip_seed_sql).
ue.timestart >= %(now)s - 100 OR ue.timeend >= %(now)s - 100
