"""New inbound events are turned into messages by a Celery task sent when they commit."""

from __future__ import annotations

from typing import Any

from greenroom.networks.actions import inbound_stored


def _on_inbound_stored(sender: Any, *, channel: Any, event_ids: list[int], **kwargs: Any) -> None:
    from greenroom.inbox.tasks import process_inbound

    # Sent after the events committed; a lost task is picked up by the beat sweep.
    process_inbound.delay(list(event_ids))


def connect() -> None:
    inbound_stored.connect(_on_inbound_stored, dispatch_uid="inbox.process_inbound")
