"""Escalations out of the inbox, through apprise (greenroom.core.notify).

Who hears about a breach: the lead of the conversation's team (their own apprise URL, kept in the
vault, set with do_set_notify_url), plus every URL in GREENROOM_INBOX_ESCALATION_URLS (an ops
channel). When no apprise target is configured, the team lead gets an e-mail through Django's
mail settings, so a fresh installation still tells someone. Once on-call rotations exist, whoever
is on call joins the list here.
"""

from __future__ import annotations

from django.conf import settings
from django.core.mail import send_mail

from greenroom.core import notify, vault
from greenroom.core.models import User
from greenroom.core.notify import Target

__all__ = ["Target", "person_targets", "send", "targets_for"]


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


def targets_for(lead: User | None, organization_id: int) -> list[Target]:
    found: list[Target] = []
    if lead is not None:
        found += [
            Target(label=f"team lead {t.label}", url=t.url)
            for t in person_targets(lead, organization_id)
        ]
    for index, url in enumerate(settings.INBOX_ESCALATION_URLS, start=1):
        found.append(Target(label=f"escalation target {index}", url=url))
    return found


def send(title: str, body: str, *, lead: User | None, organization_id: int) -> list[str]:
    """Send one escalation; returns the labels of the targets that accepted it."""
    targets = targets_for(lead, organization_id)
    delivered = notify.send(title, body, targets)
    if not targets and lead is not None and lead.email:
        sent = send_mail(title, body, None, [lead.email], fail_silently=True)
        if sent:
            delivered.append(f"e-mail to team lead {lead.username}")
    return delivered
