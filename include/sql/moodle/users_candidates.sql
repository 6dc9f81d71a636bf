{in_bound_list(column=u.id, param=candidate_keys)}
