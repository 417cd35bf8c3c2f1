"""Processes that start together on a fresh data directory agree on its generated secrets.

`make run` starts the web server, a worker and beat at once; on a first run none of the keys
exist yet. Each process must end up with the same complete keys, and none may fail to start.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

PROCESSES = 8

READ = """
import os, time
while not os.path.exists({go!r}):
    time.sleep(0.001)
from django.conf import settings
print(settings.SECRET_KEY, settings.VAULT_KEYS, settings.SANDBOX_ADMIN_KEY)
"""


def test_processes_starting_together_share_complete_generated_secrets(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "PYTEST"))}
    for name in ("SECRET_KEY", "GREENROOM_VAULT_KEYS", "SANDBOX_ADMIN_KEY"):
        env.pop(name, None)
    env.update(GREENROOM_DATA_DIR=str(tmp_path), DJANGO_SETTINGS_MODULE="greenroom.settings")
    go = tmp_path / "go"
    processes = [
        subprocess.Popen(  # noqa: S603 - our own interpreter and code
            [sys.executable, "-c", READ.format(go=str(go))],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(PROCESSES)
    ]
    go.touch()
    results = [process.communicate(timeout=120) for process in processes]
    assert [p.returncode for p in processes] == [0] * PROCESSES, [err for _, err in results]
    seen = {out.strip() for out, _ in results}
    assert len(seen) == 1, seen
    secret, *_ = seen.pop().split()
    assert len(secret) > 40
    assert (tmp_path / "secret_key").read_text().strip() == secret
    # Only the keys are left: every process removed its draft.
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == []
