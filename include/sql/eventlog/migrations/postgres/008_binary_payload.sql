-- Payloads are bytes: enc2:<key id>: and the raw nonce, ciphertext and tag (moodle_sync.crypto), a quarter
-- smaller than their base64. Rows stored before keep their text (enc1:<key id>:<base64> or plain JSON) as
-- UTF-8 bytes: both are still read, and the maintenance DAG re-encrypts them into the new form. The ALTER
-- rewrites the table once.
ALTER TABLE moodle_sync_event_log ALTER COLUMN payload TYPE bytea USING convert_to(payload, 'UTF8');
