"""The Airflow UI of `python -m demo --ui`: Airflow's components (api-server, scheduler, dag-processor,
triggerer) as children of the demo, each in a process group of its own, stopped together on Ctrl-C.

A terminal's Ctrl-C reaches only the demo's own process group, so the components never get a signal the demo
did not send: on SIGINT or SIGTERM it sends SIGTERM to every component's group (the component and the workers
it forked), waits up to ``STOP_GRACE_SECONDS``, then SIGKILLs what is left, so that the whole demo is gone within
``STOP_GRACE_SECONDS + KILL_WAIT_SECONDS``.
"""

from __future__ import annotations

import os
import signal
import subprocess
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import psutil

COMPONENTS = ("api-server", "scheduler", "dag-processor", "triggerer")
#: how long the components get to stop after SIGTERM (a scheduler with hung workers is then killed)
STOP_GRACE_SECONDS = 6.0
#: how long the demo waits for killed processes to be gone
KILL_WAIT_SECONDS = 2.0



def process_tree(procs) -> list[psutil.Process]:
    """The processes and every process they started, those still there."""
    found = []
    for proc in procs:
        try:
            root = psutil.Process(proc.pid)
            found += [root, *root.children(recursive=True)]
        except psutil.NoSuchProcess:
            pass
    return found


class Components:
    """The running components; ``stop()`` ends them and every process they started."""

    def __init__(self, airflow: Path, env: dict, cwd: Path, log_dir: Path):
        self.airflow, self.env, self.cwd, self.log_dir = airflow, env, cwd, log_dir
        self.procs: dict[str, subprocess.Popen] = {}

    def start(self) -> "Components":
        self.log_dir.mkdir(parents=True, exist_ok=True)
        for name in COMPONENTS:
            with open(self.log_dir / f"ui-{name}.log", "w") as log:
                # process_group=0: a group of its own, which the terminal's Ctrl-C does not reach
                self.procs[name] = subprocess.Popen([str(self.airflow), name], env=self.env, cwd=self.cwd,
                                                    stdout=log, stderr=subprocess.STDOUT, process_group=0)
        return self

    def exited(self) -> dict[str, int]:
        """Components that ended by themselves, with their exit codes."""
        return {name: p.returncode for name, p in self.procs.items() if p.poll() is not None}


    def _signal_groups(self, sig: int) -> None:
        for proc in self.procs.values():
            try:
                os.killpg(proc.pid, sig)
            except ProcessLookupError:
                pass

    def stop(self) -> list[int]:
        """SIGTERM to every group, SIGKILL after the grace; returns the pids that were still there to kill."""
        tree = process_tree(self.procs.values())  # before they stop: a worker that left its group is still found
        self._signal_groups(signal.SIGTERM)
        _, alive = psutil.wait_procs(tree, timeout=STOP_GRACE_SECONDS)
        if alive:
            self._signal_groups(signal.SIGKILL)
            for proc in alive:
                try:
                    proc.kill()
                except psutil.NoSuchProcess:
                    pass
            psutil.wait_procs(alive, timeout=KILL_WAIT_SECONDS)
        for proc in self.procs.values():
            try:
                proc.wait(timeout=KILL_WAIT_SECONDS)
            except subprocess.TimeoutExpired:
                pass
        return [p.pid for p in alive]


def answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status == 200
    except (urllib.error.URLError, ConnectionError, TimeoutError):
        return False


def serve(components: Components, health_url: str, on_ready) -> int:
    """Run the components until SIGINT/SIGTERM (or until one of them ends), then stop them all. ``on_ready``
    is called once the api-server answers ``health_url``. Returns 0 after a signal, 1 when a component ended."""
    stopping = threading.Event()
    previous = {sig: signal.signal(sig, lambda *_: stopping.set()) for sig in (signal.SIGINT, signal.SIGTERM)}
    code, ready = 0, False
    try:
        components.start()
        while not stopping.wait(1.0):
            ended = components.exited()
            if ended:
                print(f"    Airflow component(s) ended: {ended}; their logs: {components.log_dir}/ui-*.log")
                code = 1
                break
            if not ready and answers(health_url):
                ready = True
                on_ready()
    finally:
        print("    Stopping the Airflow components ...", flush=True)
        started = time.monotonic()
        killed = components.stop()
        print(f"    stopped in {time.monotonic() - started:.1f} s"
              + (f" ({len(killed)} process(es) did not stop on SIGTERM and were killed)" if killed else ""))
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return code
