"""The network apps page (app credentials into the vault) and the connect links on a channel page.

Only owners and admins (manage_vault) open or change the network apps; everybody else gets a
404 and changes nothing. A stored value never comes back: not in the page, not in the audit
log. The channel page offers Connect/Reconnect to people who administer the channel only, and
shows the scopes the network granted and when the token expires.
"""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from greenroom.conftest import PASSWORD, World
from greenroom.core import actions as core
from greenroom.core.actions import ActionError
from greenroom.core.models import AuditEvent, Channel, ChannelStatus, Secret, User
from greenroom.networks import network_api

URL = "/governance/network-apps/"
CLIENT_SECRET = "cs-Very-Secret-Value-7781Qz"
CONSUMER_SECRET = "consumer-Also-Secret-0042Kp"


@pytest.fixture(autouse=True)
def _real_networks(settings: Any) -> None:
    settings.GREENROOM_NETWORKS = [
        *settings.GREENROOM_NETWORKS,
        *("x", "facebook", "instagram", "threads", "linkedin", "youtube", "tiktok", "bluesky"),
    ]


def signed_in(person: str) -> Client:
    client = Client()
    assert client.login(username=person, password=PASSWORD)
    return client


def app_values(world: World, network: str) -> dict[str, str]:
    return {
        s.name.split(":", 2)[2]: network_api.app_value(world.acme.pk, network, s.name.split(":")[2])
        or ""
        for s in Secret.objects.filter(organization=world.acme, name__startswith=f"app:{network}:")
    }


@pytest.mark.parametrize("person", ["alice", "adam"])
def test_owners_and_admins_store_app_credentials_in_the_vault(world: World, person: str) -> None:
    client = signed_in(person)
    response = client.post(
        URL,
        {
            "network": "x",
            "x-client_id": "x-client-id-123",
            "x-client_secret": CLIENT_SECRET,
            "x-consumer_secret": CONSUMER_SECRET,
        },
    )
    assert response.status_code == 302
    assert app_values(world, "x") == {
        "client_id": "x-client-id-123",
        "client_secret": CLIENT_SECRET,
        "consumer_secret": CONSUMER_SECRET,
    }
    events = AuditEvent.objects.filter(organization=world.acme, action="secret.stored")
    names = {e.after["name"] for e in events if e.actor == world.people[person]}
    assert names == {"app:x:client_id", "app:x:client_secret", "app:x:consumer_secret"}
    page = client.get(URL)
    assert page.status_code == 200
    body = page.content.decode()
    assert CLIENT_SECRET not in body and CONSUMER_SECRET not in body
    assert "x-client-id-123" not in body
    # Only the hint (last four characters) and who set it.
    assert "…81Qz" in body and world.people[person].display_name in body
    for event in AuditEvent.objects.filter(organization=world.acme):
        dumped = json.dumps([event.before, event.after, event.target_repr])
        assert CLIENT_SECRET not in dumped and CONSUMER_SECRET not in dumped


def test_a_blank_field_keeps_the_stored_value(world: World) -> None:
    network_api.do_set_app_credentials(
        world.acme, "linkedin", acting_user=world.alice, client_id="li-id", client_secret="old-1"
    )
    client = signed_in("alice")
    response = client.post(
        URL, {"network": "linkedin", "linkedin-client_id": "", "linkedin-client_secret": "new-2"}
    )
    assert response.status_code == 302
    assert app_values(world, "linkedin") == {"client_id": "li-id", "client_secret": "new-2"}


def test_bad_input_is_refused_and_stores_nothing(world: World) -> None:
    client = signed_in("alice")
    empty = client.post(
        URL, {"network": "tiktok", "tiktok-client_id": "", "tiktok-client_secret": ""}
    )
    assert empty.status_code == 400
    assert "Enter at least one value" in empty.content.decode()
    spaced = client.post(
        URL, {"network": "tiktok", "tiktok-client_id": "abc def", "tiktok-client_secret": "s3"}
    )
    assert spaced.status_code == 400
    assert "contains spaces" in spaced.content.decode()
    assert client.post(URL, {"network": "myspace"}).status_code == 404
    assert not Secret.objects.filter(name__startswith="app:").exists()


def test_the_page_shows_the_addresses_to_register(world: World) -> None:
    body = signed_in("alice").get(URL).content.decode()
    assert "http://testserver/hooks/youtube/oauth/callback/" in body
    assert "http://testserver/hooks/tiktok/oauth/callback/" in body
    assert f"http://testserver/hooks/x/{world.acme.pk}/" in body
    assert f"http://testserver/hooks/instagram/{world.acme.pk}/" in body
    assert f"/hooks/x/{world.globex.pk}/" not in body
    for label in ("Client key", "App secret", "Webhook verify token", "API key secret"):
        assert label in body


@pytest.mark.parametrize(
    "person", ["bianca", "paul", "carl", "april", "agnes", "anna", "otto", "charlie"]
)
def test_everybody_else_gets_a_404_and_changes_nothing(world: World, person: str) -> None:
    client = signed_in(person)
    assert client.get(URL).status_code == 404
    response = client.post(URL, {"network": "x", "x-client_secret": CLIENT_SECRET})
    assert response.status_code == 404
    assert not Secret.objects.filter(name__startswith="app:").exists()
    # And the tab is not offered on the governance pages they may open.
    governance = client.get(reverse("governance"))
    assert URL not in governance.content.decode()


def test_only_enabled_networks_are_offered(world: World, settings: Any) -> None:
    settings.GREENROOM_NETWORKS = ["sandbox", "youtube"]
    client = signed_in("alice")
    body = client.get(URL).content.decode()
    assert 'id="app-youtube"' in body and 'id="app-x"' not in body
    refused = client.post(URL, {"network": "x", "x-client_id": "x-id-1"})
    assert refused.status_code == 404
    settings.GREENROOM_NETWORKS = ["sandbox"]
    assert "GREENROOM_NETWORKS" in client.get(URL).content.decode()
    assert not Secret.objects.filter(name__startswith="app:").exists()


def test_the_tab_is_offered_to_admins(world: World) -> None:
    assert URL in signed_in("adam").get(reverse("governance")).content.decode()


def test_the_action_refuses_people_without_vault_rights(world: World) -> None:
    with pytest.raises(ActionError):
        network_api.do_set_app_credentials(
            world.acme, "x", acting_user=world.bianca, client_secret="nope"
        )
    # An owner of another organisation has no rights in Acme.
    with pytest.raises(ActionError):
        network_api.do_set_app_credentials(
            world.acme, "x", acting_user=world.gina, client_secret="nope"
        )
    assert not Secret.objects.filter(name__startswith="app:").exists()


def test_another_organisations_app_is_never_shown(world: World) -> None:
    network_api.do_set_app_credentials(
        world.globex, "youtube", acting_user=world.gina, client_id="globex-google-client-9911"
    )
    body = signed_in("alice").get(URL).content.decode()
    assert "…9911" not in body and "Gina" not in body
    # Gina's own page shows it as stored.
    assert "…9911" in signed_in("gina").get(URL).content.decode()


# --- The channel page ----------------------------------------------------------------------------


@pytest.fixture
def linkedin(world: World) -> Channel:
    """A real (not sandboxed) LinkedIn page on the Tea brand, connected with two scopes."""
    channel = core.do_create_channel(
        world.acme,
        brand=world.tea,
        kind="linkedin",
        handle="acme-tea",
        sandboxed=False,
        acting_user=None,
    )
    network_api.do_store_tokens(
        channel,
        network_api.StoredTokens(
            access_token="li-access-token-abcdefgh",
            expires_at=timezone.now() + timedelta(days=30),
            scopes=("w_organization_social", "r_organization_social"),
        ),
        acting_user=None,
    )
    channel.refresh_from_db()
    return channel


def test_an_admin_sees_reconnect_scopes_and_expiry(world: World, linkedin: Channel) -> None:
    body = signed_in("adam").get(reverse("channel_detail", args=[linkedin.pk])).content.decode()
    assert reverse("hooks:oauth_start", args=["linkedin", linkedin.pk]) in body
    assert "Reconnect to renew the token" in body
    assert "w_organization_social" in body and "r_organization_social" in body
    expiry = timezone.localtime(timezone.now() + timedelta(days=30)).strftime("%Y-%m-%d")
    assert "expires" in body and expiry in body  # the channel was added today, not then
    assert "li-access-token-abcdefgh" not in body


def test_an_agent_or_auditor_gets_no_connect_link(world: World, linkedin: Channel) -> None:
    # A community agent on the brand does not open governance pages at all.
    agent = signed_in("agnes").get(reverse("channel_detail", args=[linkedin.pk]))
    assert agent.status_code == 404
    assert "/hooks/linkedin/connect/" not in agent.content.decode()
    response = signed_in("otto").get(reverse("channel_detail", args=[linkedin.pk]))
    assert response.status_code == 200
    body = response.content.decode()
    assert "w_organization_social" in body
    assert "/hooks/linkedin/connect/" not in body


def test_a_channel_never_connected_offers_connect(world: World) -> None:
    channel = core.do_create_channel(
        world.acme,
        brand=world.coffee,
        kind="youtube",
        handle="acmecoffee",
        sandboxed=False,
        acting_user=None,
    )
    body = signed_in("alice").get(reverse("channel_detail", args=[channel.pk])).content.decode()
    assert f'href="{reverse("hooks:oauth_start", args=["youtube", channel.pk])}"' in body
    assert ">Connect<" in body


def test_a_bluesky_channel_links_to_its_app_password_page(world: World) -> None:
    channel = core.do_create_channel(
        world.acme,
        brand=world.tea,
        kind="bluesky",
        handle="tea.example.com",
        sandboxed=False,
        acting_user=None,
    )
    body = signed_in("adam").get(reverse("channel_detail", args=[channel.pk])).content.decode()
    assert reverse("bluesky:connect", args=[channel.pk]) in body


def test_a_channel_needing_reconnection_calls_for_it(world: World, linkedin: Channel) -> None:
    network_api.do_flag_reconnect(linkedin, reason="token revoked")
    linkedin.refresh_from_db()
    assert linkedin.status == ChannelStatus.NEEDS_RECONNECT
    admin = signed_in("adam").get(reverse("channel_detail", args=[linkedin.pk])).content.decode()
    assert "This channel needs reconnecting" in admin
    assert "Reconnect now" in admin
    auditor = signed_in("otto").get(reverse("channel_detail", args=[linkedin.pk])).content.decode()
    assert "This channel needs reconnecting" in auditor
    assert "Reconnect now" not in auditor
    assert "Ask the channel" in auditor


def test_the_pages_speak_korean(world: World, linkedin: Channel) -> None:
    User.objects.filter(pk=world.adam.pk).update(language="ko")
    client = signed_in("adam")
    page = client.get(URL).content.decode()
    assert "네트워크 앱" in page and "앱 시크릿" in page and "OAuth 리디렉션 URL" in page
    network_api.do_flag_reconnect(linkedin, reason="token revoked")
    channel = client.get(reverse("channel_detail", args=[linkedin.pk])).content.decode()
    assert "이 채널은 다시 연결해야 합니다" in channel and "허용된 권한 범위" in channel
