"""Helpers the tests share (not tests): running a sync or a DAG, Moodle's writes, the Moodle copy to PostgreSQL, alert
sinks and a deliverer process."""
