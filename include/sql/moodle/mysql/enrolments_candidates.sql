ue.id IN %(candidate_keys)s
