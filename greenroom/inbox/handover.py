"""Handing a person's open conversations to someone else at once (offboarding, long leave).

The bulk variant of `actions.do_assign`: two UPDATEs instead of one save per conversation, and
still one audit event per conversation (`inbox.assigned`, the same event do_assign writes), so
each conversation's history shows who took it over and why.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.db import transaction

from greenroom.core import audit
from greenroom.core.models import Channel, Organization, User
from greenroom.inbox.actions import OPEN_STATUSES, InboxAction
from greenroom.inbox.models import Conversation


@dataclass
class ConversationHandover:
    # Conversation ids given to the new assignee, and those sent back to the unassigned queue
    # (no assignee named, or the assignee cannot answer on that conversation's channel).
    assigned: list[int] = field(default_factory=list)
    to_queue: list[int] = field(default_factory=list)


@transaction.atomic
def do_hand_over_conversations(
    org: Organization, person: User, assignee: User | None, *, acting_user: User | None
) -> ConversationHandover:
    """Give every open, pending or snoozed conversation assigned to `person` in `org` to
    `assignee` (None: back to the unassigned queue). Conversations on channels the assignee
    may not engage on go to the queue rather than to someone who cannot answer them."""
    if assignee is not None and assignee.pk == person.pk:
        assignee = None
    conversations = list(
        Conversation.objects.select_for_update()
        .filter(organization=org, assignee=person, status__in=OPEN_STATUSES)
        .only("pk", "kind", "channel_id", "organization_id", "assignee_id")
        .order_by("pk")
    )
    result = ConversationHandover()
    if not conversations:
        return result
    allowed: set[int] = set()
    if assignee is not None:
        allowed = set(
            Channel.objects.restrict(assignee, "engage")
            .filter(pk__in={c.channel_id for c in conversations})
            .values_list("pk", flat=True)
        )
    for conversation in conversations:
        (result.assigned if conversation.channel_id in allowed else result.to_queue).append(
            conversation.pk
        )
    if result.assigned:
        Conversation.objects.filter(pk__in=result.assigned).update(assignee=assignee)
    if result.to_queue:
        Conversation.objects.filter(pk__in=result.to_queue).update(assignee=None)
    given = set(result.assigned)
    audit.record_many(
        (
            audit.Entry(
                InboxAction.ASSIGNED,
                org,
                target=conversation,
                before={"assignee": person.pk},
                after={
                    "assignee": assignee.pk
                    if assignee is not None and conversation.pk in given
                    else None,
                    "handed_over": True,
                },
            )
            for conversation in conversations
        ),
        actor=acting_user,
    )
    return result
