"""Correctly signed garbage at every webhook receiver: never a 500, and one bad item never loses
the others.

Each network's documented delivery (the sample payloads of its own tests) carries two items: a
good one and a copy of it that Hypothesis breaks, one field (or the item itself) replaced by a
hostile value of any JSON type or removed. The delivery is signed with the right secret and
POSTed. The answer must be under 500 and JSON (or empty), and the good item must be stored
whatever happened to its neighbour; the broken one is stored with what could be read or left out.
Arbitrary JSON and raw bytes, signed, must not crash either.

The sandbox is the exception to "the others are kept": its contract (tests/test_webhooks.py) is
that a delivery with a malformed item is refused whole with a 400 that says which item and why,
and nothing is stored. So there: 200 and the good item stored, or 400 and nothing stored.

Each example runs in a savepoint that is rolled back. Meta's Graph API (asked for DM senders'
names and the text of @mentions) is answered by respx with an error: the items land as they came.
"""

from __future__ import annotations

import base64
import copy
import hashlib
import hmac
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import httpx
import pytest
import respx
from django.conf import settings as django_settings
from django.core.cache import cache
from django.db import transaction
from django.test import Client
from django.utils import timezone
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from greenroom.conftest import World, fuzz_examples
from greenroom.core import actions
from greenroom.core.models import Channel
from greenroom.inbox import actions as inbox_actions
from greenroom.inbox.models import Message
from greenroom.networks import network_api as api
from greenroom.networks.models import InboundEvent
from greenroom.networks.sandbox import signing
from greenroom.networks.sandbox.testing import Sandbox

APP_SECRET = "meta-app-secret-for-the-fuzzer-0123"
CONSUMER_SECRET = "x-consumer-secret-for-the-fuzzer-45"
LINKEDIN_SECRET = "linkedin-client-secret-for-the-fuzzer"
PAGE = "1122"  # Facebook Page id
IG = "17841405822304914"  # Instagram user id
THREADS_USER = "1234567"
X_USER = "2244994945"
LI_PAGE = "urn:li:organization:2414183"

ODD_TEXT = [
    "",
    " ",
    "\x00",
    "a\x00b",
    "\ud800",
    "x\udfffy",
    "\u202egnp.exe",
    "🏳️‍🌈👩‍👩‍👧‍👦🏽",
    "한국어 댓글 ☕",
    "a" * 10_000,
    "²",
    "١٢٣",
    "１２３",
    "NaN",
    "-1",
    "1e999",
    "2026-13-45T25:61:00",
    "2026-11-27T10:00:00+2500",
    "9999-12-31T23:59:59-14:00",
    "0001-01-01T00:00:00+14:00",
    "Wed Oct 10 20:19:24 +0000 2018",
    "Wed Feb 30 20:19:24 +0000 2018",
    "https://x/\x00",
    "../../etc/passwd",
    "null",
]
ODD_NUMBERS = [0, -1, 1, 2**31, 2**63 - 1, 2**63, 10**30, -(10**30), 1e308, -1e308, 1.5, 10**400]
DEEP = json.loads("[" * 200 + "]" * 200)
# Deeper than the JSON encoders go (orjson stops at 254 levels), shallower than json.loads.
DEEPER = json.loads("[" * 300 + "]" * 300)

text = st.one_of(st.sampled_from(ODD_TEXT), st.text(max_size=60))
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.sampled_from(ODD_NUMBERS),
    st.integers(),
    st.floats(allow_nan=False, allow_infinity=False),
)
hostile = st.one_of(
    text,
    scalars,
    st.just(DEEP),
    st.recursive(
        scalars | text,
        lambda inner: st.one_of(
            st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=8), inner, max_size=3)
        ),
        max_leaves=6,
    ),
)

FUZZ = settings(
    max_examples=fuzz_examples(40),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

REMOVE = object()  # a mutation that takes the key away


# --- The networks: where they listen, how they sign, what they deliver ---------------------------


def _meta_sign(body: bytes) -> dict[str, str]:
    digest = hmac.new(APP_SECRET.encode(), body, hashlib.sha256).hexdigest()
    return {"X-Hub-Signature-256": "sha256=" + digest}


def _x_sign(body: bytes) -> dict[str, str]:
    digest = hmac.new(CONSUMER_SECRET.encode(), body, hashlib.sha256).digest()
    return {"X-Twitter-Webhooks-Signature": "sha256=" + base64.b64encode(digest).decode()}


def _linkedin_sign(body: bytes) -> dict[str, str]:
    digest = hmac.new(LINKEDIN_SECRET.encode(), b"hmacsha256=" + body, hashlib.sha256)
    return {"X-LI-Signature": digest.hexdigest()}


def _sandbox_sign(body: bytes) -> dict[str, str]:
    return {
        signing.SIGNATURE_HEADER: signing.header(django_settings.SANDBOX_WEBHOOK_SECRET, body),
        signing.DELIVERY_HEADER: "fuzz-delivery",
    }


@dataclass(frozen=True)
class Receiver:
    network: str  # the channel kind the items land on
    path: Callable[[World, Channel], str]
    sign: Callable[[bytes], dict[str, str]]


RECEIVERS = {
    "sandbox": Receiver("sandbox", lambda w, c: f"/hooks/sandbox/{c.pk}/", _sandbox_sign),
    "facebook": Receiver("facebook", lambda w, c: f"/hooks/facebook/{w.acme.pk}/", _meta_sign),
    "instagram": Receiver("instagram", lambda w, c: f"/hooks/instagram/{w.acme.pk}/", _meta_sign),
    "threads": Receiver("threads", lambda w, c: f"/hooks/threads/{w.acme.pk}/", _meta_sign),
    "x": Receiver("x", lambda w, c: f"/hooks/x/{w.acme.pk}/", _x_sign),
    "linkedin": Receiver("linkedin", lambda w, c: f"/hooks/linkedin/{w.acme.pk}/", _linkedin_sign),
}


@dataclass(frozen=True)
class Delivery:
    """A documented delivery with two items at `items` (a path): the good one first, then the
    one the fuzzer breaks. `good_id` is the external id the good item is stored under."""

    receiver: str
    payload: Callable[[str], dict[str, Any]]  # the account id -> the delivery
    items: tuple[str | int, ...]
    good_id: str


def _fb_comment(comment_id: str) -> dict[str, Any]:
    return {
        "field": "feed",
        "value": {
            "from": {"id": "900", "name": "Kim Ji-woo"},
            "post": {"status_type": "added_photos", "is_published": True},
            "message": "Do you ship to Busan?",
            "photo": "https://scontent.xx.fbcdn.net/v/photo.jpg",
            "post_id": "1122_3344",
            "comment_id": comment_id,
            "created_time": 1763629200,
            "item": "comment",
            "parent_id": "1122_3344",
            "verb": "add",
        },
    }


def _dm(mid: str, sender: str) -> dict[str, Any]:
    return {
        "sender": {"id": sender},
        "recipient": {"id": PAGE},
        "timestamp": 1763627000000,
        "message": {
            "mid": mid,
            "text": "혹시 영업 중인가요?",
            "attachments": [{"type": "image", "payload": {"url": "https://cdn.fbsbx.com/r.jpg"}}],
        },
    }


def _ig_comment(comment_id: str) -> dict[str, Any]:
    return {
        "field": "comments",
        "value": {
            "from": {"id": "232323232", "username": "test"},
            "media": {"id": "123123123", "media_product_type": "FEED"},
            "id": comment_id,
            "parent_id": "1231231234",
            "text": "This is an example.",
        },
    }


def _ig_mention(comment_id: str) -> dict[str, Any]:
    return {
        "field": "mentions",
        "value": {"media_id": "17887498072083520", "comment_id": comment_id},
    }


def _meta_entry(account: str, **lists: list[dict[str, Any]]) -> dict[str, Any]:
    return {"entry": [{"id": account, "time": 1763629200, **lists}]}


def _threads(_account: str) -> dict[str, Any]:
    return {
        "app_id": "123456",
        "topic": "moderate",
        "target_id": THREADS_USER,
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
                "root_post": {"id": "123456", "owner_id": THREADS_USER, "username": "owner"},
                "shortcode": "Pp",
                "timestamp": "2024-08-07T10:33:16+0000",
            },
            "field": "replies",
        },
    }


def _tweet(tweet_id: str) -> dict[str, Any]:
    return {
        "created_at": "Wed Oct 10 20:19:24 +0000 2018",
        "id_str": tweet_id,
        "text": "@AcmeCoffee hello",
        "in_reply_to_status_id_str": "1050118621198921000",
        "user": {"id_str": "6253282", "name": "Twitter API", "screen_name": "TwitterAPI"},
    }


def _x_dm(event_id: str) -> dict[str, Any]:
    return {
        "type": "message_create",
        "id": event_id,
        "created_timestamp": "1516403560557",
        "message_create": {
            "target": {"recipient_id": X_USER},
            "sender_id": "3001969357",
            "message_data": {"text": "Hello World!", "entities": {}},
        },
    }


def _x_activity(_account: str, **lists: Any) -> dict[str, Any]:
    return {
        "for_user_id": X_USER,
        "users": {"3001969357": {"id": "3001969357", "name": "Jordan", "screen_name": "jb"}},
        **lists,
    }


def _li_comment(number: int) -> dict[str, Any]:
    comment = f"urn:li:comment:(urn:li:activity:6771116102128271360,{number})"
    return {
        "lastModifiedAt": 1614291276000,
        "subscriber": "urn:li:person:Az8sUlNWHx",
        "decoratedSourcePost": {"owner": LI_PAGE, "entity": "urn:li:share:67711", "text": "Roast"},
        "sourcePost": "urn:li:share:67711",
        "decoratedGeneratedActivity": {
            "comment": {
                "owner": "urn:li:person:5aMN8z7d7P",
                "text": "Where can I buy it?",
                "entity": comment,
                "object": "urn:li:activity:6771116102128271360",
            }
        },
        "organizationalEntity": LI_PAGE,
        "action": "COMMENT",
        "notificationId": number,
        "generatedActivity": comment,
    }


def _li_mention(share: str) -> dict[str, Any]:
    return {
        "lastModifiedAt": 1614291276000,
        "decoratedGeneratedActivity": {
            "share": {"owner": "urn:li:person:5aMN8z7d7P", "text": "Love @Acme", "entity": share}
        },
        "organizationalEntity": LI_PAGE,
        "action": "SHARE_MENTION",
        "notificationId": 7,
        "sourcePost": share,
    }


def _li(_account: str, *notes: dict[str, Any]) -> dict[str, Any]:
    return {"type": "ORGANIZATION_SOCIAL_ACTION_NOTIFICATIONS", "notifications": list(notes)}


def _sandbox_item(account: str, item_id: str) -> dict[str, Any]:
    return {
        "id": item_id,
        "account": account,
        "kind": "comment",
        "text": "Is the cold brew back?",
        "author": {"handle": "emma", "name": "Emma"},
        "language": "en",
        "in_reply_to": "sp_1",
        "thread_id": "sp_1",
        "created_at": "2026-11-27T10:00:00+00:00",
        "hidden": False,
    }


DELIVERIES = {
    "sandbox": Delivery(
        "sandbox",
        lambda a: {
            "delivery_id": "d-1",
            "account": {"id": a, "handle": "acme", "network": "x"},
            "items": [_sandbox_item(a, "si_good"), _sandbox_item(a, "si_broken")],
        },
        ("items",),
        "si_good",
    ),
    "facebook-feed": Delivery(
        "facebook",
        lambda a: _meta_entry(a, changes=[_fb_comment("5566_7"), _fb_comment("5566_8")]),
        ("entry", 0, "changes"),
        "5566_7",
    ),
    "facebook-messaging": Delivery(
        "facebook",
        lambda a: _meta_entry(a, messaging=[_dm("m_good", "7700"), _dm("m_broken", "7701")]),
        ("entry", 0, "messaging"),
        "m_good",
    ),
    "instagram-comments": Delivery(
        "instagram",
        lambda a: _meta_entry(a, changes=[_ig_comment("178657993"), _ig_comment("178657994")]),
        ("entry", 0, "changes"),
        "178657993",
    ),
    "instagram-mentions": Delivery(
        "instagram",
        lambda a: _meta_entry(a, changes=[_ig_mention("17894"), _ig_mention("17895")]),
        ("entry", 0, "changes"),
        "17894",
    ),
    "instagram-messaging": Delivery(
        "instagram",
        lambda a: _meta_entry(a, messaging=[_dm("aWdf_good", "8800"), _dm("aWdf_bad", "8801")]),
        ("entry", 0, "messaging"),
        "aWdf_good",
    ),
    "x-tweets": Delivery(
        "x",
        lambda a: _x_activity(a, tweet_create_events=[_tweet("10501186"), _tweet("10501187")]),
        ("tweet_create_events",),
        "10501186",
    ),
    "x-dms": Delivery(
        "x",
        lambda a: _x_activity(a, direct_message_events=[_x_dm("95449183"), _x_dm("95449184")]),
        ("direct_message_events",),
        "dm:95449183",
    ),
    "linkedin-comments": Delivery(
        "linkedin",
        lambda a: _li(a, _li_comment(1232421), _li_comment(1232422)),
        ("notifications",),
        "urn:li:comment:(urn:li:activity:6771116102128271360,1232421)",
    ),
    "linkedin-mentions": Delivery(
        "linkedin",
        lambda a: _li(a, _li_mention("urn:li:share:1"), _li_mention("urn:li:share:2")),
        ("notifications",),
        "urn:li:share:1",
    ),
}


def _paths(value: Any, prefix: tuple[str | int, ...] = ()) -> Iterator[tuple[str | int, ...]]:
    """Every place in a JSON value (the value itself first)."""
    yield prefix
    if isinstance(value, dict):
        for key, inner in value.items():
            yield from _paths(inner, (*prefix, key))
    elif isinstance(value, list):
        for index, inner in enumerate(value):
            yield from _paths(inner, (*prefix, index))


def _at(value: Any, path: tuple[str | int, ...]) -> Any:
    for step in path:
        value = value[step]
    return value


def _mutated(payload: dict[str, Any], path: tuple[str | int, ...], new: Any) -> dict[str, Any]:
    result = copy.deepcopy(payload)
    parent = _at(result, path[:-1])
    if new is REMOVE and isinstance(parent, dict):
        del parent[path[-1]]
    elif new is REMOVE:
        parent[path[-1]] = None  # a list keeps its places: the item becomes null
    else:
        parent[path[-1]] = new
    return result


# --- Channels connected to every network, with the app secrets in the vault ----------------------


@dataclass
class Wired:
    world: World
    channels: dict[str, Channel]
    client: Client


def _connect(world: World, kind: str, external_id: str) -> Channel:
    channel = actions.do_create_channel(
        world.acme,
        brand=world.coffee,
        kind=kind,
        handle=f"acme.{kind}",
        external_id=external_id,
        owner=world.alice,
        backup=world.adam,
        acting_user=world.alice,
    )
    api.do_store_tokens(
        channel,
        api.StoredTokens(
            access_token=f"{kind}-token-for-the-fuzzer-0123456789",
            expires_at=timezone.now() + timedelta(days=30),
            extra={"page_id": PAGE},
        ),
        acting_user=world.alice,
    )
    return channel


@pytest.fixture
def wired(world: World, sandbox: Sandbox, settings: Any, tmp_path: Any) -> Iterator[Wired]:
    settings.GREENROOM_NETWORKS = [
        "sandbox",
        "facebook",
        "instagram",
        "threads",
        "x",
        "linkedin",
    ]
    settings.MEDIA_ROOT = str(tmp_path)
    cache.clear()
    account = sandbox.connect(world.coffee_x)
    world.coffee_x.refresh_from_db()
    channels = {
        "sandbox": world.coffee_x,
        "facebook": _connect(world, "facebook", PAGE),
        "instagram": _connect(world, "instagram", IG),
        "threads": _connect(world, "threads", THREADS_USER),
        "x": _connect(world, "x", X_USER),
        "linkedin": _connect(world, "linkedin", LI_PAGE),
    }
    assert channels["sandbox"].external_id == account.external_id
    for net in ("facebook", "instagram", "threads"):
        api.do_set_app_credentials(world.acme, net, acting_user=None, client_secret=APP_SECRET)
    api.do_set_app_credentials(world.acme, "x", acting_user=None, consumer_secret=CONSUMER_SECRET)
    api.do_set_app_credentials(
        world.acme, "linkedin", acting_user=None, client_secret=LINKEDIN_SECRET
    )
    with respx.mock(assert_all_called=False) as router:
        # Meta refuses every lookup: the items land as the webhook gave them.
        router.route().mock(
            return_value=httpx.Response(
                400, json={"error": {"message": "Unsupported get request.", "code": 100}}
            )
        )
        yield Wired(world, channels, Client())


def _post(wired: Wired, receiver: str, body: bytes) -> tuple[int, Any]:
    """POST a correctly signed body; the answer's status and JSON (None when empty)."""
    spec = RECEIVERS[receiver]
    channel = wired.channels[receiver]
    response = wired.client.post(
        spec.path(wired.world, channel),
        body,
        content_type="application/json",
        headers=spec.sign(body),
    )
    assert response.status_code < 500, response.content[:500]
    if not response.content:
        return response.status_code, None
    assert response.get("Content-Type", "").startswith("application/json"), response.content[:300]
    answer = response.json()
    assert isinstance(answer, dict)
    return response.status_code, answer


def _encode(payload: Any) -> bytes:
    # Lone surrogates travel as \ud800 escapes, as in any JSON a network sends.
    return json.dumps(payload).encode()


def _send_delivery(wired: Wired, name: str, path: tuple[str | int, ...], new: Any) -> None:
    delivery = DELIVERIES[name]
    channel = wired.channels[delivery.receiver]
    payload = delivery.payload(channel.external_id)
    broken = (*delivery.items, 1)
    target = (*broken, *path)
    with transaction.atomic():
        status, answer = _post(wired, delivery.receiver, _encode(_mutated(payload, target, new)))
        stored = InboundEvent.objects.filter(channel=channel)
        good = stored.filter(external_id=delivery.good_id).exists()
        if delivery.receiver == "sandbox":
            # Refused whole with a reason, or taken whole.
            assert (status, good) in ((200, True), (400, False)), (status, answer)
            if status == 400:
                assert answer and answer["error"] and not stored.exists()
        else:
            assert status == 200, answer
            assert good, f"the good item was lost: {answer}"
            assert stored.count() <= 2
        # And the inbox reads what was stored: the good item becomes a message.
        inbox_actions.do_process_inbound()
        if good:
            assert Message.objects.filter(channel=channel, external_id=delivery.good_id).exists()
        transaction.set_rollback(True)


def _item_paths(name: str) -> list[tuple[str | int, ...]]:
    delivery = DELIVERIES[name]
    payload = delivery.payload("acct")
    return list(_paths(_at(payload, (*delivery.items, 1))))


def _mutation(name: str) -> st.SearchStrategy[tuple[tuple[str | int, ...], Any]]:
    return st.tuples(st.sampled_from(_item_paths(name)), st.one_of(st.just(REMOVE), hostile))


# --- (a) a documented delivery with one item broken ---------------------------------------------


@FUZZ
@given(mutation=_mutation("sandbox"))
@example(mutation=(("text",), "a\x00b"))
@example(mutation=(("author", "name"), "\ud800"))
@example(mutation=(("id",), DEEPER))
@example(mutation=(("created_at",), "0001-01-01T00:00:00+14:00"))
def test_sandbox_a_broken_item_is_refused_with_a_reason_or_taken(wired, mutation):
    _send_delivery(wired, "sandbox", *mutation)


@FUZZ
@given(mutation=_mutation("facebook-feed"))
@example(mutation=(("value",), [1]))
@example(mutation=(("value", "created_time"), 1e308))
@example(mutation=(("value", "message"), DEEPER))
@example(mutation=(("value", "comment_id"), "9" * 10_000))
def test_facebook_a_broken_comment_loses_no_other(wired, mutation):
    _send_delivery(wired, "facebook-feed", *mutation)


@FUZZ
@given(mutation=_mutation("facebook-messaging"))
@example(mutation=((), REMOVE))
@example(mutation=(("message",), " "))
@example(mutation=(("sender",), " "))
@example(mutation=(("timestamp",), 1e308))
def test_facebook_a_broken_message_loses_no_other(wired, mutation):
    _send_delivery(wired, "facebook-messaging", *mutation)


@FUZZ
@given(mutation=_mutation("instagram-comments"))
@example(mutation=(("value", "from"), "x"))
@example(mutation=(("value", "text"), "a\x00b"))
@example(mutation=(("value", "media", "id"), 10**30))
def test_instagram_a_broken_comment_loses_no_other(wired, mutation):
    _send_delivery(wired, "instagram-comments", *mutation)


@FUZZ
@given(mutation=_mutation("instagram-mentions"))
@example(mutation=(("value",), 0))
@example(mutation=(("value", "comment_id"), "\ud800"))
def test_instagram_a_broken_mention_loses_no_other(wired, mutation):
    _send_delivery(wired, "instagram-mentions", *mutation)


@FUZZ
@given(mutation=_mutation("instagram-messaging"))
@example(mutation=(("sender", "id"), "\x1f"))
@example(mutation=(("sender", "id"), "../me/accounts"))
def test_instagram_a_broken_message_loses_no_other(wired, mutation):
    _send_delivery(wired, "instagram-messaging", *mutation)


@FUZZ
@given(mutation=_mutation("x-tweets"))
@example(mutation=(("id_str",), "\ud800"))
@example(mutation=((), "x"))
@example(mutation=(("user",), []))
@example(mutation=(("created_at",), "Mon Jan 01 00:00:00 +1400 0001"))
def test_x_a_broken_mention_loses_no_other(wired, mutation):
    _send_delivery(wired, "x-tweets", *mutation)


@FUZZ
@given(mutation=_mutation("x-dms"))
@example(mutation=(("created_timestamp",), "soon"))
@example(mutation=(("created_timestamp",), 10**30))
@example(mutation=(("message_create", "sender_id"), "²"))
@example(mutation=(("message_create",), 1))
def test_x_a_broken_dm_loses_no_other(wired, mutation):
    _send_delivery(wired, "x-dms", *mutation)


@FUZZ
@given(mutation=_mutation("linkedin-comments"))
@example(mutation=(("lastModifiedAt",), 1e308))
@example(mutation=(("decoratedGeneratedActivity",), "x"))
@example(mutation=(("decoratedGeneratedActivity", "comment"), []))
def test_linkedin_a_broken_comment_loses_no_other(wired, mutation):
    _send_delivery(wired, "linkedin-comments", *mutation)


@FUZZ
@given(mutation=_mutation("linkedin-mentions"))
@example(mutation=(("decoratedGeneratedActivity", "share"), 1))
@example(mutation=(("organizationalEntity",), "\ud800"))
@example(mutation=(("organizationalEntity",), "a\x00b"))
@example(mutation=(("sourcePost",), {"a": 1}))
def test_linkedin_a_broken_mention_loses_no_other(wired, mutation):
    _send_delivery(wired, "linkedin-mentions", *mutation)


# --- Threads delivers one item at a time: any field of it, or of its envelope ---------------------


@FUZZ
@given(path=st.sampled_from(list(_paths(_threads("")))[1:]), new=st.just(REMOVE) | hostile)
@example(path=("values", "value", "timestamp"), new="2026-13-45T25:61:00")
@example(path=("values",), new=[])
@example(path=("values", "value", "root_post"), new="x")
@example(path=("values", "value", "text"), new="a\x00b")
def test_threads_a_broken_reply_never_crashes(wired, path, new):
    with transaction.atomic():
        status, answer = _post(wired, "threads", _encode(_mutated(_threads(""), path, new)))
        assert status == 200, answer
        assert InboundEvent.objects.filter(channel=wired.channels["threads"]).count() <= 1
        transaction.set_rollback(True)


# --- (b) the envelope broken, arbitrary JSON, raw bytes -----------------------------------------


def _envelope_paths() -> list[tuple[str, tuple[str | int, ...]]]:
    """Every place of each delivery outside its two items (the tests above break those)."""
    found = []
    for name, delivery in DELIVERIES.items():
        items = {(*delivery.items, 0), (*delivery.items, 1)}
        found += [
            (name, path)
            for path in list(_paths(delivery.payload("acct")))[1:]
            if path[: len(delivery.items) + 1] not in items
        ]
    return found


@settings(FUZZ, max_examples=fuzz_examples(80))
@given(where=st.sampled_from(_envelope_paths()), new=st.just(REMOVE) | hostile)
@example(where=("facebook-feed", ("entry",)), new={"a": 1})
@example(where=("facebook-feed", ("entry", 0, "time")), new=1e308)
@example(where=("x-tweets", ("tweet_create_events",)), new="x")
@example(where=("x-dms", ("for_user_id",)), new=[1])
@example(where=("x-tweets", ("for_user_id",)), new="\ud800")
@example(where=("facebook-messaging", ("entry", 0, "id")), new="\ud800")
@example(where=("instagram-comments", ("entry", 0, "id")), new="1\x00")
@example(where=("linkedin-comments", ("notifications",)), new=7)
def test_a_broken_envelope_never_crashes(wired, where, new):
    name, path = where
    delivery = DELIVERIES[name]
    payload = delivery.payload(wired.channels[delivery.receiver].external_id)
    with transaction.atomic():
        _post(wired, delivery.receiver, _encode(_mutated(payload, path, new)))
        transaction.set_rollback(True)


@settings(FUZZ, max_examples=fuzz_examples(60))
@given(receiver=st.sampled_from(sorted(RECEIVERS)), payload=hostile)
def test_any_signed_json_never_crashes(wired, receiver, payload):
    with transaction.atomic():
        _post(wired, receiver, _encode(payload))
        transaction.set_rollback(True)


@settings(FUZZ, max_examples=fuzz_examples(60))
@given(
    receiver=st.sampled_from(sorted(RECEIVERS)),
    body=st.one_of(
        st.binary(max_size=200),
        st.sampled_from(
            [
                b"",
                b"\x00",
                b"\xff\xfe{}",
                b'{"entry": [{"id": "1122", "time": 1e999}]}',
                b'{"entry": NaN}',
                b'{"a": "\\ud800"}',
                b"[" * 10_000 + b"]" * 10_000,
                b'{"for_user_id": 1' + b"0" * 5000 + b"}",
            ]
        ),
    ),
)
@example(receiver="facebook", body=b"[" * 10_000 + b"]" * 10_000)
@example(receiver="sandbox", body=b"[" * 10_000 + b"]" * 10_000)
@example(receiver="x", body=b"[" * 10_000 + b"]" * 10_000)
@example(receiver="linkedin", body=b"[" * 10_000 + b"]" * 10_000)
def test_any_signed_bytes_never_crash(wired, receiver, body):
    with transaction.atomic():
        _post(wired, receiver, body)
        transaction.set_rollback(True)
