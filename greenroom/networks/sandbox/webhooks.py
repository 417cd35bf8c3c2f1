"""The sandbox's outgoing webhooks: each new item is POSTed, signed, to its account's webhook URL.

Delivery runs after the item's transaction commits, as a Celery task with retries (inline when
`inline_delivery()` is active: the demo seeds before any worker runs). Retries keep the delivery
id and the body, so a receiver can tell a replay from a new event.
"""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import httpx
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from greenroom.networks.sandbox import service, signing
from greenroom.networks.sandbox.models import SandboxItem, SandboxWebhookDelivery

logger = logging.getLogger(__name__)

# Tests and the demo seed put an in-process transport here (httpx.WSGITransport).
_transport: httpx.BaseTransport | None = None
_inline = False


@contextmanager
def use_transport(transport: httpx.BaseTransport | None) -> Iterator[None]:
    global _transport
    previous, _transport = _transport, transport
    try:
        yield
    finally:
        _transport = previous


@contextmanager
def inline_delivery() -> Iterator[None]:
    """Deliver in this process right after commit instead of through the Celery queue."""
    global _inline
    previous, _inline = _inline, True
    try:
        yield
    finally:
        _inline = previous


class DeliveryFailed(Exception):
    def __init__(self, message: str, *, retryable: bool) -> None:
        super().__init__(message)
        self.retryable = retryable


@dataclass(frozen=True)
class SignedDelivery:
    url: str
    body: bytes
    headers: dict[str, str]


def schedule_delivery(item: SandboxItem) -> None:
    item_id = item.pk
    transaction.on_commit(lambda: _dispatch(item_id))


def _dispatch(item_id: int) -> None:
    if _inline:
        try:
            deliver(item_id)
        except DeliveryFailed as exc:
            logger.warning("sandbox webhook item=%s not delivered: %s", item_id, exc)
        return
    from greenroom.networks.sandbox.tasks import deliver_item

    deliver_item.delay(item_id)


def build(item: SandboxItem, delivery_id: str, *, timestamp: int | None = None) -> SignedDelivery:
    """The signed request for one item (the same body every attempt; a fresh timestamp)."""
    account = item.account
    payload = {
        "delivery_id": delivery_id,
        "account": {
            "id": account.external_id,
            "handle": account.handle,
            "network": account.network,
        },
        "items": [service.item_json(item, account)],
    }
    body = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()
    secret = service.webhook_secret_of(account)
    return SignedDelivery(
        url=account.webhook_url,
        body=body,
        headers={
            "Content-Type": "application/json",
            "User-Agent": "Greenroom-Sandbox/1.0",
            signing.SIGNATURE_HEADER: signing.header(secret, body, timestamp),
            signing.DELIVERY_HEADER: delivery_id,
        },
    )


def deliver(item_id: int) -> SandboxWebhookDelivery | None:
    """Try to deliver one item once; raise DeliveryFailed when the receiver did not take it."""
    item = SandboxItem.objects.select_related("account").filter(pk=item_id).first()
    if item is None or not item.account.webhook_url:
        return None
    delivery = item.deliveries.order_by("pk").first()
    if delivery is None:
        delivery = SandboxWebhookDelivery.objects.create(item=item, delivery_id=uuid.uuid4().hex)
    elif delivery.delivered_at is not None:
        return delivery
    signed = build(item, delivery.delivery_id)
    delivery.attempts += 1
    status: int | None = None
    error = ""
    try:
        with httpx.Client(
            transport=_transport, timeout=settings.SANDBOX_WEBHOOK_TIMEOUT_S
        ) as client:
            response = client.post(signed.url, content=signed.body, headers=signed.headers)
        status = response.status_code
    except httpx.HTTPError as exc:
        error = f"{type(exc).__name__}: {exc}"[:300]
    delivery.last_status = status
    delivery.last_error = error
    if status is not None and 200 <= status < 300:
        delivery.delivered_at = timezone.now()
    delivery.save(update_fields=["attempts", "last_status", "last_error", "delivered_at"])
    if delivery.delivered_at is None:
        # The receiver's 4xx means it will never take this body; 408/429/5xx may pass later.
        retryable = status is None or status >= 500 or status in (408, 429)
        raise DeliveryFailed(
            f"delivery {delivery.delivery_id} to {signed.url}: {status or error}",
            retryable=retryable,
        )
    return delivery
