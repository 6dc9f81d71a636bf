-- bulk_seed(): the log rows of the benchmark site are gathered here first, then copied into the log in time
-- order (Moodle's log ids follow time). Portable types: the same statement on MariaDB and PostgreSQL.
DROP TABLE IF EXISTS bulk_log_staging;
CREATE TEMPORARY TABLE bulk_log_staging (
    eventname VARCHAR(255) NOT NULL,
    component VARCHAR(100) NOT NULL,
    action VARCHAR(100) NOT NULL,
    target VARCHAR(100) NOT NULL,
    objecttable VARCHAR(50),
    objectid BIGINT,
    crud VARCHAR(1) NOT NULL,
    edulevel SMALLINT NOT NULL,
    contextid BIGINT NOT NULL,
    contextlevel BIGINT NOT NULL,
    contextinstanceid BIGINT NOT NULL,
    userid BIGINT NOT NULL,
    courseid BIGINT,
    relateduserid BIGINT,
    other VARCHAR(1000),
    timecreated BIGINT NOT NULL,
    seq SMALLINT NOT NULL
);
