"""The shape of an inbound event's payload, whatever the network.

The inbox reads the same fields from every network (the sandbox's item JSON: id, kind, text,
author.handle/name, created_at, in_reply_to, thread_id, media); connectors whose network speaks
another JSON put those fields on top and keep the network's own JSON under "network", untouched,
for anything network-specific (reply refs, visibility ...).
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from greenroom.networks.base import InboundItem


def standard_payload(
    *,
    external_id: str,
    kind: str,
    text: str,
    author_handle: str,
    author_name: str,
    created_at: datetime,
    in_reply_to: str | None,
    thread_id: str | None,
    media: list[dict[str, Any]] | None = None,
    network: dict[str, Any],
) -> dict[str, Any]:
    return {
        "id": external_id,
        "kind": kind,
        "text": text,
        "author": {"handle": author_handle, "name": author_name},
        "created_at": created_at.isoformat(),
        "in_reply_to": in_reply_to or "",
        "thread_id": thread_id or "",
        "media": media or [],
        "network": network,
    }


def is_standard(raw: Any, *, external_id: str | None = None) -> bool:
    """Whether a payload already has the standard shape (the sandbox's item JSON, or what
    `standard_payload` made): an id, a kind, a text and an author with a handle. Network JSON
    has no "kind" of ours at its top."""
    if not isinstance(raw, dict):
        return False
    author = raw.get("author")
    return (
        isinstance(raw.get("text"), str)
        and isinstance(raw.get("kind"), str)
        and isinstance(author, dict)
        and isinstance(author.get("handle"), str)
        and (external_id is None or str(raw.get("id")) == external_id)
    )


def stored_payload(item: InboundItem) -> dict[str, Any]:
    """What an inbound event keeps of an item: its payload when the connector gave it the
    standard shape, else the standard fields read from the item with the network's JSON under
    "network", untouched. So the inbox reads every network's events the same way, and nothing
    the network sent is lost."""
    if is_standard(item.raw, external_id=item.external_id):
        return item.raw
    return standard_payload(
        external_id=item.external_id,
        kind=item.kind,
        text=item.text,
        author_handle=item.author_handle,
        author_name=item.author_name,
        created_at=item.created_at,
        in_reply_to=item.in_reply_to,
        thread_id=item.thread_id,
        media=item.media,
        network=item.raw,
    )


def network_json(raw: Any) -> dict[str, Any]:
    """The network's own JSON of a stored payload (the payload itself when it is not wrapped):
    what a connector reads its network-specific fields from when it answers, hides or deletes
    an item rebuilt from the stored message."""
    if is_standard(raw) and isinstance(raw.get("network"), dict):
        return raw["network"]  # type: ignore[no-any-return]
    return raw if isinstance(raw, dict) else {}
