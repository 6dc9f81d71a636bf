ue.id = ANY(%(candidate_key_1)s)
