"""LinkedIn webhooks, one address per organisation: /hooks/linkedin/<organisation id>/.

LinkedIn enables webhooks only for apps with an approved use case
(https://learn.microsoft.com/en-us/linkedin/shared/api-guide/webhook-validation):
- GET ?challengeCode=<uuid>: answered with {"challengeCode", "challengeResponse"}, the response
  being hex HMAC-SHA256 of the challenge code keyed with the app's client secret. LinkedIn
  repeats the check every two hours.
- POST carries `X-LI-Signature`: hex HMAC-SHA256 of "hmacsha256=" + the raw body, with the same
  secret. A missing or wrong signature is a 401 and nothing is stored.

Payload: organization social action notifications
(https://learn.microsoft.com/en-us/linkedin/marketing/community-management/organizations/organization-social-action-notifications):
{"type": "ORGANIZATION_SOCIAL_ACTION_NOTIFICATIONS", "notifications": [...]}, each with
`notificationId`, `organizationalEntity`, `action` and the generated activity. COMMENT becomes a
comment, SHARE_MENTION a mention; ADMIN_COMMENT (the page's own) and likes are not inbox items.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
from collections import defaultdict
from datetime import UTC, datetime
from typing import Any

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt

from greenroom.networks import network_api as api
from greenroom.networks.base import InboundItem, InboundKind

logger = logging.getLogger("greenroom.webhooks")

SIGNATURE_HEADER = "X-LI-Signature"


def hex_hmac(secret: str, message: bytes) -> str:
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def _when(value: Any) -> datetime:
    made = None
    if isinstance(value, int | float) and not isinstance(value, bool) and value > 0:
        made = api.parse_epoch(value, millis=True)  # None past year 9999
    return made or datetime.now(UTC)


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def read_notification(note: dict[str, Any]) -> InboundItem | None:
    action = note.get("action")
    activity = _dict(note.get("decoratedGeneratedActivity"))
    made = _when(note.get("lastModifiedAt"))
    source = api.id_of(note.get("sourcePost"))
    if action == "COMMENT":
        comment = _dict(activity.get("comment"))
        urn = api.id_of(comment.get("entity")) or api.id_of(note.get("generatedActivity"))
        if not urn:
            return None
        return InboundItem(
            external_id=urn,
            kind=InboundKind.COMMENT,
            text=str(comment.get("text") or ""),
            author_handle=str(comment.get("owner") or ""),
            author_name="",
            created_at=made,
            in_reply_to=source or None,
            thread_id=source or None,
            raw={"object": comment.get("object"), **note},
        )
    if action == "SHARE_MENTION":
        share = _dict(activity.get("share")) or _dict(note.get("decoratedSourcePost"))
        urn = api.id_of(share.get("entity")) or source
        if not urn:
            return None
        return InboundItem(
            external_id=urn,
            kind=InboundKind.MENTION,
            text=str(share.get("text") or ""),
            author_handle=str(share.get("owner") or ""),
            author_name="",
            created_at=made,
            thread_id=urn,
            raw=note,
        )
    return None


def read_notifications(payload: dict[str, Any]) -> dict[str, list[InboundItem]]:
    by_page: dict[str, list[InboundItem]] = defaultdict(list)
    notes = payload.get("notifications")
    for note in notes if isinstance(notes, list) else []:
        if not isinstance(note, dict):
            continue
        item = read_notification(note)
        if item is not None:
            by_page[api.id_of(note.get("organizationalEntity"))].append(item)
    return by_page


@csrf_exempt
def linkedin_hook(request: HttpRequest, org_id: int) -> HttpResponse:
    secret = api.app_value(org_id, "linkedin", "client_secret")
    if request.method == "GET":
        challenge = request.GET.get("challengeCode", "")
        if not secret or not challenge:
            return JsonResponse({"ok": False}, status=400)
        return JsonResponse(
            {
                "challengeCode": challenge,
                "challengeResponse": hex_hmac(secret, challenge.encode()),
            }
        )
    if request.method != "POST":
        return HttpResponse(status=405)
    given = request.headers.get(SIGNATURE_HEADER, "")
    body = request.body
    if (
        not secret
        or not given
        or not api.same(given.lower(), hex_hmac(secret, b"hmacsha256=" + body))
    ):
        logger.info("webhook network=linkedin org=%s outcome=rejected status=401", org_id)
        return JsonResponse({"ok": False, "error": _("Bad signature.")}, status=401)
    try:
        payload = json.loads(body)
    except (ValueError, UnicodeDecodeError, RecursionError):  # nested past Python's stack
        return JsonResponse({"ok": False, "error": _("The body is not JSON.")}, status=400)
    if not isinstance(payload, dict):
        return JsonResponse({"ok": False, "error": _("The body is not an object.")}, status=400)
    notes = payload.get("notifications")
    ids = [
        api.id_of(n.get("notificationId"))
        for n in (notes if isinstance(notes, list) else [])
        if isinstance(n, dict)
    ]
    landing = api.land_webhook_items(
        org_id, "linkedin", read_notifications(payload), delivery_id=",".join(ids)[:64]
    )
    return JsonResponse({"ok": True, "stored": landing.created, "duplicate": landing.duplicates})
