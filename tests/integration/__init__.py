"""The integration tier: real MariaDB and PostgreSQL, servers on loopback, Airflow runs, a browser, subprocesses."""
