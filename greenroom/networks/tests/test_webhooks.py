"""Signed webhooks from the sandbox land in InboundEvent exactly once; anything else is refused
with a clear 4xx and nothing is stored."""

from __future__ import annotations

import json
import logging
import time
from typing import Any
from urllib.parse import urlsplit

import pytest
from django.test import Client

from greenroom.conftest import World
from greenroom.core.models import Channel
from greenroom.networks.actions import do_ingest_inbound
from greenroom.networks.models import InboundEvent
from greenroom.networks.sandbox import signing, webhooks
from greenroom.networks.sandbox.connector import SandboxConnector
from greenroom.networks.sandbox.models import SandboxItem, SandboxWebhookDelivery
from greenroom.networks.sandbox.testing import Sandbox, sandbox  # noqa: F401


def hook_url(channel: Channel) -> str:
    return f"/hooks/sandbox/{channel.pk}/"


def post_signed(
    client: Client,
    url: str,
    body: bytes,
    *,
    secret: str,
    timestamp: int | None = None,
    delivery: str = "d-1",
) -> Any:
    return client.post(
        url,
        body,
        content_type="application/json",
        HTTP_X_SANDBOX_SIGNATURE=signing.header(secret, body, timestamp),
        HTTP_X_SANDBOX_DELIVERY=delivery,
    )


def delivery_of(item: SandboxItem) -> webhooks.SignedDelivery:
    """The exact request the sandbox sends for this item."""
    return webhooks.build(item, "delivery-under-test")


def replay(client: Client, signed: webhooks.SignedDelivery, path: str | None = None) -> Any:
    return client.post(
        path or urlsplit(signed.url).path,
        signed.body,
        content_type="application/json",
        HTTP_X_SANDBOX_SIGNATURE=signed.headers[signing.SIGNATURE_HEADER],
        HTTP_X_SANDBOX_DELIVERY=signed.headers[signing.DELIVERY_HEADER],
    )


@pytest.fixture
def connected(world: World, sandbox: Sandbox) -> Sandbox:  # noqa: F811
    for channel in (world.coffee_x, world.tea_bluesky, world.globex_x):
        sandbox.connect(channel)
    return sandbox


def test_a_new_comment_arrives_through_the_signed_webhook_once(
    world: World, connected: Sandbox, client: Client
) -> None:
    item = connected.write(world.coffee_x, "Is the cold brew back?", author="emma")
    assert not InboundEvent.objects.exists()  # delivery waits for the commit

    connected.deliver()

    event = InboundEvent.objects.get()
    assert (event.channel, event.organization, event.kind, event.source) == (
        world.coffee_x,
        world.acme,
        "comment",
        "webhook",
    )
    assert event.external_id == item.external_id
    assert event.payload["text"] == "Is the cold brew back?"
    delivery = SandboxWebhookDelivery.objects.get(item=item)
    assert (delivery.attempts, delivery.last_status) == (1, 200)
    assert delivery.delivered_at is not None
    assert event.delivery_id == delivery.delivery_id


def test_a_replayed_delivery_is_stored_once(
    world: World, connected: Sandbox, client: Client
) -> None:
    item = connected.write(world.coffee_x, "love it", author="liam", kind="mention")
    signed = delivery_of(item)

    first = replay(client, signed)
    second = replay(client, signed)

    assert first.status_code == second.status_code == 200
    assert first.json() == {"ok": True, "stored": 1, "duplicate": False}
    assert second.json() == {"ok": True, "stored": 0, "duplicate": True}
    assert InboundEvent.objects.count() == 1


@pytest.mark.parametrize(
    "signature",
    [None, "t=1,v1=abc", "garbage", "v1=deadbeef"],
    ids=["missing", "wrong", "garbage", "no-timestamp"],
)
def test_a_bad_or_missing_signature_is_401_and_stores_nothing(
    world: World, connected: Sandbox, client: Client, signature: str | None
) -> None:
    item = connected.write(world.coffee_x, "hi")
    body = delivery_of(item).body
    headers = {} if signature is None else {"X-Sandbox-Signature": signature}
    if signature == "t=1,v1=abc":
        headers["X-Sandbox-Signature"] = f"t={int(time.time())},v1=abc"

    response = client.post(
        hook_url(world.coffee_x), body, content_type="application/json", headers=headers
    )

    assert response.status_code == 401
    assert response.json()["ok"] is False
    assert response.json()["error"]
    assert not InboundEvent.objects.exists()


def test_a_signature_made_with_another_secret_is_refused(
    world: World, connected: Sandbox, client: Client
) -> None:
    item = connected.write(world.coffee_x, "hi")
    body = delivery_of(item).body
    response = post_signed(client, hook_url(world.coffee_x), body, secret="not-the-secret")
    assert response.status_code == 401
    assert "does not match" in response.json()["error"]
    assert not InboundEvent.objects.exists()


def test_a_tampered_body_is_refused(world: World, connected: Sandbox, client: Client) -> None:
    item = connected.write(world.coffee_x, "hi")
    signed = delivery_of(item)
    tampered = webhooks.SignedDelivery(
        url=signed.url, body=signed.body.replace(b"hi", b"ho"), headers=signed.headers
    )
    assert replay(client, tampered).status_code == 401
    assert not InboundEvent.objects.exists()


@pytest.mark.parametrize(
    ("offset", "accepted"),
    [(0, True), (300, True), (-300, True), (300.5, False), (-300.5, False), (-301, False)],
)
def test_the_five_minute_window_is_exact(offset: float, accepted: bool) -> None:
    """The window's edge, on a fixed clock: up to 300 s either way is taken, a moment more is
    refused (the request-level test below keeps a margin for a busy machine)."""
    body = b'{"items": []}'
    signed = signing.header("secret", body, timestamp=1_800_000_000)
    now = 1_800_000_000 - offset
    if accepted:
        assert signing.verify(signed, body, ["secret"], now=now) == 1_800_000_000
    else:
        with pytest.raises(signing.SignatureError, match="five minutes"):
            signing.verify(signed, body, ["secret"], now=now)


# Ten seconds past the five minutes: the signed time is whole seconds and the request takes a
# while on a busy machine, so 301 s in the future could arrive 300 s ahead and pass.
@pytest.mark.parametrize("age", [310, -310, 3600])
def test_a_stale_timestamp_is_401(
    world: World, connected: Sandbox, client: Client, settings: Any, age: int
) -> None:
    item = connected.write(world.coffee_x, "hi")
    body = delivery_of(item).body
    response = post_signed(
        client,
        hook_url(world.coffee_x),
        body,
        secret=settings.SANDBOX_WEBHOOK_SECRET,
        timestamp=int(time.time()) - age,
    )
    assert response.status_code == 401
    assert "five minutes" in response.json()["error"]
    assert not InboundEvent.objects.exists()


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"{not json", "not valid JSON"),
        (b"[1, 2]", "must be a JSON object"),
        (b'{"items": []}', "account.id"),
        (b'{"account": {"id": "acct_x"}, "items": []}', "no 'items' list"),
        (b'{"account": {"id": "acct_x"}, "items": [{"id": "si_1"}]}', "has no"),
        (
            b'{"account": {"id": "acct_x"}, "items": [{"id": "si_1", "kind": "tweet", "text": "",'
            b' "author": {"handle": "a"}, "created_at": "2026-11-27T00:00:00Z"}]}',
            "unknown kind",
        ),
        (
            b'{"account": {"id": "acct_x"}, "items": [{"id": "si_1", "kind": "dm", "text": "x",'
            b' "author": {"handle": "a"}, "created_at": "yesterday"}]}',
            "ISO 8601",
        ),
    ],
    ids=[
        "not-json",
        "not-object",
        "no-account",
        "no-items",
        "missing-fields",
        "bad-kind",
        "bad-time",
    ],
)
def test_malformed_deliveries_are_400_with_a_reason_and_store_nothing(
    world: World, connected: Sandbox, client: Client, settings: Any, body: bytes, message: str
) -> None:
    response = post_signed(
        client, hook_url(world.coffee_x), body, secret=settings.SANDBOX_WEBHOOK_SECRET
    )
    assert response.status_code == 400
    assert message in response.json()["error"]
    assert not InboundEvent.objects.exists()


def test_an_unknown_channel_is_404_but_only_for_signed_deliveries(
    world: World, connected: Sandbox, client: Client
) -> None:
    item = connected.write(world.coffee_x, "hi")
    signed = delivery_of(item)
    assert replay(client, signed, "/hooks/sandbox/999999/").status_code == 404
    unsigned = client.post("/hooks/sandbox/999999/", signed.body, content_type="application/json")
    assert unsigned.status_code == 401  # no hint about which channel ids exist
    assert not InboundEvent.objects.exists()


def test_another_orgs_delivery_cannot_be_fed_through_a_different_channels_url(
    world: World, connected: Sandbox, client: Client
) -> None:
    globex_item = connected.write(world.globex_x, "for globex")
    acme_item = connected.write(world.coffee_x, "for acme")

    into_acme = replay(client, delivery_of(globex_item), hook_url(world.coffee_x))
    into_globex = replay(client, delivery_of(acme_item), hook_url(world.globex_x))
    same_org_other_channel = replay(client, delivery_of(acme_item), hook_url(world.tea_bluesky))

    for response in (into_acme, into_globex, same_org_other_channel):
        assert response.status_code == 403
        assert "another account" in response.json()["error"]
    assert not InboundEvent.objects.exists()


def test_a_channel_not_connected_to_the_sandbox_refuses_deliveries(
    world: World, connected: Sandbox, client: Client
) -> None:
    item = connected.write(world.coffee_x, "hi")
    # coffee_instagram is sandboxed but has no sandbox account.
    response = replay(client, delivery_of(item), hook_url(world.coffee_instagram))
    assert response.status_code == 403
    assert not InboundEvent.objects.exists()


def test_a_channel_can_have_its_own_webhook_secret(
    world: World,
    sandbox: Sandbox,  # noqa: F811
    client: Client,
) -> None:
    sandbox.connect(world.coffee_instagram, webhook_secret="instagram-only-secret-123")
    item = sandbox.write(world.coffee_instagram, "nice photo")
    sandbox.deliver()
    assert InboundEvent.objects.filter(channel=world.coffee_instagram).count() == 1
    body = delivery_of(item).body
    assert (
        post_signed(
            client,
            hook_url(world.coffee_instagram),
            body,
            secret="instagram-only-secret-123",
        ).status_code
        == 200
    )


def test_only_post_is_allowed(world: World, connected: Sandbox, client: Client) -> None:
    assert client.get(hook_url(world.coffee_x)).status_code == 405
    assert not InboundEvent.objects.exists()


def test_each_delivery_logs_one_line_without_the_body(
    world: World, connected: Sandbox, caplog: Any
) -> None:
    connected.write(world.coffee_x, "my secret order number is 12345", author="ava")
    with caplog.at_level(logging.INFO, logger="greenroom.webhooks"):
        connected.deliver()
    lines = [r.getMessage() for r in caplog.records if r.name == "greenroom.webhooks"]
    assert len(lines) == 1
    assert f"channel={world.coffee_x.pk}" in lines[0] and "outcome=stored" in lines[0]
    assert "12345" not in lines[0] and "ava" not in lines[0]


def test_a_receiver_that_fails_is_retried(
    world: World, connected: Sandbox, monkeypatch: Any
) -> None:
    calls = []
    real = webhooks.deliver

    def flaky(item_id: int) -> Any:
        calls.append(item_id)
        if len(calls) < 3:
            raise webhooks.DeliveryFailed("receiver returned 503", retryable=True)
        return real(item_id)

    monkeypatch.setattr(webhooks, "deliver", flaky)
    connected.write(world.coffee_x, "third time lucky")
    connected.deliver()  # Celery runs eagerly here; retries happen at once
    assert len(calls) == 3
    assert InboundEvent.objects.count() == 1


def test_a_receiver_that_refuses_is_not_retried(world: World, connected: Sandbox) -> None:
    item = connected.write(world.coffee_x, "hello")
    # Point the account somewhere that answers 404: a refusal, not a hiccup.
    account = connected.account(world.coffee_x)
    account.webhook_url = "http://127.0.0.1:8000/hooks/sandbox/999999/"
    account.save(update_fields=["webhook_url"])
    connected.deliver()
    delivery = SandboxWebhookDelivery.objects.get(item=item)
    assert (delivery.attempts, delivery.last_status, delivery.delivered_at) == (1, 404, None)


def test_ingesting_is_idempotent_across_webhook_and_polling(
    world: World, connected: Sandbox
) -> None:
    connected.write(world.coffee_x, "one")
    connected.write(world.coffee_x, "two")
    connected.deliver()
    page = SandboxConnector(world.coffee_x).fetch_inbox(None)
    result = do_ingest_inbound(world.coffee_x, page.items, source="poll")
    assert (result.created, result.duplicates) == (0, 2)
    assert InboundEvent.objects.count() == 2
    assert set(InboundEvent.objects.values_list("source", flat=True)) == {"webhook"}


def test_inbound_events_are_restricted_like_their_channel(world: World, connected: Sandbox) -> None:
    connected.write(world.coffee_x, "coffee")
    connected.write(world.tea_bluesky, "tea")
    connected.write(world.globex_x, "globex")
    connected.deliver()

    def visible(user: Any) -> set[str]:
        return {e.payload["text"] for e in InboundEvent.objects.restrict(user, "view")}

    assert visible(world.alice) == {"coffee", "tea"}
    assert visible(world.bianca) == {"coffee"}  # manages only the Coffee brand
    assert visible(world.agnes) == {"tea"}
    assert visible(world.charlie) == set()
    assert visible(world.gina) == {"globex"}


def test_the_raw_payload_is_kept_as_sent(world: World, connected: Sandbox) -> None:
    item = connected.write(world.coffee_x, "<script>alert(1)</script>", author="mallory")
    connected.deliver()
    payload = InboundEvent.objects.get().payload
    assert payload == json.loads(delivery_of(item).body)["items"][0]
