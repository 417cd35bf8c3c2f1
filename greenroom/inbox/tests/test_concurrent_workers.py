"""Several inbox workers on PostgreSQL at once, as docs/deploy.md runs them.

Each worker claims its own events (FOR UPDATE SKIP LOCKED), so two batches of one organisation
can be written at the same moment: a reply in one and the comment it answers in the other, the
same person in both. They must still make one conversation per thread and one contact per
person, without a batch failing over it. (SQLite runs one writer at a time; the real-process
test of that is test_killed_ingest.py.)
"""

from __future__ import annotations

import logging
import threading
from datetime import timedelta
from typing import Any

import pytest
from django.db import connection, connections

from greenroom.conftest import World
from greenroom.inbox import ingest, signals, tasks
from greenroom.inbox.models import Contact, Conversation, Message
from greenroom.inbox.tests.conftest import BASE, item, land
from greenroom.networks.actions import inbound_stored
from greenroom.networks.models import InboundEvent

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        connection.vendor != "postgresql", reason="SQLite runs one writer at a time"
    ),
]

WORKERS = 4
PEOPLE = 30


def backlog(world: World) -> int:
    """Comments from PEOPLE people, each answered several times, the answers spread far from
    their comment; and DM threads. Returns the number of items."""
    items = []
    for n in range(PEOPLE):
        items.append(item(f"c{n}", f"where is my order {n}", author=f"p{n}", at=BASE))
    for k in range(6):
        for n in range(PEOPLE):
            items.append(
                item(
                    f"r{k}-{n}",
                    f"still waiting ({k})",
                    author=f"p{n}",
                    in_reply_to=f"c{n}",
                    at=BASE + timedelta(minutes=k + 1),
                )
            )
    for n in range(PEOPLE):
        for k in range(3):
            items.append(
                item(
                    f"d{n}-{k}",
                    f"dm {k}",
                    kind="dm",
                    author=f"p{n}",
                    thread_id=f"t{n}",
                    at=BASE + timedelta(minutes=10 + k),
                )
            )
    # Landed without the task each commit queues: the workers under test take them.
    inbound_stored.disconnect(dispatch_uid="inbox.process_inbound")
    try:
        land(world.coffee_x, *items, process=False)
    finally:
        signals.connect()
    return len(items)


def test_workers_draining_one_organisation_at_once_make_each_thread_and_person_once(
    world: World, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    total = backlog(world)
    # Small batches, so every thread is spread over several batches and workers.
    monkeypatch.setattr(ingest, "BATCH", 12)
    start = threading.Barrier(WORKERS)
    stored: list[int] = []
    failures: list[BaseException] = []

    def work() -> None:
        try:
            start.wait()
            stored.append(tasks.drain_inbound(max_batches=1000))
        except BaseException as exc:  # reported by the assertion below
            failures.append(exc)
        finally:
            connections.close_all()

    with caplog.at_level(logging.ERROR, logger="greenroom.inbox.tasks"):
        threads = [threading.Thread(target=work) for _ in range(WORKERS)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)
    assert failures == []
    # No batch failed and fell back to one event at a time.
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR] == []
    assert sum(stored) == total
    assert len([n for n in stored if n]) > 1  # the work was shared

    assert not InboundEvent.objects.filter(processed_at__isnull=True).exists()
    assert Message.objects.count() == total
    assert Conversation.objects.filter(kind="comment").count() == PEOPLE
    assert Conversation.objects.filter(kind="dm").count() == PEOPLE
    assert Contact.objects.count() == PEOPLE
    for n in range(PEOPLE):
        conversation = Conversation.objects.get(kind="comment", messages__external_id=f"c{n}")
        assert conversation.messages_in == 7
        assert set(conversation.messages.values_list("external_id", flat=True)) == {
            f"c{n}",
            *(f"r{k}-{n}" for k in range(6)),
        }
    contacts: dict[str, Any] = dict(Contact.objects.values_list("handle", "messages_in"))
    assert contacts == {f"p{n}": 10 for n in range(PEOPLE)}
