"""Notifications out of the inbox, through apprise (greenroom.core.notify): SLA breach digests
and @mentions in internal notes.

Who hears about a breach: the lead of the conversation's team (the channel's owner when it has
no team), through their own apprise URL (kept in the vault, set with do_set_notify_url), plus
every URL in GREENROOM_INBOX_ESCALATION_URLS (an ops channel). When no apprise target is
configured at all, the lead gets an e-mail through Django's mail settings, so a fresh
installation still tells someone. A person mentioned in a note hears through their own URL, or
by e-mail without one. Once on-call rotations exist, whoever is on call joins `recipients_for`.

A reply that waits for approval is announced to everyone who may approve it on its channel (not
its author); a reply sent back is announced to its author, with the approver's reason. A person
a colleague assigns conversations to hears which, with what the customer wrote and when the
answer is due (routing's own hand-outs are not announced: they arrive all day, in the queue).

Each person reads the text in their own language and the times in their own zone; a configured
target reads the installation's language and the organisation's zone. Bodies are plain text
(core.notify sends them as text, so an HTML target escapes them).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.conf import settings
from django.core.mail import send_mail
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import override

from greenroom.core import notify, vault
from greenroom.core.models import Organization, User
from greenroom.core.notify import Target

__all__ = [
    "Handed",
    "Recipient",
    "Target",
    "assigned_message",
    "breach_digest",
    "deliver",
    "mention_message",
    "person_recipient",
    "person_targets",
    "recipients_for",
    "reply_returned_message",
    "reply_waiting_message",
]

# A digest names this many breaches one by one; the rest are counted, with a link to the queue.
DIGEST_LINES = 50
# A mentioned note is quoted up to this many characters.
QUOTE_CHARS = 2000
# An assignment notice quotes this many conversations; the rest are counted, with a link.
HANDED_LINES = 10
# ...and the customer's latest message up to this many characters each.
HANDED_QUOTE_CHARS = 300


def person_targets(person: User, organization_id: int) -> list[Target]:
    """The person's own apprise URL in this organisation (their agent profile), if set.

    Registered with greenroom.core.notify at start-up: publishing notices use it too."""
    from greenroom.inbox.models import AgentProfile

    profile = (
        AgentProfile.objects.filter(organization_id=organization_id, user=person)
        .select_related("notify_secret")
        .first()
    )
    if profile is None or profile.notify_secret is None:
        return []
    return [Target(label=person.username, url=vault.reveal(profile.notify_secret))]


@dataclass(frozen=True)
class Recipient:
    """One reader of a notification: a person, or a configured target.

    `key` groups what one sweep sends them into one message; `language` and `zone` are how the
    message is written. `email` is used only when there is no apprise target."""

    key: str
    language: str
    zone: str
    targets: tuple[Target, ...] = ()
    email: str = ""
    email_label: str = ""


def person_recipient(person: User, organization_id: int, *, label: str = "") -> Recipient:
    """A person as a reader: their own apprise URL, else their e-mail address."""
    prefix = f"{label} " if label else ""
    return Recipient(
        key=f"user:{person.pk}",
        language=person.language or settings.LANGUAGE_CODE,
        zone=person.timezone or "UTC",
        targets=tuple(
            Target(label=f"{prefix}{t.label}", url=t.url)
            for t in person_targets(person, organization_id)
        ),
        email=person.email,
        email_label=f"e-mail to {prefix}{person.username}",
    )


def recipients_for(lead: User | None, organization: Organization) -> list[Recipient]:
    """Who hears about a breach: the lead (their URL) and each configured escalation URL; the
    lead's e-mail only when neither exists."""
    found: list[Recipient] = []
    configured = list(settings.INBOX_ESCALATION_URLS)
    if lead is not None and lead.is_active:
        person = person_recipient(lead, organization.pk, label="team lead")
        if person.targets or (not configured and person.email):
            found.append(person)
    for index, url in enumerate(configured, start=1):
        found.append(
            Recipient(
                key=f"url:{index}",
                language=settings.LANGUAGE_CODE,
                zone=organization.timezone or "UTC",
                targets=(Target(label=f"escalation target {index}", url=url),),
            )
        )
    return found


def deliver(recipient: Recipient, title: str, body: str) -> list[str]:
    """Send one message to one reader; returns the labels of the targets that accepted it."""
    if recipient.targets:
        return notify.send(title, body, recipient.targets)
    if recipient.email and send_mail(title, body, None, [recipient.email], fail_silently=True):
        return [recipient.email_label]
    return []


def _link(conversation_id: int) -> str:
    return settings.BASE_URL + reverse("inbox_conversation", args=[conversation_id])


def _when(moment: datetime, zone: str) -> str:
    try:
        tz = ZoneInfo(zone)
    except (ZoneInfoNotFoundError, ValueError):
        tz, zone = ZoneInfo("UTC"), "UTC"
    return f"{moment.astimezone(tz):%Y-%m-%d %H:%M} ({zone})"


@dataclass(frozen=True)
class Breach:
    """What a breach message says about one SlaEvent (read once, written per reader)."""

    conversation_id: int
    kind_label: object  # lazy: translated when the message is written
    channel: str
    clock_label: object
    due_at: datetime


def breach_digest(
    breaches: Sequence[Breach], recipient: Recipient, organization: Organization
) -> tuple[str, str]:
    """Title and body of one reader's message about the breaches one sweep found."""
    with override(recipient.language):
        if len(breaches) == 1:
            only = breaches[0]
            title = _("SLA breached: %(kind)s on %(channel)s") % {
                "kind": only.kind_label,
                "channel": only.channel,
            }
            due = _when(only.due_at, recipient.zone)
            body = (
                _("The %(clock)s target was due at %(due)s and has passed.")
                % {"clock": str(only.clock_label).lower(), "due": due}
                + "\n\n"
                + _("Open it in Greenroom: %(link)s") % {"link": _link(only.conversation_id)}
            )
            return title, body
        title = _("%(count)d conversations breached their SLA in %(org)s") % {
            "count": len(breaches),
            "org": organization.name,
        }
        lines = [
            _("These conversations passed an SLA target (times in %(zone)s):")
            % {"zone": recipient.zone},
            "",
        ]
        for breach in breaches[:DIGEST_LINES]:
            lines.append(
                "- "
                + _("%(kind)s on %(channel)s: %(clock)s was due at %(due)s")
                % {
                    "kind": breach.kind_label,
                    "channel": breach.channel,
                    "clock": str(breach.clock_label).lower(),
                    "due": _when(breach.due_at, recipient.zone).rsplit(" (", 1)[0],
                }
                + "\n  "
                + _link(breach.conversation_id)
            )
        more = len(breaches) - DIGEST_LINES
        if more > 0:
            queue = settings.BASE_URL + reverse("inbox") + "?queue=breaching"
            lines.append("")
            lines.append(_("… and %(count)d more: %(link)s") % {"count": more, "link": queue})
        return title, "\n".join(lines)


def mention_message(
    *,
    author: str,
    kind_label: object,
    channel: str,
    conversation_id: int,
    text: str,
    language: str,
) -> tuple[str, str]:
    """Title and body telling someone they were mentioned; the note is quoted as plain text."""
    quote = _quote(text)
    with override(language):
        title = _("%(author)s mentioned you on %(channel)s") % {
            "author": author,
            "channel": channel,
        }
        body = (
            _("%(author)s mentioned you in a note (%(kind)s on %(channel)s):")
            % {"author": author, "kind": kind_label, "channel": channel}
            + "\n\n"
            + quote
            + "\n\n"
            + _("Open the conversation: %(link)s") % {"link": _link(conversation_id)}
        )
    return title, body


def _quote(text: str, limit: int = QUOTE_CHARS) -> str:
    quoted = text if len(text) <= limit else text[:limit] + "…"
    return "\n".join("> " + line for line in quoted.splitlines() or [""])


@dataclass(frozen=True)
class Handed:
    """What an assignment notice says about one conversation."""

    conversation_id: int
    kind_label: object  # lazy: translated when the message is written
    channel: str
    person: str  # who wrote to us
    text: str  # their latest message
    due_at: datetime | None  # the earliest running SLA clock


def assigned_message(*, by: str, handed: Sequence[Handed], recipient: Recipient) -> tuple[str, str]:
    """Title and body telling someone a colleague assigned them conversations: each with the
    customer's latest words quoted as plain text, when the answer is due and a link."""
    with override(recipient.language):
        if len(handed) == 1:
            title = _("%(by)s assigned you a conversation on %(channel)s") % {
                "by": by,
                "channel": handed[0].channel,
            }
        else:
            title = _("%(by)s assigned you %(count)d conversations") % {
                "by": by,
                "count": len(handed),
            }
        lines: list[str] = []
        for one in handed[:HANDED_LINES]:
            lines.append(
                _("%(kind)s from %(person)s on %(channel)s")
                % {"kind": one.kind_label, "person": one.person, "channel": one.channel}
            )
            lines.append(_quote(one.text, HANDED_QUOTE_CHARS))
            if one.due_at is not None:
                lines.append(_("Answer by %(due)s") % {"due": _when(one.due_at, recipient.zone)})
            lines.append(_("Open it: %(link)s") % {"link": _link(one.conversation_id)})
            lines.append("")
        more = len(handed) - HANDED_LINES
        if more > 0:
            mine = settings.BASE_URL + reverse("inbox") + "?queue=mine"
            lines.append(_("… and %(count)d more: %(link)s") % {"count": more, "link": mine})
    return title, "\n".join(lines).rstrip()


def _approvals_link() -> str:
    return settings.BASE_URL + reverse("inbox_approvals")


def reply_waiting_message(
    *, author: str, channel: str, customer_text: str, text: str, language: str
) -> tuple[str, str]:
    """Title and body asking an approver to decide on a held reply; both texts quoted as plain
    text (the customer's first, so the approver reads what the reply answers)."""
    with override(language):
        title = _("%(author)s's reply on %(channel)s waits for your approval") % {
            "author": author,
            "channel": channel,
        }
        body = (
            _("%(author)s wrote a reply on %(channel)s that needs approval before it is sent.")
            % {"author": author, "channel": channel}
            + "\n\n"
            + _("The customer wrote:")
            + "\n"
            + _quote(customer_text)
            + "\n\n"
            + _("The reply:")
            + "\n"
            + _quote(text)
            + "\n\n"
            + _("Approve it or send it back: %(link)s") % {"link": _approvals_link()}
        )
    return title, body


def reply_returned_message(
    *, approver: str, channel: str, conversation_id: int, text: str, reason: str, language: str
) -> tuple[str, str]:
    """Title and body telling an author their held reply was sent back, and why."""
    with override(language):
        title = _("%(approver)s sent back your reply on %(channel)s") % {
            "approver": approver,
            "channel": channel,
        }
        body = (
            _("%(approver)s did not approve your reply on %(channel)s; it was not sent.")
            % {"approver": approver, "channel": channel}
            + "\n\n"
            + (
                _("Their reason:") + "\n" + _quote(reason)
                if reason.strip()
                else _("They gave no reason.")
            )
            + "\n\n"
            + _("Your reply:")
            + "\n"
            + _quote(text)
            + "\n\n"
            + _("Open the conversation to answer again: %(link)s")
            % {"link": _link(conversation_id)}
        )
    return title, body
