"""The sandbox's HTTP API as any client sees it: JSON errors, auth, admin and failure settings."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from greenroom.networks.sandbox import service
from greenroom.networks.sandbox.models import SandboxAccount, SandboxPost

pytestmark = pytest.mark.django_db


@pytest.fixture
def account(settings: Any) -> tuple[SandboxAccount, str]:
    settings.SANDBOX_LATENCY_MS = 0
    settings.SANDBOX_RATE_LIMIT_PER_MINUTE = 0
    acct, issued = service.create_account(handle="@acme", network="x")
    return acct, issued.access_token


def auth(token: str, **more: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}", **more}


def admin(settings: Any) -> dict[str, str]:
    return {"X-Sandbox-Admin-Key": settings.SANDBOX_ADMIN_KEY}


def test_it_requires_a_bearer_token(client: Client) -> None:
    response = client.post("/sandbox/api/v1/posts", {"text": "hi"}, content_type="application/json")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "missing_token"
    response = client.get("/sandbox/api/v1/me", headers=auth("sbx_at_made_up"))
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "invalid_token"


def test_an_expired_token_is_401_token_expired(client: Client, account: Any) -> None:
    acct, token = account
    service.expire_access_token(acct)
    response = client.get("/sandbox/api/v1/me", headers=auth(token))
    assert response.status_code == 401
    assert response.json()["error"] == {
        "code": "token_expired",
        "message": "The access token has expired. Refresh it and try again.",
    }


def test_refresh_rotates_both_tokens(client: Client, account: Any) -> None:
    acct, _token = account
    refresh = service.reissue_tokens(acct)
    response = client.post(
        "/sandbox/api/v1/oauth/token",
        {"grant_type": "refresh_token", "refresh_token": refresh.refresh_token},
    )
    assert response.status_code == 200
    assert response["Cache-Control"] == "no-store"
    fresh = response.json()
    assert client.get("/sandbox/api/v1/me", headers=auth(fresh["access_token"])).status_code == 200
    assert client.get("/sandbox/api/v1/me", headers=auth(refresh.access_token)).status_code == 401
    again = client.post(
        "/sandbox/api/v1/oauth/token",
        {"grant_type": "refresh_token", "refresh_token": refresh.refresh_token},
    )
    assert again.status_code == 400
    assert again.json()["error"]["code"] == "invalid_grant"


def test_it_needs_no_csrf_token_and_sets_no_cookie(account: Any) -> None:
    _acct, token = account
    client = Client(enforce_csrf_checks=True)
    response = client.post(
        "/sandbox/api/v1/posts",
        {"text": "hello"},
        content_type="application/json",
        HTTP_IDEMPOTENCY_KEY="k",
        headers=auth(token),
    )
    assert response.status_code == 201
    assert not response.cookies


def test_the_same_idempotency_key_returns_the_same_post(client: Client, account: Any) -> None:
    _acct, token = account
    send = lambda: client.post(  # noqa: E731
        "/sandbox/api/v1/posts",
        {"text": "hello"},
        content_type="application/json",
        HTTP_IDEMPOTENCY_KEY="key-1",
        headers=auth(token),
    )
    first, second = send(), send()
    assert (first.status_code, second.status_code) == (201, 200)
    assert first.json()["id"] == second.json()["id"]
    found = client.get("/sandbox/api/v1/posts?idempotency_key=key-1", headers=auth(token))
    assert found.json()["id"] == first.json()["id"]
    assert SandboxPost.objects.count() == 1


def test_text_over_the_limit_is_a_400_with_a_code_and_a_message(
    client: Client, account: Any
) -> None:
    _acct, token = account
    response = client.post(
        "/sandbox/api/v1/posts",
        {"text": "a" * 281},
        content_type="application/json",
        headers=auth(token),
    )
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "text_too_long"
    assert error["message"] == "X counts this post as 281 of 280. Shorten it by 1."


def test_malformed_requests_get_json_errors(client: Client, account: Any) -> None:
    _acct, token = account
    bad = client.post(
        "/sandbox/api/v1/posts", "{not json", content_type="application/json", headers=auth(token)
    )
    assert bad.status_code == 400 and bad.json()["error"]["code"] == "invalid_json"
    empty = client.post(
        "/sandbox/api/v1/posts",
        {"text": "  "},
        content_type="application/json",
        headers=auth(token),
    )
    assert empty.status_code == 400 and empty.json()["error"]["code"] == "empty_post"
    cursor = client.get("/sandbox/api/v1/inbox?since=abc", headers=auth(token))
    assert cursor.status_code == 400 and cursor.json()["error"]["code"] == "invalid_cursor"
    wrong = client.put("/sandbox/api/v1/posts", headers=auth(token))
    assert wrong.status_code == 405 and wrong["Allow"] == "GET, POST"


def test_the_admin_api_needs_the_admin_key(client: Client, settings: Any) -> None:
    assert client.get("/sandbox/admin/failures").status_code == 401
    assert (
        client.get("/sandbox/admin/failures", HTTP_X_SANDBOX_ADMIN_KEY="guess").status_code == 401
    )
    assert client.get("/sandbox/admin/failures", headers=admin(settings)).status_code == 200


def test_failure_settings_layer_account_over_global_over_defaults(
    client: Client, account: Any, settings: Any
) -> None:
    acct, token = account
    settings.SANDBOX_RETRY_AFTER_S = 30
    glob = client.put(
        "/sandbox/admin/failures",
        {"rate_limit_per_minute": 5, "retry_after_s": 9},
        content_type="application/json",
        headers=admin(settings),
    )
    assert glob.status_code == 200
    assert glob.json()["effective"]["rate_limit_per_minute"] == 5
    own = client.patch(
        f"/sandbox/admin/accounts/{acct.external_id}/failures",
        {"rate_limit_per_minute": 1},
        content_type="application/json",
        headers=admin(settings),
    )
    assert own.json()["effective"] == {
        "latency_ms": 0,
        "error_rate": 0.0,
        "rate_limit_per_minute": 1,
        "retry_after_s": 9,
        "timeout_rate": 0.0,
        "timeout_s": settings.SANDBOX_TIMEOUT_S,
    }
    assert client.get("/sandbox/api/v1/me", headers=auth(token)).status_code == 200
    limited = client.get("/sandbox/api/v1/me", headers=auth(token))
    assert limited.status_code == 429
    assert limited["Retry-After"] == "9"
    assert limited.json()["error"]["code"] == "rate_limited"

    invalid = client.put(
        "/sandbox/admin/failures",
        {"error_rate": 3},
        content_type="application/json",
        headers=admin(settings),
    )
    assert invalid.status_code == 400
    unknown = client.put(
        "/sandbox/admin/failures",
        {"chaos": 1},
        content_type="application/json",
        headers=admin(settings),
    )
    assert unknown.status_code == 400 and "chaos" in unknown.json()["error"]["message"]


def test_admin_can_open_accounts_and_write_to_them(client: Client, settings: Any) -> None:
    created = client.post(
        "/sandbox/admin/accounts",
        {"handle": "cloudtea.kr", "network": "instagram"},
        content_type="application/json",
        headers=admin(settings),
    )
    assert created.status_code == 201
    body = created.json()
    item = client.post(
        f"/sandbox/admin/accounts/{body['id']}/items",
        {"kind": "dm", "text": "주문 확인 부탁드려요", "author_handle": "minji"},
        content_type="application/json",
        headers=admin(settings),
    )
    assert item.status_code == 201
    inbox = client.get("/sandbox/api/v1/inbox", headers=auth(body["access_token"])).json()
    assert [i["text"] for i in inbox["items"]] == ["주문 확인 부탁드려요"]
    assert inbox["has_more"] is False
    unknown = client.post(
        "/sandbox/admin/accounts",
        {"handle": "x", "network": "myspace"},
        content_type="application/json",
        headers=admin(settings),
    )
    assert unknown.status_code == 400


def test_a_disabled_sandbox_is_not_there(client: Client, account: Any, settings: Any) -> None:
    settings.SANDBOX_ENABLED = False
    _acct, token = account
    assert client.get("/sandbox/api/v1/me", headers=auth(token)).status_code == 404


def test_a_comment_under_the_accounts_own_post_is_made_once_per_key(
    client: Client, account: Any
) -> None:
    acct, token = account
    post = client.post(
        "/sandbox/api/v1/posts",
        {"text": "hello"},
        content_type="application/json",
        headers=auth(token),
    ).json()
    send = lambda: client.post(  # noqa: E731
        f"/sandbox/api/v1/posts/{post['id']}/comments",
        {"text": "#coffee #winter"},
        content_type="application/json",
        headers=auth(token, **{"Idempotency-Key": "comment-1"}),
    )
    first, second = send(), send()

    assert (first.status_code, second.status_code) == (201, 200)
    body = first.json()
    assert second.json()["id"] == body["id"]
    assert body["text"] == "#coffee #winter"
    assert body["in_reply_to"] == post["id"]
    assert body["url"].endswith(f"/sandbox/p/{post['id']}/#{body['id']}")
    assert SandboxPost.objects.filter(account=acct, in_reply_to=post["id"]).count() == 1
    assert SandboxPost.objects.get(external_id=post["id"]).replies == 1
    page = client.get(f"/sandbox/p/{post['id']}/")
    assert b"#coffee #winter" in page.content


def test_comments_are_refused_in_plain_words_where_they_cannot_be(
    client: Client, account: Any
) -> None:
    acct, token = account
    other, _issued = service.create_account(handle="@globex", network="x")
    theirs, _created = service.create_post(other, text="not yours")
    mine, _created = service.create_post(acct, text="mine")

    def comment(post_id: str, text: str = "hi") -> Any:
        return client.post(
            f"/sandbox/api/v1/posts/{post_id}/comments",
            {"text": text},
            content_type="application/json",
            headers=auth(token),
        )

    # Another account's post is not there for this account.
    assert comment(theirs.external_id).json()["error"]["code"] == "not_found"
    blank = comment(mine.external_id, "  ")
    assert blank.status_code == 400 and blank.json()["error"]["code"] == "empty_comment"
    too_long = comment(mine.external_id, "a" * 281)
    assert too_long.status_code == 400
    assert too_long.json()["error"]["message"] == (
        "X counts this post as 281 of 280. Shorten it by 1."
    )
    service.delete_post(acct, mine.external_id)
    gone = comment(mine.external_id)
    assert gone.status_code == 404 and gone.json()["error"]["code"] == "post_deleted"
    assert SandboxPost.objects.filter(in_reply_to__startswith="sp_").count() == 0


def test_a_story_has_no_comments(client: Client, settings: Any) -> None:
    settings.SANDBOX_LATENCY_MS = 0
    settings.SANDBOX_RATE_LIMIT_PER_MINUTE = 0
    acct, issued = service.create_account(handle="@acme.ig", network="instagram")
    story, _created = service.create_post(
        acct, text="", placement="stories", media=[{"mime_type": "image/jpeg"}]
    )
    response = client.post(
        f"/sandbox/api/v1/posts/{story.external_id}/comments",
        {"text": "#coffee"},
        content_type="application/json",
        headers=auth(issued.access_token),
    )
    assert response.status_code == 400
    assert response.json()["error"] == {
        "code": "comments_not_supported",
        "message": "Instagram does not allow comments on a Story.",
    }
