"""Escalations out of the inbox, through apprise (Slack, Teams, Telegram, e-mail, webhooks ...).

Who hears about a breach: the lead of the conversation's team (their own apprise URL, kept in the
vault, set with do_set_notify_url), plus every URL in GREENROOM_INBOX_ESCALATION_URLS (an ops
channel). When no apprise target is configured, the team lead gets an e-mail through Django's
mail settings, so a fresh installation still tells someone. Once on-call rotations exist, whoever
is on call joins the list here.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from django.conf import settings
from django.core.mail import send_mail

from greenroom.core import vault
from greenroom.core.models import User

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Target:
    # What the audit trail and the conversation page may show: never the URL (it holds tokens).
    label: str
    url: str


def targets_for(lead: User | None, organization_id: int) -> list[Target]:
    from greenroom.inbox.models import AgentProfile

    found: list[Target] = []
    if lead is not None:
        profile = (
            AgentProfile.objects.filter(organization_id=organization_id, user=lead)
            .select_related("notify_secret")
            .first()
        )
        if profile is not None and profile.notify_secret is not None:
            found.append(
                Target(label=f"team lead {lead.username}", url=vault.reveal(profile.notify_secret))
            )
    for index, url in enumerate(settings.INBOX_ESCALATION_URLS, start=1):
        found.append(Target(label=f"escalation target {index}", url=url))
    return found


def send(title: str, body: str, *, lead: User | None, organization_id: int) -> list[str]:
    """Send one escalation; returns the labels of the targets that accepted it."""
    import apprise

    delivered: list[str] = []
    targets = targets_for(lead, organization_id)
    for target in targets:
        sender = apprise.Apprise()
        if not sender.add(target.url):
            logger.warning("inbox escalation target not understood: %s", target.label)
            continue
        if sender.notify(title=title, body=body):
            delivered.append(target.label)
        else:
            logger.warning("inbox escalation not delivered to %s", target.label)
    if not targets and lead is not None and lead.email:
        sent = send_mail(title, body, None, [lead.email], fail_silently=True)
        if sent:
            delivered.append(f"e-mail to team lead {lead.username}")
    return delivered
