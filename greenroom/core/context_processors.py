"""What the page frame (base.html) needs: navigation, organisations, languages.

Cheap on purpose, since it runs for every page: the user's access is loaded once per request
(two queries, cached on the user), their organisations in one more, and channel grants only
when the person has some.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.urls import reverse

from greenroom.core.forms import language_choices
from greenroom.core.models import Membership
from greenroom.core.permissions import Role
from greenroom.core.tenancy import current_org_or_none, user_organizations, visible_sections


def shell(request: HttpRequest) -> dict[str, Any]:
    context: dict[str, Any] = {"shell_languages": language_choices()}
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return context
    org = current_org_or_none(request)
    # The audit log is part of governance, so the Governance tab stays lit there; the network
    # rules are what publishing checks posts against.
    also_under = {
        "governance": (reverse("audit"),),
        "publishing": (reverse("networks:rules"),),
    }
    nav = []
    for section in visible_sections(request, org):
        url = reverse(section.url_name)
        prefixes = (url, *also_under.get(section.key, ()))
        nav.append(
            {
                "key": section.key,
                "label": section.label,
                "url": url,
                "active": request.path.startswith(prefixes),
            }
        )
    role = None
    if org is not None:
        code = (
            Membership.objects.restrict(user, "view_org")
            .filter(organization=org, user=user, is_active=True)
            .values_list("role", flat=True)
            .first()
        )
        role = Role(code).label if code in Role.values else None
    context.update(
        {
            "shell_org": org,
            "shell_role": role,
            "shell_orgs": user_organizations(request),
            "shell_nav": nav,
            "shell_timezone": user.timezone,
        }
    )
    return context
