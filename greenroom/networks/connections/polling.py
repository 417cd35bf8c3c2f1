"""Polling the inbox of networks that do not push to us (Bluesky, Mastodon in this setup).

The beat runs `poll_inboxes` every GREENROOM_INBOX_POLL_SECONDS; it polls each connected channel
whose connector sets `polls_inbox = True`. A poll asks the connector for items after the stored
cursor, lands them through networks.actions.do_ingest_inbound (exactly once per channel), and
stores the new cursor only after the items are stored: a crash between the two fetches the same
items again, which ingest recognises.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from django.conf import settings
from django.db.models import QuerySet
from django.utils.translation import gettext

from greenroom.core.models import Channel, ChannelStatus
from greenroom.networks import registry
from greenroom.networks.base import ConnectorError
from greenroom.networks.connections.actions import PollResult, claim_poll, do_record_poll
from greenroom.networks.connections.models import ChannelConnection
from greenroom.networks.connections.payloads import storable_item
from greenroom.networks.models import InboundSource

logger = logging.getLogger(__name__)

# Errors that only the channel's owner can fix by connecting it again (as the publishing engine).
RECONNECT_CODES = frozenset(
    {"reconnect_needed", "invalid_token", "no_credentials", "invalid_grant"}
)

# A poll fetches at most this many pages, so one busy channel cannot hold a worker for long;
# the rest comes on the next poll.
MAX_PAGES = 10


def polled_kinds() -> set[str]:
    return {
        kind
        for kind in registry.connector_kinds()
        if getattr(registry._registry[kind], "polls_inbox", False)
    }


def channels_to_poll() -> QuerySet[Channel]:
    """Connected, active, real (not sandboxed) channels of networks Greenroom polls."""
    return Channel.objects.filter(
        sandboxed=False,
        kind__in=polled_kinds() & set(settings.GREENROOM_NETWORKS),
        status=ChannelStatus.ACTIVE,
        credentials__isnull=False,
        connection__isnull=False,
    )


def poll_channel(channel: Channel, *, lease: timedelta | None = None) -> PollResult | None:
    """Fetch new inbox items for one channel; None when another worker is polling it."""
    from greenroom.networks.actions import do_ingest_inbound

    lease = lease or timedelta(seconds=settings.GREENROOM_INBOX_POLL_LEASE_SECONDS)
    if not claim_poll(channel, lease=lease):
        return None
    connection = ChannelConnection.objects.get(channel=channel)
    cursor: str | None = connection.inbox_cursor or None
    pages = created = duplicates = 0
    try:
        connector = registry.connector_for(channel)
        for pages in range(1, MAX_PAGES + 1):  # noqa: B007 (reported below)
            page = connector.fetch_inbox(cursor)
            if page.items:
                # As for webhooks: what a network sends is stored as the database can hold it.
                items = [storable_item(item) for item in page.items]
                result = do_ingest_inbound(channel, items, source=InboundSource.POLL)
                created += result.created
                duplicates += result.duplicates
            moved = page.cursor is not None and page.cursor != cursor
            cursor = page.cursor if page.cursor is not None else cursor
            # Save progress page by page: a failure later keeps what was stored.
            do_record_poll(channel, cursor=cursor, release=False)
            if not page.items or not moved:
                break
        do_record_poll(channel, cursor=cursor)
    except ConnectorError as exc:
        do_record_poll(channel, cursor=None, error=exc.message)
        if exc.permanent and exc.code in RECONNECT_CODES:
            _flag_reconnect(channel, exc.message)
        logger.warning(
            "inbox poll failed channel=%s code=%s retry_after=%s",
            channel.pk,
            exc.code,
            exc.retry_after,
        )
        return PollResult(pages=pages, created=created, duplicates=duplicates, error=exc.message)
    except Exception:
        # A bug, not the network: say so on the channel, free the channel for the next poll,
        # and let the task's error reporting show the traceback.
        do_record_poll(
            channel,
            cursor=None,
            error=gettext(
                "Greenroom could not read this channel's inbox (an error on its side); "
                "it tries again at the next poll."
            ),
        )
        raise
    logger.info(
        "inbox polled channel=%s pages=%s created=%s duplicates=%s",
        channel.pk,
        pages,
        created,
        duplicates,
    )
    return PollResult(pages=pages, created=created, duplicates=duplicates)


def _flag_reconnect(channel: Channel, reason: str) -> None:
    """Mark the channel "needs reconnecting" and tell its owner and backup (network_api's
    signal), so a revoked login is noticed even when nothing is being published."""
    from greenroom.networks.network_api import do_flag_reconnect

    do_flag_reconnect(channel, reason=reason)
