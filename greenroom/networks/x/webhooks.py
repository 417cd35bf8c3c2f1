"""X webhooks (Account Activity API), one address per organisation: /hooks/x/<organisation id>/.

- GET ?crc_token=...: the challenge-response check. The answer is
  {"response_token": "sha256=" + base64(HMAC-SHA256(consumer secret, crc_token))}.
- POST: `x-twitter-webhooks-signature: sha256=<base64 HMAC-SHA256 of the body>` with the same
  consumer secret (the app's API key secret, kept in the vault as `app:x:consumer_secret`).
  A missing or wrong signature is a 401 and nothing is stored.
  https://docs.x.com/x-api/webhooks/introduction (securing webhooks, CRC)
  Payload: `for_user_id`, `tweet_create_events` (mentions and replies, v1.1 tweet objects) and
  `direct_message_events` (message_create).
"""

from __future__ import annotations

import base64
import json
import logging
from datetime import UTC, datetime
from typing import Any

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt

from greenroom.networks import network_api as api
from greenroom.networks.base import InboundItem, InboundKind
from greenroom.networks.x.connector import _x_time, one_to_one_conversation

logger = logging.getLogger("greenroom.webhooks")

SIGNATURE_HEADER = "x-twitter-webhooks-signature"


def signature(secret: str, message: bytes) -> str:
    return "sha256=" + base64.b64encode(api.hmac_sha256(secret, message)).decode("ascii")


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _list(value: Any) -> list[dict[str, Any]]:
    """The objects of a list of events; anything else in it is no event."""
    return [row for row in value if isinstance(row, dict)] if isinstance(value, list) else []


def read_activity(payload: dict[str, Any]) -> list[InboundItem]:
    account = api.id_of(payload.get("for_user_id"))
    items = []
    for tweet in _list(payload.get("tweet_create_events")):
        user = _dict(tweet.get("user"))
        made = _x_time(tweet.get("created_at"))
        tweet_id = api.id_of(tweet.get("id_str"))
        if not tweet_id or made is None or str(user.get("id_str")) == account:
            continue  # our own posts come back as events too (or it is no tweet)
        items.append(
            InboundItem(
                external_id=tweet_id,
                kind=InboundKind.MENTION,
                text=str(tweet.get("text") or ""),
                author_handle=str(user.get("screen_name") or ""),
                author_name=str(user.get("name") or ""),
                created_at=made,
                in_reply_to=api.id_of(tweet.get("in_reply_to_status_id_str")) or None,
                raw=tweet,
            )
        )
    # The DM senders' names come beside the events, by user id.
    given = payload.get("users")
    users: dict[str, Any] = given if isinstance(given, dict) else {}
    for event in _list(payload.get("direct_message_events")):
        create = _dict(event.get("message_create"))
        sender = api.id_of(create.get("sender_id"))
        event_id = api.id_of(event.get("id"))
        if event.get("type") != "message_create" or not event_id or sender == account:
            continue
        # The Account Activity API delivers one-to-one DMs only (X's page for it: group
        # conversations are not supported yet), and its events carry no conversation id: the
        # thread is X's one-to-one id built from the two participants, the id the polled
        # events of the same conversation carry. A group DM never arrives here; polling
        # (GET /2/dm_events) brings it with its group conversation's own id.
        recipient = api.id_of(_dict(create.get("target")).get("recipient_id")) or account
        found = users.get(sender)
        person: dict[str, Any] = found if isinstance(found, dict) else {}
        items.append(
            InboundItem(
                external_id=f"dm:{event_id}",
                kind=InboundKind.DM,
                text=str(_dict(create.get("message_data")).get("text") or ""),
                author_handle=str(person.get("screen_name") or sender),
                author_name=str(person.get("name") or ""),
                # A time that is no time (missing, not a number) reads as when it came.
                created_at=api.parse_epoch(event.get("created_timestamp"), millis=True)
                or datetime.now(UTC),
                thread_id=one_to_one_conversation(sender, recipient),
                raw=event,
            )
        )
    return items


@csrf_exempt
def x_hook(request: HttpRequest, org_id: int) -> HttpResponse:
    secret = api.app_value(org_id, "x", "consumer_secret")
    if request.method == "GET":
        token = request.GET.get("crc_token", "")
        if not secret or not token:
            return JsonResponse({"ok": False}, status=400)
        return JsonResponse({"response_token": signature(secret, token.encode())})
    if request.method != "POST":
        return HttpResponse(status=405)
    given = request.headers.get(SIGNATURE_HEADER, "")
    body = request.body
    if not secret or not given or not api.same(given, signature(secret, body)):
        logger.info("webhook network=x org=%s outcome=rejected status=401", org_id)
        return JsonResponse({"ok": False, "error": _("Bad signature.")}, status=401)
    try:
        payload = json.loads(body)
    except (ValueError, UnicodeDecodeError, RecursionError):  # nested past Python's stack
        return JsonResponse({"ok": False, "error": _("The body is not JSON.")}, status=400)
    if not isinstance(payload, dict):
        return JsonResponse({"ok": False, "error": _("The body is not an object.")}, status=400)
    landing = api.land_webhook_items(
        org_id,
        "x",
        {api.id_of(payload.get("for_user_id")): read_activity(payload)},
        delivery_id=given[-16:],
    )
    return JsonResponse({"ok": True, "stored": landing.created, "duplicate": landing.duplicates})
