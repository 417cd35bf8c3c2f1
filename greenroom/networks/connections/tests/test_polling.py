"""Inbox polling: a connector's new items land once, the cursor moves only forward, one worker
polls a channel at a time. Run against the sandbox network (served in-process)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.utils import timezone

from greenroom.conftest import World
from greenroom.core.actions import do_create_channel, do_set_channel_credentials
from greenroom.core.models import ChannelStatus
from greenroom.networks.connections.actions import claim_poll, do_record_connection
from greenroom.networks.connections.models import ChannelConnection
from greenroom.networks.connections.polling import channels_to_poll, poll_channel
from greenroom.networks.connections.tasks import poll_inboxes
from greenroom.networks.models import InboundEvent
from greenroom.networks.sandbox.testing import Sandbox, sandbox  # noqa: F401


def connected(world: World, sandbox: Sandbox) -> Any:  # noqa: F811
    channel = world.coffee_x
    sandbox.connect(channel)
    do_record_connection(channel, service_url="", account_id="acct", acting_user=world.alice)
    return channel


def test_new_comments_land_once_and_the_cursor_moves(
    world: World,
    sandbox: Sandbox,  # noqa: F811
) -> None:
    channel = connected(world, sandbox)
    sandbox.write(channel, "Is the oat latte back?")
    sandbox.write(channel, "커피 맛있어요", kind="mention")

    first = poll_channel(channel)

    assert first is not None and (first.created, first.error) == (2, "")
    texts = sorted(e.payload["text"] for e in InboundEvent.objects.filter(channel=channel))
    assert texts == ["Is the oat latte back?", "커피 맛있어요"]
    connection = ChannelConnection.objects.get(channel=channel)
    assert connection.inbox_cursor and connection.polled_at is not None
    assert connection.poll_lease_until is None

    sandbox.write(channel, "One more question")
    second = poll_channel(channel)

    assert second is not None and second.created == 1
    assert InboundEvent.objects.filter(channel=channel).count() == 3


def test_a_failed_poll_is_explained_and_keeps_the_cursor(
    world: World,
    sandbox: Sandbox,  # noqa: F811
) -> None:
    channel = connected(world, sandbox)
    sandbox.write(channel, "hello")
    poll_channel(channel)
    cursor = ChannelConnection.objects.get(channel=channel).inbox_cursor
    sandbox.set_failures(channel, error_rate=1.0)

    result = poll_channel(channel)

    assert result is not None and result.error
    connection = ChannelConnection.objects.get(channel=channel)
    assert connection.poll_error == result.error
    assert connection.poll_failures == 1
    assert connection.inbox_cursor == cursor
    assert connection.poll_lease_until is None


def test_a_channel_being_polled_is_skipped(
    world: World,
    sandbox: Sandbox,  # noqa: F811
) -> None:
    channel = connected(world, sandbox)
    assert claim_poll(channel, lease=timedelta(minutes=5))

    assert poll_channel(channel) is None

    ChannelConnection.objects.filter(channel=channel).update(
        poll_lease_until=timezone.now() - timedelta(seconds=1)
    )
    assert poll_channel(channel) is not None


def test_only_connected_active_real_channels_of_polled_networks_are_polled(
    world: World, settings: Any
) -> None:
    settings.GREENROOM_NETWORKS = [*settings.GREENROOM_NETWORKS, "bluesky", "mastodon"]

    def channel(kind: str, handle: str, *, connect: bool = True, status: str = "") -> Any:
        made = do_create_channel(
            world.acme, brand=world.tea, kind=kind, handle=handle, acting_user=None
        )
        if connect:
            do_set_channel_credentials(made, token="{}", acting_user=None)
            do_record_connection(made, service_url="", account_id=handle, acting_user=None)
        if status:
            made.status = status
            made.save()
        return made

    polled = channel("bluesky", "a.bsky.social")
    mastodon = channel("mastodon", "@a@mastodon.social")
    channel("bluesky", "never-connected.bsky.social", connect=False)
    paused = next(s for s in ChannelStatus.values if s != ChannelStatus.ACTIVE)
    channel("bluesky", "paused.bsky.social", status=paused)
    # world.tea_bluesky is sandboxed: the sandbox sends webhooks instead.

    assert set(channels_to_poll()) == {polled, mastodon}
    settings.GREENROOM_NETWORKS = [k for k in settings.GREENROOM_NETWORKS if k != "mastodon"]
    assert set(channels_to_poll()) == {polled}


def test_the_beat_task_polls_every_channel_to_poll(world: World, settings: Any) -> None:
    # No real channel is connected in this world: nothing to poll, and nothing fails.
    assert poll_inboxes() == 0


def test_a_login_the_network_no_longer_accepts_asks_the_owner_to_reconnect(
    world: World,
    sandbox: Sandbox,  # noqa: F811
) -> None:
    from greenroom.core.models import Channel

    channel = connected(world, sandbox)
    # The owner revoked Greenroom's access on the network: nothing is left to sign in with.
    Channel.objects.filter(pk=channel.pk).update(credentials=None)
    channel.refresh_from_db()

    result = poll_channel(channel)

    assert result is not None and "Reconnect" in result.error
    channel.refresh_from_db()
    assert channel.status == ChannelStatus.NEEDS_RECONNECT


def test_polled_items_the_database_cannot_hold_as_sent_still_land(
    world: World,
    sandbox: Sandbox,  # noqa: F811
    monkeypatch: Any,
) -> None:
    """NUL (PostgreSQL refuses it), a lone surrogate (neither database stores one) and a time
    with no UTC equivalent: what can be read lands and becomes a message, as from a webhook."""
    from datetime import datetime
    from datetime import timezone as dt_timezone

    from greenroom.inbox import actions as inbox_actions
    from greenroom.inbox.models import Message
    from greenroom.networks import registry
    from greenroom.networks.base import InboundItem, InboxPage

    channel = connected(world, sandbox)
    odd = [
        InboundItem(
            external_id="p1",
            kind="comment",
            text="refund\x00 please \ud800",
            author_handle="mi\x00na",
            author_name="Mina",
            created_at=timezone.now(),
            raw={"id": "p1", "text": "refund\x00 please \ud800", "author": {"handle": "mina"}},
        ),
        InboundItem(
            external_id="p2",
            kind="comment",
            text="from the dawn of time",
            author_handle="jun",
            author_name="Jun",
            created_at=datetime(1, 1, 1, tzinfo=dt_timezone(timedelta(hours=14))),
            raw={"id": "p2"},
        ),
    ]

    class Odd:
        def fetch_inbox(self, cursor: str | None) -> InboxPage:
            return InboxPage(items=odd if cursor is None else [], cursor="c1")

    monkeypatch.setattr(registry, "connector_for", lambda channel: Odd())
    result = poll_channel(channel)

    assert result is not None and (result.created, result.error) == (2, "")
    inbox_actions.do_process_inbound(
        list(InboundEvent.objects.filter(channel=channel).values_list("pk", flat=True))
    )
    texts = dict(Message.objects.filter(channel=channel).values_list("external_id", "text"))
    assert texts["p1"].startswith("refund please ") and "\x00" not in texts["p1"]
    assert texts["p2"] == "from the dawn of time"
    assert Message.objects.get(external_id="p2").sent_at.year >= 2026
