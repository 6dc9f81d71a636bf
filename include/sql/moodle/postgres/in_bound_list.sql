-- {column} is one of the values bound as the list %({name})s.
{column} = ANY(%({name})s)
