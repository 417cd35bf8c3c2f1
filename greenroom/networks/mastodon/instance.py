"""What one Mastodon server allows, read from the server itself.

Each server sets its own text limit and number of attachments (configuration.statuses in
GET /api/v2/instance). Greenroom reads them, keeps them for an hour, and prefers them to the rule
table's Mastodon defaults for channels on that server. A server that does not say falls back to
the rule table.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from django.conf import settings
from django.core.cache import cache
from mastodon import Mastodon

from greenroom.networks import rules

if TYPE_CHECKING:
    from greenroom.core.models import Channel

logger = logging.getLogger(__name__)

CACHE_SECONDS = 3600
USER_AGENT = "Greenroom/1.0 (+https://github.com/greenroom)"


@dataclass(frozen=True)
class InstanceLimits:
    max_characters: int
    max_media_attachments: int
    characters_reserved_per_url: int
    # True when the numbers came from the server, False when from the rule table's defaults.
    from_server: bool


def normalize(url: str) -> str:
    """https://host[:port] of an instance typed as 'mastodon.social', 'https://x.y/', ..."""
    url = url.strip()
    if "://" not in url:
        url = "https://" + url
    parts = urlsplit(url)
    if not parts.netloc:
        raise ValueError(url)
    return f"{parts.scheme}://{parts.netloc}".lower()


def api(instance: str, access_token: str | None = None) -> Mastodon:
    """A Mastodon.py client for the instance; rate limits raise instead of sleeping a worker."""
    return Mastodon(
        api_base_url=instance,
        access_token=access_token,
        ratelimit_method="throw",
        request_timeout=settings.NETWORK_CLIENT_TIMEOUT_S,
        version_check_mode="none",
        user_agent=USER_AGENT,
    )


def defaults() -> InstanceLimits:
    spec = rules.get_spec("mastodon", "feed")
    return InstanceLimits(
        max_characters=spec.text.limit if spec.text else 500,
        max_media_attachments=spec.media.max_items if spec.media else 4,
        characters_reserved_per_url=(spec.text.url_length or 23) if spec.text else 23,
        from_server=False,
    )


def limits(instance: str) -> InstanceLimits:
    """The server's limits, cached for an hour (the rule table's when it does not say)."""
    key = f"greenroom:mastodon:limits:{instance}"
    cached = cache.get(key)
    if isinstance(cached, InstanceLimits):
        return cached
    fallback = defaults()
    try:
        info: Any = api(instance).instance_v2()
        statuses = info["configuration"]["statuses"]
        found = InstanceLimits(
            max_characters=int(statuses.get("max_characters") or fallback.max_characters),
            max_media_attachments=int(
                statuses.get("max_media_attachments") or fallback.max_media_attachments
            ),
            characters_reserved_per_url=int(
                statuses.get("characters_reserved_per_url") or fallback.characters_reserved_per_url
            ),
            from_server=True,
        )
    except Exception as exc:
        # Keep the defaults briefly, so one unreachable server does not slow every check.
        logger.info("mastodon instance limits unavailable instance=%s error=%s", instance, exc)
        cache.set(key, fallback, 300)
        return fallback
    cache.set(key, found, CACHE_SECONDS)
    return found


def limits_for(channel: Channel) -> InstanceLimits:
    """The limits that apply to a Mastodon channel (its server's, else the rule table's)."""
    connection = getattr(channel, "connection", None)
    if connection is None or not connection.service_url:
        return defaults()
    return limits(connection.service_url)
