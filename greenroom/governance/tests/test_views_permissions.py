"""Who may open which governance page, for every persona, and another organisation's objects.

Rules: the inventory and channel pages are for people who administer channels or audit them;
the gaps and offboarding reports for owners, admins and auditors; offboarding, provisioning and
settings for owners and admins. Anything out of scope, and any write a person may not make, is a
404; another organisation's ids are a 404 for everyone in Acme. Each request runs in a savepoint
that is rolled back, so every person starts from the same world; writes that succeed leave
audit events by the person, refusals none.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any

import pytest
from django.db import transaction
from django.test import Client

from greenroom.conftest import World, make_user
from greenroom.core import actions as core
from greenroom.core.models import AuditEvent
from greenroom.governance import actions

PEOPLE = ["alice", "adam", "bianca", "paul", "carl", "april", "agnes", "anna", "otto", "charlie"]
GOVERNANCE = {"alice", "adam", "bianca", "otto"}
REPORTS = {"alice", "adam", "otto"}
ADMINS = {"alice", "adam"}
COFFEE_ADMINS = {"alice", "adam", "bianca"}
MEMBER_VIEWERS = {"alice", "adam", "bianca", "otto"}
NOBODY: set[str] = set()


@dataclass(frozen=True)
class Page:
    id: str
    method: str
    url: str
    ok: int
    who: set[str]
    data: Callable[[Any], dict[str, Any]] | None = None


def expect(page: Page) -> dict[str, int]:
    return {p: page.ok if p in page.who else 404 for p in PEOPLE}


# fmt: off
PAGES = [
    Page("inventory", "GET", "/governance/", 200, GOVERNANCE),
    Page("gaps", "GET", "/governance/gaps/", 200, REPORTS),
    Page("channel.coffee", "GET", "/governance/channels/{coffee_x}/", 200, GOVERNANCE),
    Page("channel.tea", "GET", "/governance/channels/{tea_bluesky}/", 200, GOVERNANCE - {"bianca"}),
    Page("channel.globex", "GET", "/governance/channels/{globex_x}/", 200, NOBODY),
    Page("channel.native_admin", "POST", "/governance/channels/{coffee_x}/", 302, COFFEE_ADMINS,
         lambda c: {"form": "native_admin", "name": "Agency", "email": "a@agency.test"}),
    Page("channel.remove_native_admin", "POST", "/governance/channels/{coffee_x}/", 302,
         COFFEE_ADMINS, lambda c: {"form": "remove_native_admin", "admin": c.native_admin}),
    Page("channel.recovery", "POST", "/governance/channels/{coffee_x}/", 302, COFFEE_ADMINS,
         lambda c: {"form": "recovery", "recovery_email": "social@example.com"}),
    Page("channel.recovery.globex", "POST", "/governance/channels/{globex_x}/", 302, NOBODY,
         lambda c: {"form": "recovery", "recovery_email": "social@example.com"}),
    Page("person", "GET", "/team/people/{paul}/", 200, MEMBER_VIEWERS),
    Page("person.globex", "GET", "/team/people/{gina}/", 200, NOBODY),
    Page("offboard", "POST", "/team/people/{carl}/offboard/", 302, ADMINS,
         lambda c: {"successor": c.adam, "confirm": "on"}),
    Page("offboard.globex", "POST", "/team/people/{gina}/offboard/", 302, NOBODY,
         lambda c: {"confirm": "on"}),
    Page("offboardings", "GET", "/governance/offboardings/", 200, REPORTS),
    Page("offboarding", "GET", "/governance/offboardings/{offboarding}/", 200, REPORTS),
    Page("offboarding.globex", "GET", "/governance/offboardings/{globex_offboarding}/", 200,
         NOBODY),
    Page("checklist.done", "POST", "/governance/checklist/{item}/done/", 302, COFFEE_ADMINS,
         lambda c: {"note": "done"}),
    Page("checklist.done.globex", "POST", "/governance/checklist/{globex_item}/done/", 302, NOBODY),
    Page("provisioning", "GET", "/governance/provisioning/", 200, ADMINS),
    Page("provisioning.token", "POST", "/governance/provisioning/", 200, ADMINS,
         lambda c: {"name": "Okta"}),
    Page("provisioning.revoke", "POST", "/governance/provisioning/tokens/{token}/revoke/", 302,
         ADMINS),
    Page("provisioning.revoke.globex", "POST",
         "/governance/provisioning/tokens/{globex_token}/revoke/", 302, NOBODY),
    Page("group_role", "POST", "/governance/provisioning/group-role/", 302, ADMINS,
         lambda c: {"team": c.team, "role": "publisher"}),
    Page("group_role.globex", "POST", "/governance/provisioning/group-role/", 302, NOBODY,
         lambda c: {"team": c.globex_team, "role": "publisher"}),
    Page("settings", "GET", "/governance/settings/", 200, ADMINS),
    Page("settings.save", "POST", "/governance/settings/", 302, ADMINS,
         lambda c: {"mail_domains": "acme.test", "token_warning_days": 7, "inactive_days": 60,
                    "scim_default_role": "analyst"}),
    Page("network_apps", "GET", "/governance/network-apps/", 200, ADMINS),
    Page("network_apps.save", "POST", "/governance/network-apps/", 302, ADMINS,
         lambda c: {"network": "youtube", "youtube-client_id": "g-client-1"}),
]
# fmt: on


@pytest.fixture(autouse=True)
def _youtube_enabled(settings: Any) -> None:
    # The network apps page offers only the networks the installation enables.
    settings.GREENROOM_NETWORKS = [*settings.GREENROOM_NETWORKS, "youtube"]


@pytest.fixture
def ctx(world: World) -> SimpleNamespace:
    alice, gina = world.alice, world.gina
    olga = make_user("olga")  # left Acme: her offboarding is what the reports show
    core.do_add_member(world.acme, olga, "publisher", acting_user=alice)
    native = actions.do_record_native_admin(
        world.coffee_x, user=olga, knows_password=True, acting_user=alice
    )
    offboarding = actions.do_offboard(
        world.acme, olga, successor=None, conversations_to=None, acting_user=alice
    )
    item = offboarding.checklist.get(kind="rotate_password")
    other = actions.do_record_native_admin(world.coffee_x, name="Kim", acting_user=alice)
    greg = make_user("greg")
    core.do_add_member(world.globex, greg, "analyst", acting_user=gina)
    actions.do_record_native_admin(world.globex_x, user=greg, acting_user=gina)
    globex_offboarding = actions.do_offboard(
        world.globex, greg, successor=None, conversations_to=None, acting_user=gina
    )
    return SimpleNamespace(
        **{name: person.pk for name, person in world.people.items()},
        coffee_x=world.coffee_x.pk,
        tea_bluesky=world.tea_bluesky.pk,
        globex_x=world.globex_x.pk,
        native_admin=other.pk,
        offboarding=offboarding.pk,
        item=item.pk,
        globex_offboarding=globex_offboarding.pk,
        globex_item=globex_offboarding.checklist.first().pk,
        token=actions.do_create_scim_token(world.acme, name="Okta", acting_user=alice)[0].pk,
        globex_token=actions.do_create_scim_token(world.globex, name="E", acting_user=gina)[0].pk,
        team=core.do_create_team(world.acme, name="T", acting_user=alice).pk,
        globex_team=core.do_create_team(world.globex, name="G", acting_user=gina).pk,
        native=native.pk,
    )


def _run(page: Page, ctx: Any, world: World, person: str) -> int:
    with transaction.atomic():
        client = Client()
        client.force_login(world.people[person])
        last = AuditEvent.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
        url = page.url.format(**vars(ctx))
        if page.method == "GET":
            response = client.get(url)
        else:
            response = client.post(url, page.data(ctx) if page.data else {})
        status: int = response.status_code
        new = list(AuditEvent.objects.filter(pk__gt=last).exclude(action__startswith="auth."))
        if status >= 400 or page.method == "GET":
            assert new == [], f"{person}: {page.id} wrote {new}"
        elif page.id != "provisioning.token" or status == 200:
            assert new and {e.actor_id for e in new} == {world.people[person].pk}, page.id
        transaction.set_rollback(True)
    return status


@pytest.mark.parametrize("page", PAGES, ids=[p.id for p in PAGES])
def test_page_matrix(page: Page, ctx: Any, world: World) -> None:
    got = {person: _run(page, ctx, world, person) for person in PEOPLE}
    assert got == expect(page)


def test_every_governance_url_is_in_the_matrix() -> None:
    from django.urls import get_resolver

    from greenroom.governance import urls

    names = {p.name for p in urls.urlpatterns} | {p.name for p in urls.shell_patterns}
    covered = {
        "governance", "gaps", "channel_detail", "person", "person_offboard", "offboardings",
        "offboarding", "checklist_done", "provisioning", "revoke_scim_token", "group_role",
        "settings", "network_apps",
    }  # fmt: skip
    assert names == covered
    assert get_resolver().resolve("/governance/").url_name == "governance"
