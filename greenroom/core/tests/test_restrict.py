"""The permission matrix: each role sees and may do exactly what it should, nothing of Globex."""

from __future__ import annotations

import pytest

from greenroom.conftest import World
from greenroom.core import actions
from greenroom.core.models import AuditEvent, Brand, Channel, Membership, Organization
from greenroom.core.permissions import ChannelPerm

ALL = {"view", "draft", "publish", "approve", "engage", "administer"}
ACME = {"coffee_x", "coffee_instagram", "tea_bluesky"}
COFFEE = {"coffee_x", "coffee_instagram"}

# Written out by hand, not derived from ROLE_PERMS, so a change to the role table shows up here.
EXPECTED: dict[str, dict[str, set[str]]] = {
    "alice": dict.fromkeys(ALL, ACME),
    "adam": dict.fromkeys(ALL, ACME),
    "bianca": dict.fromkeys(ALL, COFFEE),
    "paul": {"view": ACME, "draft": ACME, "publish": ACME},
    "carl": {"view": ACME, "draft": ACME},
    "april": {"view": ACME, "approve": ACME},
    "agnes": {"view": {"tea_bluesky"}, "engage": {"tea_bluesky"}},
    "anna": {"view": ACME},
    "otto": {"view": ACME},
    "charlie": {},
    "gina": {perm: {"globex_x"} for perm in ALL},
}

ORG_EXPECTED: dict[str, set[str]] = {
    "view_audit": {"alice", "adam", "otto"},
    "manage_members": {"alice", "adam"},
    "manage_org": {"alice", "adam"},
    "view_members": {"alice", "adam", "bianca", "otto"},
    "view_analytics": {"alice", "adam", "bianca", "paul", "anna", "otto"},
}


def channel_names(world: World, qs: object) -> set[str]:
    by_pk = {
        getattr(world, name).pk: name
        for name in ("coffee_x", "coffee_instagram", "tea_bluesky", "globex_x")
    }
    return {by_pk[c.pk] for c in qs}  # type: ignore[attr-defined]


@pytest.mark.parametrize("person", sorted(EXPECTED))
@pytest.mark.parametrize("perm", sorted(ALL))
def test_channel_permission_matrix(world: World, person: str, perm: str) -> None:
    user = world.people[person]
    visible = channel_names(world, Channel.objects.restrict(user, perm))
    assert visible == EXPECTED[person].get(perm, set())


@pytest.mark.parametrize("perm", sorted(ORG_EXPECTED))
def test_organisation_permissions(world: World, perm: str) -> None:
    allowed = {
        name
        for name, user in world.people.items()
        if Organization.objects.restrict(user, perm).filter(pk=world.acme.pk).exists()
    }
    assert allowed == ORG_EXPECTED[perm]


def test_another_tenant_is_invisible_everywhere(world: World) -> None:
    for name in EXPECTED:
        if name == "gina":
            continue
        user = world.people[name]
        for model in (Organization, Brand, Channel, Membership):
            assert (
                not model.objects.restrict(user, "view")
                .filter(
                    **(
                        {"pk": world.globex.pk}
                        if model is Organization
                        else {model.restrict_org: world.globex.pk}
                    )
                )
                .exists()
            ), (name, model)


def test_audit_events_are_visible_only_to_auditors_of_their_own_organisation(world: World) -> None:
    acme_events = AuditEvent.objects.restrict(world.otto, "view_audit")
    assert acme_events.exists()
    assert set(acme_events.values_list("organization_id", flat=True)) == {world.acme.pk}
    assert not AuditEvent.objects.restrict(world.agnes, "view_audit").exists()
    assert not AuditEvent.objects.restrict(world.charlie, "view_audit").exists()


def test_a_channel_grant_adds_one_permission_on_one_channel(world: World) -> None:
    actions.do_grant_channel_permission(
        world.coffee_x, world.carl, ChannelPerm.PUBLISH, acting_user=world.alice
    )
    carl = Membership.objects.get(user=world.carl).user  # a fresh object: no cached access
    assert channel_names(world, Channel.objects.restrict(carl, "publish")) == {"coffee_x"}
    event = AuditEvent.objects.filter(action="grant.added").latest("id")
    assert event.actor == world.alice and event.after["permission"] == "publish"


def test_a_grant_on_another_tenants_channel_is_refused(world: World) -> None:
    with pytest.raises(actions.ActionError):
        actions.do_grant_channel_permission(
            world.globex_x, world.carl, ChannelPerm.VIEW, acting_user=world.gina
        )


def test_deactivated_membership_loses_everything(world: World) -> None:
    actions.do_grant_channel_permission(
        world.tea_bluesky, world.agnes, ChannelPerm.PUBLISH, acting_user=world.alice
    )
    membership = Membership.objects.get(user=world.agnes, organization=world.acme)
    actions.do_deactivate_membership(membership, acting_user=world.alice)
    agnes = type(world.agnes).objects.get(pk=world.agnes.pk)
    assert not Channel.objects.restrict(agnes, "view").exists()
    assert not Channel.objects.restrict(agnes, "publish").exists()


def test_inactive_user_sees_nothing(world: World) -> None:
    world.paul.is_active = False
    assert not Channel.objects.restrict(world.paul, "view").exists()


def test_unknown_permission_is_a_programming_error(world: World) -> None:
    with pytest.raises(ValueError, match="unknown permission"):
        Channel.objects.restrict(world.alice, "publsh")


def test_the_last_owner_cannot_be_demoted(world: World) -> None:
    membership = Membership.objects.get(user=world.alice, organization=world.acme)
    with pytest.raises(actions.ActionError, match="at least one owner"):
        actions.do_change_role(membership, role="admin", acting_user=world.alice)


def test_brand_manager_scope_follows_a_role_change(world: World) -> None:
    membership = Membership.objects.get(user=world.bianca)
    actions.do_change_role(
        membership, role="brand_manager", brands=[world.tea], acting_user=world.alice
    )
    bianca = type(world.bianca).objects.get(pk=world.bianca.pk)
    assert channel_names(world, Channel.objects.restrict(bianca, "administer")) == {"tea_bluesky"}


def test_a_registered_withholder_takes_one_permission_away_on_its_channels(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    from greenroom.core import restrict
    from greenroom.core.models import User
    from greenroom.publishing.models import Variant

    calls: list[set[int]] = []

    def hold_back(user: object, org_ids: set[int]) -> dict[str, set[int]]:
        calls.append(org_ids)
        return {"publish": {world.coffee_x.pk}}

    monkeypatch.setattr(restrict, "_withholders", [hold_back])
    paul = User.objects.get(pk=world.paul.pk)
    assert channel_names(world, Channel.objects.restrict(paul, "publish")) == {
        "coffee_instagram",
        "tea_bluesky",
    }
    # Other permissions, and rows reached through a channel, follow the same rule.
    assert channel_names(world, Channel.objects.restrict(paul, "draft")) == ACME
    assert not Variant.objects.restrict(paul, "publish").filter(channel=world.coffee_x).exists()
    # Grants are held back like roles; the hook ran once for the cached access.
    actions.do_grant_channel_permission(world.coffee_x, world.carl, "publish", acting_user=None)
    carl = User.objects.get(pk=world.carl.pk)
    assert channel_names(world, Channel.objects.restrict(carl, "publish")) == set()
    Channel.objects.restrict(carl, "publish").count()
    assert calls == [{world.acme.pk}, {world.acme.pk}]
