"""A deliverer in its own process (crash and concurrency tests):
python tests/support/deliver_worker.py URL LEASE [DELAY]"""

import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "plugins"))

from moodle_sync.outbox import db  # noqa: E402
from moodle_sync.delivery.webhook import WebhookSettings, deliver_due  # noqa: E402
from moodle_sync.delivery.policy import RetryPolicy  # noqa: E402
import datetime as dt  # noqa: E402

url, lease = sys.argv[1], float(sys.argv[2])
settings = WebhookSettings(base_url=url, token="test-token-123", batch_size=int(os.environ.get("BATCH", "50")),
                           concurrency=8, lease_seconds=lease,
                           policy=RetryPolicy(base=dt.timedelta(milliseconds=50), cap=dt.timedelta(seconds=1)))
store = db.connect("moodle_sync_db")
result = deliver_due(store, settings, owner=f"worker-{os.getpid()}")
print(result.sent, result.attempted, flush=True)
