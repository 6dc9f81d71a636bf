"""The outbox: the event log's database, its SQL, payload encoding and encryption."""
