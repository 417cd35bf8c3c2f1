"""Test helpers for anything that talks to the sandbox (publishing, inbox, crisis tests too).

Use the `sandbox` fixture: import it into your test module or conftest
(`from greenroom.networks.sandbox.testing import sandbox  # noqa: F401`). It serves the sandbox
in-process over HTTP inside the test's transaction, with Celery eager, and webhooks delivered
when the test asks (`sandbox.deliver()`), because on_commit never fires inside a test transaction
on its own.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from django.db import connection

from greenroom.core.models import Channel
from greenroom.networks.actions import do_connect_sandbox_channel
from greenroom.networks.sandbox import failures, service
from greenroom.networks.sandbox.connector import SandboxConnector
from greenroom.networks.sandbox.inprocess import in_process
from greenroom.networks.sandbox.models import SandboxAccount, SandboxItem


@dataclass
class Sandbox:
    """The sandbox network, as seen by a test."""

    accounts: dict[int, SandboxAccount] = field(default_factory=dict)

    def connect(self, channel: Channel, **options: Any) -> SandboxAccount:
        """Connect a sandboxed channel to a fresh sandbox account (tokens in the vault)."""
        account = do_connect_sandbox_channel(channel, acting_user=None, **options)
        self.accounts[channel.pk] = account
        return account

    def account(self, channel: Channel) -> SandboxAccount:
        return self.accounts[channel.pk]

    def connector(self, channel: Channel) -> SandboxConnector:
        return SandboxConnector(channel)

    def set_failures(self, channel: Channel | None = None, **values: Any) -> None:
        """Change failure settings for one channel's account, or globally."""
        failures.update(self.account(channel) if channel is not None else None, values)

    def expire_token(self, channel: Channel) -> None:
        service.expire_access_token(self.account(channel))

    def write(
        self,
        channel: Channel,
        text: str,
        *,
        kind: str = "comment",
        author: str = "someone",
        in_reply_to: str = "",
        language: str = "",
    ) -> SandboxItem:
        """Someone on the network writes to the channel (delivered on `deliver()`)."""
        return service.create_item(
            self.account(channel),
            kind=kind,
            text=text,
            author_handle=author,
            author_name=author.title(),
            in_reply_to=in_reply_to,
            language=language,
        )

    def deliver(self) -> int:
        """Run what a commit would run now (webhook deliveries; Celery is eager in tests).

        Inside a test transaction on_commit callbacks wait for a commit that never comes.
        Returns how many callbacks ran.
        """
        ran = 0
        # A delivery stores events, whose own on_commit callbacks then run too.
        while connection.run_on_commit:
            pending, connection.run_on_commit = connection.run_on_commit, []
            for entry in pending:
                entry[1]()  # (savepoint ids, callback, robust)
                ran += 1
        return ran


@pytest.fixture
def sandbox(db: Any, settings: Any) -> Iterator[Sandbox]:
    settings.SANDBOX_LATENCY_MS = 0
    settings.SANDBOX_ERROR_RATE = 0.0
    settings.SANDBOX_TIMEOUT_RATE = 0.0
    settings.SANDBOX_RATE_LIMIT_PER_MINUTE = 0
    with in_process():
        yield Sandbox()
