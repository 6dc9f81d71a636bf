-- Payloads are bytes: enc2:<key id>: and the raw nonce, ciphertext and tag (moodle_sync.crypto), a quarter
-- smaller than their base64 (the bytes the server writes are most of an initial sync's cost). Rows stored
-- before keep their text (enc1:<key id>:<base64> or plain JSON) as bytes: both are still read, and the
-- maintenance DAG re-encrypts them into the new form. The ALTER copies the table once.
ALTER TABLE moodle_sync_event_log MODIFY payload LONGBLOB NOT NULL;
