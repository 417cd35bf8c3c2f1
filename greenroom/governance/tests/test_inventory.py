"""The channel inventory and its gaps: each gap detected and linked to its fix, the page in a
constant number of queries whatever the number of channels, filters."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from greenroom.conftest import World
from greenroom.core import actions as core
from greenroom.core.models import Channel, Membership
from greenroom.governance import actions, inventory
from greenroom.governance.inventory import GapKind, MailKind, classify_recovery_email
from greenroom.publishing.models import Post, Variant, VariantState

from .conftest import conversations


def gaps_of(world: World, channel: Channel) -> set[str]:
    rows = inventory.build(world.acme, Channel.objects.filter(pk=channel.pk)).rows
    return {g.kind for g in rows[0].gaps}


def recovery(world: World, channel: Channel, email: str) -> None:
    actions.do_save_recovery(
        channel,
        recovery_email=email,
        recovery_email_controller=None,
        recovery_phone="",
        recovery_phone_controller=None,
        two_factor_method="",
        two_factor_holder=None,
        acting_user=world.alice,
    )


def test_a_new_channel_has_no_owner_backup_or_native_admins(world: World) -> None:
    assert gaps_of(world, world.coffee_x) == {
        GapKind.NO_OWNER,
        GapKind.NO_BACKUP,
        GapKind.NO_NATIVE_ADMINS,
    }


def test_an_owner_or_backup_who_left_is_a_gap(world: World) -> None:
    core.do_update_channel(
        world.coffee_x, owner=world.paul, backup=world.carl, acting_user=world.alice
    )
    assert not gaps_of(world, world.coffee_x) & {GapKind.OWNER_LEFT, GapKind.NO_OWNER}
    core.do_deactivate_membership(
        Membership.objects.get(organization=world.acme, user=world.paul), acting_user=world.alice
    )
    world.carl.is_active = False
    world.carl.save()
    found = gaps_of(world, world.coffee_x)
    assert {GapKind.OWNER_LEFT, GapKind.BACKUP_LEFT} <= found
    assert not found & {GapKind.NO_OWNER, GapKind.NO_BACKUP}


def test_a_single_native_admin_is_a_gap_and_two_are_not(world: World) -> None:
    actions.do_record_native_admin(world.coffee_x, user=world.bianca, acting_user=world.alice)
    assert GapKind.SINGLE_NATIVE_ADMIN in gaps_of(world, world.coffee_x)
    agency = actions.do_record_native_admin(
        world.coffee_x, name="Agency Kim", email="kim@agency.test", acting_user=world.alice
    )
    found = gaps_of(world, world.coffee_x)
    assert not found & {GapKind.SINGLE_NATIVE_ADMIN, GapKind.NO_NATIVE_ADMINS}
    actions.do_remove_native_admin(agency, acting_user=world.alice)
    assert GapKind.SINGLE_NATIVE_ADMIN in gaps_of(world, world.coffee_x)


def test_native_admins_are_linked_to_greenroom_people_by_email(world: World) -> None:
    admin = actions.do_record_native_admin(
        world.coffee_x, name="B.", email="BIANCA@example.com", acting_user=world.alice
    )
    assert admin.user == world.bianca and admin.is_greenroom_user
    outsider = actions.do_record_native_admin(
        world.coffee_x, name="Freelancer", email="f@else.test", acting_user=world.alice
    )
    assert outsider.user is None
    with pytest.raises(core.ActionError, match="already recorded"):
        actions.do_record_native_admin(world.coffee_x, user=world.bianca, acting_user=world.alice)
    with pytest.raises(actions.NotAllowed):
        actions.do_record_native_admin(world.tea_bluesky, name="X", acting_user=world.bianca)


@pytest.mark.parametrize(
    ("email", "kind"),
    [
        ("acme.social@gmail.com", MailKind.PERSONAL),
        ("acme@naver.com", MailKind.PERSONAL),
        ("bianca@example.com", MailKind.PERSONAL),
        ("team@othercorp.test", MailKind.OUTSIDE),
        ("social@example.com", MailKind.SHARED),
        ("", MailKind.NONE),
    ],
)
def test_recovery_emails_are_classified(email: str, kind: str) -> None:
    verdict = classify_recovery_email(
        email, frozenset({"example.com"}), frozenset({"bianca@example.com"})
    )
    assert verdict.kind == kind


def test_a_personal_recovery_email_is_a_gap(world: World) -> None:
    recovery(world, world.coffee_x, "social@example.com")
    assert GapKind.PERSONAL_RECOVERY_EMAIL not in gaps_of(world, world.coffee_x)
    recovery(world, world.coffee_x, "bianca@example.com")
    assert GapKind.PERSONAL_RECOVERY_EMAIL in gaps_of(world, world.coffee_x)
    recovery(world, world.coffee_x, "acmecoffee@gmail.com")
    assert GapKind.PERSONAL_RECOVERY_EMAIL in gaps_of(world, world.coffee_x)
    # The organisation's mail domains, once set, decide what is outside.
    actions.do_save_settings(
        world.acme,
        mail_domains=["acme.test"],
        token_warning_days=14,
        inactive_days=90,
        scim_default_role="contributor",
        scim_successor=None,
        acting_user=world.alice,
    )
    recovery(world, world.coffee_x, "social@example.com")
    assert GapKind.PERSONAL_RECOVERY_EMAIL in gaps_of(world, world.coffee_x)
    recovery(world, world.coffee_x, "social@acme.test")
    assert GapKind.PERSONAL_RECOVERY_EMAIL not in gaps_of(world, world.coffee_x)


def test_a_token_about_to_expire_is_a_gap(world: World) -> None:
    now = timezone.now()
    core.do_set_channel_credentials(
        world.coffee_x,
        token="tok-1234",
        expires_at=now + timedelta(days=60),
        acting_user=world.alice,
    )
    assert GapKind.TOKEN_EXPIRING not in gaps_of(world, world.coffee_x)
    core.do_set_channel_credentials(
        world.coffee_x,
        token="tok-1234",
        expires_at=now + timedelta(days=5),
        acting_user=world.alice,
    )
    assert GapKind.TOKEN_EXPIRING in gaps_of(world, world.coffee_x)
    core.do_set_channel_credentials(
        world.coffee_x,
        token="tok-1234",
        expires_at=now - timedelta(days=1),
        acting_user=world.alice,
    )
    assert GapKind.TOKEN_EXPIRING in gaps_of(world, world.coffee_x)


def test_no_activity_in_90_days_is_a_gap(world: World) -> None:
    long_ago = timezone.now() - timedelta(days=120)
    Channel.objects.filter(pk__in=[world.coffee_x.pk, world.tea_bluesky.pk]).update(
        created_at=long_ago
    )
    assert GapKind.INACTIVE in gaps_of(world, world.coffee_x)
    # A recent inbox message counts as activity ...
    conversations(world.coffee_x, None, 1)
    assert GapKind.INACTIVE not in gaps_of(world, world.coffee_x)
    # ... and so does a post published recently; an old one does not.
    post = Post.objects.create(organization=world.acme, text="Hello")
    Variant.objects.create(
        post=post,
        channel=world.tea_bluesky,
        state=VariantState.PUBLISHED,
        published_at=timezone.now() - timedelta(days=100),
    )
    assert GapKind.INACTIVE in gaps_of(world, world.tea_bluesky)
    Variant.objects.filter(post=post).update(published_at=timezone.now() - timedelta(days=3))
    assert GapKind.INACTIVE not in gaps_of(world, world.tea_bluesky)
    # A channel that is new has had no time to be inactive.
    assert GapKind.INACTIVE not in gaps_of(world, world.coffee_instagram)


def test_each_gap_links_to_the_form_that_fixes_it(client: Client, world: World) -> None:
    recovery(world, world.coffee_x, "me@gmail.com")
    core.do_set_channel_credentials(
        world.coffee_x,
        token="tok-1234",
        expires_at=timezone.now() + timedelta(days=2),
        acting_user=world.alice,
    )
    client.force_login(world.alice)
    response = client.get("/governance/gaps/")
    assert response.status_code == 200
    page = response.content.decode()
    channel_page = client.get(f"/governance/channels/{world.coffee_x.pk}/").content.decode()
    for anchor in ("people", "native-admins", "recovery", "token"):
        assert f'href="/governance/channels/{world.coffee_x.pk}/#{anchor}"' in page
        assert f'id="{anchor}"' in channel_page
    assert "Use a shared recovery address" in page and "Reconnect the channel" in page


def test_the_gaps_report_is_for_owners_admins_and_auditors(client: Client, world: World) -> None:
    for person, status in {
        "alice": 200,
        "adam": 200,
        "otto": 200,
        "bianca": 404,
        "paul": 404,
        "agnes": 404,
        "charlie": 404,
        "gina": 200,
    }.items():
        client.force_login(world.people[person])
        response = client.get("/governance/gaps/")
        assert response.status_code == status, person
        if person == "gina":
            assert "@acmecoffee" not in response.content.decode()


def test_filters(client: Client, world: World) -> None:
    core.do_update_channel(
        world.coffee_x, owner=world.bianca, backup=world.adam, acting_user=world.alice
    )
    client.force_login(world.alice)

    def handles(**query: str) -> set[str]:
        response = client.get("/governance/", query)
        assert response.status_code == 200
        return {row.channel.handle for row in response.context["rows"]}

    everything = {"@acmecoffee", "acme.coffee", "acmetea.bsky.social"}
    assert handles() == everything
    assert handles(gap="no_backup") == everything - {"@acmecoffee"}
    assert handles(network="bluesky") == {"acmetea.bsky.social"}
    assert handles(brand=str(world.tea.pk)) == {"acmetea.bsky.social"}
    assert handles(person=str(world.bianca.pk)) == {"@acmecoffee"}
    assert handles(q="coffee") == {"@acmecoffee", "acme.coffee"}
    assert handles(gap="nonsense") == everything  # an invalid filter is ignored, not an error


def _channels(world: World, n: int) -> None:
    """n more channels, each with people, a token, native admins, recovery, activity."""
    for i in range(n):
        channel = core.do_create_channel(
            world.acme,
            brand=world.coffee if i % 2 else world.tea,
            kind="x",
            handle=f"@bulk{Channel.objects.count()}",
            sandboxed=True,
            owner=world.bianca if i % 2 else world.adam,
            backup=world.paul if i % 3 else None,
            acting_user=world.alice,
        )
        core.do_set_channel_credentials(
            channel,
            token=f"tok-{i}-abcd",
            expires_at=timezone.now() + timedelta(days=i),
            acting_user=world.alice,
        )
        actions.do_record_native_admin(channel, user=world.adam, acting_user=world.alice)
        actions.do_record_native_admin(
            channel, name="Agency", email=f"a{i}@agency.test", acting_user=world.alice
        )
        actions.do_save_recovery(
            channel,
            recovery_email="social@example.com" if i % 2 else "x@gmail.com",
            recovery_email_controller=world.adam,
            recovery_phone="+82 2 1234 5678",
            recovery_phone_controller=world.bianca,
            two_factor_method="app",
            two_factor_holder=world.paul,
            acting_user=world.alice,
        )
        conversations(channel, None, 1)


def test_the_inventory_page_takes_a_constant_number_of_queries(
    client: Client, world: World, django_assert_num_queries: object
) -> None:
    client.force_login(world.alice)
    _channels(world, 7)
    assert Channel.objects.filter(organization=world.acme).count() == 10
    client.get("/governance/")  # warm caches (rule table, templates)
    with CaptureQueriesContext(connection) as ten:
        response = client.get("/governance/")
    assert len(response.context["rows"]) == 10
    _channels(world, 40)
    with django_assert_num_queries(len(ten.captured_queries)):  # type: ignore[operator]
        response = client.get("/governance/")
    assert len(response.context["rows"]) == 50
    page = response.content.decode()
    assert "tok-" not in page  # token plaintext never reaches the page
    assert page.count("Agency") >= 40


def test_the_pages_speak_korean(client: Client, world: World) -> None:
    core.do_update_preferences(
        world.alice, language="ko", timezone_name="Asia/Seoul", acting_user=world.alice
    )
    client.force_login(world.alice)
    page = client.get("/governance/").content.decode()
    assert "네트워크 관리자" in page and "공백" in page
    assert "Native admins" not in page
    gaps = client.get("/governance/gaps/").content.decode()
    assert "소유자 지정" in gaps
    person = client.get(f"/team/people/{world.paul.pk}/").content.decode()
    assert "오프보딩" in person
