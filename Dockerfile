# The image of every Airflow component in docker-compose.yaml: Airflow 3.3.2 with this project's pinned
# requirements (the same files `make demo` and `make test` install).
FROM apache/airflow:3.3.2-python3.11
USER root
RUN apt-get update \
 && apt-get install -y --no-install-recommends pkg-config libmariadb-dev build-essential \
 && rm -rf /var/lib/apt/lists/*
USER airflow
COPY requirements.txt constraints.txt /opt/moodle-sync/
RUN pip install --no-cache-dir -r /opt/moodle-sync/requirements.txt -c /opt/moodle-sync/constraints.txt
