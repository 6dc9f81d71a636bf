-- The site's scales (comma-separated items), read once per run: a scale grade shows its item's label.
SELECT s.id, s.scale FROM {prefix}scale s
