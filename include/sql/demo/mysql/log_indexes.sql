-- Moodle 4.5's log indexes: create_schema() builds them, bulk_seed() drops them for its bulk copy and builds
-- them once after it.
ALTER TABLE {prefix}logstore_standard_log
    ADD INDEX {prefix}logsstanlog_tim_ix (timecreated),
    ADD INDEX {prefix}logsstanlog_couanotim_ix (courseid, anonymous, timecreated),
    ADD INDEX {prefix}logsstanlog_useconconcr_ix (userid, contextlevel, contextinstanceid, crud, edulevel, timecreated),
    ADD INDEX {prefix}logsstanlog_con_ix (contextid),
    ADD INDEX {prefix}logsstanlog_use_ix (userid),
    ADD INDEX {prefix}logsstanlog_cou_ix (courseid),
    ADD INDEX {prefix}logsstanlog_rea_ix (realuserid),
    ADD INDEX {prefix}logsstanlog_rel_ix (relateduserid)
