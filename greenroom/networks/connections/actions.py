"""Writes to channel connections: recording a connection, and inbox polling's progress."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from greenroom.core import audit
from greenroom.core.models import Channel, User
from greenroom.networks.connections.models import ChannelConnection

CONNECTED = "channel.connected"


@transaction.atomic
def do_record_connection(
    channel: Channel,
    *,
    service_url: str,
    account_id: str,
    scopes: Sequence[str] = (),
    acting_user: User | None,
) -> ChannelConnection:
    """Remember which server and account a channel is connected to, and the scopes granted.

    Connecting again keeps the inbox cursor when the account is the same (no item is fetched
    twice), and starts the inbox afresh when it is another account.
    """
    connection, created = ChannelConnection.objects.select_for_update().get_or_create(
        channel=channel, defaults={"organization_id": channel.organization_id}
    )
    before = {
        "service_url": connection.service_url,
        "account_id": connection.account_id,
        "scopes": connection.scopes,
    }
    if not created and (
        connection.account_id != account_id or connection.service_url != service_url
    ):
        connection.inbox_cursor = ""
    connection.service_url = service_url
    connection.account_id = account_id
    connection.scopes = list(scopes)
    connection.connected_at = timezone.now()
    connection.poll_error, connection.poll_failures = "", 0
    connection.save()
    audit.record(
        CONNECTED,
        actor=acting_user,
        organization=channel.organization,
        target=channel,
        before=None if created else before,
        after={"service_url": service_url, "account_id": account_id, "scopes": list(scopes)},
    )
    return connection


def claim_poll(channel: Channel, *, lease: timedelta) -> bool:
    """Take this channel's inbox poll for `lease`; False when another worker holds it.

    One conditional UPDATE, so two workers (or two beats) never poll the same channel at once.
    """
    now = timezone.now()
    taken = ChannelConnection.objects.filter(
        Q(poll_lease_until__isnull=True) | Q(poll_lease_until__lt=now), channel=channel
    ).update(poll_lease_until=now + lease)
    return taken == 1


def do_record_poll(
    channel: Channel, *, cursor: str | None, error: str = "", release: bool = True
) -> None:
    """Store where polling got to (the cursor only moves on success) and, with `release`, let
    go of the lease. Not a user action: no audit row (the stored items are the record)."""
    updates: dict[str, object] = {"polled_at": timezone.now()}
    if release:
        updates["poll_lease_until"] = None
    if error:
        connection = ChannelConnection.objects.filter(channel=channel).first()
        failures = connection.poll_failures + 1 if connection else 1
        updates.update(poll_error=error[:2000], poll_failures=failures)
    else:
        updates.update(poll_error="", poll_failures=0)
        if cursor is not None:
            updates["inbox_cursor"] = cursor[:500]
    ChannelConnection.objects.filter(channel=channel).update(**updates)


@dataclass(frozen=True)
class PollResult:
    pages: int
    created: int
    duplicates: int
    error: str = ""


def record_publish_attempt(channel: Channel, *, idempotency_key: str, fingerprint: str) -> None:
    """Remember what is about to be sent with this key (the first attempt's time is kept, so
    `find_published` looks back far enough). Not a user action: no audit row."""
    from greenroom.networks.connections.models import PublishAttempt

    attempt, created = PublishAttempt.objects.get_or_create(
        channel=channel,
        idempotency_key=idempotency_key[:200],
        defaults={"fingerprint": fingerprint},
    )
    if not created and attempt.fingerprint != fingerprint:
        PublishAttempt.objects.filter(pk=attempt.pk).update(fingerprint=fingerprint)
