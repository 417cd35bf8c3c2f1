"""Publishing test helpers: posts scheduled on sandbox channels, time that passes, and a way to
watch (or break) the HTTP traffic between the engine and the sandbox network."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from django.utils import timezone

from greenroom.conftest import World
from greenroom.core.models import Channel, User
from greenroom.networks.sandbox import connector as sandbox_connector
from greenroom.networks.sandbox.models import SandboxPost
from greenroom.networks.sandbox.testing import Sandbox
from greenroom.networks.sandbox.testing import sandbox as sandbox  # the fixture
from greenroom.publishing import actions, engine
from greenroom.publishing.models import Post, Variant


class Traffic(httpx.BaseTransport):
    """Forwards to the in-process sandbox, counts publish calls, and can break them.

    `hang_after_commit`: the next N publish calls reach the sandbox (the post is created), then
    the client sees a read timeout, as when the network commits and hangs (the sandbox's
    timeout_rate does this over a real socket; in-process there is no socket to time out).
    """

    def __init__(self, inner: httpx.BaseTransport) -> None:
        self.inner = inner
        self.publish_calls = 0
        self.lookups = 0
        self.hang_after_commit = 0
        self.before_publish: Callable[[], None] | None = None

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        is_publish = request.method == "POST" and request.url.path.endswith("/api/v1/posts")
        if request.method == "GET" and request.url.path.endswith("/api/v1/posts"):
            self.lookups += 1
        if is_publish:
            self.publish_calls += 1
            if self.before_publish is not None:
                self.before_publish()
        response = self.inner.handle_request(request)
        if is_publish and self.hang_after_commit:
            self.hang_after_commit -= 1
            response.read()
            raise httpx.ReadTimeout("the network did not answer in time", request=request)
        return response


@pytest.fixture
def traffic(sandbox: Sandbox) -> Iterator[Traffic]:
    inner = sandbox_connector._transport
    assert inner is not None
    watcher = Traffic(inner)
    with sandbox_connector.use_transport(watcher):
        yield watcher


@dataclass
class Pub:
    """A world whose Acme channels are connected to the sandbox."""

    world: World
    sandbox: Sandbox
    made: list[Post] = field(default_factory=list)

    def post(
        self,
        channels: Sequence[Channel] | None = None,
        *,
        text: str = "Cold brew is back this weekend.",
        author: User | None = None,
        at: datetime | None = None,
        submit: bool = True,
    ) -> Post:
        """A post by alice (who may publish: no approval needed), scheduled in an hour."""
        channels = list(channels or [self.world.coffee_x])
        author = author or self.world.alice
        post = actions.do_create_post(
            self.world.acme,
            text=text,
            channels=channels,
            publish_at=at or timezone.now() + timedelta(hours=1),
            acting_user=author,
        )
        if submit:
            post = actions.do_submit_for_approval(post, acting_user=author)
        self.made.append(post)
        return post

    def due(self, post: Post, ago: timedelta = timedelta(seconds=1)) -> None:
        """Time passes: the post's scheduled channels are due now."""
        moment = timezone.now() - ago
        Variant.objects.filter(post=post).update(publish_at=moment, next_attempt_at=moment)

    def retry_now(self, variant: Variant) -> None:
        """Time passes until a variant's next attempt."""
        Variant.objects.filter(pk=variant.pk).update(next_attempt_at=timezone.now())

    def on_network(self, channel: Channel) -> list[SandboxPost]:
        return list(SandboxPost.objects.filter(account=self.sandbox.account(channel)))


@pytest.fixture
def pub(world: World, sandbox: Sandbox) -> Pub:
    for channel in (world.coffee_x, world.coffee_instagram, world.tea_bluesky):
        sandbox.connect(channel)
    return Pub(world=world, sandbox=sandbox)


def dispatch() -> int:
    """Run the engine's dispatch (what beat does every few seconds) after test-client requests.

    Django's test client reconnects its connection closer after each request, undoing what the
    in-process sandbox switched off; on PostgreSQL the closer would then end the test's
    transaction when the engine's sandbox calls finish. Keep it off while the engine runs.
    """
    reconnect = [
        signal
        for signal in (request_started, request_finished)
        if signal.disconnect(close_old_connections)
    ]
    try:
        return engine.dispatch_due()
    finally:
        for signal in reconnect:
            signal.connect(close_old_connections)


def variant_of(post: Post, channel: Channel) -> Variant:
    return Variant.objects.get(post=post, channel=channel)


def fresh(obj: Any) -> Any:
    obj.refresh_from_db()
    return obj
