"""Meta webhooks for Facebook Pages, Instagram and Threads, one address per organisation and
network: /hooks/<network>/<organisation id>/.

- GET is Meta's verification request: `hub.mode=subscribe`, `hub.verify_token` equal to the
  organisation's `app:<network>:webhook_verify_token` (vault), answered with `hub.challenge`.
- POST carries `X-Hub-Signature-256: sha256=<hex HMAC-SHA256 of the body with the app secret>`
  (https://developers.facebook.com/docs/graph-api/webhooks/getting-started). A missing or wrong
  signature is a 401 and nothing is stored; items land through do_ingest_inbound, which stores a
  replayed delivery once.

Payloads read here: Page `feed` changes (comments), Instagram `comments` and `mentions` changes,
`messaging` events (Messenger and Instagram DMs), and Threads `replies` and `mentions`. Before
they are stored, the account's channel completes what a payload leaves out (`completed`): the
DM senders' names, and the text of an Instagram @mention (the webhook carries only ids).
"""

from __future__ import annotations

import json
import logging
from collections import defaultdict
from datetime import UTC, datetime
from typing import Any

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt

from greenroom.networks import network_api as api
from greenroom.networks.base import Completed, ConnectorError, InboundItem, InboundKind
from greenroom.networks.connections.payloads import storable_id
from greenroom.networks.meta.connector import (
    _dict,
    facebook_comment,
    message_media,
    threads_item,
    webhook_deadline,
)
from greenroom.networks.models import InboundEvent
from greenroom.networks.registry import connector_for

logger = logging.getLogger("greenroom.webhooks")

NETWORKS = ("facebook", "instagram", "threads")


def _when(epoch: Any) -> datetime:
    try:
        value = float(epoch)
    except (TypeError, ValueError, OverflowError):
        return datetime.now(UTC)
    # Messaging timestamps are in milliseconds; change times in seconds. A time no datetime
    # holds (NaN, infinite, past year 9999) reads as now, like a missing one.
    return api.parse_epoch(value, millis=value > 1e11) or datetime.now(UTC)


def _messaging(entry: dict[str, Any]) -> list[InboundItem]:
    items = []
    events = entry.get("messaging")
    for event in events if isinstance(events, list) else []:
        if not isinstance(event, dict):
            continue
        message = _dict(event.get("message"))
        person = api.id_of(_dict(event.get("sender")).get("id"))
        mid = api.id_of(message.get("mid"))
        if not mid or message.get("is_echo"):
            continue  # echoes are our own messages
        items.append(
            InboundItem(
                external_id=mid,
                kind=InboundKind.DM,
                text=str(message.get("text") or ""),
                author_handle=person,
                author_name="",
                created_at=_when(event.get("timestamp")),
                thread_id=person or None,
                raw=event,
                media=message_media(message),
            )
        )
    return items


def _facebook_change(change: dict[str, Any], page_id: str) -> InboundItem | None:
    value = _dict(change.get("value"))
    if change.get("field") != "feed" or value.get("item") != "comment":
        return None
    author = _dict(value.get("from"))
    if value.get("verb") != "add" or str(author.get("id")) == page_id:
        return None
    post_id = api.id_of(value.get("post_id"))
    # A comment on the post itself names the post as its parent: only a reply has a parent
    # comment.
    parent = api.id_of(value.get("parent_id"))
    return facebook_comment(
        {
            "id": api.id_of(value.get("comment_id")),
            "message": value.get("message"),
            "from": author,
            "created_time": _when(value.get("created_time")).isoformat(),
            "parent": {"id": parent} if parent and parent != post_id else {},
            # A comment with a photo or a video carries its address.
            "photo": value.get("photo"),
            "video": value.get("video"),
        },
        post_id=post_id,
    )


def _instagram_change(change: dict[str, Any], entry_time: Any) -> InboundItem | None:
    value = _dict(change.get("value"))
    field = change.get("field")
    comment_id = api.id_of(value.get("id"))
    if field == "comments" and comment_id:
        author = _dict(value.get("from"))
        media_id = api.id_of(_dict(value.get("media")).get("id"))
        return InboundItem(
            external_id=comment_id,
            kind=InboundKind.COMMENT,
            text=str(value.get("text") or ""),
            author_handle=str(author.get("username") or author.get("id") or ""),
            author_name=str(author.get("username") or ""),
            created_at=_when(entry_time),
            in_reply_to=api.id_of(value.get("parent_id")) or media_id or None,
            thread_id=media_id or None,
            raw=change,
        )
    mentioned = api.id_of(value.get("comment_id")) or api.id_of(value.get("media_id"))
    if field == "mentions" and mentioned:
        # Instagram sends only ids; the inbox reads the text with the mentioned media id.
        return InboundItem(
            external_id=mentioned,
            kind=InboundKind.MENTION,
            text="",
            author_handle="",
            author_name="",
            created_at=_when(entry_time),
            thread_id=api.id_of(value.get("media_id")) or None,
            raw=change,
        )
    return None


def read_meta_payload(network: str, payload: dict[str, Any]) -> dict[str, list[InboundItem]]:
    """Items per account id (Page id, Instagram user id, Threads user id)."""
    found: dict[str, list[InboundItem]] = defaultdict(list)
    if network == "threads":
        values = _dict(payload.get("values"))
        field = values.get("field")
        value = _dict(values.get("value"))
        kind = {"replies": InboundKind.COMMENT, "mentions": InboundKind.MENTION}.get(str(field))
        item = threads_item(value, kind) if kind else None
        if item is not None:
            owner = _dict(value.get("root_post")).get("owner_id") if kind == "comment" else None
            found[api.id_of(owner) or api.id_of(payload.get("target_id"))].append(item)
        return found
    entries = payload.get("entry")
    for entry in entries if isinstance(entries, list) else []:
        if not isinstance(entry, dict):
            continue
        account = api.id_of(entry.get("id"))
        found[account] += _messaging(entry)
        changes = entry.get("changes")
        for change in changes if isinstance(changes, list) else []:
            if not isinstance(change, dict):
                continue
            item = (
                _facebook_change(change, account)
                if network == "facebook"
                else _instagram_change(change, entry.get("time"))
            )
            if item is not None:
                found[account].append(item)
    return found


def completed(
    org_id: int, network: str, found: dict[str, list[InboundItem]]
) -> dict[str, Completed]:
    """The items, completed by the account's channel with what the webhook leaves out (the
    senders' names, the text of Instagram @mentions) before they are stored. Every account's
    lookups share one budget (WEBHOOK_BUDGET_S): what could not be asked in it, or Meta could
    not answer for now, is in `later`, held for a worker to ask again. Items already landed
    (a replay: Meta delivers again when it waited too long) are not asked about twice. A
    channel that cannot ask (no tokens, Meta refuses) lands the items as they came."""
    result: dict[str, Completed] = {}
    deadline = webhook_deadline()
    for account, items in found.items():
        channel = next(iter(api.webhook_channels(org_id, network, account)), None)
        connector = connector_for(channel) if channel is not None and items else None
        complete = getattr(connector, "complete_webhook_items", None)
        if channel is None or not callable(complete):
            result[account] = Completed(items)
            continue
        # As stored: an id the database cannot take as it came is kept in its storable form.
        stored_as = {item.external_id: storable_id(item.external_id) for item in items}
        landed = set(
            InboundEvent.objects.filter(
                channel=channel, external_id__in=set(stored_as.values())
            ).values_list("external_id", flat=True)
        )
        fresh = [item for item in items if stored_as[item.external_id] not in landed]
        try:
            done: Completed = complete(fresh, deadline=deadline)
        except ConnectorError as exc:
            logger.info(
                "webhook network=%s org=%s outcome=incomplete code=%s", network, org_id, exc.code
            )
            done = Completed(fresh)
        again = [item for item in items if stored_as[item.external_id] in landed]
        result[account] = Completed([*done.items, *again], done.later)
    return result


@csrf_exempt
def meta_hook(request: HttpRequest, network: str, org_id: int) -> HttpResponse:
    if network not in NETWORKS:
        return JsonResponse({"ok": False}, status=404)
    if request.method == "GET":
        expected = api.app_value(org_id, network, "webhook_verify_token")
        given = request.GET.get("hub.verify_token", "")
        if (
            request.GET.get("hub.mode") == "subscribe"
            and expected
            and given
            and api.same(given, expected)
        ):
            return HttpResponse(request.GET.get("hub.challenge", ""), content_type="text/plain")
        logger.info("webhook network=%s org=%s outcome=rejected reason=verify", network, org_id)
        return HttpResponse(status=403)
    if request.method != "POST":
        return HttpResponse(status=405)
    secret = api.app_value(org_id, network, "client_secret")
    header = request.headers.get("X-Hub-Signature-256", "")
    body = request.body
    # An unknown organisation and a bad signature look the same from outside.
    expected_sig = "sha256=" + api.hmac_sha256(secret, body).hex() if secret else ""
    if not secret or not header or not api.same(header, expected_sig):
        logger.info("webhook network=%s org=%s outcome=rejected status=401", network, org_id)
        return JsonResponse({"ok": False, "error": _("Bad signature.")}, status=401)
    try:
        payload = json.loads(body)
    except (ValueError, UnicodeDecodeError, RecursionError):  # nested past Python's stack
        return JsonResponse({"ok": False, "error": _("The body is not JSON.")}, status=400)
    if not isinstance(payload, dict):
        return JsonResponse({"ok": False, "error": _("The body is not an object.")}, status=400)
    done = completed(org_id, network, read_meta_payload(network, payload))
    landing = api.land_webhook_items(
        org_id,
        network,
        {account: result.items for account, result in done.items()},
        delivery_id=header[-16:],
        later={account: result.later for account, result in done.items()},
    )
    return JsonResponse(
        {
            "ok": True,
            "stored": landing.created,
            "duplicate": landing.duplicates,
            "held": landing.held,
        }
    )
