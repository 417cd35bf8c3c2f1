"""Items a webhook could not complete in its time, asked about again by a worker, then landed.

Meta's webhooks name a DM's sender by id only and an Instagram @mention by its ids only; the
webhook asks the Graph API for the rest while Meta waits for its answer, within
`meta.connector.WEBHOOK_BUDGET_S`. What it could not ask (the budget spent, more people than one
call asks about, Meta unreachable, throttling or failing) is held (`HeldInbound`, committed with
the delivery) rather than landed incomplete: an inbox message without its text cannot be routed
by keyword, and one without its sender's name stays nameless for good.

`complete_held` (sent after the webhook commits, and every 30 s by the beat) takes the held items
that are due, asks the channel's connector again, and lands them through `do_ingest_inbound`:
the inbox then threads, reads and routes them as if the webhook had carried everything. An item
the network still cannot tell about is tried again after RETRY_AFTER, and after the last try
lands as it came: held for at most a few minutes, never lost. A worker killed while asking
leaves its items due again once their lease has passed.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from datetime import datetime, timedelta

from django.core.exceptions import ImproperlyConfigured
from django.utils import timezone

from greenroom.celery import app
from greenroom.core.models import Channel
from greenroom.networks.actions import do_land_held, do_lease_held
from greenroom.networks.base import Completed, ConnectorError, InboundItem
from greenroom.networks.connections.payloads import item_from_stored, storable_item
from greenroom.networks.models import HeldInbound
from greenroom.networks.registry import connector_for

logger = logging.getLogger(__name__)

# Waits before the second and third tries by a worker (the first is at once); after the
# third, the item lands as it came.
RETRY_AFTER = (timedelta(seconds=30), timedelta(minutes=2))
TRIES = len(RETRY_AFTER) + 1
# A worker taking items moves them this far on first: killed while asking, they are due again.
# (A worker still asking past it, Meta answering each lookup slowly, may see them asked about
# again by another: they land once, `do_ingest_inbound` keeps one event per item.)
LEASE = timedelta(minutes=2)
# Items asked about in one call: as many people as one call of the connector looks up
# (meta.connector.PROFILE_LOOKUPS).
BATCH = 20
# Calls one run makes at most; the beat's next run takes up the rest.
MAX_BATCHES = 50


@app.task(name="greenroom.networks.complete_held")
def complete_held() -> int:
    """Ask again about the held items that are due and land them; returns how many landed."""
    landed = 0
    for _ in range(MAX_BATCHES):
        now = timezone.now()
        taken = do_lease_held(now, limit=BATCH, lease=LEASE)
        if not taken:
            break
        by_channel: dict[int, list[HeldInbound]] = defaultdict(list)
        for row in taken:
            by_channel[row.channel_id].append(row)
        channels = Channel.objects.in_bulk(list(by_channel))
        for channel_id, rows in by_channel.items():
            channel = channels.get(channel_id)
            if channel is not None:  # else deleted meanwhile, and its held items with it
                landed += _complete(channel, rows)
    return landed


def _complete(channel: Channel, rows: list[HeldInbound]) -> int:
    """Ask the channel's connector about `rows`, land what it completed and what has had its
    last try, and set the others' next try. Returns how many landed."""
    items = [item_from_stored(row.external_id, row.kind, row.payload) for row in rows]
    result = _ask(channel, items)
    completed = {item.external_id: item for item in result.items}
    asked = {item.external_id: item for item in items}
    land: dict[tuple[str, str], list[InboundItem]] = defaultdict(list)
    done: list[int] = []
    now = timezone.now()
    again: dict[int, datetime] = {}
    for row in rows:
        if row.external_id in result.later and row.attempts < TRIES:
            again[row.pk] = now + RETRY_AFTER[row.attempts - 1]
            continue
        item = completed.get(row.external_id, asked[row.external_id])
        land[(row.source, row.delivery_id)].append(storable_item(item))
        done.append(row.pk)
    do_land_held(channel, land, landed=done, again=again)
    late = sum(1 for row in rows if row.pk in done and row.external_id in result.later)
    logger.info(
        "held items channel=%s landed=%s incomplete=%s waiting=%s",
        channel.pk,
        len(done),
        late,
        len(again),
    )
    return len(done)


def _ask(channel: Channel, items: list[InboundItem]) -> Completed:
    """The connector's completion of `items`; all of them for later when it fails as a whole,
    and none when the channel has no connector that completes (nothing to wait for)."""
    try:
        complete = getattr(connector_for(channel), "complete_webhook_items", None)
    except ImproperlyConfigured:
        return Completed(items)
    if not callable(complete):
        return Completed(items)
    try:
        result = complete(items)
    except ConnectorError as exc:
        logger.info("held items channel=%s outcome=failed code=%s", channel.pk, exc.code)
        return Completed(items, frozenset(item.external_id for item in items))
    assert isinstance(result, Completed)
    return result
