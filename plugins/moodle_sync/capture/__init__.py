"""Change capture: Moodle rows in, one event per real change out (window, fast path, deletes)."""
