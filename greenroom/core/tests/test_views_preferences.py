"""Preferences, the language switch, time zones and switching organisation."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from django.test import Client

from greenroom.conftest import World, make_user
from greenroom.core import actions
from greenroom.core.actions import AuditAction
from greenroom.core.models import AuditEvent, User
from greenroom.core.permissions import Role


def test_preferences_send_strangers_to_sign_in(client: Client, db: None) -> None:
    assert client.get("/settings/preferences/")["Location"].startswith("/login/")


def test_preferences_are_saved_through_an_action(client: Client, world: World) -> None:
    client.force_login(world.agnes)
    assert client.get("/settings/preferences/").status_code == 200
    response = client.post("/settings/preferences/", {"language": "ko", "timezone": "Asia/Seoul"})
    assert response.status_code == 302
    agnes = User.objects.get(pk=world.agnes.pk)
    assert (agnes.language, agnes.timezone) == ("ko", "Asia/Seoul")
    assert response.cookies["django_language"].value == "ko"
    event = AuditEvent.objects.filter(action=AuditAction.USER_PREFERENCES).first()
    assert event is not None
    assert event.after == {"language": "ko", "timezone": "Asia/Seoul"}
    # The confirmation is in the language just chosen.
    assert "설정을 저장했습니다." in client.get(response["Location"]).content.decode()


def test_an_unknown_time_zone_is_refused(client: Client, world: World) -> None:
    client.force_login(world.agnes)
    response = client.post("/settings/preferences/", {"language": "en", "timezone": "Mars/Base"})
    assert response.status_code == 400
    assert User.objects.get(pk=world.agnes.pk).timezone == "UTC"


def test_the_language_switch_renders_korean(client: Client, world: World) -> None:
    client.force_login(world.alice)
    response = client.post("/settings/language/", {"language": "ko", "next": "/governance/"})
    assert response.status_code == 302
    assert response["Location"] == "/governance/"
    assert response.cookies["django_language"].value == "ko"
    assert User.objects.get(pk=world.alice.pk).language == "ko"
    page = client.get("/governance/").content.decode()
    assert '<html lang="ko">' in page
    assert "거버넌스" in page and "채널 목록" in page and "게시" in page
    # And back.
    client.post("/settings/language/", {"language": "en", "next": "/"})
    assert "Channel inventory" in client.get("/governance/").content.decode()


def test_the_language_switch_works_before_signing_in(client: Client, db: None) -> None:
    response = client.post("/settings/language/", {"language": "ko", "next": "/login/"})
    assert response["Location"] == "/login/"
    page = client.get("/login/").content.decode()
    assert "Greenroom 로그인" in page


def test_the_language_switch_refuses_other_sites_and_languages(
    client: Client, world: World
) -> None:
    client.force_login(world.alice)
    response = client.post(
        "/settings/language/", {"language": "ko", "next": "https://evil.example/"}
    )
    assert response["Location"] == "/"
    response = client.post("/settings/language/", {"language": "xx", "next": "/"})
    assert response.status_code == 302
    assert User.objects.get(pk=world.alice.pk).language == "ko"
    assert client.get("/settings/language/").status_code == 405


def test_times_follow_the_persons_time_zone(client: Client, world: World) -> None:
    actions.do_update_preferences(
        world.alice, language="en", timezone_name="Asia/Seoul", acting_user=world.alice
    )
    client.force_login(world.alice)
    from greenroom.core.models import Channel

    Channel.objects.filter(pk=world.coffee_x.pk).update(
        created_at=datetime(2030, 3, 1, 22, 15, tzinfo=UTC)
    )
    page = client.get(f"/governance/channels/{world.coffee_x.pk}/").content.decode()
    # Stored in UTC, shown in Seoul (UTC+9), machine-readable in UTC.
    assert '<time datetime="2030-03-01T22:15:00+00:00"' in page
    assert "2030-03-02 07:15" in page
    actions.do_update_preferences(
        world.alice, language="en", timezone_name="America/Los_Angeles", acting_user=world.alice
    )
    page = client.get(f"/governance/channels/{world.coffee_x.pk}/").content.decode()
    assert "2030-03-01 14:15" in page


@pytest.fixture
def second_org(world: World):
    # Otto audits Acme and also owns a small organisation of his own.
    return actions.do_create_organization(name="Otto's Studio", owner=world.otto, acting_user=None)


def test_people_in_several_organisations_can_switch(
    client: Client, world: World, second_org
) -> None:
    client.force_login(world.otto)
    home = client.get("/")
    assert home.context["shell_org"] == world.acme  # first by name
    assert "Switch organisation" in home.content.decode()
    response = client.post("/organization/switch/", {"organization": second_org.pk})
    assert response["Location"] == "/"
    assert client.get("/").context["shell_org"] == second_org
    assert client.session["greenroom_org_id"] == second_org.pk


def test_nobody_switches_into_an_organisation_they_are_not_in(
    client: Client, world: World, second_org
) -> None:
    client.force_login(world.alice)
    assert (
        client.post("/organization/switch/", {"organization": world.globex.pk}).status_code == 404
    )
    assert "Switch organisation" not in client.get("/").content.decode()


def test_a_stale_session_organisation_falls_back_to_a_current_one(
    client: Client, world: World, second_org
) -> None:
    client.force_login(world.otto)
    client.post("/organization/switch/", {"organization": second_org.pk})
    membership = second_org.memberships.get(user=world.otto)
    actions.do_add_member(second_org, make_user("olga"), Role.OWNER, acting_user=None)
    actions.do_deactivate_membership(membership, acting_user=None)
    assert client.get("/").context["shell_org"] == world.acme


def test_the_user_menu_links_to_api_tokens(client: Client, world: World) -> None:
    client.force_login(world.alice)
    assert 'href="/settings/tokens/"' in client.get("/").content.decode()
