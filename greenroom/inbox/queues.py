"""Which conversations each queue holds: the same for the pages and the API."""

from __future__ import annotations

from datetime import datetime

from django.db.models import Exists, OuterRef, Q, QuerySet

from greenroom.core.models import User
from greenroom.inbox.models import Contact, Conversation, ConversationStatus, Direction, Message

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


def narrowed(
    rows: QuerySet[Conversation],
    organization_id: int,
    *,
    brand: int | None = None,
    channel: int | None = None,
    network: str = "",
    tag: str = "",
    sentiment: str = "",
    language: str = "",
    text: str = "",
) -> QuerySet[Conversation]:
    """`rows` narrowed by the filters people set on a queue (an empty one narrows nothing).

    `text` finds conversations where the person wrote it (any of their messages, not only the
    latest) or whose person's handle or name holds it; case is ignored. The queue is read in its
    own order and each conversation's messages are looked at until a page is full: a common word
    fills it early, a word nobody wrote reads every conversation of the queue (about 0.3 s at
    100,000 open conversations on SQLite). The people are one short list, read once.
    """
    if brand is not None:
        rows = rows.filter(brand_id=brand)
    if channel is not None:
        rows = rows.filter(channel_id=channel)
    if network:
        rows = rows.filter(network=network)
    if tag:
        rows = rows.filter(tags__has_element=tag)
    if sentiment:
        rows = rows.filter(sentiment=sentiment)
    if language:
        rows = rows.filter(language=language)
    text = text.strip()
    if text:
        wrote = Message.objects.filter(
            conversation=OuterRef("pk"), direction=Direction.INBOUND, text__icontains=text
        )
        people = Contact.objects.filter(
            Q(handle__icontains=text) | Q(name__icontains=text), organization_id=organization_id
        ).values("pk")
        rows = rows.filter(Q(Exists(wrote)) | Q(contact_id__in=people))
    return rows
