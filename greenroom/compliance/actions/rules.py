"""Policy rules: owners and admins write them, switch them off and on again."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from greenroom.compliance.models import PersonalData, PolicyRule, RuleEffect, RuleKind
from greenroom.compliance.policies import normalise_domain
from greenroom.core import audit
from greenroom.core.models import Brand, Organization, User

from .common import ActionError, ComplianceAction, require_org_perm

RULE_FIELDS = (
    "name",
    "kind",
    "action",
    "brand",
    "region",
    "terms",
    "data_kinds",
    "reason",
    "is_active",
)
_DOMAIN = re.compile(r"^(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z0-9-]{2,63}$")
MAX_TERMS = 500


def clean_domain(value: str) -> str:
    """A domain from what people paste: "https://www.Acme.com/shop" -> "www.acme.com"."""
    text = value.strip()
    text = re.sub(r"^[a-zA-Z][a-zA-Z0-9+.-]*://", "", text)
    text = text.split("/", 1)[0].split("?", 1)[0].split("#", 1)[0]
    text = text.rsplit("@", 1)[-1].split(":", 1)[0]
    domain = normalise_domain(text.lstrip("*."))
    if not _DOMAIN.match(domain):
        raise ActionError(
            _("“%(value)s” is not a domain. Write it like acme.com (subdomains are included).")
            % {"value": value.strip()}
        )
    return domain


def clean_terms(kind: str, terms: Iterable[str]) -> list[str]:
    values = [t.strip() for t in terms if t and t.strip()]
    if kind in (RuleKind.DOMAIN_ALLOW, RuleKind.DOMAIN_BLOCK):
        values = [clean_domain(t) for t in values]
    unique = list(dict.fromkeys(values))
    if kind != RuleKind.PERSONAL_DATA and not unique:
        empty: dict[str, str] = {
            RuleKind.BANNED_TERMS: _("List at least one banned term."),
            RuleKind.DISCLOSURE: _("List at least one accepted disclosure, e.g. #ad or #광고."),
        }
        raise ActionError(empty.get(kind, _("List at least one domain.")))
    if len(unique) > MAX_TERMS:
        raise ActionError(
            _("A rule holds at most %(n)s entries; split it into several rules.") % {"n": MAX_TERMS}
        )
    if any(len(v) > 200 for v in unique):
        raise ActionError(_("Each entry must be at most 200 characters."))
    return unique if kind != RuleKind.PERSONAL_DATA else []


@transaction.atomic
def do_save_policy_rule(
    org: Organization,
    *,
    rule: PolicyRule | None = None,
    name: str,
    kind: str,
    action: str,
    brand: Brand | None = None,
    region: str = "",
    terms: Iterable[str] = (),
    data_kinds: Iterable[str] = (),
    reason: str = "",
    acting_user: User,
) -> PolicyRule:
    """Create a rule, or change `rule`. Posts are checked against it from the next submission
    and, for posts already approved, just before they are published."""
    require_org_perm(acting_user, org, "manage_org", _("change publishing policies"))
    if rule is not None and rule.organization_id != org.pk:
        raise ActionError(_("That rule belongs to another organisation."))
    name = name.strip()
    if not name:
        raise ActionError(_("Give the rule a name."))
    if kind not in RuleKind.values:
        raise ActionError(_("Unknown kind of rule %(kind)s.") % {"kind": kind})
    if action not in RuleEffect.values:
        raise ActionError(_("A rule either blocks or warns."))
    if brand is not None and brand.organization_id != org.pk:
        raise ActionError(_("That brand belongs to another organisation."))
    cleaned = clean_terms(kind, terms)
    kinds = [k for k in dict.fromkeys(data_kinds) if k]
    if any(k not in PersonalData.values for k in kinds):
        raise ActionError(_("Unknown kind of personal data."))
    if kind == RuleKind.PERSONAL_DATA and not kinds:
        kinds = list(PersonalData.values)
    if kind != RuleKind.PERSONAL_DATA:
        kinds = []
    before: dict[str, Any] | None = None
    if rule is None:
        rule = PolicyRule(organization=org, created_by=acting_user)
    else:
        rule = PolicyRule.objects.select_for_update().get(pk=rule.pk)
        before = audit.snapshot(rule, RULE_FIELDS)
    rule.name = name[:200]
    rule.kind = kind
    rule.action = action
    rule.brand = brand
    rule.region = region.strip()[:64]
    rule.terms = cleaned
    rule.data_kinds = kinds
    rule.reason = reason.strip()
    rule.updated_at = timezone.now()
    rule.save()
    audit.record(
        ComplianceAction.RULE_CREATED if before is None else ComplianceAction.RULE_UPDATED,
        actor=acting_user,
        organization=org,
        target=rule,
        before=before,
        after=audit.snapshot(rule, RULE_FIELDS),
    )
    return rule


@transaction.atomic
def do_set_policy_rule_active(rule: PolicyRule, *, active: bool, acting_user: User) -> PolicyRule:
    require_org_perm(acting_user, rule.organization, "manage_org", _("change publishing policies"))
    rule = PolicyRule.objects.select_for_update().get(pk=rule.pk)
    if rule.is_active == active:
        return rule
    rule.is_active = active
    rule.updated_at = timezone.now()
    rule.save(update_fields=["is_active", "updated_at"])
    audit.record(
        ComplianceAction.RULE_SWITCHED_ON if active else ComplianceAction.RULE_SWITCHED_OFF,
        actor=acting_user,
        organization=rule.organization,
        target=rule,
        after={"is_active": active},
    )
    return rule
