"""Links to the security pages, for pages other apps own (preferences)."""

from __future__ import annotations

from typing import Any

from django import template
from django.http import HttpRequest

from greenroom.core.tenancy import current_org_or_none, has_org_perm

register = template.Library()


@register.inclusion_tag("accounts/_security_links.html", takes_context=True)
def security_links(context: dict[str, Any]) -> dict[str, Any]:
    request = context.get("request")
    if not isinstance(request, HttpRequest):
        return {"org": None, "org_admin": False}
    org = current_org_or_none(request)
    return {"org": org, "org_admin": org is not None and has_org_perm(request, org, "manage_org")}
