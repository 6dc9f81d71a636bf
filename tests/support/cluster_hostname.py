"""[core] hostname_callable of the Celery cluster test's workers: both run on one machine, so each names itself
(MZS_WORKER_NAME) and the task instances it ran carry that name in the metadata database's ``hostname``."""

import os


def hostname() -> str:
    return os.environ["MZS_WORKER_NAME"]
