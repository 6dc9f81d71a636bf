-- {column} is one of the values bound as the list %({param})s.
{column} = ANY(%({param})s)
