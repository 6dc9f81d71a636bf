-- The id range of an entity's main table: how far along an initial sync is (ids come in ascending order).
SELECT MIN(id), MAX(id) FROM {prefix}{table}
