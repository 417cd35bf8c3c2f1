"""Collision detection: who is looking at or answering a conversation right now.

Each open conversation page posts its state (viewing / replying) as a heartbeat; the entries live
in the cache (shared by the web processes: Redis, or the file cache in embedded mode) and count
for a little over two heartbeats after the last one. Others see a change within a second or two
over the page's event stream (inbox.live). Nothing of it needs to survive a restart.
"""

from __future__ import annotations

import time
from typing import Any

from django.conf import settings
from django.core.cache import cache

from greenroom.core.models import User


def heartbeat_s() -> int:
    """How often an open conversation page posts its state."""
    return int(settings.GREENROOM_INBOX_PRESENCE_HEARTBEAT_S)


def ttl_s() -> int:
    """How long a heartbeat counts: one late heartbeat does not make someone vanish."""
    return 2 * heartbeat_s() + 2


def _key(pk: int) -> str:
    return f"greenroom:inbox:presence:{pk}"


def people(pk: int) -> dict[str, dict[str, Any]]:
    """Who is on conversation `pk`, by user id: name, state, last heartbeat, replying since."""
    now, ttl = time.time(), ttl_s()
    found: dict[str, dict[str, Any]] = cache.get(_key(pk)) or {}
    return {k: v for k, v in found.items() if now - v.get("at", 0) < ttl}


def touch(pk: int, user: User, state: str) -> dict[str, dict[str, Any]]:
    """Record `user`'s heartbeat on conversation `pk`; returns everyone there now."""
    now = time.time()
    found = people(pk)
    mine = found.get(str(user.pk), {})
    replying_since = mine.get("replying_since")
    replying_since = (replying_since or now) if state == "replying" else None
    found[str(user.pk)] = {
        "name": user.name,
        "state": state,
        "at": now,
        "replying_since": replying_since,
    }
    cache.set(_key(pk), found, ttl_s() * 5)
    return found


def handle_seconds(pk: int, user: User) -> float | None:
    """How long `user` has been writing a reply on conversation `pk` (None: not replying)."""
    since = people(pk).get(str(user.pk), {}).get("replying_since")
    return time.time() - since if since else None


def signature(pk: int, *, besides: int) -> frozenset[tuple[str, str]]:
    """Who else is there and in what state, without the heartbeat times: it changes only when
    someone arrives, leaves (their entry ages out) or starts or stops replying."""
    return frozenset((k, v.get("state", "")) for k, v in people(pk).items() if k != str(besides))
