"""The session list, revoking sessions, and the idle time-out."""

from __future__ import annotations

from datetime import timedelta

from django.test import Client
from django.utils import timezone

from greenroom.accounts import actions
from greenroom.accounts.models import UserSession
from greenroom.accounts.tests.conftest import password_step
from greenroom.conftest import World
from greenroom.core.models import AuditEvent, Membership

FIREFOX = "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/133.0"
IPHONE = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1"
)


def browser(username: str, user_agent: str, ip: str) -> Client:
    client = Client(headers={"User-Agent": user_agent}, REMOTE_ADDR=ip)
    assert password_step(client, username, ip=ip).status_code == 302
    return client


def age(client: Client, seconds: int) -> None:
    """Pretend the browser's last request was `seconds` ago."""
    session = client.session
    session["greenroom_last_activity"] -= seconds
    session.save()


def test_the_session_list_shows_each_browser_and_which_one_this_is(world: World) -> None:
    laptop = browser("carl", FIREFOX, "203.0.113.7")
    browser("carl", IPHONE, "198.51.100.4")
    page = laptop.get("/settings/security/")
    assert page.status_code == 200
    body = page.content.decode()
    assert "Firefox · Windows" in body and "Safari · iPhone" in body
    assert "203.0.113.7" in body and "198.51.100.4" in body
    current = [s for s in page.context["sessions"] if s["current"]]
    assert len(current) == 1 and current[0]["row"].ip == "203.0.113.7"
    # Nobody else's sessions.
    browser("paul", FIREFOX, "192.0.2.1")
    assert "192.0.2.1" not in laptop.get("/settings/security/").content.decode()


def test_revoking_a_session_signs_that_browser_out(world: World) -> None:
    laptop = browser("carl", FIREFOX, "203.0.113.7")
    phone = browser("carl", IPHONE, "198.51.100.4")
    phone_row = UserSession.objects.get(user=world.carl, ip="198.51.100.4")
    response = laptop.post(f"/settings/security/sessions/{phone_row.pk}/revoke/")
    assert response.status_code == 302
    assert phone.get("/").status_code == 302  # signed out
    assert laptop.get("/").status_code == 200
    assert AuditEvent.objects.filter(action="session.revoked", actor=world.carl).exists()


def test_someone_elses_session_is_a_404(world: World) -> None:
    laptop = browser("carl", FIREFOX, "203.0.113.7")
    pauls = browser("paul", FIREFOX, "192.0.2.1")
    row = UserSession.objects.get(user=world.paul)
    assert laptop.post(f"/settings/security/sessions/{row.pk}/revoke/").status_code == 404
    assert pauls.get("/").status_code == 200


def test_signing_out_every_other_session_keeps_this_one(world: World) -> None:
    laptop = browser("carl", FIREFOX, "203.0.113.7")
    others = [browser("carl", IPHONE, f"198.51.100.{n}") for n in range(3)]
    assert laptop.post("/settings/security/sessions/revoke-others/").status_code == 302
    assert all(o.get("/").status_code == 302 for o in others)
    assert laptop.get("/").status_code == 200
    assert UserSession.objects.filter(user=world.carl).count() == 1
    event = AuditEvent.objects.filter(action="session.revoked_all").latest("id")
    assert event.after["sessions"] == 3


def test_an_admin_signs_a_member_out_everywhere(world: World) -> None:
    carls = [browser("carl", FIREFOX, f"203.0.113.{n}") for n in range(2)]
    adam = browser("adam", FIREFOX, "192.0.2.50")
    membership = Membership.objects.get(organization=world.acme, user=world.carl)
    response = adam.post(f"/organization/security/members/{membership.pk}/revoke-sessions/")
    assert response.status_code == 302
    assert all(c.get("/").status_code == 302 for c in carls)
    event = AuditEvent.objects.get(action="session.revoked_all", actor=world.adam)
    assert event.organization == world.acme and event.after["sessions"] == 2


def test_signing_out_removes_the_session_from_the_list(world: World) -> None:
    laptop = browser("carl", FIREFOX, "203.0.113.7")
    assert UserSession.objects.filter(user=world.carl).count() == 1
    laptop.post("/logout/")
    assert not UserSession.objects.filter(user=world.carl).exists()


def test_an_idle_session_is_signed_out_with_a_message(world: World, settings) -> None:
    assert settings.SESSION_IDLE_TIMEOUT_MINUTES == 30
    client = browser("carl", FIREFOX, "203.0.113.7")
    age(client, 29 * 60)
    assert client.get("/").status_code == 200  # still inside the time-out; activity resets it
    age(client, 31 * 60)
    response = client.get("/publishing/?status=draft")
    assert response.status_code == 302
    assert response["Location"] == "/login/?next=%2Fpublishing%2F%3Fstatus%3Ddraft"
    page = client.get(response["Location"])
    assert b"signed out after 30 idle minutes" in page.content
    assert client.get("/").status_code == 302
    assert not UserSession.objects.filter(user=world.carl).exists()
    assert AuditEvent.objects.filter(action="session.idle_timeout", actor=world.carl).exists()


def test_an_idle_htmx_request_gets_a_401_that_htmx_follows(world: World) -> None:
    client = browser("carl", FIREFOX, "203.0.113.7")
    age(client, 31 * 60)
    response = client.get("/publishing/", headers={"HX-Request": "true"})
    assert response.status_code == 401
    assert response["HX-Redirect"] == "/login/"


def test_polling_does_not_keep_a_session_alive(world: World) -> None:
    client = browser("agnes", FIREFOX, "203.0.113.7")
    age(client, 20 * 60)
    poll = client.get("/", headers={"HX-Request": "true", "X-Greenroom-Background": "1"})
    assert poll.status_code == 200
    age(client, 20 * 60)  # 40 minutes since the person last did anything
    assert client.get("/").status_code == 302


def test_an_open_event_stream_does_not_keep_a_session_alive(world: World) -> None:
    """EventSource cannot send the background header; its Accept header says the same."""
    client = browser("agnes", FIREFOX, "203.0.113.7")
    age(client, 20 * 60)
    stream = client.get("/inbox/events/", headers={"Accept": "text/event-stream"})
    assert stream.status_code == 200 and stream["Content-Type"] == "text/event-stream"
    age(client, 20 * 60)  # 40 minutes since the person last did anything
    assert client.get("/").status_code == 302


def test_the_organisation_may_shorten_the_idle_time(world: World) -> None:
    actions.do_set_security_policy(
        world.acme, mfa_required=False, idle_timeout_minutes=10, acting_user=world.alice
    )
    client = browser("carl", FIREFOX, "203.0.113.7")
    age(client, 11 * 60)
    assert client.get("/").status_code == 302
    # Someone only in Globex keeps the installation's 30 minutes.
    gina = browser("gina", FIREFOX, "203.0.113.8")
    age(gina, 11 * 60)
    assert gina.get("/").status_code == 200


def test_sessions_idle_past_the_time_out_leave_the_list(world: World) -> None:
    laptop = browser("carl", FIREFOX, "203.0.113.7")
    browser("carl", IPHONE, "198.51.100.4")
    UserSession.objects.filter(ip="198.51.100.4").update(
        last_seen_at=timezone.now() - timedelta(hours=2)
    )
    page = laptop.get("/settings/security/")
    assert "198.51.100.4" not in page.content.decode()
    assert UserSession.objects.filter(user=world.carl).count() == 1


def test_every_polling_element_says_it_is_background_work() -> None:
    """An element that polls (`hx-trigger="every 5s"`) must not count as the person's activity,
    or an open inbox tab would never be signed out."""
    import re
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    tags = [
        (path, tag)
        for path in root.rglob("templates/**/*.html")
        for tag in re.findall(r"<[^>]*hx-trigger=\"[^\"]*every [^>]*>", path.read_text())
    ]
    assert tags, "no polling element found: the check would prove nothing"
    missing = [str(p) for p, tag in tags if '"X-Greenroom-Background": "1"' not in tag]
    assert missing == []


def test_a_password_change_keeps_one_row_for_this_browser(world: World) -> None:
    from greenroom.conftest import PASSWORD

    laptop = browser("carl", FIREFOX, "203.0.113.7")
    response = laptop.post(
        "/password/change/",
        {
            "old_password": PASSWORD,
            "new_password1": "a brand new passphrase 42",
            "new_password2": "a brand new passphrase 42",
        },
    )
    assert response.status_code == 302
    page = laptop.get("/settings/security/")
    rows = list(UserSession.objects.filter(user=world.carl))
    assert len(rows) == 1 and rows[0].session_key == laptop.session.session_key
    assert [s["current"] for s in page.context["sessions"]] == [True]
