"""Saved-reply variables: who is greeted, and who signs an automatic reply."""

from __future__ import annotations

import pytest

from greenroom.conftest import World
from greenroom.core.actions import ActionError
from greenroom.inbox import actions, replies, routing
from greenroom.inbox.tests.conftest import conversation_of, item, land


@pytest.mark.parametrize(
    ("name", "greeted"),
    [
        ("Emma Stone", "Emma"),
        ("김 민지", "민지"),
        ("김민지", "김민지"),
        ("남궁 민수", "민수"),
        ("emma", "emma"),
        ("", ""),
    ],
)
def test_the_given_name_follows_the_names_order(name: str, greeted: str) -> None:
    assert replies.given_name(name) == greeted


def test_variables_name_the_agent_or_else_the_brand(world: World) -> None:
    land(world.coffee_x, item("v1", "hello", author="minji", name="김 민지"))
    conversation = conversation_of(world.coffee_x, "v1")
    by_agent = replies.reply_variables(conversation, world.agnes)
    automatic = replies.reply_variables(conversation, None)
    template = "{first_name}님, {agent} 드림"
    assert routing.fill(template, by_agent) == f"민지님, {world.agnes.name} 드림"
    assert routing.fill(template, automatic) == f"민지님, {world.coffee.name} 드림"


def test_a_reply_keeps_someone_elses_assignment(world: World) -> None:
    land(world.coffee_x, item("v2", "hello", author="jun"))
    conversation = conversation_of(world.coffee_x, "v2")
    actions.do_assign([conversation], world.adam, acting_user=world.alice)
    actions.do_reply(conversation, "Hi Jun!", acting_user=world.alice)
    conversation.refresh_from_db()
    assert conversation.assignee == world.adam


def test_a_reply_is_measured_against_its_kind_of_conversation(world: World) -> None:
    # X: a comment reply counts like a post (280, Korean counts 2); a DM allows 10,000.
    land(
        world.coffee_x,
        item("lim1", "hi", author="a"),
        item("lim2", "hello", kind="dm", author="b", thread_id="dm-b"),
    )
    text = "가" * 150
    with pytest.raises(ActionError, match="300 of 280"):
        actions.do_reply(conversation_of(world.coffee_x, "lim1"), text, acting_user=world.alice)
    sent = actions.do_reply(conversation_of(world.coffee_x, "lim2"), text, acting_user=world.alice)
    assert sent.text == text
