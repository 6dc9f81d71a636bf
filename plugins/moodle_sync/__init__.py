"""moodle_sync: keep a CRM in step with Moodle through an event log and webhooks.

Everything here is testable without a scheduler; the DAG files in ``dags/`` only wire it up.
"""
