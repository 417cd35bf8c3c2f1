"""Which conversations each queue holds: the same for the pages and the API."""

from __future__ import annotations

from datetime import datetime

from django.db.models import Q, QuerySet

from greenroom.core.models import User
from greenroom.inbox.models import Conversation, ConversationStatus

# The queues people work from. Snoozed conversations are set aside until their time (or until
# the customer writes again), so they are out of these; their clocks keep running, so "about to
# breach" still shows them, and they have a queue of their own.
WORKING = (ConversationStatus.OPEN, ConversationStatus.PENDING)
NAMES = ("mine", "unassigned", "breaching", "all", "snoozed", "closed")


def in_queue(
    rows: QuerySet[Conversation], name: str, user: User, now: datetime
) -> QuerySet[Conversation]:
    """`rows` narrowed to the queue `name` (an unknown name is "all")."""
    working = Q(status__in=WORKING)
    if name == "mine":
        return rows.filter(working, assignee=user)
    if name == "unassigned":
        return rows.filter(working, assignee__isnull=True)
    if name == "breaching":
        return rows.filter(status__in=(*WORKING, ConversationStatus.SNOOZED), sla_warn_at__lte=now)
    if name == "snoozed":
        return rows.filter(status=ConversationStatus.SNOOZED)
    if name == "closed":
        return rows.filter(status=ConversationStatus.CLOSED)
    return rows.filter(working)
