"""Test helpers for tests against real peer servers (the Bluesky dev-env, mastodon-mock).

`.ci/run` starts the peers and exports their URLs; on a laptop without them the peer tests skip
with the reason, unless GREENROOM_REQUIRE_PEERS=1 (CI), where a missing peer fails the test.
"""

from __future__ import annotations

import os
import secrets
from typing import NoReturn

import httpx
import pytest


def peer_url(env_var: str, what: str) -> str:
    """The URL of a running peer, or skip (fail in CI) with a reason that says how to get one."""
    url = os.environ.get(env_var, "").rstrip("/")
    reason = ""
    if not url:
        reason = f"{env_var} is not set: start {what} (.ci/run does) to run this test"
    else:
        try:
            httpx.get(url, timeout=3.0)
        except httpx.HTTPError as exc:
            reason = f"{what} at {url} ({env_var}) does not answer: {type(exc).__name__}"
    if reason:
        missing_peer(reason)
    return url


def missing_peer(reason: str) -> NoReturn:
    """Skip the test with the reason, or fail it where peers are required (CI)."""
    if os.environ.get("GREENROOM_REQUIRE_PEERS") == "1":
        pytest.fail(reason + " (GREENROOM_REQUIRE_PEERS=1)")
    pytest.skip(reason)


def unique_name(prefix: str) -> str:
    """A fresh account name: peers keep state between tests and runs."""
    return f"{prefix}{secrets.token_hex(4)}"
