"""The sandbox network's own server (server.py): the same API and answers as through Greenroom's
web app, the rest of the paths handed to the full application."""

from __future__ import annotations

import asyncio
from typing import Any, cast

import httpx
import pytest

from greenroom.networks.sandbox import failures, server, service
from greenroom.networks.sandbox.models import SandboxPost

pytestmark = pytest.mark.django_db(transaction=True)


def call(method: str, path: str, **kwargs: Any) -> httpx.Response:
    async def go() -> httpx.Response:
        transport = httpx.ASGITransport(app=cast(Any, server.application))
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            return await client.request(method, path, **kwargs)

    return asyncio.run(go())


@pytest.fixture
def token() -> str:
    _account, tokens = service.create_account(handle="shop", network="x")
    # Answers without the configured latency or random failures: this is about the server.
    failures.update(None, {"latency_ms": 0, "error_rate": 0, "timeout_rate": 0})
    return tokens.access_token


def test_a_post_is_created_once_per_idempotency_key(token: str) -> None:
    headers = {"Authorization": f"Bearer {token}", "Idempotency-Key": "k-1"}
    first = call("POST", "/sandbox/api/v1/posts", json={"text": "Hello"}, headers=headers)
    again = call("POST", "/sandbox/api/v1/posts", json={"text": "Hello"}, headers=headers)

    assert first.status_code == 201 and again.status_code == 200
    assert first.headers["content-type"] == "application/json"
    assert first.json()["id"] == again.json()["id"]
    assert first.json()["url"].startswith("http://testserver/sandbox/p/")
    assert SandboxPost.objects.filter(idempotency_key="k-1").count() == 1
    looked_up = call(
        "GET",
        "/sandbox/api/v1/posts?idempotency_key=k-1",
        headers={"Authorization": headers["Authorization"]},
    )
    assert looked_up.status_code == 200 and looked_up.json()["id"] == first.json()["id"]


def test_the_networks_errors_come_back_as_its_json(token: str) -> None:
    missing = call("POST", "/sandbox/api/v1/posts", json={"text": "Hello"})
    assert missing.status_code == 401
    assert missing.json()["error"]["code"] == "missing_token"

    too_long = call(
        "POST",
        "/sandbox/api/v1/posts",
        json={"text": "x" * 300},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert too_long.status_code == 400
    assert too_long.json()["error"]["code"] == "text_too_long"

    nowhere = call("GET", "/sandbox/api/v1/nothing-here", headers={"Authorization": "Bearer x"})
    assert nowhere.status_code == 404
    assert nowhere.json()["error"]["code"] == "not_found"


def test_an_oversized_body_is_refused_before_it_is_read(token: str) -> None:
    body = b"{" + b" " * (server.MAX_BODY + 10) + b"}"
    answer = call(
        "POST",
        "/sandbox/api/v1/posts",
        content=body,
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
    )
    assert answer.status_code == 413
    assert answer.json()["error"]["code"] == "body_too_large"
    assert not SandboxPost.objects.exists()


def test_a_crashing_view_is_a_500_with_the_networks_error_shape(
    token: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("boom")

    monkeypatch.setattr(service, "create_post", broken)
    answer = call(
        "POST",
        "/sandbox/api/v1/posts",
        json={"text": "Hello"},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert answer.status_code == 500
    assert answer.json()["error"]["code"] == "internal_error"
    assert "boom" not in answer.text


def test_other_paths_are_the_full_application() -> None:
    page = call("GET", "/login/")
    assert page.status_code == 200
    # Greenroom's pages go through its whole middleware stack (security headers, CSRF cookie);
    # the network's API answers from the fast path without them.
    assert "content-security-policy" in page.headers
    assert "csrftoken" in page.headers.get("set-cookie", "")
