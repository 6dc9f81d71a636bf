-- Moodle's enabled log stores ("logstore_standard,..."); the fast path reads the standard log only if listed.
SELECT value FROM {prefix}config_plugins WHERE plugin = 'tool_log' AND name = 'enabled_stores'
