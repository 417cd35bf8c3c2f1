"""Sentences for offboarding steps and checklist items, built when the page is shown so they
read in the viewer's language."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from django import template
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from greenroom.core.permissions import Role
from greenroom.core.templatetags.greenroom import network_name
from greenroom.governance.inventory import InventoryRow, MailKind
from greenroom.governance.models import ChecklistItem, ChecklistKind, OffboardingStep, StepKind

register = template.Library()

# Where each network keeps the list of people with admin rights on an account.
NATIVE_PLACES: dict[str, Any] = {
    "facebook": gettext_lazy("Meta Business Manager (Business settings → People)"),
    "instagram": gettext_lazy("Meta Business Manager (Business settings → People)"),
    "threads": gettext_lazy("Meta Business Manager (Business settings → People)"),
    "linkedin": gettext_lazy("the LinkedIn Page's admins (Admin tools → Manage admins)"),
    "x": gettext_lazy("X delegated access (Settings → Account → Delegate)"),
    "youtube": gettext_lazy("YouTube channel permissions (Settings → Permissions)"),
    "tiktok": gettext_lazy("TikTok Business Center members"),
    "bluesky": gettext_lazy("the Bluesky account's app passwords"),
    "mastodon": gettext_lazy("the Mastodon account's authorised apps"),
}


def native_place(kind: str) -> str:
    return str(NATIVE_PLACES.get(kind, _("the network's admin settings")))


@register.filter
def checklist_text(item: ChecklistItem) -> str:
    person = item.offboarding.person_name
    channel = item.channel.name if item.channel is not None else ""
    kind = item.channel.kind if item.channel is not None else ""
    detail = item.detail or {}
    if item.kind == ChecklistKind.REMOVE_NATIVE_ADMIN:
        text = _("Remove %(person)s from %(place)s for %(channel)s.") % {
            "person": person,
            "place": native_place(kind),
            "channel": channel,
        }
        if detail.get("role"):
            text += " " + _("Their role there: %(role)s.") % {"role": detail["role"]}
        return text
    if item.kind == ChecklistKind.ROTATE_PASSWORD:
        return _(
            "Change the password of %(channel)s: %(person)s knew it. "
            "Store the new one in the vault."
        ) % {"channel": channel, "person": person}
    if item.kind == ChecklistKind.MOVE_TWO_FACTOR:
        return _(
            "Move the two-factor device of %(channel)s from %(person)s to someone who stays, and "
            "record the new holder."
        ) % {"channel": channel, "person": person}
    if item.kind == ChecklistKind.CHANGE_RECOVERY_EMAIL:
        return _(
            "Change the recovery email of %(channel)s: %(person)s read it. Use a shared mailbox."
        ) % {"channel": channel, "person": person}
    if item.kind == ChecklistKind.CHANGE_RECOVERY_PHONE:
        return _("Change the recovery phone of %(channel)s: %(person)s held it.") % {
            "channel": channel,
            "person": person,
        }
    if item.kind == ChecklistKind.FIX_APPROVAL_STEP:
        return _(
            "The approval step “%(step)s” of policy “%(policy)s” has %(possible)s possible "
            "approvers and needs %(needed)s: add approvers, or posts will wait there."
        ) % {
            "step": detail.get("step", ""),
            "policy": detail.get("policy", ""),
            "possible": detail.get("possible", 0),
            "needed": detail.get("needed", 1),
        }
    if item.kind == ChecklistKind.FIX_ROUTING_RULE:
        return _(
            "The inbox routing rule “%(rule)s” assigns conversations to %(person)s: change it."
        ) % {
            "rule": detail.get("rule", ""),
            "person": person,
        }
    return str(item.get_kind_display())


@register.filter
def step_text(step: OffboardingStep) -> str:
    detail: dict[str, Any] = step.detail or {}
    offboarding = step.offboarding
    successor = offboarding.successor.name if offboarding.successor else None
    if step.kind == StepKind.SESSIONS:
        if not detail.get("searchable", True):
            return _("The session store cannot be searched; their sessions end when they expire.")
        return _("Sessions signed out: %(n)s.") % {"n": step.count}
    if step.kind == StepKind.API_TOKENS:
        return _("API tokens revoked: %(n)s.") % {"n": step.count}
    if step.kind == StepKind.CONVERSATIONS:
        to = offboarding.conversations_to.name if offboarding.conversations_to else None
        text = _("Open conversations: %(n)s.") % {"n": step.count}
        if detail.get("assigned"):
            text += " " + _("Given to %(person)s: %(n)s.") % {"person": to, "n": detail["assigned"]}
        if detail.get("to_queue"):
            text += " " + _("Back to the unassigned queue: %(n)s.") % {"n": detail["to_queue"]}
        return text
    if step.kind == StepKind.APPROVALS:
        text = _(
            "Posts waiting for their approval: %(n)s; approval steps that named them: %(steps)s."
        ) % {
            "n": step.count,
            "steps": detail.get("steps", 0),
        }
        if successor:
            text += " " + _("%(person)s approves in their place.") % {"person": successor}
        if detail.get("short_steps"):
            text += " " + _("Steps short of approvers: %(steps)s.") % {
                "steps": ", ".join(detail["short_steps"])
            }
        return text
    if step.kind == StepKind.CHANNELS:
        text = _("Channels they owned: %(owned)s; channels they backed up: %(backup)s.") % {
            "owned": detail.get("owned", 0),
            "backup": detail.get("backed_up", 0),
        }
        text += " " + (
            _("Handed to %(person)s.") % {"person": successor}
            if successor
            else _("Each channel's backup took over as owner.")
        )
        if detail.get("without_owner") or detail.get("without_backup"):
            text += " " + _("Now without an owner: %(owner)s; without a backup: %(backup)s.") % {
                "owner": detail.get("without_owner", 0),
                "backup": detail.get("without_backup", 0),
            }
        return text
    if step.kind == StepKind.GRANTS:
        return _("Channel grants removed: %(n)s, on %(channels)s channels.") % {
            "n": step.count,
            "channels": detail.get("channels", 0),
        }
    if step.kind == StepKind.TEAMS:
        names = ", ".join(detail.get("teams", []))
        return _("Removed from teams: %(n)s.") % {"n": step.count} + (
            f" ({names})" if names else ""
        )
    if step.kind == StepKind.MEMBERSHIP:
        role = detail.get("role", "")
        label = Role(role).label if role in Role.values else role
        return _("Membership as %(role)s ended.") % {"role": label}
    if step.kind == StepKind.ACCOUNT:
        if detail.get("other_organisations"):
            return _("Account kept: they belong to another organisation, which still sees them.")
        return _("Account deactivated: they belonged to no other organisation.")
    if step.kind == StepKind.CHECKLIST:
        return _("Tasks to do on the networks: %(n)s.") % {"n": step.count}
    return str(step.get_kind_display())


@register.filter
def day(value: datetime | None) -> SafeString | str:
    """A date in the viewer's zone as a <time> element: `when` without the per-call locale
    formatting, for pages with hundreds of rows."""
    if value is None:
        return "—"
    local = timezone.localtime(value)
    return format_html(
        '<time datetime="{}">{}</time>',
        value.astimezone(UTC).isoformat(timespec="seconds"),
        local.strftime("%Y-%m-%d"),
    )


# --- Inventory rows ---------------------------------------------------------------------------
# The inventory shows hundreds of rows of ten cells; the template engine spends about half a
# millisecond per row resolving variables, so rows are put together here, every value escaped
# by format_html (nothing is marked safe by hand).


def _cells(parts: list[SafeString]) -> SafeString:
    return format_html_join("", "{}", ((part,) for part in parts))


def _person_cell(user: Any, left: bool, missing: str, text: dict[str, str]) -> SafeString:
    if user is None:
        return format_html('<td><span class="gr-missing">{}</span></td>', missing)
    if left:
        return format_html(
            '<td>{} <span class="gr-chip gr-chip-bad">{}</span></td>', user.name, text["left"]
        )
    return format_html("<td>{}</td>", user.name)


def _admins_cell(row: InventoryRow, text: dict[str, str]) -> SafeString:
    if not row.native_admins:
        return format_html('<td><span class="gr-missing">{}</span></td>', text["not_recorded"])
    return format_html(
        "<td>{}</td>",
        _cells(
            [
                format_html('<span class="d-block">{}</span>', admin.name)
                if admin.user_id
                else format_html(
                    '<span class="d-block">{} <span class="gr-meta">({})</span></span>',
                    admin.name,
                    text["outside"],
                )
                for admin in row.native_admins
            ]
        ),
    )


def _recovery_cell(row: InventoryRow, text: dict[str, str]) -> SafeString:
    recovery = row.recovery
    parts: list[SafeString] = []
    if row.recovery_email.kind == MailKind.NONE:
        parts.append(format_html('<span class="gr-meta">{}</span>', text["no_recovery"]))
    else:
        chip = (
            format_html('<span class="gr-chip gr-chip-warn">{}</span>', text["personal"])
            if row.recovery_email.is_personal
            else format_html('<span class="gr-chip gr-chip-ok">{}</span>', text["shared"])
        )
        parts.append(
            format_html('<span class="d-block">{}</span> {}', recovery.recovery_email, chip)
        )
    if recovery is not None and recovery.two_factor_holder is not None:
        parts.append(
            format_html(
                '<span class="d-block gr-meta">{}: {}</span>',
                text["two_factor"],
                recovery.two_factor_holder.name,
            )
        )
    return format_html("<td>{}</td>", _cells(parts))


def _token_cell(row: InventoryRow, text: dict[str, str]) -> SafeString:
    if row.token_state == "none":
        return format_html('<td><span class="gr-meta">{}</span></td>', text["not_connected"])
    if row.token_expires is None:
        return format_html('<td><span class="gr-meta">{}</span></td>', text["no_expiry"])
    chip = (
        format_html(' <span class="gr-chip gr-chip-bad">{}</span>', text["expired"])
        if row.token_state == "expired"
        else format_html(' <span class="gr-chip gr-chip-warn">{}</span>', text["soon"])
        if row.token_state == "soon"
        else format_html("{}", "")
    )
    return format_html(
        '<td><span class="text-nowrap">{}</span>{}</td>', day(row.token_expires), chip
    )


def _gaps_cell(row: InventoryRow, text: dict[str, str]) -> SafeString:
    if not row.gaps:
        return format_html('<td><span class="gr-chip gr-chip-ok">{}</span></td>', text["no_gaps"])
    return format_html(
        "<td>{}</td>",
        format_html_join(
            " ",
            '<a class="gr-chip gr-chip-warn text-decoration-none d-inline-block mb-1" '
            'href="{}" title="{}">{}</a>',
            ((gap.fix_url, gap.fix_label, gap.label) for gap in row.gaps),
        ),
    )


@register.filter
def inventory_row(row: InventoryRow, text: dict[str, str]) -> SafeString:
    """One <tr> of the channel inventory (governance/inventory.html)."""
    channel = row.channel
    activity = row.last_activity
    cells = _cells(
        [
            format_html(
                '<td><a href="{}" class="fw-semibold">{}</a> '
                '<span class="gr-chip {}">{}</span>'
                '<span class="d-block gr-meta">{} · <span class="gr-handle">{}</span></span>'
                '<span class="d-block gr-meta">{} · {}</span></td>',
                row.url,
                channel.name,
                row.status_chip,
                channel.get_status_display(),
                network_name(channel.kind),
                channel.handle,
                channel.region or "—",
                channel.timezone,
            ),
            format_html("<td>{}</td>", channel.brand.name),
            _person_cell(channel.owner, row.owner_left, text["no_owner"], text),
            _person_cell(channel.backup, row.backup_left, text["no_backup"], text),
            _admins_cell(row, text),
            _recovery_cell(row, text),
            _token_cell(row, text),
            format_html('<td><span class="text-nowrap">{}</span></td>', day(activity))
            if activity is not None
            else format_html('<td><span class="gr-meta">{}</span></td>', text["none_yet"]),
            _gaps_cell(row, text),
        ]
    )
    if row.uncovered:
        return format_html('<tr class="gr-row-warn">{}</tr>', cells)
    return format_html("<tr>{}</tr>", cells)
