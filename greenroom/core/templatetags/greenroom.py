"""Template helpers: times in the viewer's zone, durations, network names, form widgets."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from django import forms, template
from django.forms import BoundField
from django.utils import timezone, translation
from django.utils.formats import date_format
from django.utils.html import format_html
from django.utils.safestring import SafeString
from django.utils.timesince import timeuntil
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from greenroom.core.models import AuditEvent

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise

register = template.Library()

# One unambiguous format in every language (no 12-hour clock, no month/day order guessing).
DEFAULT_FORMAT = "Y-m-d H:i"


@register.simple_tag
def when(value: datetime | None, fmt: str = DEFAULT_FORMAT) -> SafeString | str:
    """A <time> element: shown in the viewer's time zone, machine-readable in UTC."""
    if value is None:
        return "—"
    local = timezone.localtime(value)
    return format_html(
        '<time datetime="{}" title="{}">{}</time>',
        value.astimezone(UTC).isoformat(timespec="seconds"),
        f"{date_format(local, 'Y-m-d H:i:s')} {local.tzname()}",
        date_format(local, fmt),
    )


@register.filter
def until(value: datetime | None) -> str:
    """How long until `value`, in its largest unit only ("5 days", not "4 days, 23 hours")."""
    if value is None:
        return ""
    return timeuntil(value, depth=1)


@register.filter
def duration(value: timedelta | None) -> str:
    """A length of time in its two largest units: "1 day, 2 hours", "30 minutes"."""
    if value is None:
        return ""
    minutes = int(value.total_seconds() // 60)
    days, rest = divmod(minutes, 24 * 60)
    hours, minutes = divmod(rest, 60)
    parts = [
        ngettext("%(n)d day", "%(n)d days", days) % {"n": days} if days else "",
        ngettext("%(n)d hour", "%(n)d hours", hours) % {"n": hours} if hours else "",
        ngettext("%(n)d minute", "%(n)d minutes", minutes) % {"n": minutes} if minutes else "",
    ]
    return ", ".join([p for p in parts if p][:2]) or ngettext(
        "%(n)d minute", "%(n)d minutes", 0
    ) % {"n": 0}


@register.filter
def bootstrap(field: BoundField) -> SafeString:
    """Render a form field's widget with Bootstrap classes and the ARIA links to its help/errors."""
    widget = field.field.widget
    if isinstance(widget, forms.CheckboxInput):
        css = "form-check-input"
    elif isinstance(widget, forms.Select | forms.SelectMultiple):
        css = "form-select"
    else:
        css = "form-control"
    attrs: dict[str, str | bool] = {}
    described = []
    if field.help_text:
        described.append(f"{field.auto_id}_helptext")
    if field.errors:
        css += " is-invalid"
        attrs["aria-invalid"] = "true"
        described.append(f"{field.auto_id}_errors")
    attrs["class"] = f"{widget.attrs.get('class', '')} {css}".strip()
    if described:
        attrs["aria-describedby"] = " ".join(described)
    return field.as_widget(attrs=attrs)


@register.filter
def network_name(kind: str) -> str:
    """How a network calls itself ("x" -> "X"), from the rule table."""
    from greenroom.networks import rules

    try:
        return rules.get_network(kind).name
    except (rules.UnknownNetwork, rules.RuleTableError):
        return kind


# Audit actions in words. Other apps name theirs in an `audit_labels` module (LABELS), found at
# start-up by CoreConfig.ready(); an action nobody named shows its code.
ACTION_LABELS: dict[str, StrOrPromise] = {
    "org.created": _("Organisation created"),
    "org.updated": _("Organisation changed"),
    "brand.created": _("Brand created"),
    "channel.created": _("Channel added"),
    "channel.updated": _("Channel changed"),
    "channel.credentials_set": _("Channel token set"),
    "user.created": _("Account created"),
    "user.preferences_changed": _("Preferences changed"),
    "member.added": _("Person added"),
    "member.role_changed": _("Role changed"),
    "member.deactivated": _("Person removed"),
    "grant.added": _("Channel access given"),
    "grant.removed": _("Channel access taken away"),
    "team.created": _("Team created"),
    "team.members_set": _("Team members changed"),
    "secret.stored": _("Secret stored in the vault"),
    "vault.rotated": _("Vault re-encrypted with a new key"),
    "api_token.created": _("API token created"),
    "api_token.revoked": _("API token revoked"),
    "auth.login": _("Signed in"),
    "auth.login_failed": _("Sign-in failed"),
    "auth.login_throttled": _("Sign-in refused after too many failures"),
    "auth.logout": _("Signed out"),
    "auth.password_changed": _("Password changed"),
    "audit.exported": _("Audit log exported"),
}


@register.filter
def action_label(code: str) -> str:
    from greenroom.core.audit import action_labels

    label = ACTION_LABELS.get(code) or action_labels().get(code)
    return str(label) if label else code


@register.filter
def language_label(code: str) -> str:
    """A language code ("ko") as the reader calls the language ("한국어", "Korean"); an unknown
    code as it is."""
    try:
        return str(translation.get_language_info(code)["name_translated"])
    except KeyError:
        return code


# Actions without a person (the engine, a schedule, a webhook) store this name.
_NO_PERSON = "system"


@register.filter
def who_did(name: str) -> str:
    """A stored actor's name, with the placeholder for "no person" said in the reader's language."""
    return gettext("Greenroom (automatic)") if name == _NO_PERSON else name


_DEFAULT_REPR = re.compile(r"^\w+ object \(\d+\)$")


@register.filter
def target_label(event: AuditEvent) -> str:
    """The target as recorded, unless it is Django's meaningless "Model object (1)"."""
    if not event.target_repr or _DEFAULT_REPR.match(event.target_repr):
        return ""
    return event.target_repr
