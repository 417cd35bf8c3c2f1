"""The inbox's pages make the same number of queries however many rows they show.

A query per row is invisible with the ten rows of a test and costs a page of fifty rows fifty
round trips on PostgreSQL; the benchmark only times the unassigned queue. These count.
"""

from __future__ import annotations

from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from greenroom.conftest import World
from greenroom.inbox import actions
from greenroom.inbox.models import Conversation, DeliveryStatus
from greenroom.inbox.tests.conftest import conversation_of, item, land

# Sign-in bookkeeping (the session, its last-seen time, the idle-timeout policy, read now and
# then) varies by request, not by rows.
BOOKKEEPING = ("usersession", "django_session", "SAVEPOINT", "securitypolicy")


def queries(client: Client, path: str) -> int:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(path)
    assert response.status_code == 200
    return sum(1 for q in captured.captured_queries if not any(b in q["sql"] for b in BOOKKEEPING))


def varied(world: World, first: int, count: int) -> None:
    """Conversations in every state a row can show: assigned, tagged, snoozed, closed, named."""
    for n in range(first, first + count):
        land(
            world.coffee_x,
            item(f"q{n}", f"Question {n} about my order", author=f"p{n}", name=f"P {n}"),
        )
        conversation = conversation_of(world.coffee_x, f"q{n}")
        actions.do_tag([conversation], add=["order"], acting_user=world.alice)
        if n % 3 == 0:
            actions.do_assign([conversation], world.bianca, acting_user=world.alice)
        if n % 4 == 1:
            actions.do_close([conversation], acting_user=world.alice)


def test_queue_pages_do_not_query_per_row(client: Client, world: World) -> None:
    client.force_login(world.alice)
    varied(world, 0, 12)  # every kind of row is on each page already
    few = {
        q: queries(client, f"/inbox/?queue={q}") for q in ("all", "closed", "mine", "unassigned")
    }
    varied(world, 12, 20)
    many = {q: queries(client, f"/inbox/?queue={q}") for q in few}
    assert many == few


def test_the_conversation_page_does_not_query_per_message_or_earlier_conversation(
    client: Client, world: World
) -> None:
    client.force_login(world.alice)
    land(world.coffee_x, item("c0", "First", author="hana"))
    conversation = conversation_of(world.coffee_x, "c0")
    path = f"/inbox/c/{conversation.pk}/"
    land(world.coffee_x, item("c1", "again", author="hana", in_reply_to="c0"))
    land(world.coffee_x, item("e0", "an earlier question", author="hana"))
    few = queries(client, path)
    for n in range(2, 15):
        land(world.coffee_x, item(f"c{n}", f"more {n}", author="hana", in_reply_to="c0"))
        land(world.coffee_x, item(f"e{n}", f"another question {n}", author="hana"))
    actions.do_add_note(conversation, "@bianca can you look?", acting_user=world.alice)
    assert Conversation.objects.filter(contact=conversation.contact).count() > 10
    assert queries(client, path) == few


def held_replies(world: World, first: int, count: int) -> None:
    """Replies waiting for approval, each in its own conversation."""
    for n in range(first, first + count):
        land(world.tea_bluesky, item(f"h{n}", f"Your tea made me sick ({n})", author=f"s{n}"))
        conversation = conversation_of(world.tea_bluesky, f"h{n}")
        reply = actions.do_reply(conversation, f"So sorry ({n}), DM us", acting_user=world.agnes)
        assert reply.status == DeliveryStatus.AWAITING_APPROVAL


def test_the_approvals_page_does_not_query_per_reply(client: Client, world: World) -> None:
    actions.do_save_routing_rule(
        world.acme, name="Careful", require_approval=True, acting_user=world.alice
    )
    client.force_login(world.alice)
    held_replies(world, 0, 4)
    few = queries(client, "/inbox/approvals/")
    held_replies(world, 4, 16)
    assert queries(client, "/inbox/approvals/") == few
