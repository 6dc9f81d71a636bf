-- bulk_seed(): the log's secondary indexes go before the bulk copy and are built once after it (sorted builds
-- instead of millions of random index inserts).
DROP INDEX IF EXISTS {prefix}logsstanlog_tim_ix;
DROP INDEX IF EXISTS {prefix}logsstanlog_couanotim_ix;
DROP INDEX IF EXISTS {prefix}logsstanlog_useconconcr_ix;
DROP INDEX IF EXISTS {prefix}logsstanlog_con_ix;
DROP INDEX IF EXISTS {prefix}logsstanlog_use_ix;
DROP INDEX IF EXISTS {prefix}logsstanlog_cou_ix;
DROP INDEX IF EXISTS {prefix}logsstanlog_rea_ix;
DROP INDEX IF EXISTS {prefix}logsstanlog_rel_ix
