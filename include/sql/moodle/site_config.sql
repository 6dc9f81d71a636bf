-- The site's identity (part of every event id) and whether grade history is being written.
SELECT name, value FROM {prefix}config WHERE name IN ('siteidentifier', 'disablegradehistory')
