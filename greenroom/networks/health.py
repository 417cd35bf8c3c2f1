"""Keeping channels connected: tokens refreshed before they expire, and people told when not.

`refresh_expiring_tokens` (beat, every minute) asks each connected channel whose token expires
within `TOKEN_REFRESH_AHEAD` to refresh it through its connector, so a token is renewed while the
channel is idle, not only when a post or a poll happens to need it. A network that refuses the
refresh flags the channel (`network_api.do_flag_reconnect`), which sends `channel_needs_reconnect`
after commit; `tell_channel_people` then writes to the channel's owner and backup.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core.mail import send_mail
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from greenroom.celery import app
from greenroom.core.models import Channel, ChannelStatus
from greenroom.networks import registry
from greenroom.networks.base import ConnectorError
from greenroom.networks.network_api import channel_needs_reconnect, do_flag_reconnect

logger = logging.getLogger(__name__)

# Answers that mean the connection itself is gone (the publishing engine reads them the same way).
RECONNECT_CODES = frozenset(
    {"invalid_token", "reconnect_needed", "no_credentials", "invalid_grant"}
)

# Wider than the connectors' own margins (2 to 10 minutes), so the beat gets several chances.
TOKEN_REFRESH_AHEAD = timedelta(minutes=15)


@app.task(name="greenroom.networks.refresh_expiring_tokens")
def refresh_expiring_tokens() -> dict[str, int]:
    """Refresh every connected channel's token that is about to expire; count what happened."""
    soon = timezone.now() + TOKEN_REFRESH_AHEAD
    due = (
        Channel.objects.filter(
            credentials__expires_at__lte=soon,
            kind__in=registry.connector_kinds(),
        )
        .exclude(status__in=(ChannelStatus.NEEDS_RECONNECT, ChannelStatus.ARCHIVED))
        .select_related("credentials", "organization")
        .order_by("credentials__expires_at")
    )
    counts = {"refreshed": 0, "not_due": 0, "failed": 0, "reconnect": 0}
    for channel in due:
        try:
            fresh = registry.connector_for(channel).refresh_token()
        except ConnectorError as exc:
            if exc.permanent and exc.code in RECONNECT_CODES:
                do_flag_reconnect(channel, reason=exc.message)
            channel.refresh_from_db(fields=["status"])
            if channel.status == ChannelStatus.NEEDS_RECONNECT:
                counts["reconnect"] += 1
            else:
                # A network that is down now gets another try at the next beat.
                counts["failed"] += 1
                logger.warning(
                    "token refresh failed channel=%s kind=%s code=%s",
                    channel.pk,
                    channel.kind,
                    exc.code,
                )
            continue
        counts["refreshed" if fresh is not None else "not_due"] += 1
    return counts


def people_to_tell(channel: Channel) -> list[Any]:
    """The channel's owner and backup who still belong to its organisation and have e-mail."""
    people = [p for p in (channel.owner, channel.backup) if p is not None and p.is_active]
    members = set(
        channel.organization.memberships.filter(Q(user__in=people), is_active=True).values_list(
            "user_id", flat=True
        )
    )
    unique = {p.pk: p for p in people if p.pk in members and p.email}
    return list(unique.values())


@app.task(name="greenroom.networks.tell_channel_people")
def tell_channel_people(channel_id: int, reason: str) -> list[str]:
    """E-mail a channel's owner and backup that the channel must be reconnected."""
    channel = (
        Channel.objects.select_related("owner", "backup", "organization")
        .filter(pk=channel_id)
        .first()
    )
    if channel is None:
        return []
    told = []
    path = reverse("channel_detail", args=[channel.pk])
    link = f"{settings.BASE_URL}{path}"
    for person in people_to_tell(channel):
        with translation.override(person.language or settings.LANGUAGE_CODE):
            subject = _("Reconnect %(channel)s") % {"channel": channel.name}
            body = _(
                "%(network)s no longer accepts Greenroom's connection to %(channel)s "
                "(%(reason)s). Posts and replies on it wait until someone reconnects it.\n\n"
                "You are its owner or backup. Reconnect it here: %(link)s"
            ) % {
                "network": _network_name(channel.kind),
                "channel": channel.name,
                "reason": reason,
                "link": link,
            }
        if send_mail(subject, body, None, [person.email], fail_silently=True):
            told.append(person.username)
        else:
            logger.warning("reconnect notice not delivered channel=%s to=%s", channel.pk, person.pk)
    return told


def _network_name(kind: str) -> str:
    from greenroom.networks import rules

    try:
        return rules.get_network(kind).name
    except (rules.UnknownNetwork, rules.RuleTableError):
        return kind


def _on_needs_reconnect(sender: Any, *, channel: Channel, reason: str, **kwargs: Any) -> None:
    tell_channel_people.delay(channel.pk, str(reason))


def connect() -> None:
    channel_needs_reconnect.connect(
        _on_needs_reconnect, dispatch_uid="networks.tell_channel_people"
    )
