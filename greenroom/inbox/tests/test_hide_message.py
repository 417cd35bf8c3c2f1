"""Hiding a comment on the network: marked at once, taken back with the reason if the network
refuses, tried again when it fails for a while, and only by people who engage on the channel."""

from __future__ import annotations

from typing import Any

import pytest
from django.utils.translation import get_language, gettext

from greenroom.conftest import World
from greenroom.core.actions import ActionError
from greenroom.core.models import AuditEvent, User
from greenroom.inbox import actions, tasks
from greenroom.inbox.models import Message
from greenroom.inbox.tests.conftest import sandbox_comment
from greenroom.networks.base import ConnectorError
from greenroom.networks.sandbox.connector import SandboxConnector
from greenroom.networks.sandbox.models import SandboxItem


def _comment(world: World, sandbox: Any) -> tuple[Message, SandboxItem]:
    return sandbox_comment(world, sandbox, "beans-2")


def test_a_comment_is_hidden_on_the_network(
    world: World, sandbox: Any, django_capture_on_commit_callbacks: Any
) -> None:
    message, on_network = _comment(world, sandbox)
    with django_capture_on_commit_callbacks(execute=True):
        actions.do_hide_message(message, acting_user=world.bianca)
    on_network.refresh_from_db()
    assert on_network.hidden_at is not None
    message.refresh_from_db()
    assert message.hidden_at is not None and message.error == ""


def test_a_refusal_takes_the_mark_back_and_says_why(
    world: World,
    sandbox: Any,
    django_capture_on_commit_callbacks: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    message, on_network = _comment(world, sandbox)

    def refuse(self: Any, item: Any) -> None:
        raise ConnectorError("This comment cannot be hidden.", permanent=True, code="forbidden")

    monkeypatch.setattr(SandboxConnector, "hide", refuse)
    with django_capture_on_commit_callbacks(execute=True):
        actions.do_hide_message(message, acting_user=world.alice)

    message.refresh_from_db()
    assert message.hidden_at is None
    assert message.error == "This comment cannot be hidden."
    assert AuditEvent.objects.filter(
        action="inbox.message_hide_failed", target_id=str(message.pk)
    ).exists()
    on_network.refresh_from_db()
    assert on_network.hidden_at is None


def test_a_temporary_failure_is_tried_again(
    world: World,
    sandbox: Any,
    django_capture_on_commit_callbacks: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    message, _on_network = _comment(world, sandbox)
    retried: list[tuple[Any, ...]] = []

    def busy(self: Any, item: Any) -> None:
        raise ConnectorError("Try again later.", permanent=False, retry_after=12)

    monkeypatch.setattr(SandboxConnector, "hide", busy)
    monkeypatch.setattr(
        tasks.hide_message, "apply_async", lambda *args, **kw: retried.append((args, kw))
    )
    with django_capture_on_commit_callbacks(execute=False):
        actions.do_hide_message(message, acting_user=world.alice)

    assert tasks.hide_message(message.pk, "en") == "retry"
    assert retried == [(((message.pk, "en"),), {"countdown": 12})]
    message.refresh_from_db()
    assert message.hidden_at is not None  # still on its way


def test_a_refusal_is_written_in_the_language_of_who_hid_it(
    world: World,
    sandbox: Any,
    django_capture_on_commit_callbacks: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The worker reads the installation's language; the person who has to act on the refusal
    reads theirs. Connectors write their messages when they refuse, so the task runs in it."""
    message, _on_network = _comment(world, sandbox)
    User.objects.filter(pk=world.bianca.pk).update(language="ko")
    world.bianca.refresh_from_db()

    def refuse(self: Any, item: Any) -> None:
        text = gettext("Direct messages cannot be hidden; only comments and mentions.")
        raise ConnectorError(text, permanent=True, code="forbidden")

    monkeypatch.setattr(SandboxConnector, "hide", refuse)
    with django_capture_on_commit_callbacks(execute=True):
        actions.do_hide_message(message, acting_user=world.bianca)
    message.refresh_from_db()
    assert message.error == "DM은 숨길 수 없습니다. 댓글과 멘션만 숨길 수 있습니다."
    assert get_language() == "en"  # and the worker's own language is back


def test_only_people_who_engage_on_the_channel_hide(world: World, sandbox: Any) -> None:
    message, _on_network = _comment(world, sandbox)
    with pytest.raises(ActionError):
        actions.do_hide_message(message, acting_user=world.agnes)  # Tea only
    with pytest.raises(ActionError):
        actions.do_hide_message(message, acting_user=world.anna)  # sees, cannot engage
    message.refresh_from_db()
    assert message.hidden_at is None
