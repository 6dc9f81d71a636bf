-- (userid, itemid) pairs: a range lookup on the unique index mdl_gradgrad_useite_uix.
(gg.userid, gg.itemid) IN %(candidate_keys)s
