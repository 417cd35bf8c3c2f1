"""Which compliance pages a person reaches (for the tabs in the governance section)."""

from __future__ import annotations

from typing import Any

from django import template

from greenroom.core.tenancy import channel_perms, current_org_or_none, has_org_perm

register = template.Library()


@register.simple_tag(takes_context=True)
def compliance_tabs(context: Any) -> dict[str, bool]:
    request = context.get("request")
    if request is None or not request.user.is_authenticated:
        return {}
    org = current_org_or_none(request)
    if org is None:
        return {}
    manage = has_org_perm(request, org, "manage_members")
    audit = has_org_perm(request, org, "view_audit")
    administer = "administer" in channel_perms(request, org)
    return {
        "reviews": manage or audit,
        "training": manage or audit,
        "requirements": audit or administer,
        "missing": manage or audit or administer,
    }
