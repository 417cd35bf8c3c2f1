"""Deleting a comment on the network from the inbox: confirmed first, kept here marked deleted,
its text kept in the audit log, and a network's refusal shown in plain words."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from greenroom.conftest import World
from greenroom.core.actions import ActionError
from greenroom.core.models import AuditEvent
from greenroom.inbox import actions
from greenroom.inbox.models import Message
from greenroom.inbox.tests.conftest import item, land, sandbox_comment
from greenroom.networks.base import ConnectorError
from greenroom.networks.sandbox.connector import SandboxConnector
from greenroom.networks.sandbox.models import SandboxItem


def _sandbox_comment(world: World, sandbox: Any) -> tuple[Message, SandboxItem]:
    return sandbox_comment(world, sandbox, "beans-1")


def test_a_comment_is_deleted_on_the_network_and_kept_here(
    client: Client, world: World, sandbox: Any, django_capture_on_commit_callbacks: Any
) -> None:
    message, on_network = _sandbox_comment(world, sandbox)
    client.force_login(world.bianca)  # engages on Coffee

    page = client.get(f"/inbox/c/{message.conversation_id}/").content.decode()
    assert f"/inbox/m/{message.pk}/delete/" in page
    confirm = client.get(f"/inbox/m/{message.pk}/delete/")
    assert confirm.status_code == 200
    assert "Delete this comment?" in confirm.content.decode()
    assert "Buy followers at bit.ly/x" in confirm.content.decode()
    on_network.refresh_from_db()
    assert on_network.deleted_at is None  # asking is not doing

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(f"/inbox/m/{message.pk}/delete/")
    assert response.status_code == 302

    assert SandboxItem.objects.get(pk=on_network.pk).deleted_at is not None
    message.refresh_from_db()
    assert message.deleted_at is not None and message.text == "Buy followers at bit.ly/x"
    event = AuditEvent.objects.get(action="inbox.message_deleted", target_id=str(message.pk))
    assert event.actor == world.bianca
    assert event.before is not None and event.before["text"] == "Buy followers at bit.ly/x"
    page = client.get(f"/inbox/c/{message.conversation_id}/").content.decode()
    assert "Deleted on the network" in page


def test_a_network_that_refuses_leaves_the_comment_and_says_why(
    world: World,
    sandbox: Any,
    django_capture_on_commit_callbacks: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    message, on_network = _sandbox_comment(world, sandbox)

    def refuse(self: Any, item: Any) -> None:
        raise ConnectorError(
            "X does not let an account delete other people's replies. Hide the reply instead.",
            permanent=True,
            code="not_supported",
        )

    monkeypatch.setattr(SandboxConnector, "delete_comment", refuse)
    with django_capture_on_commit_callbacks(execute=True):
        actions.do_delete_message(message, acting_user=world.alice)

    message.refresh_from_db()
    assert message.deleted_at is None
    assert "does not let an account delete" in message.error
    assert AuditEvent.objects.filter(
        action="inbox.message_delete_failed", target_id=str(message.pk)
    ).exists()
    on_network.refresh_from_db()
    assert on_network.deleted_at is None


def test_people_without_engage_cannot_delete(client: Client, world: World) -> None:
    land(world.coffee_x, item("d1", "a comment", author="emma"))
    land(world.globex_x, item("d2", "theirs", author="gus"))
    ours = Message.objects.get(external_id="d1")
    theirs = Message.objects.get(external_id="d2")
    client.force_login(world.agnes)  # Tea only
    assert client.get(f"/inbox/m/{ours.pk}/delete/").status_code == 404
    assert client.post(f"/inbox/m/{ours.pk}/delete/").status_code == 404
    client.force_login(world.alice)
    assert client.post(f"/inbox/m/{theirs.pk}/delete/").status_code == 404
    with pytest.raises(ActionError):
        actions.do_delete_message(ours, acting_user=world.anna)  # sees, cannot engage
    assert not Message.objects.filter(deleted_at__isnull=False).exists()
    assert not AuditEvent.objects.filter(action="inbox.message_deleted").exists()


def test_direct_messages_and_our_own_replies_are_not_deleted(world: World) -> None:
    land(world.coffee_x, item("dm1", "hello", kind="dm", thread_id="t1", author="emma"))
    dm = Message.objects.get(external_id="dm1")
    with pytest.raises(ActionError, match="Direct messages cannot be deleted"):
        actions.do_delete_message(dm, acting_user=world.alice)
    dm.refresh_from_db()
    assert dm.deleted_at is None
