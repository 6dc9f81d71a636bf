u.id IN %(candidate_keys)s
