-- bulk_seed(): the log's secondary indexes go before the bulk copy and are built once after it (sorted builds
-- instead of millions of random index inserts; the copy took over 5 minutes with them on a small buffer pool).
ALTER TABLE {prefix}logstore_standard_log
    DROP INDEX {prefix}logsstanlog_tim_ix, DROP INDEX {prefix}logsstanlog_couanotim_ix,
    DROP INDEX {prefix}logsstanlog_useconconcr_ix, DROP INDEX {prefix}logsstanlog_con_ix,
    DROP INDEX {prefix}logsstanlog_use_ix, DROP INDEX {prefix}logsstanlog_cou_ix,
    DROP INDEX {prefix}logsstanlog_rea_ix, DROP INDEX {prefix}logsstanlog_rel_ix
