{in_bound_list(column=ue.id, param=candidate_keys)}
