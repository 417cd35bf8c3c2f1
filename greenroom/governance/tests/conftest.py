"""Helpers for the governance tests: conversations, posts waiting for approval, native admins."""

from __future__ import annotations

from itertools import count

from django.utils import timezone

from greenroom.conftest import World
from greenroom.core.models import Channel, User
from greenroom.inbox.models import Conversation, ConversationStatus
from greenroom.publishing import actions as publishing
from greenroom.publishing.models import ApprovalPolicy, Post

_threads = count(1)


def conversations(
    channel: Channel, assignee: User | None, n: int = 1, status: str = ConversationStatus.OPEN
) -> list[Conversation]:
    """Conversations as ingestion leaves them (the inbox's own tests cover ingestion)."""
    made = []
    for _ in range(n):
        thread = next(_threads)
        made.append(
            Conversation.objects.create(
                organization=channel.organization,
                channel=channel,
                brand=channel.brand,
                network=channel.kind,
                kind="comment",
                thread_key=f"c:test-{thread}",
                status=status,
                assignee=assignee,
                last_message_at=timezone.now(),
            )
        )
    return made


def coffee_policy(world: World, *approvers: User, min_approvals: int = 1) -> ApprovalPolicy:
    return publishing.do_create_approval_policy(
        world.acme,
        name="Coffee review",
        brand=world.coffee,
        steps=[
            publishing.StepInput(
                name="Brand", approvers=list(approvers), min_approvals=min_approvals
            )
        ],
        acting_user=world.alice,
    )


def pending_post(world: World, author: User | None = None, text: str = "New roast") -> Post:
    author = author or world.carl
    post = publishing.do_create_post(
        world.acme, text=text, channels=[world.coffee_x], acting_user=author
    )
    return publishing.do_submit_for_approval(post, acting_user=author)
