-- Moodle 4.5's log indexes: create_schema() builds them, bulk_seed() drops them for its bulk copy and builds
-- them once after it.
CREATE INDEX {prefix}logsstanlog_tim_ix ON {prefix}logstore_standard_log (timecreated);
CREATE INDEX {prefix}logsstanlog_couanotim_ix ON {prefix}logstore_standard_log (courseid, anonymous, timecreated);
CREATE INDEX {prefix}logsstanlog_useconconcr_ix ON {prefix}logstore_standard_log (userid, contextlevel, contextinstanceid, crud, edulevel, timecreated);
CREATE INDEX {prefix}logsstanlog_con_ix ON {prefix}logstore_standard_log (contextid);
CREATE INDEX {prefix}logsstanlog_use_ix ON {prefix}logstore_standard_log (userid);
CREATE INDEX {prefix}logsstanlog_cou_ix ON {prefix}logstore_standard_log (courseid);
CREATE INDEX {prefix}logsstanlog_rea_ix ON {prefix}logstore_standard_log (realuserid);
CREATE INDEX {prefix}logsstanlog_rel_ix ON {prefix}logstore_standard_log (relateduserid);
