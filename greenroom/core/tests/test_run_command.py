"""`greenroom run` (what `make run` starts) really starts web, worker and beat, and stops them.

Runs the real command in a throwaway data dir on a free port, waits until /healthz says the
database, the broker and a worker are fine, then presses Ctrl-C (SIGINT) and checks that all three
processes stopped cleanly. A second start keeps the data and prints the logins again.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from greenroom.core.management.commands.run import child_environment


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start(data_dir: Path, port: int) -> subprocess.Popen[str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("DATABASE_URL", "CELERY_", "CACHE_URL", "DJANGO_", "PYTEST"))
    }
    env.update(
        GREENROOM_DATA_DIR=str(data_dir),
        GREENROOM_BASE_URL=f"http://127.0.0.1:{port}",
        LOG_LEVEL="WARNING",
    )
    return subprocess.Popen(  # noqa: S603 - fixed argv
        [sys.executable, "-m", "greenroom.cli", "run", "--port", str(port), "--concurrency", "1"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
    )


def wait_healthy(port: int, proc: subprocess.Popen[str], seconds: float = 120) -> dict[str, object]:
    deadline = time.monotonic() + seconds
    last: dict[str, object] = {}
    while time.monotonic() < deadline:
        assert proc.poll() is None, "greenroom run exited early"
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=5) as r:
                return dict(json.load(r))
        except urllib.error.HTTPError as exc:
            last = json.load(exc)
        except OSError:
            pass
        time.sleep(1)
    raise AssertionError(f"never healthy: {last}")


def stop(proc: subprocess.Popen[str]) -> str:
    proc.send_signal(signal.SIGINT)
    out, _ = proc.communicate(timeout=60)
    return out


@pytest.mark.slow
def test_run_starts_all_three_processes_and_ctrl_c_stops_them(tmp_path: Path) -> None:
    port = free_port()
    proc = start(tmp_path, port)
    try:
        health = wait_healthy(port, proc)
        assert health["ok"] is True
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/login/", timeout=5) as r:
            assert "Greenroom" in r.read().decode()
    finally:
        out = stop(proc) if proc.poll() is None else proc.communicate()[0]
    assert proc.returncode == 0, out[-3000:]
    assert "Seeded the demo organisation" in out
    assert "mina" in out and "greenroom-demo" in out  # the logins are printed
    for prefix in ("web   |", "worker|", "beat  |"):
        assert prefix in out, f"no {prefix!r} lines"
    assert "Stopped." in out

    # Running it again keeps the data and prints the logins again.
    proc = start(tmp_path, port)
    try:
        wait_healthy(port, proc)
    finally:
        out = stop(proc) if proc.poll() is None else proc.communicate()[0]
    assert proc.returncode == 0, out[-3000:]
    assert "did nothing" in out and "mina" in out


def test_the_processes_are_told_the_address_this_command_serves() -> None:
    env = child_environment({"PATH": "/bin"}, "127.0.0.1", 8765)
    assert env["GREENROOM_BASE_URL"] == "http://127.0.0.1:8765"
    assert env["PATH"] == "/bin" and env["PYTHONUNBUFFERED"] == "1"
    # Listening everywhere: the worker still calls it on this machine.
    everywhere = "0.0.0.0"  # noqa: S104 - the address under test, nothing binds to it here
    assert child_environment({}, everywhere, 9000)["GREENROOM_BASE_URL"] == "http://127.0.0.1:9000"
    assert child_environment({}, "::1", 9000)["GREENROOM_BASE_URL"] == "http://[::1]:9000"


def test_an_address_set_by_the_operator_is_kept() -> None:
    env = child_environment({"GREENROOM_BASE_URL": "https://social.example.com"}, "127.0.0.1", 1)
    assert env["GREENROOM_BASE_URL"] == "https://social.example.com"
