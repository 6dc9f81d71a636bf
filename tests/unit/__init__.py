"""The unit tier: pure functions and classes. No database, no server, no subprocess, no Airflow run."""
