"""The home page shows each person what needs their attention, from real data."""

from __future__ import annotations

from datetime import timedelta

from django.test import Client
from django.utils import timezone

from greenroom.conftest import World
from greenroom.core import actions
from greenroom.core.models import ChannelStatus

TOKEN = "EAAG-home-page-secret-token-9876543210"


def test_it_sends_strangers_to_sign_in(client: Client, db: None) -> None:
    response = client.get("/")
    assert response.status_code == 302
    assert response["Location"] == "/login/?next=/"


def test_owner_sees_channels_without_cover_reconnects_and_expiring_tokens(
    client: Client, world: World
) -> None:
    actions.do_update_channel(
        world.coffee_x, owner=world.bianca, backup=world.adam, acting_user=world.alice
    )
    actions.do_update_channel(
        world.tea_bluesky,
        owner=world.agnes,
        backup=world.adam,
        status=ChannelStatus.NEEDS_RECONNECT,
        acting_user=world.alice,
    )
    actions.do_set_channel_credentials(
        world.coffee_x,
        token=TOKEN,
        expires_at=timezone.now() + timedelta(days=3),
        acting_user=world.alice,
    )
    client.force_login(world.alice)
    page = client.get("/").content.decode()
    assert "Channels without an owner or backup" in page
    # coffee_instagram has neither owner nor backup; coffee_x is covered.
    uncovered = page.split("Channels without an owner or backup")[1].split("</ul>")[0]
    assert "acme.coffee" in uncovered
    assert "@acmecoffee" not in uncovered
    reconnect = page.split("Channels needing reconnection")[1].split("</ul>")[0]
    assert "acmetea.bsky.social" in reconnect
    tokens = page.split("Tokens expiring soon")[1].split("</ul>")[0]
    assert "@acmecoffee" in tokens
    assert "…3210" in tokens  # the hint, never the value
    assert TOKEN not in page
    assert "@globex" not in page


def test_brand_manager_sees_only_her_brands_gaps(client: Client, world: World) -> None:
    client.force_login(world.bianca)
    page = client.get("/").content.decode()
    assert "Channels without an owner or backup" in page
    assert "acme.coffee" in page
    assert "acmetea.bsky.social" not in page  # Tea is not her brand


def test_agent_sees_waiting_messages_and_no_governance(client: Client, world: World) -> None:
    from greenroom.inbox import actions as inbox
    from greenroom.inbox.models import Conversation
    from greenroom.inbox.tests.conftest import item, land

    land(world.tea_bluesky, item("m0", author="minji"), item("m1", author="jun"))
    land(world.coffee_x, item("m2", author="sam"))
    land(world.tea_bluesky, item("m3", author="hana"))
    answered = Conversation.objects.get(messages__external_id="m3")
    inbox.do_close([answered], acting_user=world.alice)
    client.force_login(world.agnes)
    response = client.get("/")
    page = response.content.decode()
    assert "Messages waiting for an answer" in page
    waiting = page.split("Messages waiting for an answer")[1].split("</section>")[0]
    # Two waiting on her Tea channel; the Coffee one is not hers, the closed one is done.
    assert "2 waiting" in waiting
    assert "@acmecoffee" not in waiting
    assert "Channels without an owner or backup" not in page
    assert 'href="/governance/"' not in page
    assert 'href="/audit/"' not in page
    assert [item["key"] for item in response.context["shell_nav"]] == ["inbox", "crisis"]


def test_agent_is_told_when_her_channel_needs_reconnecting(client: Client, world: World) -> None:
    actions.do_update_channel(
        world.tea_bluesky, status=ChannelStatus.NEEDS_RECONNECT, acting_user=world.alice
    )
    client.force_login(world.agnes)
    assert "One of your channels needs reconnecting." in client.get("/").content.decode()


def test_auditor_sees_recent_activity(client: Client, world: World) -> None:
    actions.do_update_channel(world.coffee_x, region="KR", acting_user=world.alice)
    actions.do_update_channel(world.globex_x, region="US", acting_user=world.gina)
    client.force_login(world.otto)
    page = client.get("/").content.decode()
    recent = page.split("Recent activity")[1].split("</section>")[0]
    assert "Channel changed" in recent
    assert "@acmecoffee" in recent
    assert "@globex" not in recent


def test_everyone_sees_their_channels_first(client: Client, world: World) -> None:
    actions.do_update_channel(world.tea_bluesky, owner=world.paul, acting_user=world.alice)
    client.force_login(world.paul)
    page = client.get("/").content.decode()
    channels = page.split("Your channels")[1]
    assert channels.index("acmetea.bsky.social") < channels.index("@acmecoffee")
    assert "Your part" in channels


def test_someone_without_an_organisation_is_told_what_to_do(client: Client, world: World) -> None:
    client.force_login(world.charlie)
    response = client.get("/")
    assert response.status_code == 200
    assert b"not part of any organisation yet" in response.content
    assert response.context["shell_nav"] == []


def test_another_organisations_owner_sees_only_their_own(client: Client, world: World) -> None:
    client.force_login(world.gina)
    page = client.get("/").content.decode()
    assert "@globex" in page
    assert "acmecoffee" not in page
    assert "Acme" not in page


def test_the_shell_costs_few_queries(
    client: Client, world: World, django_assert_max_num_queries
) -> None:
    client.force_login(world.agnes)
    client.get("/")  # warm the session
    with django_assert_max_num_queries(14):
        client.get("/")
