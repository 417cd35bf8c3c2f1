"""What the answers Greenroom sends share, whoever sends them (an agent or an automatic reply):
the variables a saved reply fills in, and the send that waits for the commit.
"""

from __future__ import annotations

import re

from django.db import transaction

from greenroom.core.models import User
from greenroom.inbox.models import Conversation


def send_after_commit(message_id: int) -> None:
    """Send the reply through its connector once this transaction has committed."""
    from greenroom.inbox.tasks import send_reply

    transaction.on_commit(lambda: send_reply.delay(message_id))


_HANGUL = re.compile(r"[\uac00-\ud7a3]")


def given_name(name: str) -> str:
    """The name to greet someone by. Western names put it first ("Emma Stone" -> "Emma");
    Korean names put the family name first ("김 민지" -> "민지"), and written without a space
    ("김민지") the whole name is what one uses with 님."""
    parts = name.split()
    if not parts:
        return name
    if _HANGUL.search(name):
        return " ".join(parts[1:]) if len(parts) > 1 else parts[0]
    return parts[0]


def reply_variables(conversation: Conversation, agent: User | None) -> dict[str, str]:
    contact = conversation.contact
    name = (contact.name or contact.handle) if contact else ""
    return {
        "name": name,
        "first_name": given_name(name),
        "handle": contact.handle if contact else "",
        # An automatic reply has no agent: it speaks for the brand.
        "agent": agent.name if agent else conversation.brand.name,
        "brand": conversation.brand.name,
        "channel": conversation.channel.name,
    }
