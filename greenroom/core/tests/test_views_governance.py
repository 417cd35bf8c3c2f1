"""The channel inventory and a channel's page: who owns it, who covers, and who may change that."""

from __future__ import annotations

from datetime import timedelta

from django.test import Client
from django.utils import timezone

from greenroom.conftest import World
from greenroom.core import actions
from greenroom.core.actions import AuditAction
from greenroom.core.models import AuditEvent, Channel, ChannelStatus

TOKEN = "IGQV-governance-page-secret-0000111122"


def test_inventory_sends_strangers_to_sign_in(client: Client, db: None) -> None:
    assert client.get("/governance/")["Location"].startswith("/login/")


def test_inventory_is_a_404_without_governance_access(client: Client, world: World) -> None:
    for person in ("agnes", "paul", "anna", "charlie"):
        client.force_login(world.people[person])
        assert client.get("/governance/").status_code == 404


def test_inventory_lists_every_channel_and_flags_missing_backups(
    client: Client, world: World
) -> None:
    actions.do_update_channel(
        world.coffee_x, owner=world.bianca, backup=world.adam, region="KR", acting_user=world.alice
    )
    actions.do_set_channel_credentials(
        world.coffee_x,
        token=TOKEN,
        expires_at=timezone.now() + timedelta(days=60),
        acting_user=world.alice,
    )
    client.force_login(world.otto)
    response = client.get("/governance/")
    assert response.status_code == 200
    page = response.content.decode()
    for handle in ("@acmecoffee", "acme.coffee", "acmetea.bsky.social"):
        assert handle in page
    assert "@globex" not in page
    assert TOKEN not in page
    rows = {row["channel"].handle: row for row in response.context["rows"]}
    assert not rows["@acmecoffee"]["uncovered"]
    assert rows["acme.coffee"]["uncovered"]
    assert page.count('class="gr-row-warn"') == 2
    assert "Asia/Seoul" in page and "KR" in page and "Bianca" in page
    assert response.context["no_backup"] == 2


def test_brand_manager_sees_her_brands_channels_only(client: Client, world: World) -> None:
    client.force_login(world.bianca)
    page = client.get("/governance/").content.decode()
    assert "@acmecoffee" in page
    assert "acmetea.bsky.social" not in page


def test_channel_page_is_a_404_without_access(client: Client, world: World) -> None:
    client.force_login(world.agnes)
    assert client.get(f"/governance/channels/{world.tea_bluesky.pk}/").status_code == 404
    client.force_login(world.bianca)
    assert client.get(f"/governance/channels/{world.tea_bluesky.pk}/").status_code == 404


def test_another_organisations_channel_is_a_404(client: Client, world: World) -> None:
    client.force_login(world.alice)
    assert client.get(f"/governance/channels/{world.globex_x.pk}/").status_code == 404
    response = client.post(
        f"/governance/channels/{world.globex_x.pk}/",
        {"owner": world.alice.pk, "status": "paused"},
    )
    assert response.status_code == 404
    world.globex_x.refresh_from_db()
    assert world.globex_x.status == ChannelStatus.ACTIVE


def test_channel_page_lists_grants_and_history(client: Client, world: World) -> None:
    actions.do_grant_channel_permission(
        world.coffee_x, world.carl, "publish", acting_user=world.alice
    )
    client.force_login(world.alice)
    response = client.get(f"/governance/channels/{world.coffee_x.pk}/")
    assert response.status_code == 200
    page = response.content.decode()
    grants = page.split("Extra access on this channel")[1].split("</section>")[0]
    assert "Carl" in grants and "Publish" in grants and "Alice" in grants
    assert "History" in page and "Channel added" in page
    assert 'name="owner"' in page


def test_auditor_sees_the_channel_but_cannot_change_it(client: Client, world: World) -> None:
    client.force_login(world.otto)
    response = client.get(f"/governance/channels/{world.coffee_x.pk}/")
    assert response.status_code == 200
    assert 'name="owner"' not in response.content.decode()
    response = client.post(
        f"/governance/channels/{world.coffee_x.pk}/", {"owner": world.otto.pk, "status": "active"}
    )
    assert response.status_code == 404
    assert Channel.objects.get(pk=world.coffee_x.pk).owner is None


def test_an_administrator_changes_owner_backup_and_status(client: Client, world: World) -> None:
    client.force_login(world.bianca)
    response = client.post(
        f"/governance/channels/{world.coffee_x.pk}/",
        {"owner": world.bianca.pk, "backup": world.paul.pk, "status": "paused"},
    )
    assert response.status_code == 302
    channel = Channel.objects.get(pk=world.coffee_x.pk)
    assert (channel.owner, channel.backup, channel.status) == (world.bianca, world.paul, "paused")
    event = AuditEvent.objects.filter(action=AuditAction.CHANNEL_UPDATED).first()
    assert event is not None and event.actor == world.bianca
    assert event.before["owner"] is None and event.after["owner"] == world.bianca.pk
    assert "saved" in client.get(response["Location"]).content.decode()


def test_owner_and_backup_must_differ(client: Client, world: World) -> None:
    client.force_login(world.alice)
    response = client.post(
        f"/governance/channels/{world.coffee_x.pk}/",
        {"owner": world.adam.pk, "backup": world.adam.pk, "status": "active"},
    )
    assert response.status_code == 400
    assert "must be someone other than the owner" in response.content.decode()
    assert Channel.objects.get(pk=world.coffee_x.pk).owner is None


def test_people_outside_the_organisation_are_not_offered(client: Client, world: World) -> None:
    client.force_login(world.alice)
    response = client.post(
        f"/governance/channels/{world.coffee_x.pk}/",
        {"owner": world.gina.pk, "status": "active"},
    )
    assert response.status_code == 400
    assert Channel.objects.get(pk=world.coffee_x.pk).owner is None
    assert "Gina" not in client.get(f"/governance/channels/{world.coffee_x.pk}/").content.decode()
