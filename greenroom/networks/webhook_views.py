"""Webhook receivers: networks POST comments, mentions and DMs here.

Not a user action and not a session: no login, no CSRF token; the signature is the
authentication. Every rejection stores nothing and answers JSON with a reason. One structured
log line per delivery, never the body (it is user content, and may be hostile).
"""

from __future__ import annotations

import logging

from django.http import HttpRequest, JsonResponse
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from greenroom.core.models import Channel
from greenroom.networks.actions import do_ingest_inbound
from greenroom.networks.base import WebhookRejected
from greenroom.networks.connections.payloads import storable_item, storable_text
from greenroom.networks.models import InboundSource
from greenroom.networks.sandbox.connector import SandboxConnector
from greenroom.networks.sandbox.signing import DELIVERY_HEADER

logger = logging.getLogger("greenroom.webhooks")


def _log(outcome: str, channel_id: int, delivery: str, **fields: object) -> None:
    extra = "".join(f" {key}={value}" for key, value in fields.items())
    # The delivery id is the sender's; keep it short and printable in the log line.
    safe_delivery = "".join(c for c in delivery[:64] if c.isalnum() or c in "-_") or "-"
    logger.info(
        "webhook network=sandbox channel=%s delivery=%s outcome=%s%s",
        channel_id,
        safe_delivery,
        outcome,
        extra,
    )


@csrf_exempt
@require_POST
def sandbox_hook(request: HttpRequest, channel_id: int) -> JsonResponse:
    delivery = request.headers.get(DELIVERY_HEADER, "")
    channel = (
        Channel.objects.filter(pk=channel_id, sandboxed=True).select_related("organization").first()
    )
    try:
        # The signature is checked before the channel's existence is revealed: an unsigned
        # caller learns nothing about which channel ids exist.
        items = SandboxConnector.verify_webhook(request, channel=channel)
    except WebhookRejected as exc:
        _log("rejected", channel_id, delivery, status=exc.status, reason=repr(exc.message[:80]))
        return JsonResponse({"ok": False, "error": exc.message}, status=exc.status)
    if channel is None:
        _log("rejected", channel_id, delivery, status=404, reason="'unknown channel'")
        return JsonResponse(
            {"ok": False, "error": _("No sandbox channel has this webhook address.")}, status=404
        )
    # What the sender wrote, as the database takes it (no NUL, no lone surrogate ...).
    result = do_ingest_inbound(
        channel,
        [storable_item(item) for item in items],
        source=InboundSource.WEBHOOK,
        delivery_id=storable_text(delivery),
    )
    _log(
        "stored" if result.created else "duplicate",
        channel.pk,
        delivery,
        org=channel.organization_id,
        items=len(items),
        created=result.created,
        duplicates=result.duplicates,
    )
    return JsonResponse({"ok": True, "stored": result.created, "duplicate": result.created == 0})
