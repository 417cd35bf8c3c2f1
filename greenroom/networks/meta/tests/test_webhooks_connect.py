"""Meta webhooks and the Facebook Login connect flow, with payloads from Meta's documentation:

- Webhooks getting started (hub.mode / hub.verify_token / hub.challenge, X-Hub-Signature-256):
  https://developers.facebook.com/docs/graph-api/webhooks/getting-started
- Instagram webhooks (comments field example payload):
  https://developers.facebook.com/docs/instagram-platform/webhooks
- Page feed webhooks (item comment, verb add): https://developers.facebook.com/docs/graph-api/webhooks/reference/page/#feed
- Threads webhooks (replies example payload): https://developers.facebook.com/docs/threads/webhooks
- Long-lived tokens (fb_exchange_token) and Page tokens (/me/accounts):
  https://developers.facebook.com/docs/facebook-login/guides/access-long-lived
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
from urllib.parse import parse_qs, urlsplit

import httpx
import respx
from django.test import Client

from greenroom.conftest import PASSWORD, World
from greenroom.core import actions, vault
from greenroom.core.models import Channel, ChannelStatus
from greenroom.inbox import actions as inbox_actions
from greenroom.inbox.models import Message
from greenroom.networks import network_api as api
from greenroom.networks.meta.tests.conftest import APP_SECRET, FB, PAGE_TOKEN
from greenroom.networks.models import InboundEvent

IG_COMMENT = {
    "object": "instagram",
    "entry": [
        {
            "id": "17841405822304914",
            "time": 1520383571,
            "changes": [
                {
                    "field": "comments",
                    "value": {
                        "from": {"id": "232323232", "username": "test"},
                        "media": {"id": "123123123", "media_product_type": "FEED"},
                        "id": "17865799348089039",
                        "parent_id": "1231231234",
                        "text": "This is an example.",
                    },
                }
            ],
        }
    ],
}

THREADS_REPLY = {
    "app_id": "123456",
    "topic": "moderate",
    "target_id": "1234567",
    "time": 1723226877,
    "subscription_id": "234567",
    "has_uid_field": False,
    "values": {
        "value": {
            "id": "8901234",
            "username": "test_username",
            "text": "Reply",
            "media_type": "TEXT_POST",
            "permalink": "https://www.threads.net/@test_username/post/Pp",
            "replied_to": {"id": "567890"},
            "root_post": {"id": "123456", "owner_id": "1234567", "username": "test_username_2"},
            "shortcode": "Pp",
            "timestamp": "2024-08-07T10:33:16+0000",
        },
        "field": "replies",
    },
}


def signed(body: bytes, secret: str = APP_SECRET) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def test_the_verification_handshake_answers_the_challenge(instagram: Channel, world: World) -> None:
    api.do_set_app_credentials(
        world.acme, "instagram", acting_user=None, webhook_verify_token="verify-me-please"
    )
    url = f"/hooks/instagram/{world.acme.pk}/"
    client = Client()
    good = client.get(
        url,
        {
            "hub.mode": "subscribe",
            "hub.verify_token": "verify-me-please",
            "hub.challenge": "1158201444",
        },
    )
    assert good.status_code == 200 and good.content == b"1158201444"
    bad = client.get(
        url, {"hub.mode": "subscribe", "hub.verify_token": "guess", "hub.challenge": "1"}
    )
    assert bad.status_code == 403


def test_a_signed_instagram_comment_is_stored_once(instagram: Channel, world: World) -> None:
    body = json.dumps(IG_COMMENT).encode()
    url = f"/hooks/instagram/{world.acme.pk}/"
    client = Client()
    first = client.post(
        url, body, content_type="application/json", HTTP_X_HUB_SIGNATURE_256=signed(body)
    )
    replay = client.post(
        url, body, content_type="application/json", HTTP_X_HUB_SIGNATURE_256=signed(body)
    )
    assert first.status_code == 200 and first.json()["stored"] == 1
    assert replay.status_code == 200 and replay.json()["stored"] == 0
    event = InboundEvent.objects.get(channel=instagram)
    assert event.external_id == "17865799348089039"
    assert event.kind == "comment"
    assert APP_SECRET not in first.content.decode()
    # And the inbox reads it: Meta's own JSON is kept under "network".
    assert inbox_actions.do_process_inbound().unreadable == 0
    message = Message.objects.get(channel=instagram, external_id="17865799348089039")
    assert (message.text, message.author_handle) == ("This is an example.", "test")


def test_a_bad_signature_is_refused_and_nothing_is_stored(instagram: Channel, world: World) -> None:
    body = json.dumps(IG_COMMENT).encode()
    client = Client()
    url = f"/hooks/instagram/{world.acme.pk}/"
    wrong = client.post(
        url,
        body,
        content_type="application/json",
        HTTP_X_HUB_SIGNATURE_256=signed(body, "not-the-secret"),
    )
    missing = client.post(url, body, content_type="application/json")
    other_org = client.post(
        f"/hooks/instagram/{world.globex.pk}/",
        body,
        content_type="application/json",
        HTTP_X_HUB_SIGNATURE_256=signed(body),
    )
    assert (wrong.status_code, missing.status_code, other_org.status_code) == (401, 401, 401)
    assert not InboundEvent.objects.exists()


def test_a_threads_reply_webhook_lands_on_the_threads_channel(
    threads: Channel, world: World
) -> None:
    body = json.dumps(THREADS_REPLY).encode()
    response = Client().post(
        f"/hooks/threads/{world.acme.pk}/",
        body,
        content_type="application/json",
        HTTP_X_HUB_SIGNATURE_256=signed(body),
    )
    assert response.status_code == 200
    event = InboundEvent.objects.get(channel=threads)
    assert (event.external_id, event.kind) == ("8901234", "comment")
    assert inbox_actions.do_process_inbound().unreadable == 0
    assert Message.objects.filter(channel=threads, external_id="8901234").exists()


def test_a_page_comment_webhook(facebook: Channel, world: World) -> None:
    payload = {
        "object": "page",
        "entry": [
            {
                "id": "1122",
                "time": 1732780000,
                "changes": [
                    {
                        "field": "feed",
                        "value": {
                            "from": {"id": "900", "name": "Kim"},
                            "item": "comment",
                            "comment_id": "5566_3",
                            "post_id": "1122_5566",
                            "verb": "add",
                            "created_time": 1732780000,
                            "message": "Nice",
                        },
                    }
                ],
            }
        ],
    }
    body = json.dumps(payload).encode()
    Client().post(
        f"/hooks/facebook/{world.acme.pk}/",
        body,
        content_type="application/json",
        HTTP_X_HUB_SIGNATURE_256=signed(body),
    )
    assert InboundEvent.objects.get(channel=facebook).external_id == "5566_3"
    assert inbox_actions.do_process_inbound().unreadable == 0
    message = Message.objects.get(channel=facebook, external_id="5566_3")
    assert (message.text, message.author_name) == ("Nice", "Kim")


def test_connecting_a_page_keeps_its_page_token(world: World, settings, caplog) -> None:
    caplog.set_level(logging.DEBUG)
    settings.GREENROOM_NETWORKS = ["sandbox", "facebook"]
    channel = actions.do_create_channel(
        world.acme,
        brand=world.coffee,
        kind="facebook",
        handle="acmecoffee",
        acting_user=world.alice,
    )
    api.do_set_app_credentials(
        world.acme,
        "facebook",
        acting_user=world.alice,
        client_id="1234567890",
        client_secret=APP_SECRET,
    )
    client = Client()
    client.login(username="alice", password=PASSWORD)
    start = client.get(f"/hooks/facebook/connect/{channel.pk}/")
    assert start.status_code == 302
    consent = urlsplit(start["Location"])
    query = {k: v[0] for k, v in parse_qs(consent.query).items()}
    assert consent.netloc == "www.facebook.com"
    assert query["client_id"] == "1234567890"
    assert "pages_manage_posts" in query["scope"].split(",")
    assert APP_SECRET not in start["Location"]
    with respx.mock(assert_all_called=True) as router:
        token = router.post(f"{FB}/oauth/access_token").mock(
            return_value=httpx.Response(
                200,
                json={
                    "access_token": "EAAshortlived123456",
                    "token_type": "bearer",
                    "expires_in": 5183,
                },
            )
        )
        router.get(f"{FB}/oauth/access_token").mock(
            return_value=httpx.Response(
                200,
                json={
                    "access_token": "EAAlonglived12345678",
                    "token_type": "bearer",
                    "expires_in": 5183944,
                },
            )
        )
        accounts = router.get(f"{FB}/me/accounts").mock(
            return_value=httpx.Response(
                200,
                json={
                    "data": [
                        {
                            "id": "1122",
                            "name": "AcmeCoffee",
                            "username": "acmecoffee",
                            "access_token": PAGE_TOKEN,
                        }
                    ]
                },
            )
        )
        done = client.get(
            "/hooks/facebook/oauth/callback/", {"code": "AQDcode", "state": query["state"]}
        )
    assert done.status_code == 302
    assert parse_qs(token.calls[0].request.content.decode())["code"] == ["AQDcode"]
    assert accounts.calls[0].request.url.params["access_token"] == "EAAlonglived12345678"
    channel.refresh_from_db()
    assert channel.external_id == "1122"
    assert channel.status == ChannelStatus.ACTIVE
    assert channel.credentials is not None
    stored = api.decode_tokens(vault.reveal(channel.credentials))
    assert stored.access_token == PAGE_TOKEN
    assert channel.credentials.expires_at is None  # Page tokens do not expire
    page = client.get(f"/governance/channels/{channel.pk}/").content.decode()
    for secret in (PAGE_TOKEN, "EAAlonglived12345678", "EAAshortlived123456", APP_SECRET):
        assert secret not in page
        assert secret not in caplog.text
        assert secret not in done.content.decode()
