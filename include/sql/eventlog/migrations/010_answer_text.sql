-- Before this version a failed delivery kept up to 2 KB of the backend's answer, which may echo the request
-- (FastAPI's 422 repeats the whole body: names, emails). Keep only its "HTTP nnn", as delivery now does
-- (docs/delivery.md, "What is kept of an answer"). One pass over the log's failed, dead and attempt rows.
UPDATE moodle_sync_event_log
SET last_error = CONCAT(SUBSTRING(last_error FROM 1 FOR 8), ' (answer not kept: it may echo the payload)')
WHERE SUBSTRING(last_error FROM 1 FOR 5) = 'HTTP ';
UPDATE moodle_sync_delivery_attempt
SET response_excerpt = CONCAT(SUBSTRING(response_excerpt FROM 1 FOR 8), ' (answer not kept: it may echo the payload)')
WHERE SUBSTRING(response_excerpt FROM 1 FOR 5) = 'HTTP ';
UPDATE moodle_sync_delivery_attempt
SET response_excerpt = 'deduplicated (answer not kept)'
WHERE error_class = 'deduplicated' AND SUBSTRING(response_excerpt FROM 1 FOR 5) <> 'HTTP ';
UPDATE moodle_sync_endpoint_state
SET reason = CONCAT(SUBSTRING(reason FROM 1 FOR 8), ' (answer not kept: it may echo the payload)')
WHERE SUBSTRING(reason FROM 1 FOR 5) = 'HTTP ';
