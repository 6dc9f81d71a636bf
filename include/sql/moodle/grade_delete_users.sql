-- Names of the users of deleted grades (delete_user() keeps firstname and lastname): the legacy backend
-- writes them over the CRM record, so a delete must carry them.
SELECT u.id, u.firstname, u.lastname, u.username, u.email FROM {prefix}user u WHERE u.id IN %(ids)s
