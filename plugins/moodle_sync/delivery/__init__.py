"""Delivery: due events out to the backend, with retries, signatures and body profiles."""
