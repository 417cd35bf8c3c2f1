"""No page, API response or log line ever contains a token's plaintext.

The test stores distinctive tokens in the vault for every channel, creates an API token, then
walks every URL pattern the project has (filling path parameters with the ids of real objects)
as the owner and as the auditor, through the browser session and the API, with logging captured
at DEBUG, and looks for the plaintexts everywhere.
"""

from __future__ import annotations

import itertools
import logging
from typing import Any

import pytest
from django.test import Client
from django.urls import get_resolver

from greenroom.conftest import PASSWORD, World
from greenroom.core import actions
from greenroom.core.logging import RedactSecretsFilter
from greenroom.core.models import AuditEvent, Brand, Channel, ChannelGrant, Membership, Team
from greenroom.core.tests.urlwalk import walk

SKIP_PREFIXES = ("ops/admin/", "static/", "i18n/", "sandbox/", "hooks/")

# Backend-independent: run once, in CI's SQLite pass (see the "once" marker).
pytestmark = pytest.mark.once


def concrete_paths(world: World) -> list[str]:
    ids = sorted(
        {world.acme.pk}
        | set(Channel.objects.values_list("pk", flat=True))
        | set(Brand.objects.values_list("pk", flat=True))
        | set(Membership.objects.values_list("pk", flat=True))
        | set(Team.objects.values_list("pk", flat=True))
        | set(ChannelGrant.objects.values_list("pk", flat=True))
        | set(AuditEvent.objects.order_by("-id").values_list("pk", flat=True)[:3])
    )
    paths: list[str] = []
    for route, pattern in walk(get_resolver()):
        if route.startswith(SKIP_PREFIXES) or "logout" in route:
            continue
        converters = pattern.pattern.converters if hasattr(pattern.pattern, "converters") else {}
        names = list(converters)
        if not names:
            if "<" not in route and "^" not in route:
                paths.append("/" + route)
            continue
        if any(type(c).__name__ not in ("IntConverter",) for c in converters.values()):
            continue
        for combo in itertools.product(ids, repeat=len(names)):
            path = route
            for name, value in zip(names, combo, strict=True):
                path = path.replace(f"<int:{name}>", str(value))
            paths.append("/" + path)
    return paths


@pytest.fixture
def secrets_everywhere(world: World) -> list[str]:
    plaintexts = []
    for n, channel in enumerate(Channel.objects.all()):
        token = f"live-network-token-{n:02d}-Zq8w1x"
        actions.do_set_channel_credentials(channel, token=token, acting_user=None)
        plaintexts.append(token)
    for role in ("alice", "otto"):
        _, api_plain = actions.do_create_api_token(
            world.people[role],
            world.acme,
            name="ci",
            scopes=["read"],
            acting_user=world.people[role],
        )
        plaintexts.append(api_plain)
    return plaintexts


@pytest.mark.parametrize("person", ["alice", "otto"])
def test_no_page_or_api_response_or_log_line_contains_a_plaintext(
    world: World,
    secrets_everywhere: list[str],
    person: str,
    caplog: pytest.LogCaptureFixture,
    settings: Any,
) -> None:
    # The live-update streams are read to their end: a short life, so the crawl does not wait
    # four minutes on each of them.
    settings.GREENROOM_INBOX_LIVE_SECONDS = 0.2
    caplog.set_level(logging.DEBUG)
    caplog.handler.addFilter(RedactSecretsFilter())
    browser = Client()
    assert browser.login(username=person, password=PASSWORD)
    api_token = secrets_everywhere[-2] if person == "alice" else secrets_everywhere[-1]
    api = Client(headers={"Authorization": f"Bearer {api_token}"})
    paths = concrete_paths(world)
    assert len(paths) > 20, paths  # the crawl really covers the project
    seen_ok = 0
    for path in paths:
        for client in (browser, api):
            response = client.get(path)
            body = (
                b"".join(response.streaming_content)  # type: ignore[attr-defined]
                if response.streaming
                else response.content
            )
            for plaintext in secrets_everywhere:
                assert plaintext.encode() not in body, (path, response.status_code)
            seen_ok += response.status_code == 200
    assert seen_ok > 10
    for plaintext in secrets_everywhere:
        assert plaintext not in caplog.text
