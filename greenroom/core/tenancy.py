"""Which organisation a request is about, and which sections of the product its user may open.

A person may belong to several organisations; the one they are looking at is kept in the session
and always re-checked through `restrict()`, so a stale or forged session value can never reach an
organisation the person has left.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.http import Http404, HttpRequest
from django.utils.translation import gettext_lazy as _

from greenroom.core.models import Channel, Organization
from greenroom.core.restrict import Access

SESSION_KEY = "greenroom_org_id"
_CACHE_ATTR = "_greenroom_org"
_ORGS_ATTR = "_greenroom_orgs"


def user_organizations(request: HttpRequest) -> list[Organization]:
    """Every organisation the user belongs to, by name (one query, cached on the request)."""
    cached = getattr(request, _ORGS_ATTR, None)
    if cached is not None:
        return cached  # type: ignore[no-any-return]
    orgs: list[Organization] = []
    if request.user.is_authenticated:
        orgs = list(Organization.objects.restrict(request.user, "view_org").order_by("name", "pk"))
    setattr(request, _ORGS_ATTR, orgs)
    return orgs


def current_org_or_none(request: HttpRequest) -> Organization | None:
    """The organisation the user is looking at, or None when they belong to none."""
    if hasattr(request, _CACHE_ATTR):
        return getattr(request, _CACHE_ATTR)  # type: ignore[no-any-return]
    orgs = user_organizations(request)
    wanted = request.session.get(SESSION_KEY) if hasattr(request, "session") else None
    org = next((o for o in orgs if o.pk == wanted), orgs[0] if orgs else None)
    if org is not None and wanted != org.pk and hasattr(request, "session"):
        request.session[SESSION_KEY] = org.pk
    setattr(request, _CACHE_ATTR, org)
    return org


def current_org(request: HttpRequest) -> Organization:
    """The organisation the user is looking at; a 404 when they belong to none."""
    org = current_org_or_none(request)
    if org is None:
        raise Http404("You do not belong to an organisation.")
    return org


def switch_org(request: HttpRequest, org_id: int) -> Organization:
    """Make `org_id` the current organisation; a 404 unless the user belongs to it."""
    org = next((o for o in user_organizations(request) if o.pk == org_id), None)
    if org is None:
        raise Http404("No such organisation.")
    request.session[SESSION_KEY] = org.pk
    setattr(request, _CACHE_ATTR, org)
    return org


def has_org_perm(request: HttpRequest, org: Organization, perm: str) -> bool:
    return Access.of(request.user).has_org_perm(org.pk, perm)


def channel_perms(request: HttpRequest, org: Organization) -> frozenset[str]:
    """Permissions the user holds in `org` through roles, plus channel grants there."""
    access = Access.of(request.user)
    perms: set[str] = set()
    for scope in access.scopes:
        if scope.org_id == org.pk:
            perms |= scope.perms
    granted = {perm for perm, ids in access.channel_grants.items() if ids and perm not in perms}
    if granted:
        # Grants are loaded for every organisation the user is in; keep those of this one.
        ids = set().union(*(access.channel_grants[p] for p in granted))
        in_org = set(
            Channel.objects.filter(pk__in=ids, organization=org).values_list("pk", flat=True)
        )
        perms |= {p for p in granted if access.channel_grants[p] & in_org}
    return frozenset(perms)


@dataclass(frozen=True)
class Section:
    key: str
    url_name: str
    label: Any
    # Any one of these permissions opens the section.
    perms: frozenset[str]


# The product's sections, in navigation order, and what opens each. Why these permissions:
# publishing is for people who draft, publish or approve; the inbox for people who engage;
# crisis for everyone who can act in one (pause publishing, respond, approve a holding statement);
# governance for those who administer channels or audit them; team for those who see people;
# analytics for those with view_analytics.
SECTIONS: tuple[Section, ...] = (
    Section(
        "publishing", "publishing", _("Publishing"), frozenset({"draft", "publish", "approve"})
    ),
    Section("inbox", "inbox", _("Inbox"), frozenset({"engage"})),
    Section(
        "crisis",
        "crisis",
        _("Crisis"),
        frozenset({"publish", "approve", "engage", "administer"}),
    ),
    Section("governance", "governance", _("Governance"), frozenset({"administer", "view_audit"})),
    Section("team", "team", _("Team"), frozenset({"view_members"})),
    Section("analytics", "analytics", _("Analytics"), frozenset({"view_analytics"})),
)
SECTIONS_BY_KEY = {s.key: s for s in SECTIONS}


def visible_sections(request: HttpRequest, org: Organization | None) -> list[Section]:
    if org is None:
        return []
    perms = channel_perms(request, org)
    return [s for s in SECTIONS if s.perms & perms]


def opens_section(request: HttpRequest, org: Organization, key: str) -> bool:
    """Whether the user may open section `key` in `org` (its pages, and links to them)."""
    return bool(SECTIONS_BY_KEY[key].perms & channel_perms(request, org))


def require_section(request: HttpRequest, key: str) -> Organization:
    """The current organisation, if the user may open section `key` in it; otherwise a 404."""
    org = current_org(request)
    if not opens_section(request, org, key):
        raise Http404("No such page.")
    return org
