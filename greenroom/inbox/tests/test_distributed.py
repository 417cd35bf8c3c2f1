"""Distributed mode as docs/deploy.md runs it: PostgreSQL, a Redis broker and two Celery workers.

Real processes: a web-side process lands webhook deliveries (each commit queues the inbox task on
Redis), and two `celery worker` processes, two worker processes each, take the tasks. Every
message is stored once, in the right conversation, by the tasks of both workers.

Runs in CI's PostgreSQL pass (GREENROOM_TEST_REDIS_URL points at the Redis .ci/run starts);
elsewhere it skips with the reason, or fails when GREENROOM_REQUIRE_PEERS=1.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.db import connection

from greenroom.conftest import World
from greenroom.inbox.models import Contact, Conversation, Message
from greenroom.networks.connections.testing import missing_peer
from greenroom.networks.models import InboundEvent

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        connection.vendor != "postgresql", reason="distributed mode runs on PostgreSQL"
    ),
]

PEOPLE = 40
REPLIES = 5  # answers to each person's comment, spread over other deliveries
DMS = 3

LAND = """
import django
from datetime import timedelta
django.setup()
from django.utils import timezone
from greenroom.core.models import Channel
from greenroom.networks.actions import do_ingest_inbound
from greenroom.networks.base import InboundItem

channel = Channel.objects.get(pk={CHANNEL})
base = timezone.now() - timedelta(hours=1)

def item(external_id, text, author, minutes, kind="comment", in_reply_to=None, thread_id=None):
    at = base + timedelta(minutes=minutes)
    raw = {"id": external_id, "kind": kind, "text": text,
           "author": {"handle": author, "name": author.title()},
           "in_reply_to": in_reply_to, "thread_id": thread_id, "created_at": at.isoformat()}
    return InboundItem(external_id=external_id, kind=kind, text=text, author_handle=author,
                       author_name=author.title(), created_at=at, in_reply_to=in_reply_to,
                       thread_id=thread_id, raw=raw)

items = [item(f"c{n}", f"where is order {n}?", f"p{n}", 0, in_reply_to="post-1")
         for n in range({PEOPLE})]
items += [item(f"r{k}-{n}", f"still waiting ({k})", f"p{n}", k + 1, in_reply_to=f"c{n}")
          for k in range({REPLIES}) for n in range({PEOPLE})]
items += [item(f"d{n}-{k}", f"dm {k}", f"p{n}", 10 + k, kind="dm", thread_id=f"t{n}")
          for n in range({PEOPLE}) for k in range({DMS})]
# Webhook deliveries of 20, as a network sends them; each commit queues the inbox task.
for start in range(0, len(items), 20):
    do_ingest_inbound(channel, items[start:start + 20], source="webhook")
print("landed", len(items), flush=True)
"""

DONE = re.compile(r"process_inbound\[[^\]]+\] succeeded in [0-9.]+s: (\d+)")


def redis_url() -> str:
    """The test Redis, emptied; skip (fail in CI) when there is none."""
    import redis

    url = os.environ.get("GREENROOM_TEST_REDIS_URL", "")
    reason = ""
    if not url:
        reason = "GREENROOM_TEST_REDIS_URL is not set: start Redis (.ci/run does) to run this test"
    else:
        try:
            redis.Redis.from_url(url, socket_timeout=3).flushdb()
        except redis.RedisError as exc:
            reason = f"Redis at {url} does not answer: {type(exc).__name__}"
    if reason:
        missing_peer(reason)
    return url


def environment(tmp_path: Path, broker: str) -> dict[str, str]:
    db = connection.settings_dict
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("DATABASE_URL", "CELERY_", "CACHE_URL", "DJANGO_", "PYTEST"))
    }
    env.update(
        GREENROOM_DATA_DIR=str(tmp_path),
        DJANGO_SETTINGS_MODULE="greenroom.settings",
        DATABASE_URL=(
            f"postgres://{db['USER']}:{db['PASSWORD'] or ''}@{db['HOST']}:{db['PORT']}/{db['NAME']}"
        ),
        CELERY_BROKER_URL=broker,
        LOG_LEVEL="INFO",
    )
    return env


def start(args: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("wb") as out:
        return subprocess.Popen(  # noqa: S603 - our own interpreter and code
            [sys.executable, *args], env=env, stdout=out, stderr=subprocess.STDOUT
        )


def test_two_workers_on_redis_store_every_delivered_message_once(
    world: World, tmp_path: Path
) -> None:
    env = environment(tmp_path, redis_url())
    channel = world.coffee_x
    workers = [
        start(
            [
                *("-m", "celery", "-A", "greenroom", "worker", "--loglevel", "INFO"),
                *("--concurrency", "2", "--without-mingle", "--without-gossip"),
                *("-n", f"worker{n}@%h"),
            ],
            env,
            tmp_path / f"worker{n}.log",
        )
        for n in (1, 2)
    ]
    try:
        deadline = time.monotonic() + 60
        while not all(b"ready." in (tmp_path / f"worker{n}.log").read_bytes() for n in (1, 2)):
            assert time.monotonic() < deadline, "the workers did not start"
            assert all(w.poll() is None for w in workers), "a worker exited"
            time.sleep(0.2)

        code = LAND
        for name, value in {
            "CHANNEL": channel.pk,
            "PEOPLE": PEOPLE,
            "REPLIES": REPLIES,
            "DMS": DMS,
        }.items():
            code = code.replace("{" + name + "}", str(value))
        lander = subprocess.run(  # noqa: S603 - our own interpreter and code
            [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120
        )
        assert lander.returncode == 0, lander.stdout + lander.stderr
        total = PEOPLE * (1 + REPLIES + DMS)
        assert f"landed {total}" in lander.stdout

        deadline = time.monotonic() + 120
        while InboundEvent.objects.filter(processed_at__isnull=True).exists():
            assert time.monotonic() < deadline, "the workers left events pending"
            time.sleep(0.2)
    finally:
        for worker in workers:
            worker.terminate()
        for worker in workers:
            try:
                worker.wait(timeout=20)
            except subprocess.TimeoutExpired:
                worker.kill()

    logs = [(tmp_path / f"worker{n}.log").read_text(errors="replace") for n in (1, 2)]
    stored = [[int(n) for n in DONE.findall(log)] for log in logs]
    # Both workers ran tasks, and the tasks together stored each message exactly once.
    assert all(stored), logs
    assert sum(map(sum, stored)) == total, stored
    assert "Traceback" not in "".join(logs)

    assert Message.objects.filter(channel=channel).count() == total
    assert Conversation.objects.filter(channel=channel, kind="comment").count() == PEOPLE
    assert Conversation.objects.filter(channel=channel, kind="dm").count() == PEOPLE
    for n in range(PEOPLE):
        thread = Conversation.objects.get(messages__external_id=f"c{n}")
        assert thread.messages_in == 1 + REPLIES
    assert dict(Contact.objects.filter(network="x").values_list("handle", "messages_in")) == {
        f"p{n}": 1 + REPLIES + DMS for n in range(PEOPLE)
    }
