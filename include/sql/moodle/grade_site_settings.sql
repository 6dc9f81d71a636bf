-- The site's default timezone (PHP's date() of the old plugin used it; '99' = the server's own).
SELECT name, value FROM {prefix}config WHERE name IN ('timezone')
