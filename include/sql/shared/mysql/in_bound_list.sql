-- {column} is one of the values bound as the list %({param})s: MySQLdb expands a tuple (Database.bind_list).
{column} IN %({param})s
