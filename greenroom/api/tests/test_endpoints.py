"""What each endpoint does for someone allowed to call it: filters, pages, changes, errors."""

from __future__ import annotations

from datetime import UTC, timedelta

import pytest
from django.utils import timezone

from greenroom.core import actions
from greenroom.core.models import AuditEvent, Channel, ChannelGrant, Membership, Team
from greenroom.core.permissions import Role

from .conftest import bearer, call, make_token


@pytest.fixture
def alice(world):
    return bearer(make_token(world, "alice")[1])


def handles(response):
    return [c["handle"] for c in response.json()["items"]]


def test_channels_are_filtered_by_brand_kind_region_and_status(world, alice):
    actions.do_update_channel(world.coffee_x, region="KR", acting_user=world.alice)
    actions.do_update_channel(world.tea_bluesky, status="paused", acting_user=world.alice)
    assert handles(alice.get("/api/channels", {"brand": world.coffee.pk})) == [
        "acme.coffee",
        "@acmecoffee",
    ]
    assert handles(alice.get("/api/channels", {"kind": "bluesky"})) == ["acmetea.bsky.social"]
    assert handles(alice.get("/api/channels", {"region": "KR"})) == ["@acmecoffee"]
    assert handles(alice.get("/api/channels", {"status": "paused"})) == ["acmetea.bsky.social"]
    assert alice.get("/api/channels", {"status": "gone"}).status_code == 422


def test_a_brand_manager_sees_only_their_brands_channels(world):
    bianca = bearer(make_token(world, "bianca")[1])
    assert set(handles(bianca.get("/api/channels"))) == {"acme.coffee", "@acmecoffee"}
    agnes = bearer(make_token(world, "agnes")[1])
    assert handles(agnes.get("/api/channels")) == ["acmetea.bsky.social"]


def test_lists_are_paged_with_a_total(world, alice):
    first = alice.get("/api/channels", {"limit": 2}).json()
    assert (first["total"], first["limit"], first["offset"], len(first["items"])) == (3, 2, 0, 2)
    rest = alice.get("/api/channels", {"limit": 2, "offset": 2}).json()
    assert len(rest["items"]) == 1
    ids = [c["id"] for c in first["items"] + rest["items"]]
    assert len(set(ids)) == 3
    for bad in [{"limit": 0}, {"limit": 201}, {"offset": -1}, {"limit": "many"}]:
        assert alice.get("/api/channels", bad).status_code == 422, bad


def test_a_channel_shows_its_people_and_brand(world, alice):
    actions.do_update_channel(
        world.coffee_x, owner=world.bianca, backup=world.paul, acting_user=world.alice
    )
    channel = alice.get(f"/api/channels/{world.coffee_x.pk}").json()
    assert channel["brand"] == {"id": world.coffee.pk, "name": "Acme Coffee"}
    assert channel["owner"] == {
        "id": world.bianca.pk,
        "username": "bianca",
        "display_name": "Bianca",
    }
    assert channel["backup"]["username"] == "paul"
    assert channel["timezone"] == "Asia/Seoul"


def test_creating_a_channel(world, alice):
    body = {
        "brand_id": world.tea.pk,
        "kind": "mastodon",
        "handle": "@tea@mastodon.social",
        "sandboxed": True,
        "region": "DE",
        "timezone": "Europe/Berlin",
        "owner_id": world.agnes.pk,
    }
    response = call(alice, "POST", "/api/channels", body)
    assert response.status_code == 201, response.content
    created = response.json()
    assert (created["kind"], created["owner"]["username"], created["name"]) == (
        "mastodon",
        "agnes",
        "@tea@mastodon.social",
    )
    channel = Channel.objects.get(pk=created["id"])
    event = AuditEvent.objects.latest("pk")
    assert (event.action, event.target_id, event.actor) == (
        "channel.created",
        str(channel.pk),
        world.alice,
    )
    # The same account again is refused with the action's own message.
    again = call(alice, "POST", "/api/channels", body)
    assert again.status_code == 400
    assert "already a channel" in again.json()["detail"]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"kind": "nonsense"}, "Unknown network"),
        ({"brand_id": 10**12}, "is not a brand of Acme"),
        ({"owner_id": 10**12}, "is not a member of Acme"),
    ],
)
def test_creating_a_channel_explains_what_is_wrong(world, alice, change, message):
    body = {"brand_id": world.tea.pk, "kind": "x", "handle": "@new", "sandboxed": True, **change}
    response = call(alice, "POST", "/api/channels", body)
    assert response.status_code == 400
    assert message in response.json()["detail"]


def test_a_globex_person_cannot_own_an_acme_channel(world, alice):
    response = call(
        alice, "PATCH", f"/api/channels/{world.coffee_x.pk}", {"owner_id": world.gina.pk}
    )
    assert response.status_code == 400
    assert Channel.objects.get(pk=world.coffee_x.pk).owner is None


def test_updating_a_channel_changes_only_what_was_sent(world, alice):
    actions.do_update_channel(world.coffee_x, owner=world.bianca, acting_user=world.alice)
    path = f"/api/channels/{world.coffee_x.pk}"
    response = call(alice, "PATCH", path, {"backup_id": world.paul.pk, "timezone": "Europe/Paris"})
    assert response.status_code == 200, response.content
    channel = Channel.objects.get(pk=world.coffee_x.pk)
    assert (channel.owner, channel.backup, channel.timezone) == (
        world.bianca,
        world.paul,
        "Europe/Paris",
    )
    event = AuditEvent.objects.latest("pk")
    assert event.action == "channel.updated"
    assert (event.before["timezone"], event.after["timezone"]) == ("Asia/Seoul", "Europe/Paris")

    assert call(alice, "PATCH", path, {"owner_id": None}).json()["owner"] is None
    assert call(alice, "PATCH", path, {"timezone": "Mars/Olympus"}).status_code == 422
    assert call(alice, "PATCH", path, {"status": None}).status_code == 400
    same = call(alice, "PATCH", path, {"backup_id": world.paul.pk, "owner_id": world.paul.pk})
    assert same.status_code == 400
    assert "someone other than its owner" in same.json()["detail"]


def test_pausing_a_channel(world, alice):
    path = f"/api/channels/{world.tea_bluesky.pk}"
    response = call(alice, "PATCH", path, {"status": "paused"})
    assert response.status_code == 200
    assert response.json()["status"] == "paused"
    assert Channel.objects.get(pk=world.tea_bluesky.pk).status == "paused"
    assert call(alice, "PATCH", path, {"status": "on fire"}).status_code == 422
    nothing = call(alice, "PATCH", path, {})
    assert nothing.status_code == 200
    assert AuditEvent.objects.filter(action="channel.updated").count() == 1


def test_people_show_roles_and_brands(world, alice):
    people = {p["username"]: p for p in alice.get("/api/people", {"limit": 200}).json()["items"]}
    assert set(people) == {
        "alice",
        "adam",
        "bianca",
        "paul",
        "carl",
        "april",
        "agnes",
        "anna",
        "otto",
    }
    assert people["bianca"]["role"] == "brand_manager"
    assert people["bianca"]["brands"] == [{"id": world.coffee.pk, "name": "Acme Coffee"}]
    assert people["adam"]["brands"] == []
    assert [
        p["username"] for p in alice.get("/api/people", {"role": "auditor"}).json()["items"]
    ] == ["otto"]
    by_brand = alice.get("/api/people", {"brand": world.tea.pk}).json()["items"]
    assert [p["username"] for p in by_brand] == ["agnes"]


def test_adding_changing_and_deactivating_a_member(world, alice):
    response = call(
        alice,
        "POST",
        "/api/memberships",
        {"user": "CHARLIE@example.com", "role": "community_agent", "brand_ids": [world.tea.pk]},
    )
    assert response.status_code == 201, response.content
    membership = response.json()
    assert membership["person"]["username"] == "charlie"
    assert membership["brands"] == [{"id": world.tea.pk, "name": "Acme Tea"}]
    assert AuditEvent.objects.latest("pk").action == "member.added"

    again = call(alice, "POST", "/api/memberships", {"user": "charlie", "role": "analyst"})
    assert again.status_code == 400 and "already a member" in again.json()["detail"]

    path = f"/api/memberships/{membership['id']}"
    changed = call(alice, "PATCH", path, {"role": "publisher", "brand_ids": []}).json()
    assert (changed["role"], changed["brands"]) == ("publisher", [])
    event = AuditEvent.objects.latest("pk")
    assert (event.action, event.before["role"], event.after["role"]) == (
        "member.role_changed",
        "community_agent",
        "publisher",
    )

    gone = call(alice, "POST", path + "/deactivate").json()
    assert gone["is_active"] is False
    assert AuditEvent.objects.latest("pk").action == "member.deactivated"
    assert "charlie" not in [p["username"] for p in alice.get("/api/people").json()["items"]]
    former = alice.get("/api/people", {"include_former": True}).json()["items"]
    assert "charlie" in [p["username"] for p in former]


def test_adding_someone_who_has_no_account(world, alice):
    response = call(alice, "POST", "/api/memberships", {"user": "nobody", "role": "analyst"})
    assert response.status_code == 400
    assert "create the account first" in response.json()["detail"]
    response = call(
        alice,
        "POST",
        "/api/memberships",
        {"user": "charlie", "role": "analyst", "brand_ids": [world.globex_x.brand_id]},
    )
    assert response.status_code == 400
    assert not Membership.objects.filter(user=world.charlie).exists()


def test_the_last_owner_cannot_be_demoted(world, alice):
    membership = Membership.objects.get(organization=world.acme, user=world.alice)
    response = call(alice, "PATCH", f"/api/memberships/{membership.pk}", {"role": "admin"})
    assert response.status_code == 400
    assert "at least one owner" in response.json()["detail"]
    assert Membership.objects.get(pk=membership.pk).role == Role.OWNER


def test_granting_and_removing_a_channel_permission(world, alice):
    path = f"/api/channels/{world.tea_bluesky.pk}/grants"
    body = {"user_id": world.carl.pk, "permission": "publish"}
    response = call(alice, "POST", path, body)
    assert response.status_code == 201
    grant = response.json()
    assert (grant["person"]["username"], grant["permission"], grant["granted_by"]["username"]) == (
        "carl",
        "publish",
        "alice",
    )
    assert call(alice, "POST", path, body).status_code == 200  # already had it
    assert AuditEvent.objects.filter(action="grant.added").count() == 1
    assert [g["id"] for g in alice.get(path).json()["items"]] == [grant["id"]]

    # publish is not administer: carl still cannot manage the grants.
    carl = bearer(make_token(world, "carl")[1])
    assert carl.get(path).status_code == 403

    assert alice.delete(f"{path}/{grant['id']}").status_code == 204
    assert not ChannelGrant.objects.filter(pk=grant["id"]).exists()
    assert AuditEvent.objects.latest("pk").action == "grant.removed"
    # A grant of another channel is not reachable through this one.
    other = actions.do_grant_channel_permission(
        world.coffee_x, world.carl, "draft", acting_user=world.alice
    )
    assert alice.delete(f"{path}/{other.pk}").status_code == 404


def test_an_administer_grant_opens_the_channel_to_its_holder(world):
    carl = bearer(make_token(world, "carl")[1])
    path = f"/api/channels/{world.tea_bluesky.pk}"
    assert call(carl, "PATCH", path, {"region": "KR"}).status_code == 403
    actions.do_grant_channel_permission(
        world.tea_bluesky, world.carl, "administer", acting_user=world.alice
    )
    assert call(carl, "PATCH", path, {"region": "KR"}).status_code == 200
    assert (
        call(carl, "PATCH", f"/api/channels/{world.coffee_x.pk}", {"region": "KR"}).status_code
        == 403
    )


def test_teams(world, alice):
    response = call(
        alice,
        "POST",
        "/api/teams",
        {
            "name": "Night shift",
            "lead_id": world.agnes.pk,
            "member_ids": [world.agnes.pk, world.paul.pk],
        },
    )
    assert response.status_code == 201, response.content
    team = response.json()
    assert team["lead"]["username"] == "agnes"
    assert sorted(m["username"] for m in team["members"]) == ["agnes", "paul"]
    duplicate = call(alice, "POST", "/api/teams", {"name": "Night shift"})
    assert duplicate.status_code == 400

    path = f"/api/teams/{team['id']}/members"
    updated = call(alice, "PUT", path, {"member_ids": [world.anna.pk]}).json()
    assert [m["username"] for m in updated["members"]] == ["anna"]
    assert list(Team.objects.get(pk=team["id"]).members.all()) == [world.anna]
    event = AuditEvent.objects.latest("pk")
    assert (event.action, event.after) == ("team.members_set", {"members": [world.anna.pk]})
    assert call(alice, "PUT", path, {"member_ids": [world.gina.pk]}).status_code == 400
    assert alice.get("/api/teams").json()["total"] == 1


def test_audit_events_are_filtered(world, alice):
    since = timezone.now()
    actions.do_update_channel(world.coffee_x, region="KR", acting_user=world.adam)
    actions.do_update_channel(world.tea_bluesky, region="JP", acting_user=world.alice)

    def actions_of(**params):
        response = alice.get("/api/audit-events", params)
        assert response.status_code == 200, response.content
        return [(e["action"], e["actor_name"]) for e in response.json()["items"]]

    assert actions_of(since=since.isoformat()) == [
        ("channel.updated", "Alice"),
        ("channel.updated", "Adam"),
    ]
    assert actions_of(since=since.isoformat(), actor=world.adam.pk) == [("channel.updated", "Adam")]
    assert actions_of(until=since.isoformat(), action="channel.updated") == []
    members = actions_of(action="member.", limit=200)
    assert members and all(a == "member.added" for a, _ in members)
    assert {a for a, _ in actions_of(target_type="core.brand")} == {"brand.created"}
    # A time without an offset is UTC; a garbled one is a 422.
    naive = since.astimezone(UTC).replace(tzinfo=None).isoformat()
    assert len(actions_of(since=naive)) == 2
    assert alice.get("/api/audit-events", {"since": "yesterday"}).status_code == 422
    # Globex's events never show.
    assert all(
        e["target_repr"] != "Globex"
        for e in alice.get("/api/audit-events", {"limit": 200}).json()["items"]
    )


def test_creating_a_token_through_the_api(world):
    _, own = make_token(world, "alice", expires_at=timezone.now() + timedelta(days=10))
    client = bearer(own)
    soon = (timezone.now() + timedelta(days=5)).isoformat()
    response = call(
        client, "POST", "/api/tokens", {"name": "bot", "scopes": ["read"], "expires_at": soon}
    )
    assert response.status_code == 201, response.content
    assert response.json()["scopes"] == ["read"]
    event = AuditEvent.objects.latest("pk")
    assert (event.action, event.actor) == ("api_token.created", world.alice)

    # No longer-lived token from a token that expires.
    later = (timezone.now() + timedelta(days=30)).isoformat()
    for body in [
        {"name": "bot", "scopes": ["read"]},
        {"name": "bot", "scopes": ["read"], "expires_at": later},
    ]:
        response = call(client, "POST", "/api/tokens", body)
        assert response.status_code == 400 and "no later" in response.json()["detail"]
    past = (timezone.now() - timedelta(days=1)).isoformat()
    response = call(
        client, "POST", "/api/tokens", {"name": "bot", "scopes": ["read"], "expires_at": past}
    )
    assert response.status_code == 400 and "future" in response.json()["detail"]
    assert call(client, "POST", "/api/tokens", {"name": "bot", "scopes": []}).status_code == 422
    assert (
        call(client, "POST", "/api/tokens", {"name": "bot", "scopes": ["admin"]}).status_code == 422
    )


def test_revoking_a_token_through_the_api(world):
    _, own = make_token(world, "alice")
    client = bearer(own)
    other, other_plaintext = make_token(world, "alice")
    response = call(client, "POST", f"/api/tokens/{other.pk}/revoke")
    assert response.status_code == 200
    assert response.json()["revoked_at"] is not None and response.json()["is_usable"] is False
    assert bearer(other_plaintext).get("/api/brands").status_code == 401
    # Revoking twice changes nothing and records nothing more.
    call(client, "POST", f"/api/tokens/{other.pk}/revoke")
    assert AuditEvent.objects.filter(action="api_token.revoked").count() == 1


def test_the_organisation_says_who_you_are(world):
    otto = bearer(make_token(world, "otto", scopes=("read",))[1])
    org = otto.get("/api/organization").json()
    assert (org["name"], org["your_role"], org["token_scopes"]) == ("Acme", "auditor", ["read"])
    assert "view_audit" in org["your_permissions"]
    assert "manage_members" not in org["your_permissions"]
