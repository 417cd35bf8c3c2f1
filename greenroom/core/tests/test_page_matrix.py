"""Every page of the site, for every persona, with Acme's ids and with Globex's.

The matrix names the object each URL's id stands for (a post, a conversation, an access review
...). The fixture builds one of each in Acme (on the Coffee brand, so its brand manager sees it)
and one in Globex; each URL is then opened with the Acme id and with the Globex id:

- nobody ever gets a 5xx;
- signed out, every page but the public ones sends the browser to the login page;
- gina (Globex) gets a 404 for every page that names an Acme object, alice for every page that
  names a Globex object; charlie, in no organisation, gets no 200 on any Acme object;
- each GET page answers 200 exactly for the roles whose permissions the view checks (`WHO`);
- each form that changes state, posted by gina at an Acme object, is a 404 and writes nothing.

API, SCIM, webhook and sandbox routes have their own authentication and their own matrices;
they are listed in `EXCLUDED_PREFIXES` with the reason.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from django.db import transaction
from django.test import Client
from django.utils import timezone

from greenroom.accounts import actions as accounts
from greenroom.accounts.models import UserSession
from greenroom.compliance import actions as compliance
from greenroom.compliance.models import AccessReviewItem
from greenroom.conftest import ROLE_OF, World, make_user
from greenroom.core import actions as core
from greenroom.core.models import AuditEvent, User
from greenroom.core.permissions import ROLE_PERMS, Role
from greenroom.core.tenancy import SECTIONS_BY_KEY
from greenroom.core.tests.urlwalk import Route, site_routes
from greenroom.governance import actions as governance
from greenroom.inbox.models import Message
from greenroom.inbox.tests.conftest import conversation_of, item, land
from greenroom.media import actions as media
from greenroom.media.tests.conftest import plain_image
from greenroom.publishing import actions as publishing
from greenroom.publishing.composer import actions as composer

ACME = ["alice", "adam", "bianca", "paul", "carl", "april", "agnes", "anna", "otto", "charlie"]
EVERYONE = [*ACME, "gina"]

# Routes with their own authentication (tokens, signatures) or none of ours at all.
EXCLUDED_PREFIXES = {
    "api/": "bearer-token API: greenroom/api/tests/test_permissions.py and the per-app matrices",
    "scim/": "SCIM bearer tokens: greenroom/governance/tests (SCIM tests)",
    "hooks/": "network webhooks and OAuth redirects, authenticated by the network's signature",
    "sandbox/": "the fake social network's own API and pages, not part of Greenroom",
    "ops/admin/": "Django's admin for operators (is_staff), not organisation members",
    "i18n/": "Django's set_language: stores a language choice, names no object",
}

# Pages a signed-out person may open: signing in and the machine-readable health check.
PUBLIC = {
    "login", "login_verify", "sso_choose", "sso_start", "sso_oidc_callback", "sso_saml_acs",
    "sso_saml_complete", "sso_saml_metadata", "logout", "password_reset", "password_reset_done",
    "password_reset_confirm", "password_reset_complete", "healthz",
    "bluesky:oauth_client_metadata", "bluesky:oauth_callback",
}  # fmt: skip

# Routes in the matrix with no id of ours in them (slugs, tokens) that the crawl cannot fill.
UNFILLABLE = {
    "sso_start": "slug of an SSO provider; covered by greenroom/accounts/tests",
    "sso_oidc_callback": "slug of an SSO provider; covered by greenroom/accounts/tests",
    "sso_saml_acs": "slug of an SSO provider; covered by greenroom/accounts/tests",
    "sso_saml_complete": "slug of an SSO provider; covered by greenroom/accounts/tests",
    "sso_saml_metadata": "slug of an SSO provider; covered by greenroom/accounts/tests",
    "password_reset_confirm": "one-time uid/token pair from a reset mail",
}

# What the id in each URL names.
KIND_OF = {
    "media:asset": "asset", "media:focal_point": "asset", "media:alt_text": "asset",
    "media:make_renditions": "asset", "media:original": "asset", "media:thumbnail": "asset",
    "media:preview": "rendition", "media:rendition_row": "rendition", "media:retry": "rendition",
    "media:rendition_file": "rendition",
    "composer:edit": "post", "composer:delete_group": "channel_group",
    "session_revoke": "session",
    "org_sso_mapping_remove": "sso_mapping",
    "member_revoke_sessions": "membership", "member_reset_mfa": "membership",
    "channel_detail": "channel", "person": "person", "person_offboard": "person",
    "compliance:review": "review", "compliance:remind": "review",
    "compliance:review_report": "review", "compliance:review_export": "review",
    "compliance:decide": "review_item",
    "compliance:policy_edit": "rule", "compliance:policy_active": "rule",
    "compliance:guideline": "guideline", "compliance:acknowledge": "guideline",
    "compliance:guideline_version": "guideline", "compliance:guideline_active": "guideline",
    "compliance:training_remove": "training_record",
    "compliance:requirement_remove": "requirement",
    "governance:offboarding": "offboarding", "governance:checklist_done": "checklist_item",
    "governance:revoke_scim_token": "scim_token",
    "publishing_post": "post", "publishing_submit": "post", "publishing_approve": "post",
    "publishing_request_changes": "post", "publishing_withdraw": "post",
    "publishing_schedule": "post", "publishing_publish_now": "post", "publishing_cancel": "post",
    "publishing_retry": "variant", "publishing_first_comment_retry": "variant",
    "publishing_variant_cancel": "variant",
    "publishing_policy_deactivate": "approval_policy", "publishing_pause_lift": "pause",
    "inbox_conversation": "conversation", "inbox_thread": "conversation",
    "inbox_conversation_events": "conversation",
    "inbox_presence": "conversation", "inbox_count": "conversation",
    "inbox_reply": "conversation", "inbox_note": "conversation", "inbox_act": "conversation",
    "inbox_hide": "message", "inbox_delete_message": "message", "inbox_decide": "held_reply",
    "inbox_contact": "contact", "inbox_agent": "person",
    "inbox_saved_reply": "saved_reply", "inbox_saved_reply_save": "saved_reply",
    "inbox_saved_reply_delete": "saved_reply", "inbox_saved_reply_active": "saved_reply",
    "inbox_policy": "sla_policy", "inbox_policy_save": "sla_policy",
    "inbox_policy_delete": "sla_policy", "inbox_policy_active": "sla_policy",
    "inbox_rule": "routing_rule", "inbox_rule_save": "routing_rule",
    "inbox_rule_delete": "routing_rule", "inbox_rule_active": "routing_rule",
    "bluesky:connect": "channel", "bluesky:oauth_start": "channel", "mastodon:connect": "channel",
    "api_token_revoke": "api_token",
}  # fmt: skip


def _session_of(person: User) -> int:
    """A signed-in browser of `person` (the tracking middleware records it on a request)."""
    client = Client()
    client.force_login(person)
    client.get("/")
    return UserSession.objects.filter(user=person).latest("pk").pk


def _objects(world: World, tmp_path: Path, org: str) -> dict[str, int]:
    """One object of every kind in `KIND_OF`, in Acme (Coffee brand) or in Globex."""
    acme = org == "acme"
    o = world.acme if acme else world.globex
    owner = world.alice if acme else world.gina
    channel = world.coffee_x if acme else world.globex_x
    brand = world.coffee if acme else world.globex_x.brand
    asset = media.do_upload_asset(
        o, file=plain_image(tmp_path / f"{org}.jpg", 320, 240), filename="p.jpg",
        brand=brand, acting_user=owner,
    ).asset  # fmt: skip
    post = publishing.do_create_post(
        o, text="Cold brew is back.", channels=[channel],
        publish_at=timezone.now() + timedelta(hours=1), acting_user=owner,
    )  # fmt: skip
    land(channel, item(f"{org}-1", "Where is my order?", author=f"{org}fan"))
    conversation = conversation_of(channel, f"{org}-1")
    agent = make_user(f"{org}agent")
    core.do_add_member(o, agent, "community_agent", brands=[brand], acting_user=owner)
    governance_rule = publishing.do_create_approval_policy(
        o, name="Review", brand=brand,
        steps=[publishing.StepInput(name="Brand", approvers=[owner], min_approvals=1)],
        acting_user=owner,
    )  # fmt: skip
    from greenroom.inbox import actions as inbox

    routing_rule = inbox.do_save_routing_rule(
        o, name="Hold refunds", keywords="refund", require_approval=True, acting_user=owner
    )
    land(channel, item(f"{org}-2", "refund please", author=f"{org}buyer"))
    held = inbox.do_reply(conversation_of(channel, f"{org}-2"), "Sure", acting_user=agent)
    leaver = make_user(f"{org}leaver")
    core.do_add_member(o, leaver, "publisher", acting_user=owner)
    # who knew a channel's password leaves a checklist behind
    governance.do_record_native_admin(channel, user=leaver, knows_password=True, acting_user=owner)
    offboarding = governance.do_offboard(
        o, leaver, successor=None, conversations_to=None, acting_user=owner
    )
    guideline = compliance.do_create_guideline(o, title="Voice", body="Kind.", acting_user=owner)
    course = compliance.do_create_course(o, name="Privacy", acting_user=owner)
    provider = accounts.do_save_sso_provider(
        o, protocol="oidc", enabled=False, oidc_issuer=f"https://login.{org}.test",
        oidc_client_id=org, acting_user=owner,
    )  # fmt: skip
    review = compliance.do_start_access_review(
        o, deadline=timezone.now() + timedelta(days=14), acting_user=owner
    )
    return {
        "asset": asset.pk,
        "rendition": media.rendition_for(asset, channel.kind, "feed").pk,
        "post": post.pk,
        "variant": post.variants.get().pk,
        "channel_group": composer.do_save_channel_group(
            o, name="Main", channels=[channel], acting_user=owner
        ).pk,
        "session": _session_of(owner),
        "sso_mapping": accounts.do_add_sso_mapping(
            provider, group="staff", role="publisher", acting_user=owner
        ).pk,
        "person": owner.pk,
        "membership": o.memberships.get(user=owner).pk,
        "channel": channel.pk,
        "review": review.pk,
        "review_item": AccessReviewItem.objects.filter(review=review)[0].pk,
        "rule": compliance.do_save_policy_rule(
            o,
            name="Words",
            kind="banned_terms",
            action="warn",
            terms=["casino"],
            acting_user=owner,
        ).pk,
        "guideline": guideline.pk,
        "training_record": compliance.do_record_training(
            course, owner, completed_at=timezone.now() - timedelta(days=1), acting_user=owner
        ).pk,
        "requirement": compliance.do_add_requirement(
            # In Acme on Instagram: a requirement on X would hold back everyone's engage there.
            world.coffee_instagram if acme else channel,
            guideline=guideline,
            acting_user=owner,
        ).pk,
        "offboarding": offboarding.pk,
        "checklist_item": offboarding.checklist.get(kind="rotate_password").pk,
        "scim_token": governance.do_create_scim_token(o, name="Okta", acting_user=owner)[0].pk,
        "approval_policy": governance_rule.pk,
        "pause": publishing.do_pause_publishing(
            o, scope="brand", brand=brand, reason="Quiet week", acting_user=owner
        ).pk,
        "conversation": conversation.pk,
        "message": Message.objects.get(channel=channel, external_id=f"{org}-1").pk,
        "held_reply": held.pk,
        "contact": conversation.contact.pk,
        "routing_rule": routing_rule.pk,
        "sla_policy": inbox.do_save_sla_policy(
            o, name="Fast", first_response_minutes=30, acting_user=owner
        ).pk,
        "saved_reply": inbox.do_save_saved_reply(
            o, title="Thanks", body="Thank you!", acting_user=owner
        ).pk,
        "api_token": core.do_create_api_token(
            owner, o, name="ci", scopes=["read"], acting_user=owner
        )[0].pk,
    }


@pytest.fixture
def ids(world: World, tmp_path: Path) -> SimpleNamespace:
    return SimpleNamespace(
        acme=_objects(world, tmp_path, "acme"), globex=_objects(world, tmp_path, "globex")
    )


# Who may open what, from the permission model rather than from what the pages answer.
ROLE = {"alice": Role.OWNER, **ROLE_OF}  # charlie has no role in Acme


def holding(*perms: str) -> frozenset[str]:
    """Acme personas whose role grants any of `perms` (organisation-wide, brand scope aside)."""
    return frozenset(p for p, role in ROLE.items() if ROLE_PERMS[role] & set(perms))


def section(key: str) -> frozenset[str]:
    """Who opens a product section: the permissions `require_section` checks."""
    return holding(*SECTIONS_BY_KEY[key].perms)


# Acme's objects are on the Coffee brand; agnes's membership covers only Tea.
def on_coffee(people: frozenset[str]) -> frozenset[str]:
    return people - {"agnes"}


MEMBERS = frozenset(ROLE)  # view_org: every role
SIGNED_IN = MEMBERS | {"charlie"}  # pages about the person, not an organisation
PUBLISHING = section("publishing")  # draft, publish or approve
DRAFTERS = holding("draft")
INBOX = section("inbox")  # engage
REVIEWERS = frozenset({"alice", "adam", "bianca"})  # the access review's items go to them

# GET pages: the Acme personas who get a 200. Everybody else in Acme gets a 404.
# fmt: off
WHO: dict[str, frozenset[str]] = {
    # About the signed-in person, in no organisation in particular.
    "home": SIGNED_IN, "security": SIGNED_IN, "mfa_enrol": SIGNED_IN,
    "preferences": SIGNED_IN, "password_change": SIGNED_IN, "password_change_done": SIGNED_IN,
    "api_tokens": SIGNED_IN, "sso_choose": SIGNED_IN, "password_reset": SIGNED_IN,
    "password_reset_done": SIGNED_IN, "password_reset_complete": SIGNED_IN,
    "bluesky:oauth_client_metadata": SIGNED_IN,
    "networks:rules": SIGNED_IN,  # what each network allows: public facts, no Acme data
    # Publishing section: draft, publish or approve (require_section("publishing")).
    "publishing": PUBLISHING, "publishing_create": PUBLISHING, "publishing_pauses": PUBLISHING,
    "publishing_policies": PUBLISHING, "calendar:month": PUBLISHING, "calendar:week": PUBLISHING,
    "bulk_import:page": PUBLISHING, "bulk_import:template": PUBLISHING,
    "composer:new": PUBLISHING, "media:library": PUBLISHING,
    "publishing_post": on_coffee(PUBLISHING), "media:asset": on_coffee(PUBLISHING),
    "media:original": on_coffee(PUBLISHING), "media:thumbnail": on_coffee(PUBLISHING),
    "media:preview": on_coffee(PUBLISHING), "media:rendition_row": on_coffee(PUBLISHING),
    "media:rendition_file": on_coffee(PUBLISHING),
    "composer:count": on_coffee(DRAFTERS),  # ?channel= a channel you may draft on
    "composer:edit": on_coffee(DRAFTERS),  # editing a draft needs draft
    # Inbox section: engage; a conversation needs engage on its channel.
    "inbox": INBOX, "inbox_approvals": INBOX, "inbox_settings": INBOX,
    # The inbox's numbers are analytics: whoever sees analytics, engaging or not.
    "inbox_numbers": section("analytics"), "inbox_numbers_csv": section("analytics"),
    "inbox_conversation": on_coffee(INBOX), "inbox_thread": on_coffee(INBOX),
    "inbox_delete_message": on_coffee(INBOX),  # GET asks to confirm, showing the comment
    # Server-sent events feeding the queue and a conversation page: checked like those pages.
    "inbox_events": INBOX, "inbox_conversation_events": on_coffee(INBOX),
    # Changing one organisation-wide inbox setting: manage_org, as the actions and the API.
    "inbox_saved_reply": INBOX & holding("manage_org"),
    "inbox_policy": INBOX & holding("manage_org"), "inbox_rule": INBOX & holding("manage_org"),
    # Other sections (greenroom/core/tenancy.py SECTIONS).
    "crisis": section("crisis"), "team": section("team"), "analytics": section("analytics"),
    "audit": holding("view_audit"), "audit_export": holding("view_audit"),
    # Organisation security: owners and admins (manage_members).
    "org_security": holding("manage_members"),
    # Governance: inventory for administer or view_audit; reports for manage_members or
    # view_audit; provisioning and settings for manage_org (the governance page matrix).
    "governance": section("governance"), "channel_detail": on_coffee(section("governance")),
    "person": holding("view_members"),
    "governance:gaps": holding("view_audit", "manage_members"),
    "governance:offboardings": holding("view_audit", "manage_members"),
    "governance:offboarding": holding("view_audit", "manage_members"),
    "governance:provisioning": holding("manage_org"), "governance:settings": holding("manage_org"),
    "governance:network_apps": holding("manage_org"),
    # Compliance: everyone's own page and the rules they follow (view_org); the reviews for
    # those who run, audit or take part in them; policy editing for manage_org.
    "compliance:mine": MEMBERS, "compliance:policies": MEMBERS, "compliance:guidelines": MEMBERS,
    "compliance:guideline": MEMBERS,
    "compliance:reviews": holding("manage_members", "view_audit") | REVIEWERS,
    "compliance:review": holding("manage_members") | REVIEWERS,  # deciding, not reading
    "compliance:review_settings": holding("manage_members"),
    "compliance:review_report": holding("manage_members", "view_audit"),
    "compliance:review_export": holding("manage_members", "view_audit"),
    "compliance:policy_edit": holding("manage_org"),
    "compliance:training": holding("manage_members", "view_audit"),
    "compliance:requirements": holding("administer", "view_audit"),
    "compliance:missing": holding("administer", "view_audit"),
}
# fmt: on

# GET pages that answer something else than 200/404 by design.
OTHER_STATUS = {
    "login": 302,  # signed in already: off to the home page
    "login_verify": 302,  # no sign-in waiting for a second factor
    "bluesky:oauth_callback": 302,  # no OAuth flow under way: back with a message
    "healthz": 503,  # the test settings have no broker: the check says so (its own contract)
}

# Forms that change state: GET is refused (405) and the matrix posts to them instead.
POST_ONLY = {
    "media:focal_point", "media:alt_text", "media:make_renditions", "media:retry",
    "composer:panel", "composer:save_group", "composer:delete_group", "calendar:reschedule",
    "mfa_disable", "recovery_codes_regenerate", "session_revoke", "sessions_revoke_others",
    "org_policy", "org_sso", "org_sso_mapping_add", "org_sso_mapping_remove",
    "member_revoke_sessions", "member_reset_mfa", "person_offboard", "compliance:remind",
    "compliance:decide", "compliance:policy_active", "compliance:acknowledge",
    "compliance:guideline_version", "compliance:guideline_active", "compliance:training_remove",
    "compliance:requirement_remove", "governance:checklist_done",
    "governance:revoke_scim_token", "governance:group_role", "publishing_submit",
    "publishing_approve", "publishing_request_changes", "publishing_withdraw",
    "publishing_schedule", "publishing_publish_now", "publishing_cancel", "publishing_retry",
    "publishing_first_comment_retry", "publishing_variant_cancel",
    "publishing_policy_deactivate", "publishing_pause_lift", "publishing_notifications_read",
    "inbox_presence", "inbox_count", "inbox_reply", "inbox_note", "inbox_act", "inbox_hide",
    "inbox_bulk", "inbox_decide", "inbox_contact", "inbox_agent", "inbox_saved_reply_save",
    "inbox_saved_reply_delete", "inbox_saved_reply_active", "inbox_policy_save",
    "inbox_policy_delete", "inbox_policy_active", "inbox_rule_save", "inbox_rule_delete",
    "inbox_rule_active", "logout",
    "switch_language", "switch_organization", "bluesky:oauth_start", "api_token_revoke",
}  # fmt: skip

# Connect pages for a network other than the channel's own: a 404 for every channel of ours
# (the world has no Mastodon channel; Bluesky's is on Tea). Their cross-tenant check still runs.
NOT_THIS_NETWORK = {"bluesky:connect", "mastodon:connect"}

# Pages with no id whose answer depends on objects existing: a reviewer sees the list of access
# reviews only while one has items for them.
SEEN_WITH_OBJECTS = {"compliance:reviews"}

# A query parameter that names an object, where the URL has no id.
QUERY = {"composer:count": "channel"}


def _routes() -> list[Route]:
    return [r for r in site_routes() if not r.route.startswith(tuple(EXCLUDED_PREFIXES))]


def _client(world: World, person: str | None) -> Client:
    client = Client()
    if person:
        client.force_login(world.people[person])
    return client


def _path(route: Route, objects: dict[str, int]) -> str:
    kind = KIND_OF.get(route.name)
    if route.name in QUERY:
        return route.fill(0) + f"?{QUERY[route.name]}={objects[QUERY[route.name]]}"
    return route.fill(objects[kind]) if kind else route.fill(0)


def _get(world: World, person: str | None, path: str) -> int:
    # A savepoint rolled back: a page that writes (presence, a login record) leaves nothing.
    with transaction.atomic():
        status: int = _client(world, person).get(path).status_code
        transaction.set_rollback(True)
    return status


def _names_an_object(route: Route) -> bool:
    return route.name in KIND_OF or route.name in QUERY


def _expected(route: Route, person: str) -> int:
    if route.name in OTHER_STATUS:
        return OTHER_STATUS[route.name]
    if route.name in POST_ONLY:
        return 405
    if route.name in NOT_THIS_NETWORK:
        return 404
    who = WHO[route.name]
    if person == "gina":  # Globex's owner: her own organisation's pages, never Acme's objects
        return 404 if _names_an_object(route) else (200 if "alice" in who else 404)
    return 200 if person in who else 404


GET_ROUTES = [r.name for r in _routes() if r.name not in UNFILLABLE and r.name not in POST_ONLY]


def test_every_url_of_the_site_is_in_the_matrix_or_excluded() -> None:
    """A new page must say who may open it (WHO, POST_ONLY ...) or why it is left out."""
    everything = site_routes()
    excluded = [r for r in everything if r.route.startswith(tuple(EXCLUDED_PREFIXES))]
    known = set(WHO) | set(POST_ONLY) | set(OTHER_STATUS) | NOT_THIS_NETWORK | set(UNFILLABLE)
    unknown = sorted({r.name for r in everything if r not in excluded} - known)
    assert unknown == [], f"add these to the page matrix or to an exclusion list: {unknown}"
    # Every id in a matrix URL names a kind of object the fixture builds.
    unfilled = [
        r.name for r in everything if r not in excluded and r.int_params
        and r.name not in KIND_OF and r.name not in UNFILLABLE
    ]  # fmt: skip
    assert unfilled == []
    # The tables name no route that is gone.
    names = {r.name for r in everything}
    assert (known | set(KIND_OF)) - names == set()
    assert len(excluded) > 100 and len(known) > 120  # the walker really sees the whole site


@pytest.mark.parametrize("name", sorted(set(GET_ROUTES)))
def test_get_page_matrix(name: str, world: World, request: pytest.FixtureRequest) -> None:
    routes = [r for r in _routes() if r.name == name]
    # Building every kind of object takes a while: only for the pages that name one.
    needs_objects = name in SEEN_WITH_OBJECTS or any(map(_names_an_object, routes))
    ids = request.getfixturevalue("ids") if needs_objects else None
    for route in routes:
        acme_path = _path(route, ids.acme if ids else {})
        got = {person: _get(world, person, acme_path) for person in EVERYONE}
        assert all(status < 500 or name == "healthz" for status in got.values()), got
        assert got == {person: _expected(route, person) for person in EVERYONE}, acme_path
        signed_out = _client(world, None).get(acme_path)
        if name in PUBLIC:
            assert signed_out.status_code < 500 or name == "healthz"
        else:
            assert signed_out.status_code == 302, acme_path
            assert signed_out["Location"].startswith("/login/"), acme_path
        if ids is not None and _names_an_object(route):
            assert got["gina"] == 404 and got["charlie"] != 200
            globex_path = _path(route, ids.globex)
            assert _get(world, "alice", globex_path) == 404, globex_path


def _post(world: World, person: str, path: str) -> tuple[int, list[str]]:
    with transaction.atomic():
        last = AuditEvent.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
        status: int = _client(world, person).post(path, {}).status_code
        written = list(
            AuditEvent.objects.filter(pk__gt=last)
            .exclude(action__startswith="auth.")
            .values_list("action", flat=True)
        )
        transaction.set_rollback(True)
    return status, written


POST_WITH_ID = sorted(n for n in POST_ONLY if n in KIND_OF or n in QUERY)


@pytest.mark.parametrize("name", POST_WITH_ID)
def test_forms_refuse_another_organisations_objects(name: str, world: World, ids: Any) -> None:
    """gina at Acme's object and alice at Globex's: a 404 that writes nothing; charlie, in no
    organisation, is refused too."""
    (route,) = [r for r in _routes() if r.name == name]
    acme_path, globex_path = _path(route, ids.acme), _path(route, ids.globex)
    assert _get(world, "alice", acme_path) == 405  # a form's target, not a page
    assert _post(world, "gina", acme_path) == (404, []), acme_path
    assert _post(world, "alice", globex_path) == (404, []), globex_path
    status, written = _post(world, "charlie", acme_path)
    assert status in (403, 404) and written == [], (acme_path, status, written)
    assert _client(world, None).post(acme_path).status_code in (302, 405)
    _empty_forms(world, acme_path, name)


# Forms about the signed-in person's own account: anyone, charlie included, may use them.
OWN_ACCOUNT = {
    "mfa_disable", "recovery_codes_regenerate", "session_revoke", "sessions_revoke_others",
    "logout", "switch_language", "switch_organization",
}  # fmt: skip


def _empty_forms(world: World, path: str, name: str) -> None:
    """Whoever posts nothing to a form gets an answer (an error message, a refusal), never a
    500; and charlie, in no organisation, changes nothing but his own account."""
    for person in EVERYONE:
        status, written = _post(world, person, path)
        assert status < 500, (person, path, status)
        if person == "charlie" and name not in OWN_ACCOUNT:
            assert written == [], (path, written)


@pytest.mark.parametrize("name", sorted(set(POST_ONLY) - set(POST_WITH_ID)))
def test_an_empty_form_is_never_a_server_error(name: str, world: World) -> None:
    (route,) = [r for r in _routes() if r.name == name]
    _empty_forms(world, route.fill(0), name)
