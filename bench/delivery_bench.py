"""Benchmark: one delivery task sending 100,000 pending events to a fast local receiver.

Baselines in the same run, against the same receiver: a plain aiohttp client at full speed with the same
concurrency and body size, no database (the ceiling), and one request at a time without keep-alive (how
the PHP plugin sent). Figures, not asserts: see bench/README.md.
Usage: python -m bench.delivery_bench [--events N] [--store mysql|postgres] [--concurrency 32]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing as mp
import os
import resource
import socket
import subprocess
import sys
import time
import uuid

from bench.common import db_name, encrypt_payloads, ROOT, URIS, recreate, write_figures

STORE_DB = db_name("bench_delivery")
PAYLOAD = json.dumps({"userid": 1, "username": "a.user", "email": "a.user@example.edu", "firstname": "Zoë",
                      "lastname": "Ngũgĩ", "phone1": "", "phone2": "", "city": "Nairobi", "country": "KE",
                      "role": "student", "timecreated": 1795744834, "timemodified": 1795744855, "deleted": False,
                      "suspended": False, "auth": "manual", "confirmed": 1})


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_receiver(port: int) -> subprocess.Popen:
    proc = subprocess.Popen([sys.executable, "-m", "uvicorn", "bench.fast_receiver:app", "--host", "127.0.0.1",
                             "--port", str(port), "--log-level", "warning", "--no-access-log"], cwd=ROOT)
    for _ in range(100):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.1).close()
            return proc
        except OSError:
            time.sleep(0.1)
    raise RuntimeError("receiver did not start")


def fill(events: int) -> None:
    from moodle_sync.outbox import db
    from moodle_sync.outbox import eventlog
    from moodle_sync.outbox.crypto import cipher_from_connection
    from moodle_sync.outbox.db import utcnow

    store = db.connect("moodle_sync_db")
    eventlog.migrate(store)
    seal = cipher_from_connection().seal  # stored as the sync stores them: delivery opens each one
    now = store.ts(utcnow())
    for start in range(0, events, 20_000):
        ids = [str(uuid.uuid4()) for _ in range(start, min(events, start + 20_000))]
        rows = [(eid, "user.updated", "user", str(start + n), 1, seal(PAYLOAD.encode(), eid), "pending", now, None,
                 "bench", now, now, now) for n, eid in enumerate(ids)]
        eventlog.write_events(store, rows, [])
        store.commit()
    store.close()


def _deliver_child(queue, url: str, concurrency: int) -> None:
    from moodle_sync.outbox import db
    from moodle_sync.delivery.webhook import WebhookSettings, deliver_due

    store = db.connect("moodle_sync_db")
    settings = WebhookSettings(base_url=url, token="bench-token", concurrency=concurrency, batch_size=1000)
    started = time.perf_counter()
    result = deliver_due(store, settings, owner="bench")
    seconds = time.perf_counter() - started
    queue.put({"sent": result.sent, "seconds": round(seconds, 2), "events_per_s": round(result.sent / seconds),
               "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)})


async def plain_client(url: str, n: int, concurrency: int) -> dict:
    """The ceiling: aiohttp, one session, `concurrency` in flight, same body size, no database."""
    import aiohttp

    body = json.dumps({"event_id": str(uuid.uuid4()), "event_type": "user_updated", "event_data": json.loads(PAYLOAD),
                       "moodle_event_id": None, "timestamp": 0}).encode()
    sem = asyncio.Semaphore(concurrency)
    async with aiohttp.ClientSession() as session:
        async def one():
            async with sem:
                async with session.post(url, data=body, headers={"Content-Type": "application/json"}) as r:
                    await r.read()

        started = time.perf_counter()
        await asyncio.gather(*(one() for _ in range(n)))
        seconds = time.perf_counter() - started
    return {"requests": n, "seconds": round(seconds, 2), "requests_per_s": round(n / seconds)}


def one_at_a_time_no_keepalive(url: str, n: int) -> dict:
    import requests

    body = json.dumps({"event_id": str(uuid.uuid4()), "event_type": "user_updated",
                       "event_data": json.loads(PAYLOAD)}).encode()
    started = time.perf_counter()
    for _ in range(n):
        requests.post(url, data=body, headers={"Content-Type": "application/json", "Connection": "close"}, timeout=10)
    seconds = time.perf_counter() - started
    return {"requests": n, "seconds": round(seconds, 2), "requests_per_s": round(n / seconds)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--store", choices=sorted(URIS), default="mysql")
    parser.add_argument("--concurrency", type=int, default=32)
    args = parser.parse_args()
    os.environ["AIRFLOW_CONN_MOODLE_SYNC_DB"] = URIS[args.store].format(STORE_DB)
    encrypt_payloads()
    recreate(args.store, STORE_DB)
    fill(args.events)
    port = free_port()
    receiver = start_receiver(port)
    url = f"http://127.0.0.1:{port}"
    figures = {"events": args.events, "store": args.store, "concurrency": args.concurrency}
    try:
        figures["ceiling_plain_aiohttp"] = asyncio.run(plain_client(url + "/api/v1/webhooks", min(args.events, 50_000),
                                                                    args.concurrency))
        print(f"ceiling (plain aiohttp, no DB):   {figures['ceiling_plain_aiohttp']}", flush=True)
        figures["plugin_style_one_at_a_time"] = one_at_a_time_no_keepalive(url + "/api/v1/webhooks", 2_000)
        print(f"one at a time, no keep-alive:     {figures['plugin_style_one_at_a_time']}", flush=True)
        queue = mp.get_context("spawn").Queue()
        child = mp.get_context("spawn").Process(target=_deliver_child, args=(queue, url, args.concurrency))
        child.start()
        figures["delivery_task"] = queue.get()
        child.join()
        print(f"one delivery task (claim, send, record): {figures['delivery_task']}", flush=True)
    finally:
        receiver.terminate()
        receiver.wait()
    ceiling = figures["ceiling_plain_aiohttp"]["requests_per_s"]
    rate = figures["delivery_task"]["events_per_s"]
    figures["task_vs_ceiling"] = round(rate / ceiling, 2)
    print(f"task / ceiling: {rate / ceiling:.2f} (target >= 0.5); task {rate} events/s (target >= 1,000); "
          f"{rate / figures['plugin_style_one_at_a_time']['requests_per_s']:.1f}x the plugin's way")
    write_figures(f"delivery_bench_{args.store}", figures)


if __name__ == "__main__":
    main()
