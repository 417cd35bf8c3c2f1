"""A publishing process killed with SIGKILL in the middle of a send: nothing lost, nothing twice.

Real processes on a throwaway SQLite database: one sets up a channel and a due post, a second
starts publishing it and is killed (before the network saved the post, or after it saved it and
while the answer was still on its way), a third comes later as any worker would. The network is
the sandbox, served in each process (its tables are in the same database, so what it saved
survives the kill the way a real network's would).
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

SETUP = """
import json, django
from datetime import timedelta
django.setup()
from django.core.management import call_command
from django.utils import timezone
call_command("migrate", verbosity=0)
from greenroom.core import actions as core
from greenroom.networks.actions import do_connect_sandbox_channel
from greenroom.networks.sandbox import failures
from greenroom.networks.sandbox.inprocess import in_process
from greenroom.publishing import actions
from greenroom.publishing.models import Variant
owner = core.do_create_user(
    username="owner", email="o@example.com", password=None, acting_user=None
)
org = core.do_create_organization(name="Acme", owner=owner, acting_user=None)
brand = core.do_create_brand(org, name="Coffee", acting_user=None)
channel = core.do_create_channel(
    org, brand=brand, kind="x", handle="@acme", sandboxed=True, acting_user=None
)
with in_process():
    account = do_connect_sandbox_channel(channel, acting_user=None)
    post = actions.do_create_post(
        org, text="Cold brew is back.", channels=[channel],
        publish_at=timezone.now() + timedelta(hours=1), acting_user=owner,
    )
    actions.do_submit_for_approval(post, acting_user=owner)
variant = Variant.objects.get(post=post)
assert variant.state == "scheduled", variant.state
now = timezone.now()
Variant.objects.filter(pk=variant.pk).update(publish_at=now, next_attempt_at=now)
failures.update(account, {MODE})
print(json.dumps({"variant": variant.pk, "key": variant.idempotency_key, "account": account.pk}))
"""

PUBLISH = """
import django
django.setup()
from greenroom.networks.sandbox import failures
from greenroom.networks.sandbox.inprocess import in_process
from greenroom.networks.sandbox.models import SandboxAccount
from greenroom.publishing import engine
if {CALM}:
    failures.update(SandboxAccount.objects.get(), {{"latency_ms": 0, "timeout_rate": 0}})
with in_process():
    print("reclaimed", engine.reclaim_expired(), flush=True)
    print("claimed", engine.keep_publishing(budget_s=30).claimed, flush=True)
"""


def environment(data_dir: Path) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("DATABASE_URL", "CELERY_", "CACHE_URL", "DJANGO_", "PYTEST"))
    }
    env.update(
        GREENROOM_DATA_DIR=str(data_dir),
        DJANGO_SETTINGS_MODULE="greenroom.settings",
        LOG_LEVEL="WARNING",
        # Short leases, so the later process may take over soon after the kill; the client waits
        # longer than the network's hang, so the killed process is still waiting when killed.
        PUBLISHING_LEASE_S="2",
        SANDBOX_CLIENT_TIMEOUT_S="60",
        SANDBOX_LATENCY_MS="0",
        SANDBOX_ERROR_RATE="0",
        SANDBOX_TIMEOUT_RATE="0",
    )
    return env


def python(code: str, env: dict[str, str]) -> subprocess.Popen[str]:
    return subprocess.Popen(  # noqa: S603 - our own interpreter and code
        [sys.executable, "-c", code],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def query(data_dir: Path, sql: str, *args: object) -> list[tuple[object, ...]]:
    with sqlite3.connect(data_dir / "greenroom.sqlite3", timeout=30) as db:
        return list(db.execute(sql, args))


def wait_until(check: Callable[[], bool], seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.1)
    raise AssertionError("timed out waiting")


@pytest.mark.parametrize(
    ("when", "mode"),
    [
        # Killed while the network waits before doing anything: the post was never made.
        ("before the network saved the post", '{"latency_ms": 30000}'),
        # Killed after the network saved the post, while its answer was on its way.
        ("after the network saved the post", '{"timeout_rate": 1.0, "timeout_s": 30}'),
    ],
)
def test_a_worker_killed_mid_publish_leaves_exactly_one_post(
    tmp_path: Path, when: str, mode: str
) -> None:
    env = environment(tmp_path)
    setup = python(SETUP.replace("{MODE}", mode), env)
    out, _ = setup.communicate(timeout=300)
    assert setup.returncode == 0, out
    made = json.loads(out.strip().splitlines()[-1])

    victim = python(PUBLISH.format(CALM=False), env)
    try:
        # It claimed the variant and its request is at the network.
        wait_until(
            lambda: (
                query(
                    tmp_path, "SELECT state FROM publishing_variant WHERE id = ?", made["variant"]
                )
                == [("publishing",)]
            )
        )
        if when.startswith("after"):
            wait_until(
                lambda: (
                    query(
                        tmp_path,
                        "SELECT count(*) FROM sandbox_sandboxpost WHERE idempotency_key = ?",
                        made["key"],
                    )
                    == [(1,)]
                )
            )
        else:
            time.sleep(1)
        victim.send_signal(signal.SIGKILL)
        victim.wait(timeout=30)
    finally:
        if victim.poll() is None:
            victim.kill()
    on_network = query(
        tmp_path, "SELECT count(*) FROM sandbox_sandboxpost WHERE idempotency_key = ?", made["key"]
    )[0][0]
    assert on_network == (1 if when.startswith("after") else 0)
    assert query(
        tmp_path, "SELECT state FROM publishing_variant WHERE id = ?", made["variant"]
    ) == [("publishing",)]

    time.sleep(2.5)  # the lease runs out: nobody renews a dead worker's
    rescuer = python(PUBLISH.format(CALM=True), env)
    out, _ = rescuer.communicate(timeout=120)
    assert rescuer.returncode == 0, out
    assert "reclaimed 1" in out and "claimed 1" in out, out

    [(state, external_id)] = query(
        tmp_path,
        "SELECT state, external_id FROM publishing_variant WHERE id = ?",
        made["variant"],
    )
    posts = query(
        tmp_path,
        "SELECT external_id FROM sandbox_sandboxpost WHERE idempotency_key = ?",
        made["key"],
    )
    assert state == "published"
    assert posts == [(external_id,)]  # exactly one post, and it is the one the variant names
    outcomes = [
        row[0]
        for row in query(
            tmp_path,
            "SELECT outcome FROM publishing_publishattempt WHERE variant_id = ? ORDER BY id",
            made["variant"],
        )
    ]
    # The killed try is recorded as unknown (no worker reported). Then the network was asked
    # first: the post it had saved was found and not sent again; the one it never saw was sent.
    assert outcomes == ["unknown", "found" if when.startswith("after") else "published"]
