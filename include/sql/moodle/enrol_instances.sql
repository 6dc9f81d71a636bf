-- Status of every enrolment method instance: a small table, snapshotted to see instances being disabled.
SELECT id, status FROM {prefix}enrol
