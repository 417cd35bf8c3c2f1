"""Channel health: tokens renewed ahead of expiry, and the owner and backup told when a channel
must be reconnected."""

from __future__ import annotations

from datetime import timedelta
from unittest import mock

from django.core import mail
from django.utils import timezone

from greenroom.conftest import World
from greenroom.core import actions
from greenroom.core.models import Channel, ChannelStatus, Membership
from greenroom.networks import health
from greenroom.networks.base import ConnectorError
from greenroom.networks.network_api import do_flag_reconnect
from greenroom.networks.sandbox.connector import SandboxConnector
from greenroom.networks.sandbox.models import SandboxAccount
from greenroom.networks.sandbox.testing import Sandbox


def _covered(world: World, channel: Channel) -> Channel:
    actions.do_update_channel(
        channel, owner=world.bianca, backup=world.adam, acting_user=world.alice
    )
    channel.refresh_from_db()
    return channel


def _access_token(channel: Channel) -> str:
    return SandboxConnector(channel)._tokens(reload=True).access_token


def test_a_token_about_to_expire_is_refreshed_by_the_beat(world: World, sandbox: Sandbox) -> None:
    sandbox.connect(world.coffee_x, token_ttl=timedelta(seconds=90))
    sandbox.connect(world.tea_bluesky, token_ttl=timedelta(hours=6))
    soon, later = _access_token(world.coffee_x), _access_token(world.tea_bluesky)

    counts = health.refresh_expiring_tokens()

    assert counts == {"refreshed": 1, "not_due": 0, "failed": 0, "reconnect": 0}
    assert _access_token(world.coffee_x) != soon
    assert _access_token(world.tea_bluesky) == later
    world.coffee_x.refresh_from_db()
    credentials = world.coffee_x.credentials
    assert credentials is not None and credentials.expires_at is not None
    assert credentials.expires_at > timezone.now() + timedelta(days=1)


def test_a_network_that_is_down_gets_another_try(world: World, sandbox: Sandbox) -> None:
    sandbox.connect(world.coffee_x, token_ttl=timedelta(seconds=90))
    before = _access_token(world.coffee_x)
    down = ConnectorError("The network had a temporary problem.", code="unavailable")

    with mock.patch.object(SandboxConnector, "refresh_token", side_effect=down):
        assert health.refresh_expiring_tokens()["failed"] == 1

    world.coffee_x.refresh_from_db()
    assert world.coffee_x.status != ChannelStatus.NEEDS_RECONNECT
    assert _access_token(world.coffee_x) == before
    assert health.refresh_expiring_tokens()["refreshed"] == 1


def test_a_refused_refresh_flags_the_channel_and_tells_owner_and_backup(
    world: World, sandbox: Sandbox
) -> None:
    channel = _covered(world, world.coffee_x)
    actions.do_update_preferences(
        world.adam, language="ko", timezone_name="Asia/Seoul", acting_user=world.adam
    )
    sandbox.connect(channel, token_ttl=timedelta(seconds=90))
    SandboxAccount.objects.filter(pk=sandbox.account(channel).pk).update(
        refresh_token_hash="revoked"
    )

    assert health.refresh_expiring_tokens()["reconnect"] == 1
    sandbox.deliver()  # the flag's after-commit signal; Celery is eager in tests

    channel.refresh_from_db()
    assert channel.status == ChannelStatus.NEEDS_RECONNECT
    by_person = {message.to[0]: message for message in mail.outbox}
    assert set(by_person) == {world.bianca.email, world.adam.email}
    english = by_person[world.bianca.email]
    assert english.subject == f"Reconnect {channel.name}"
    assert f"/governance/channels/{channel.pk}/" in english.body
    assert "owner or backup" in english.body
    assert by_person[world.adam.email].subject != english.subject  # Adam reads Korean
    # Flagged channels are left alone until someone reconnects them.
    mail.outbox.clear()
    assert health.refresh_expiring_tokens() == {
        "refreshed": 0,
        "not_due": 0,
        "failed": 0,
        "reconnect": 0,
    }


def test_people_who_left_are_not_told(world: World) -> None:
    channel = _covered(world, world.coffee_x)
    Membership.objects.filter(organization=world.acme, user=world.adam).update(is_active=False)

    do_flag_reconnect(channel, reason="the token was revoked")
    told = health.tell_channel_people(channel.pk, "the token was revoked")

    assert told == [world.bianca.username]
    assert [message.to for message in mail.outbox] == [[world.bianca.email]]
    assert "the token was revoked" in mail.outbox[0].body
