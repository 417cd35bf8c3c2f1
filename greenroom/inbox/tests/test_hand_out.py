"""Conversations that waited while nobody could take them are handed out when someone can."""

from __future__ import annotations

from typing import Any

import pytest

from greenroom.conftest import World
from greenroom.core import actions as core_actions
from greenroom.core.models import AuditEvent, Team, User
from greenroom.inbox import actions, handout, tasks
from greenroom.inbox.models import AgentStatus, Conversation
from greenroom.inbox.tests.conftest import BASE, conversation_of, item, land


def _agents(world: World, *names: str) -> list[User]:
    people = []
    for name in names:
        person = core_actions.do_create_user(
            username=name, email=f"{name}@example.com", password=None, acting_user=None
        )
        core_actions.do_add_member(world.acme, person, "community_agent", acting_user=world.alice)
        people.append(person)
    return people


def _care(world: World, members: list[User], capacity: int) -> Team:
    team = core_actions.do_create_team(
        world.acme, name="Care", members=members, acting_user=world.alice
    )
    actions.do_save_routing_rule(
        world.acme, name="All to Care", position=10, set_team=team, acting_user=world.alice
    )
    for person in members:
        actions.do_set_agent(
            world.acme, person, status=AgentStatus.AWAY, capacity=capacity, acting_user=person
        )
    return team


def _arrive(world: World, count: int, prefix: str = "w") -> list[Conversation]:
    from datetime import timedelta

    for n in range(count):
        land(
            world.coffee_x,
            item(f"{prefix}{n}", "hello?", author=f"{prefix}p{n}", at=BASE + timedelta(minutes=n)),
        )
    return [conversation_of(world.coffee_x, f"{prefix}{n}") for n in range(count)]


def test_arrivals_while_everyone_is_away_wait_unassigned(world: World) -> None:
    ben, cho = _agents(world, "ben", "cho")
    _care(world, [ben, cho], capacity=2)
    waiting = _arrive(world, 3)
    assert [c.assignee_id for c in waiting] == [None, None, None]
    # The sweep finds nobody on shift: still waiting.
    assert tasks.hand_out_waiting() == 0
    assert Conversation.objects.filter(assignee__isnull=False).count() == 0


def test_an_agent_back_on_shift_gets_the_oldest_up_to_capacity(world: World) -> None:
    (ben,) = _agents(world, "ben")
    _care(world, [ben], capacity=2)
    waiting = _arrive(world, 3)

    actions.do_set_agent(world.acme, ben, status=AgentStatus.ON_SHIFT, acting_user=ben)

    assignees = [Conversation.objects.get(pk=c.pk).assignee_id for c in waiting]
    assert assignees == [ben.pk, ben.pk, None]
    audits = AuditEvent.objects.filter(action="inbox.assigned", actor=None)
    assert sorted(int(a.target_id) for a in audits) == sorted([waiting[0].pk, waiting[1].pk])
    assert all(a.after == {"assignee": ben.pk, "handed_out": True} for a in audits)


def test_urgent_waiting_conversations_go_first(world: World) -> None:
    (ben,) = _agents(world, "ben")
    _care(world, [ben], capacity=1)
    older, newer = _arrive(world, 2)
    actions.do_set_priority([newer], "urgent", acting_user=world.alice)

    actions.do_set_agent(world.acme, ben, status=AgentStatus.ON_SHIFT, acting_user=ben)

    assert Conversation.objects.get(pk=newer.pk).assignee_id == ben.pk
    assert Conversation.objects.get(pk=older.pk).assignee_id is None


def test_two_agents_back_at_once_never_share_a_conversation(world: World) -> None:
    ben, cho = _agents(world, "ben", "cho")
    _care(world, [ben, cho], capacity=2)
    waiting = _arrive(world, 5)

    actions.do_set_agent(world.acme, ben, status=AgentStatus.ON_SHIFT, acting_user=ben)
    actions.do_set_agent(world.acme, cho, status=AgentStatus.ON_SHIFT, acting_user=cho)

    rows = {c.pk: Conversation.objects.get(pk=c.pk).assignee_id for c in waiting}
    assert sorted(v for v in rows.values() if v) == sorted([ben.pk, ben.pk, cho.pk, cho.pk])
    assert rows[waiting[-1].pk] is None  # the newest still waits: both are full
    # One assignment audit per conversation: none was given twice.
    targets = list(
        AuditEvent.objects.filter(action="inbox.assigned", actor=None).values_list(
            "target_id", flat=True
        )
    )
    assert len(targets) == len(set(targets)) == 4


def test_a_conversation_taken_meanwhile_is_not_taken_again(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    ben, cho = _agents(world, "ben", "cho")
    _care(world, [ben, cho], capacity=5)
    first, second = _arrive(world, 2)
    real = handout._waiting

    def stale(*args: Any, **kwargs: Any) -> list[int]:
        # Another worker's hand-out gives the first conversation to Cho between our read and
        # our update (what a concurrent transaction does on PostgreSQL).
        ids = real(*args, **kwargs)
        Conversation.objects.filter(pk=first.pk).update(assignee=cho)
        return ids

    monkeypatch.setattr(handout, "_waiting", stale)
    actions.do_set_agent(world.acme, ben, status=AgentStatus.ON_SHIFT, acting_user=ben)

    assert Conversation.objects.get(pk=first.pk).assignee_id == cho.pk
    assert Conversation.objects.get(pk=second.pk).assignee_id == ben.pk
    assert not AuditEvent.objects.filter(
        action="inbox.assigned", actor=None, target_id=str(first.pk)
    ).exists()


def test_closing_one_frees_a_slot_that_is_filled(world: World) -> None:
    (ben,) = _agents(world, "ben")
    _care(world, [ben], capacity=1)
    first, second = _arrive(world, 2)
    actions.do_set_agent(world.acme, ben, status=AgentStatus.ON_SHIFT, acting_user=ben)
    assert Conversation.objects.get(pk=first.pk).assignee_id == ben.pk
    assert Conversation.objects.get(pk=second.pk).assignee_id is None

    actions.do_close(Conversation.objects.filter(pk=first.pk), acting_user=ben)

    assert Conversation.objects.get(pk=second.pk).assignee_id == ben.pk


def test_reassigning_frees_a_slot_but_not_with_the_same_conversation(world: World) -> None:
    (ben,) = _agents(world, "ben")
    _care(world, [ben], capacity=1)
    first, second = _arrive(world, 2)
    actions.do_set_agent(world.acme, ben, status=AgentStatus.ON_SHIFT, acting_user=ben)

    actions.do_assign(Conversation.objects.filter(pk=first.pk), None, acting_user=world.alice)

    # Ben's slot is filled from the queue; the one just put back waits for the sweep.
    assert Conversation.objects.get(pk=second.pk).assignee_id == ben.pk
    assert Conversation.objects.get(pk=first.pk).assignee_id is None


def test_the_sweep_hands_out_when_capacity_frees_without_an_action(world: World) -> None:
    (ben,) = _agents(world, "ben")
    _care(world, [ben], capacity=0)
    (waiting,) = _arrive(world, 1)
    actions.do_set_agent(world.acme, ben, status=AgentStatus.ON_SHIFT, acting_user=ben)
    assert Conversation.objects.get(pk=waiting.pk).assignee_id is None
    # Capacity changed outside the actions (an admin in the database): the sweep catches up.
    from greenroom.inbox.models import AgentProfile

    AgentProfile.objects.filter(user=ben).update(capacity=3)
    assert tasks.hand_out_waiting() == 1
    assert Conversation.objects.get(pk=waiting.pk).assignee_id == ben.pk
