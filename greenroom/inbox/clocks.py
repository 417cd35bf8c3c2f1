"""SLA policies and response clocks: which policy applies to a conversation, in which business
calendar, and the due and warning times of its running clocks.

Shared by ingestion (a message starts or restarts a clock) and by the agents' actions (an answer
stops one, a new message from the customer starts the next).
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any, Protocol

from django.utils.translation import gettext as _

from greenroom.core.models import Channel, Organization
from greenroom.inbox import sla
from greenroom.inbox.models import Conversation, SlaPolicy


class Routed(Protocol):
    """What picks a policy: a stored conversation, or one ingestion is still building."""

    @property
    def channel_id(self) -> int: ...
    @property
    def brand_id(self) -> int: ...
    @property
    def priority(self) -> str: ...
    @property
    def kind(self) -> str: ...


class Clocked(Protocol):
    """What the clocks read and set, on a stored conversation or one being built."""

    created_at: datetime
    waiting_since: datetime | None
    first_response_at: datetime | None
    first_response_due_at: datetime | None
    next_response_due_at: datetime | None
    resolution_due_at: datetime | None
    sla_due_at: datetime | None
    sla_warn_at: datetime | None
    sla_policy_id: int | None


DEFAULT_FIRST_RESPONSE = timedelta(hours=24)


def default_policy(org: Organization) -> SlaPolicy:
    """What applies when no policy matches: first response within 24 hours, around the clock."""
    return SlaPolicy(
        organization=org,
        name=_("Default: first response within 24 hours"),
        first_response_minutes=int(DEFAULT_FIRST_RESPONSE.total_seconds() // 60),
    )


def select_policy(policies: Sequence[SlaPolicy], conversation: Routed) -> SlaPolicy | None:
    """The most specific active policy matching the conversation (channel > brand > priority >
    kind), or None."""
    best: tuple[int, int] | None = None
    chosen: SlaPolicy | None = None
    for policy in policies:
        if not policy.is_active:
            continue
        if policy.channel_id is not None and policy.channel_id != conversation.channel_id:
            continue
        if policy.brand_id is not None and policy.brand_id != conversation.brand_id:
            continue
        if policy.priority and policy.priority != conversation.priority:
            continue
        if policy.kind and policy.kind != conversation.kind:
            continue
        rank = (
            8 * (policy.channel_id is not None)
            + 4 * (policy.brand_id is not None)
            + 2 * bool(policy.priority)
            + bool(policy.kind),
            -(policy.pk or 0),
        )
        if best is None or rank > best:
            best, chosen = rank, policy
    return chosen


def calendar_of(policy: SlaPolicy, channel: Channel) -> sla.Calendar | None:
    hours = policy.business_hours if policy.business_hours_id else None
    if hours is None:
        return None
    return sla.calendar_from(hours.timezone or channel.timezone, hours.weekly, hours.holidays)


@functools.lru_cache(maxsize=64)
def _minutes(value: int | None) -> timedelta | None:
    return None if value is None else timedelta(minutes=value)


def refresh_summary(conversation: Clocked, policy: SlaPolicy, calendar: Any) -> None:
    """Set sla_due_at/sla_warn_at from the earliest running clock."""
    clocks: list[tuple[datetime, timedelta | None, datetime | None]] = []
    if conversation.first_response_due_at:
        clocks.append(
            (
                conversation.first_response_due_at,
                _minutes(policy.first_response_minutes),
                conversation.waiting_since,
            )
        )
    if conversation.next_response_due_at:
        clocks.append(
            (
                conversation.next_response_due_at,
                _minutes(policy.next_response_minutes),
                conversation.waiting_since,
            )
        )
    if conversation.resolution_due_at:
        clocks.append(
            (
                conversation.resolution_due_at,
                _minutes(policy.resolution_minutes),
                conversation.created_at,
            )
        )
    if not clocks:
        conversation.sla_due_at = conversation.sla_warn_at = None
        return
    due, target, started = min(clocks, key=lambda c: c[0])
    conversation.sla_due_at = due
    if target is not None and started is not None:
        conversation.sla_warn_at = sla.warn_time(started, target, calendar, policy.warn_at_share)
    else:
        conversation.sla_warn_at = due


def start_response_clock(
    conversation: Clocked, policy: SlaPolicy, calendar: Any, since: datetime
) -> None:
    conversation.waiting_since = since
    conversation.sla_policy_id = policy.pk if policy.pk else None
    if conversation.first_response_at is None:
        target = _minutes(policy.first_response_minutes) or DEFAULT_FIRST_RESPONSE
        conversation.first_response_due_at = sla.add_business_time(since, target, calendar)
    elif policy.next_response_minutes:
        conversation.next_response_due_at = sla.add_business_time(
            since, timedelta(minutes=policy.next_response_minutes), calendar
        )
    if policy.resolution_minutes and conversation.resolution_due_at is None:
        conversation.resolution_due_at = sla.add_business_time(
            conversation.created_at, timedelta(minutes=policy.resolution_minutes), calendar
        )
    refresh_summary(conversation, policy, calendar)


def policy_and_calendar(conversation: Conversation) -> tuple[SlaPolicy, sla.Calendar | None]:
    policy = conversation.sla_policy or select_policy(
        list(
            SlaPolicy.objects.filter(
                organization_id=conversation.organization_id, is_active=True
            ).select_related("business_hours")
        ),
        conversation,
    )
    policy = policy or default_policy(conversation.organization)
    return policy, calendar_of(policy, conversation.channel)
