"""The numbers the staffing model reads: arrivals by hour of week, response and handle times."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from greenroom.conftest import World
from greenroom.inbox import actions, metrics
from greenroom.inbox.models import Message
from greenroom.inbox.tests.conftest import conversation_of, item, land


def test_arrivals_and_response_times_are_recorded_in_the_channels_week(
    world: World, sandbox: Any
) -> None:
    # Monday 2026-06-01 00:30 UTC is Monday 09:30 in Seoul (the channel's zone).
    monday = datetime(2026, 6, 1, 0, 30, tzinfo=UTC)
    land(world.coffee_x, item("m1", "hi", at=monday), item("m2", "hello", author="b", at=monday))
    conversation = conversation_of(world.coffee_x, "m1")
    reply = actions.do_reply(conversation, "Hi!", acting_user=world.alice, handle_seconds=42)
    actions.do_mark_reply_sent(
        Message.objects.get(pk=reply.pk), external_id="r1", sent_at=monday + timedelta(hours=2)
    )
    actions.do_close([conversation], acting_user=world.alice)

    rows = metrics.activity(world.anna, world.acme, monday - timedelta(days=1), datetime.now(UTC))
    by_hour = metrics.arrivals_by_hour_of_week(rows)
    assert by_hour[9] == 2 and sum(by_hour) == 2
    numbers = metrics.summary(rows)
    assert numbers.messages_in == 2 and numbers.messages_out == 1
    assert numbers.mean_first_response_s == 2 * 3600
    assert numbers.mean_handle_s == 42
    assert numbers.resolutions == 1
    # Agnes answers on Tea but does not see analytics: not even her own channels' numbers
    # (colleagues' handle times among them). Analytics are organisation-wide for those who
    # see them (permissions.ORG_WIDE), the Coffee brand manager included.
    land(world.tea_bluesky, item("m3", "tea?", author="c", at=monday))
    since, until = monday - timedelta(days=1), datetime.now(UTC)
    assert metrics.summary(metrics.activity(world.agnes, world.acme, since, until)).messages_in == 0
    assert (
        metrics.summary(metrics.activity(world.bianca, world.acme, since, until)).messages_in == 3
    )
    assert metrics.summary(metrics.activity(world.anna, world.acme, since, until)).messages_in == 3
