-- Names of the users of deleted grades (delete_user() keeps firstname and lastname): the legacy backend
-- writes them over the CRM record, so a delete must carry them (names only: no username or email).
SELECT u.id, u.firstname, u.lastname FROM {prefix}user u WHERE {ids_in}
