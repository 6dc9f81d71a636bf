-- (userid, itemid) pairs, bound as two arrays of the same length.
(gg.userid, gg.itemid) IN (SELECT c.k1, c.k2 FROM unnest(CAST(%(candidate_key_1)s AS BIGINT[]),
                                                         CAST(%(candidate_key_2)s AS BIGINT[])) AS c(k1, k2))
