from __future__ import annotations

import logging
from typing import Any

from greenroom.celery import app
from greenroom.networks.sandbox import webhooks

logger = logging.getLogger(__name__)

MAX_RETRIES = 8


@app.task(
    name="greenroom.sandbox.deliver_item", bind=True, max_retries=MAX_RETRIES, ignore_result=True
)
def deliver_item(self: Any, item_id: int) -> None:
    """Deliver one sandbox item to its webhook; back off 2, 4, 8 ... s (capped at 10 min)."""
    try:
        webhooks.deliver(item_id)
    except webhooks.DeliveryFailed as exc:
        if not exc.retryable:
            logger.warning("sandbox webhook given up (receiver refused it): %s", exc)
            return
        if self.request.retries >= MAX_RETRIES:
            logger.warning("sandbox webhook given up after %s attempts: %s", MAX_RETRIES + 1, exc)
            return
        raise self.retry(exc=exc, countdown=min(2 ** (self.request.retries + 1), 600)) from exc
