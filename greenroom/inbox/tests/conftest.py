"""Helpers for the inbox tests: inbound items as networks deliver them, and captured escalations."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import pytest
from django.utils import timezone

from greenroom.core.models import Channel
from greenroom.inbox import actions
from greenroom.inbox.models import Conversation
from greenroom.networks.actions import do_ingest_inbound
from greenroom.networks.base import InboundItem
from greenroom.networks.sandbox.testing import sandbox  # noqa: F401

BASE = timezone.now().replace(microsecond=0) - timedelta(hours=1)


def item(
    external_id: str,
    text: str = "Hello there",
    *,
    kind: str = "comment",
    author: str = "minji",
    name: str = "",
    in_reply_to: str = "",
    thread_id: str = "",
    at: datetime | None = None,
) -> InboundItem:
    created = at or BASE
    raw = {
        "id": external_id,
        "kind": kind,
        "text": text,
        "author": {"handle": author, "name": name or author.title()},
        "in_reply_to": in_reply_to or None,
        "thread_id": thread_id or None,
        "created_at": created.isoformat(),
    }
    return InboundItem(
        external_id=external_id,
        kind=kind,
        text=text,
        author_handle=author,
        author_name=name or author.title(),
        created_at=created,
        in_reply_to=in_reply_to or None,
        thread_id=thread_id or None,
        raw=raw,
    )


def land(channel: Channel, *items: InboundItem, process: bool = True) -> list[int]:
    """Store items the way a webhook does, then let the inbox process them (as the task would)."""
    from greenroom.networks.models import InboundEvent

    do_ingest_inbound(channel, list(items), source="webhook")
    ids = list(
        InboundEvent.objects.filter(
            channel=channel, external_id__in=[i.external_id for i in items]
        ).values_list("pk", flat=True)
    )
    if process:
        actions.do_process_inbound(ids)
    return ids


def conversation_of(channel: Channel, external_id: str) -> Conversation:
    return Conversation.objects.get(messages__channel=channel, messages__external_id=external_id)


@dataclass
class Captured:
    notifications: list[dict[str, Any]] = field(default_factory=list)


_CAPTURED: list[Captured] = []


def _register_capture_schema() -> None:
    from apprise.decorators import notify

    @notify(on="capture", name="Greenroom test capture")
    def _capture(
        body: str, title: str, notify_type: str, meta: dict[str, Any], *args: Any, **kwargs: Any
    ) -> bool:
        for sink in _CAPTURED:
            sink.notifications.append({"title": title, "body": body, "url": meta.get("url")})
        return True


_register_capture_schema()


@pytest.fixture
def escalations(settings: Any) -> Iterator[Captured]:
    """Apprise notifications sent to capture:// URLs during the test."""
    sink = Captured()
    _CAPTURED.append(sink)
    settings.INBOX_ESCALATION_URLS = ["capture://ops"]
    try:
        yield sink
    finally:
        _CAPTURED.remove(sink)


@pytest.fixture(autouse=True)
def _forget_presence() -> Iterator[None]:
    """Who is viewing what lives in the cache; ids repeat between tests, so start empty."""
    from django.core.cache import cache

    cache.clear()
    yield


def sandbox_comment(world: Any, network: Any, key: str) -> tuple[Any, Any]:
    """A spam comment written on the sandbox network (`network`: the sandbox fixture) under one
    of Coffee X's posts and delivered to the inbox: (the inbox's Message, the SandboxItem)."""
    from greenroom.inbox.models import Message
    from greenroom.networks.base import OutgoingPost

    channel = world.coffee_x
    network.connect(channel)
    ref = network.connector(channel).publish(
        OutgoingPost(text="New beans today", idempotency_key=key)
    )
    written = network.write(channel, "Buy followers at bit.ly/x", in_reply_to=ref.external_id)
    network.deliver()
    return Message.objects.get(channel=channel, external_id=written.external_id), written
