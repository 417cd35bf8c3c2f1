"""Inbox workers as real processes on one SQLite file: killed with SIGKILL in the middle of a
batch, or two draining the same backlog at once. Nothing is lost and nothing is stored twice.

A setup process lands a backlog the way webhooks do (comments, replies that arrive before their
parents, DM threads, replayed deliveries) without processing it. Workers then run the inbox's
own drain (`tasks.drain_inbound`, what the Celery task and the sweep call) in batches of 150.
The in-process test of the same promise (test_ingestion.py) raises inside the transaction; here
the operating system ends the process with the transaction open, the way an out-of-memory kill
or a lost machine does.
"""

from __future__ import annotations

import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

ROOTS = 200  # comments on the post, each from its own person
REPLIES = 300  # answers to those comments; every third one lands before its parent
DM_THREADS = 40
DMS_PER_THREAD = 5
REPLAYS = 60  # deliveries of items already stored
DISTINCT = ROOTS + REPLIES + DM_THREADS * DMS_PER_THREAD

SETUP = """
import json, django
from datetime import UTC, datetime, timedelta
django.setup()
from django.core.management import call_command
call_command("migrate", verbosity=0)
from greenroom.core import actions as core
from greenroom.networks.actions import do_ingest_inbound, inbound_stored
from greenroom.networks.base import InboundItem
owner = core.do_create_user(
    username="owner", email="o@example.com", password=None, acting_user=None
)
org = core.do_create_organization(name="Acme", owner=owner, acting_user=None)
brand = core.do_create_brand(org, name="Coffee", acting_user=None)
channel = core.do_create_channel(
    org, brand=brand, kind="x", handle="@acme", sandboxed=True, acting_user=None
)
# The backlog waits for the workers under test: no task is queued for it.
inbound_stored.disconnect(dispatch_uid="inbox.process_inbound")
base = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)

def item(external_id, text, author, at, kind="comment", in_reply_to=None, thread_id=None):
    raw = {"id": external_id, "kind": kind, "text": text,
           "author": {"handle": author, "name": author.title()},
           "in_reply_to": in_reply_to, "thread_id": thread_id, "created_at": at.isoformat()}
    return InboundItem(external_id=external_id, kind=kind, text=text, author_handle=author,
                       author_name=author.title(), created_at=at, in_reply_to=in_reply_to,
                       thread_id=thread_id, raw=raw)

roots = [item(f"c{n}", f"Is the cold brew back? #{n}", f"fan{n}", base + timedelta(seconds=n),
              in_reply_to="post-1") for n in range({ROOTS})]
replies = [item(f"r{n}", f"Me too, and bigger cups please ({n})", f"fan{n % {ROOTS}}",
                base + timedelta(minutes=30, seconds=n), in_reply_to=f"c{n % {ROOTS}}")
           for n in range({REPLIES})]
dms = [item(f"d{t}-{k}", f"order {t} question {k}", f"buyer{t}",
            base + timedelta(hours=1, minutes=k, seconds=t), kind="dm", thread_id=f"dm-{t}")
       for t in range({DM_THREADS}) for k in range({DMS_PER_THREAD})]
early = replies[::3]  # these reach us before the comments they answer
order = early + roots + [r for r in replies if r not in early] + dms + roots[:{REPLAYS}]
for start in range(0, len(order), 50):
    do_ingest_inbound(channel, order[start:start + 50], source="webhook")
print(json.dumps({"channel": channel.pk}))
"""

WORKER = """
import os, time, django
django.setup()
from greenroom.inbox import ingest, tasks
ingest.BATCH = 150
stop_in = {STOP_IN}
real = ingest._ingest_batch
calls = []

def batch(*args, **kwargs):
    real(*args, **kwargs)
    calls.append(1)
    if len(calls) == stop_in:
        # This batch's rows are written and its transaction is still open.
        print("inside", flush=True)
        time.sleep(120)

ingest._ingest_batch = batch
# A pause between batches, as a Celery worker has between tasks: the other worker's turn.
probe = ingest.inbound_pending
def pending():
    time.sleep(0.2)
    return probe()
ingest.inbound_pending = pending
print("ready", flush=True)
while not os.path.exists({GO!r}):
    time.sleep(0.01)
print("stored", tasks.drain_inbound(max_batches=100), flush=True)
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
        CELERY_BROKER_URL="memory://",
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


@pytest.fixture(scope="module")
def backlog(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A data directory holding the landed backlog, made once: each test works on a copy."""
    data_dir = tmp_path_factory.mktemp("backlog")
    env = environment(data_dir)
    code = SETUP
    for name, value in {
        "ROOTS": ROOTS,
        "REPLIES": REPLIES,
        "DM_THREADS": DM_THREADS,
        "DMS_PER_THREAD": DMS_PER_THREAD,
        "REPLAYS": REPLAYS,
    }.items():
        code = code.replace("{" + name + "}", str(value))
    setup = python(code, env)
    out, _ = setup.communicate(timeout=300)
    assert setup.returncode == 0, out
    assert query(data_dir, "SELECT count(*) FROM networks_inboundevent") == [(DISTINCT,)]
    return data_dir


def setup_backlog(backlog: Path, data_dir: Path) -> dict[str, str]:
    """A copy of the backlog's data directory (the database, its generated keys) in data_dir."""
    shutil.copytree(backlog, data_dir, dirs_exist_ok=True)
    return environment(data_dir)


def worker(env: dict[str, str], stop_in: int = 0) -> subprocess.Popen[str]:
    """A worker that drains once it has started and the file `go` exists."""
    go = str(Path(env["GREENROOM_DATA_DIR"]) / "go")
    code = WORKER.replace("{STOP_IN}", str(stop_in)).replace("{GO!r}", repr(go))
    process = python(code, env)
    wait_for_line(process, "ready")
    return process


def go(data_dir: Path) -> None:
    (data_dir / "go").touch()


def query(data_dir: Path, sql: str, *args: object) -> list[tuple[object, ...]]:
    with sqlite3.connect(data_dir / "greenroom.sqlite3", timeout=30) as db:
        return list(db.execute(sql, args))


def count(data_dir: Path, sql: str) -> int:
    value = query(data_dir, sql)[0][0]
    assert isinstance(value, int)
    return value


def wait_for_line(process: subprocess.Popen[str], wanted: str, seconds: float = 120) -> None:
    assert process.stdout is not None
    deadline = time.monotonic() + seconds
    seen = []
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line and process.poll() is not None:
            break
        seen.append(line)
        if line.strip() == wanted:
            return
    raise AssertionError(f"no {wanted!r} from the worker: {''.join(seen)}")


def assert_everything_stored_once(data_dir: Path) -> None:
    """Every delivered item is one message in the right conversation; every count agrees."""
    assert (
        count(data_dir, "SELECT count(*) FROM networks_inboundevent WHERE processed_at IS NULL")
        == 0
    )
    assert count(data_dir, "SELECT count(*) FROM inbox_unreadableevent") == 0
    assert count(data_dir, "SELECT count(*) FROM inbox_message") == DISTINCT
    assert (
        count(
            data_dir, "SELECT count(DISTINCT channel_id || ':' || external_id) FROM inbox_message"
        )
        == DISTINCT
    )
    # One conversation per comment thread and per DM thread, whatever the order of arrival.
    assert count(data_dir, "SELECT count(*) FROM inbox_conversation") == ROOTS + DM_THREADS
    misplaced = query(
        data_dir,
        """SELECT reply.external_id FROM inbox_message reply
           JOIN inbox_message parent ON parent.external_id = reply.in_reply_to
           WHERE reply.external_id LIKE 'r%' AND reply.conversation_id != parent.conversation_id""",
    )
    assert misplaced == []
    per_dm_thread = query(
        data_dir,
        """SELECT count(DISTINCT conversation_id) FROM inbox_message
           WHERE external_id LIKE 'd%' GROUP BY substr(external_id, 1, instr(external_id, '-'))""",
    )
    assert per_dm_thread == [(1,)] * DM_THREADS
    # The counters were written in the transactions that stored the messages: none counted twice.
    assert count(data_dir, "SELECT sum(messages_in) FROM inbox_conversation") == DISTINCT
    assert count(data_dir, "SELECT sum(messages_in) FROM inbox_contact") == DISTINCT
    assert (
        count(data_dir, "SELECT count(*) FROM inbox_inboxactivity WHERE kind = 'message_in'")
        == DISTINCT
    )
    assert count(data_dir, "SELECT count(*) FROM inbox_contact") == ROOTS + DM_THREADS


def test_a_worker_killed_inside_a_batch_loses_nothing_and_stores_nothing_twice(
    backlog: Path, tmp_path: Path
) -> None:
    env = setup_backlog(backlog, tmp_path)
    victim = worker(env, stop_in=3)
    go(tmp_path)
    try:
        wait_for_line(victim, "inside")
        victim.send_signal(signal.SIGKILL)
        victim.wait(timeout=30)
    finally:
        if victim.poll() is None:
            victim.kill()
    # Two batches committed; the third was written but never committed, and is gone.
    assert count(tmp_path, "SELECT count(*) FROM inbox_message") > 0
    waiting = count(
        tmp_path, "SELECT count(*) FROM networks_inboundevent WHERE processed_at IS NULL"
    )
    assert waiting == DISTINCT - 2 * 150
    assert count(tmp_path, "SELECT count(*) FROM inbox_message") == 2 * 150

    rescuer = worker(env)
    out, _ = rescuer.communicate(timeout=300)
    assert rescuer.returncode == 0, out
    assert f"stored {waiting}" in out, out
    assert_everything_stored_once(tmp_path)


def test_two_workers_draining_the_same_backlog_store_each_message_once(
    backlog: Path, tmp_path: Path
) -> None:
    env = setup_backlog(backlog, tmp_path)
    # Both have started; they begin at the same moment.
    first, second = worker(env), worker(env)
    go(tmp_path)
    outputs = [process.communicate(timeout=300)[0] for process in (first, second)]
    assert [first.returncode, second.returncode] == [0, 0], outputs
    stored = [
        int(line.split()[1])
        for out in outputs
        for line in out.splitlines()
        if line.startswith("stored ")
    ]
    assert sum(stored) == DISTINCT, outputs
    # Both took part (each took batches the other did not).
    assert min(stored) > 0, outputs
    assert_everything_stored_once(tmp_path)
