"""The shape of an inbound event's payload, whatever the network.

The inbox reads the same fields from every network (the sandbox's item JSON: id, kind, text,
author.handle/name, created_at, in_reply_to, thread_id, media); connectors whose network speaks
another JSON put those fields on top and keep the network's own JSON under "network", untouched,
for anything network-specific (reply refs, visibility ...).
"""

from __future__ import annotations

import dataclasses
import hashlib
import math
from datetime import UTC, datetime
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


def item_from_stored(external_id: str, kind: str, payload: Any) -> InboundItem:
    """The item a stored payload was made from (`stored_payload` read back): the standard
    fields, and the network's own JSON as `raw` where it was kept under "network". A time
    that cannot be read is now."""
    from greenroom.networks.base import InboundItem

    fields = payload if isinstance(payload, dict) else {}
    author = fields.get("author")
    if not isinstance(author, dict):
        author = {}
    made = fields.get("created_at")
    try:
        created_at = datetime.fromisoformat(made) if isinstance(made, str) else None
    except ValueError:
        created_at = None
    if created_at is None or created_at.tzinfo is None:
        created_at = datetime.now(UTC)
    media = fields.get("media")
    return InboundItem(
        external_id=external_id,
        kind=kind,
        text=str(fields.get("text") or ""),
        author_handle=str(author.get("handle") or ""),
        author_name=str(author.get("name") or ""),
        created_at=created_at,
        in_reply_to=str(fields.get("in_reply_to") or "") or None,
        thread_id=str(fields.get("thread_id") or "") or None,
        raw=network_json(fields),
        media=[m for m in media if isinstance(m, dict)] if isinstance(media, list) else [],
    )


def network_json(raw: Any) -> dict[str, Any]:
    """The network's own JSON of a stored payload (the payload itself when it is not wrapped):
    what a connector reads its network-specific fields from when it answers, hides or deletes
    an item rebuilt from the stored message."""
    if is_standard(raw) and isinstance(raw.get("network"), dict):
        return raw["network"]  # type: ignore[no-any-return]
    return raw if isinstance(raw, dict) else {}


# What an event row can hold (InboundEvent.external_id); longer ids keep a hash of the rest.
ID_LENGTH = 200
# Nesting kept in a stored payload: deeper values are dropped (the JSON encoders and the
# databases stop somewhere past 250 levels; no network's JSON comes near 64).
MAX_DEPTH = 64
_INT64 = 2**63


def storable_text(value: str) -> str:
    """Text as the database takes it: NUL removed (PostgreSQL refuses it in text and JSON),
    a lone surrogate (a JSON "\\ud800" escape with no pair) replaced by U+FFFD."""
    if "\x00" in value:
        value = value.replace("\x00", "")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        value = value.encode("utf-16", "surrogatepass").decode("utf-16", "replace")
    return value


def storable_json(value: Any, depth: int = 0) -> Any:
    """A network's JSON as the database takes it: its text (keys too) through `storable_text`,
    numbers JSON cannot carry (infinite) as null and integers past 64 bits as their digits
    (the SQLite encoder refuses them), nesting past MAX_DEPTH dropped."""
    if isinstance(value, str):
        return storable_text(value)
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, int):
        return value if -_INT64 <= value < _INT64 else str(value)
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if depth >= MAX_DEPTH:
        return None
    if isinstance(value, dict):
        return {storable_text(str(k)): storable_json(v, depth + 1) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [storable_json(v, depth + 1) for v in value]
    return storable_text(str(value))


def storable_id(value: str) -> str:
    """An external id that fits its column: a longer one keeps its start and a hash of the
    whole, so two long ids never become one."""
    value = storable_text(value)
    if len(value) <= ID_LENGTH:
        return value
    digest = hashlib.sha256(value.encode()).hexdigest()[:16]
    return f"{value[: ID_LENGTH - 17]}~{digest}"


def storable_item(item: InboundItem) -> InboundItem:
    """A webhook's item as the database can store it (see storable_text and storable_json):
    whatever a network sends, what can be read lands, and one odd field never fails the
    delivery its neighbours came in. A time that has no UTC equivalent (year 1 at +14:00,
    year 9999 at -14:00) becomes the time it arrived: the inbox stores times in UTC."""
    raw = storable_json(item.raw)
    created_at = item.created_at
    try:
        created_at.astimezone(UTC)
    except OverflowError:
        created_at = datetime.now(UTC)
        if is_standard(raw):
            raw["created_at"] = created_at.isoformat()
    return dataclasses.replace(
        item,
        created_at=created_at,
        external_id=storable_id(item.external_id),
        text=storable_text(item.text),
        author_handle=storable_text(item.author_handle),
        author_name=storable_text(item.author_name),
        in_reply_to=storable_text(item.in_reply_to) if item.in_reply_to else item.in_reply_to,
        thread_id=storable_text(item.thread_id) if item.thread_id else item.thread_id,
        raw=raw,
        media=storable_json(item.media),
    )
