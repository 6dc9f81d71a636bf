-- {column} is one of the values bound as the list %({param})s: psycopg binds a list as an array (Database.bind_list).
{column} = ANY(%({param})s)
