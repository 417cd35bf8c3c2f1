"""Guidelines and training gate publish and engage permissions: a channel that requires them holds
those permissions back, through core's one gate, until the person acknowledges the current
version or holds a valid training; a new version holds them back again."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from greenroom.compliance import actions
from greenroom.compliance.actions import ActionError, NotAllowed
from greenroom.compliance.models import Guideline
from greenroom.conftest import World
from greenroom.core import actions as core_actions
from greenroom.core.models import AuditEvent, Channel, User
from greenroom.core.restrict import Access, forget_access
from greenroom.publishing import actions as publishing
from greenroom.publishing.models import PostState


def fresh_user(user: User) -> User:
    """The person as a new request loads them: no cached access."""
    return User.objects.get(pk=user.pk)


def can(user: User, perm: str, channel: Channel) -> bool:
    return Channel.objects.restrict(fresh_user(user), perm).filter(pk=channel.pk).exists()


def guideline(world: World, title: str = "Social media policy") -> Guideline:
    return actions.do_create_guideline(
        world.acme, title=title, body="Be kind.\n\nNo politics.", acting_user=world.alice
    )


def require(world: World, channel: Channel, **what: Any) -> None:
    actions.do_add_requirement(channel, acting_user=world.alice, **what)


def test_a_publisher_cannot_publish_until_they_acknowledge(world: World) -> None:
    g = guideline(world)
    require(world, world.coffee_x, guideline=g)
    paul = world.paul
    assert not can(paul, "publish", world.coffee_x)
    # Everything else stays: drafting there, publishing elsewhere.
    assert can(paul, "draft", world.coffee_x) and can(paul, "view", world.coffee_x)
    assert can(paul, "publish", world.coffee_instagram)

    actions.do_acknowledge(g.current_version, acting_user=paul)  # type: ignore[arg-type]

    assert can(paul, "publish", world.coffee_x)
    event = AuditEvent.objects.get(action="guideline.acknowledged", actor=paul)
    assert event.after == {"version": g.current_version_id, "number": 1}


def test_a_new_version_holds_the_permission_back_until_acknowledged_again(world: World) -> None:
    g = guideline(world)
    require(world, world.coffee_x, guideline=g)
    first = g.current_version
    assert first is not None
    actions.do_acknowledge(first, acting_user=world.paul)
    assert can(world.paul, "publish", world.coffee_x)

    second = actions.do_publish_guideline_version(
        g,
        body="Be kind. No politics. No competitors.",
        changes="Competitors",
        acting_user=world.alice,
    )

    assert not can(world.paul, "publish", world.coffee_x)
    with pytest.raises(ActionError, match="newer version"):
        actions.do_acknowledge(first, acting_user=world.paul)
    actions.do_acknowledge(second, acting_user=world.paul)
    assert can(world.paul, "publish", world.coffee_x)


def test_the_gate_decides_whether_a_post_needs_approval(world: World) -> None:
    g = guideline(world)
    require(world, world.coffee_x, guideline=g)
    paul = fresh_user(world.paul)
    post = publishing.do_create_post(
        world.acme,
        text="New roast",
        channels=[world.coffee_x],
        publish_at=timezone.now() + timedelta(hours=2),
        acting_user=paul,
    )
    post = publishing.do_submit_for_approval(post, acting_user=paul)
    # Without publish on the channel, the post waits for an approver.
    assert post.state == PostState.IN_APPROVAL
    publishing.do_withdraw(post, acting_user=paul)

    actions.do_acknowledge(g.current_version, acting_user=paul)  # type: ignore[arg-type]
    # The same user object sees the change at once: acknowledging drops its cached access.
    post = publishing.do_submit_for_approval(post, acting_user=paul)
    assert post.state == PostState.SCHEDULED


def test_publish_now_is_refused_while_the_guideline_waits(world: World) -> None:
    g = guideline(world)
    # alice wrote and approved a post; paul may publish it now only once he acknowledged.
    post = publishing.do_create_post(
        world.acme, text="Roast", channels=[world.coffee_x], acting_user=world.alice
    )
    post = publishing.do_submit_for_approval(post, acting_user=world.alice)
    assert post.state == PostState.APPROVED
    require(world, world.coffee_x, guideline=g)
    with pytest.raises(publishing.NotAllowed):
        publishing.do_publish_now(post, acting_user=fresh_user(world.paul))
    actions.do_acknowledge(g.current_version, acting_user=world.paul)  # type: ignore[arg-type]
    publishing.do_publish_now(post, acting_user=fresh_user(world.paul))


def test_engage_is_held_back_too_and_the_scope_is_respected(world: World) -> None:
    g = guideline(world)
    require(world, world.tea_bluesky, guideline=g, applies_to="engage")
    assert not can(world.agnes, "engage", world.tea_bluesky)
    assert can(world.agnes, "view", world.tea_bluesky)
    # Only engage is held back on that channel: alice still publishes there.
    assert not can(world.alice, "engage", world.tea_bluesky)
    assert can(world.alice, "publish", world.tea_bluesky)


def test_a_channel_grant_is_held_back_like_a_role(world: World) -> None:
    core_actions.do_grant_channel_permission(
        world.coffee_x, world.carl, "publish", acting_user=world.alice
    )
    assert can(world.carl, "publish", world.coffee_x)
    require(world, world.coffee_x, guideline=guideline(world))
    assert not can(world.carl, "publish", world.coffee_x)


def test_a_required_training_must_be_valid(world: World) -> None:
    course = actions.do_create_course(world.acme, name="Crisis comms", acting_user=world.alice)
    require(world, world.coffee_x, course=course, applies_to="publish")
    assert not can(world.paul, "publish", world.coffee_x)
    now = timezone.now()
    expired = actions.do_record_training(
        course,
        world.paul,
        completed_at=now - timedelta(days=400),
        expires_at=now - timedelta(days=35),
        acting_user=world.alice,
    )
    assert not can(world.paul, "publish", world.coffee_x)
    actions.do_record_training(
        course,
        world.paul,
        completed_at=now - timedelta(days=1),
        expires_at=now + timedelta(days=364),
        evidence="Certificate 42",
        acting_user=world.alice,
    )
    assert can(world.paul, "publish", world.coffee_x)
    assert expired.pk  # the old record stays as history
    event = AuditEvent.objects.filter(action="training.recorded").latest("id")
    assert event.after is not None and event.after["evidence"] == "Certificate 42"


def test_a_switched_off_guideline_or_a_removed_requirement_no_longer_gates(world: World) -> None:
    g = guideline(world)
    require(world, world.coffee_x, guideline=g)
    assert not can(world.paul, "publish", world.coffee_x)
    actions.do_set_guideline_active(g, active=False, acting_user=world.alice)
    assert can(world.paul, "publish", world.coffee_x)
    actions.do_set_guideline_active(g, active=True, acting_user=world.alice)
    assert not can(world.paul, "publish", world.coffee_x)
    requirement = world.coffee_x.requirements.get()
    actions.do_remove_requirement(requirement, acting_user=world.alice)
    assert can(world.paul, "publish", world.coffee_x)


def test_the_gate_costs_one_query_whatever_the_number_of_requirements(
    world: World, django_assert_num_queries: Any
) -> None:
    def queries_for_access() -> int:
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        user = fresh_user(world.paul)
        with CaptureQueriesContext(connection) as captured:
            Access.of(user)
        with django_assert_num_queries(0):  # cached on the user object
            Access.of(user)
        return len(captured.captured_queries)

    none = queries_for_access()
    course = actions.do_create_course(world.acme, name="Basics", acting_user=world.alice)
    for channel in (world.coffee_x, world.coffee_instagram, world.tea_bluesky):
        require(world, channel, guideline=guideline(world, f"Rules for {channel.handle}"))
        require(world, channel, course=course)
    assert queries_for_access() == none


def test_only_members_acknowledge_and_only_administrators_set_requirements(world: World) -> None:
    g = guideline(world)
    with pytest.raises(ActionError):
        actions.do_acknowledge(g.current_version, acting_user=world.gina)  # type: ignore[arg-type]
    with pytest.raises(NotAllowed):
        actions.do_add_requirement(world.coffee_x, guideline=g, acting_user=world.paul)
    # A brand manager administers her brand's channels, and only those.
    actions.do_add_requirement(world.coffee_instagram, guideline=g, acting_user=world.bianca)
    with pytest.raises(NotAllowed):
        actions.do_add_requirement(world.tea_bluesky, guideline=g, acting_user=world.bianca)
    with pytest.raises(ActionError, match="another organisation"):
        actions.do_add_requirement(world.globex_x, guideline=g, acting_user=world.gina)


def test_another_organisations_requirements_do_not_touch_acme(world: World) -> None:
    globex_course = actions.do_create_course(
        world.globex, name="Globex only", acting_user=world.gina
    )
    actions.do_add_requirement(world.globex_x, course=globex_course, acting_user=world.gina)
    for person in ("alice", "paul"):
        assert can(world.people[person], "publish", world.coffee_x)
    assert not can(world.gina, "publish", world.globex_x)
    forget_access(world.gina)
