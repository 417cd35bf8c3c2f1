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
# A search narrows a queue to a list of conversation ids up to this many (see `narrowed`).
SEARCH_IDS = 1000


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
    latest) or whose person's handle or name holds it; case is ignored. The messages and the
    people that hold it are found first, one scan each. When they belong to at most
    `SEARCH_IDS` conversations (most searches: an order number, a name, a rare word), the queue
    is narrowed to those ids and reads only them. A word in more conversations than that (a
    common word) is looked for per conversation instead, in the queue's own order, which fills
    a page early.
    """
    # Filters come from addresses people type and share: NUL (which PostgreSQL refuses in any
    # text) cannot be in anything stored. (Ids arrive read: core.ids on pages, ObjectId in the API.)
    network, tag, sentiment, language, text = (
        value.replace("\x00", "") for value in (network, tag, sentiment, language, text)
    )
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
        matching = Contact.objects.filter(
            Q(handle__icontains=text) | Q(name__icontains=text), organization_id=organization_id
        ).values("pk")
        people = [row["pk"] for row in matching[: SEARCH_IDS + 1]]
        wrote = list(
            Message.objects.filter(
                organization_id=organization_id, direction=Direction.INBOUND, text__icontains=text
            )
            .values_list("conversation_id", flat=True)
            .distinct()[: SEARCH_IDS + 1]
        )
        # By the contact's index (contacts belong to one organisation).
        theirs = list(
            Conversation.objects.filter(contact_id__in=people).values_list("pk", flat=True)[
                : SEARCH_IDS + 1
            ]
        )
        if len(people) <= SEARCH_IDS and len(wrote) <= SEARCH_IDS and len(theirs) <= SEARCH_IDS:
            rows = rows.filter(pk__in={*wrote, *theirs})
        else:
            holds = Message.objects.filter(
                conversation=OuterRef("pk"), direction=Direction.INBOUND, text__icontains=text
            )
            rows = rows.filter(Q(Exists(holds)) | Q(contact_id__in=matching))
    return rows
