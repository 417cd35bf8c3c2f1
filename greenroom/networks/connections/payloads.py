"""The shape of an inbound event's payload, whatever the network.

The inbox reads the same fields from every network (the sandbox's item JSON: id, kind, text,
author.handle/name, created_at, in_reply_to, thread_id, media); connectors whose network speaks
another JSON put those fields on top and keep the network's own JSON under "network", untouched,
for anything network-specific (reply refs, visibility ...).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any


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
