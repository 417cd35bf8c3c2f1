"""The inbox's endpoints, fuzzed like the rest of the API (test_fuzz.py): whatever a client
sends, the answer is a 4xx that says why, never a 500, on SQLite and on PostgreSQL (which
refuses NUL in text, where SQLite stores it).

The queue page's filters are fuzzed too: they reach the same search as the API's.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.db import transaction
from django.test import Client
from hypothesis import example, given
from hypothesis import strategies as st

from greenroom.inbox.tests.conftest import item, land

from .conftest import bearer, make_token
from .test_fuzz import FUZZ, ODD_NUMBERS, _body, _send, query_values


@pytest.fixture
def owner(world: Any) -> Client:
    return bearer(make_token(world, "alice")[1])


@pytest.fixture
def conversation_id(world: Any) -> int:
    land(world.coffee_x, item("f1", "Where is my order?", author="hana"))
    from greenroom.inbox.models import Conversation

    return Conversation.objects.get(channel=world.coffee_x).pk


QUEUE_PARAMS = [
    "queue",
    "brand",
    "channel",
    "network",
    "tag",
    "sentiment",
    "language",
    "q",
    "limit",
    "offset",
    "other",
]


@FUZZ
@given(params=st.dictionaries(st.sampled_from(QUEUE_PARAMS), query_values, max_size=4))
@example(params={"q": "\x00"})
@example(params={"q": "a\x00b", "tag": "\x00"})
@example(params={"q": "%_\\"})
@example(params={"language": "\x00", "sentiment": "\x00", "network": "\x00"})
@example(params={"brand": str(2**63), "channel": "-1"})
def test_listing_conversations_never_crashes(owner: Client, conversation_id: int, params):
    _send(owner, "GET", "/api/inbox/conversations", params)


@FUZZ
@given(params=st.dictionaries(st.sampled_from([*QUEUE_PARAMS, "page"]), query_values, max_size=4))
@example(params={"q": "\x00"})
@example(params={"tag": "a\x00", "language": "\x00"})
@example(params={"brand": str(2**63), "channel": "x"})
@example(params={"brand": "²", "channel": "١٢"})
@example(params={"page": str(10**30)})
def test_the_queue_page_never_crashes(
    client: Client, world: Any, conversation_id: int, params: dict[str, str]
) -> None:
    client.force_login(world.alice)
    with transaction.atomic():
        response = client.get("/inbox/", params)
        assert response.status_code < 500, response.content[:500]
        transaction.set_rollback(True)


BODIES = {
    "reply": ["text", "handle_seconds"],
    "notes": ["text"],
    "assign": ["assignee_id"],
    "tags": ["add", "remove"],
    "snooze": ["until"],
    "priority": ["priority"],
    "team": ["team_id"],
}


@FUZZ
@given(data=st.data(), action=st.sampled_from(sorted(BODIES)))
@example(data=None, action="notes")
def test_working_a_conversation_never_crashes(
    owner: Client, conversation_id: int, data: Any, action: str
) -> None:
    if data is None:  # the explicit example: NUL in a note
        body: dict[str, Any] = {"text": "a\x00b"}
    else:
        body = data.draw(_body(BODIES[action]))
    _send(owner, "POST", f"/api/inbox/conversations/{conversation_id}/{action}", body)


SETTINGS = {
    "/api/inbox/saved-replies": ["title", "body", "brand_id", "language", "is_active"],
    "/api/inbox/sla-policies": [
        "name",
        "brand_id",
        "channel_id",
        "priority",
        "kind",
        "first_response_minutes",
        "next_response_minutes",
        "resolution_minutes",
        "warn_at_share",
        "business_hours_id",
        "is_active",
    ],
    "/api/inbox/business-hours": ["name", "timezone", "weekly", "holidays"],
    "/api/inbox/rules": [
        "name",
        "position",
        "is_active",
        "channel_id",
        "brand_id",
        "network",
        "kind",
        "language",
        "sentiment",
        "keywords",
        "author_is_vip",
        "author_is_customer",
        "set_team_id",
        "set_assignee_id",
        "set_priority",
        "add_tags",
        "auto_reply_id",
        "require_approval",
        "stop",
    ],
}


@FUZZ
@given(data=st.data(), path=st.sampled_from(sorted(SETTINGS)))
def test_creating_inbox_settings_never_crashes(owner: Client, data: Any, path: str) -> None:
    _send(owner, "POST", path, data.draw(_body(SETTINGS[path])))


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/api/inbox/saved-replies", {"title": "Thanks", "body": "a\x00b"}),
        ("/api/inbox/rules", {"name": "VIP", "keywords": "a\x00b"}),
        ("/api/inbox/sla-policies", {"name": "a\x00b"}),
        ("/api/inbox/business-hours", {"name": "Office", "holidays": ["2026-02-30"]}),
        ("/api/inbox/business-hours", {"name": "Office", "weekly": [[["25:00", "26:00"]]]}),
    ],
)
def test_settings_the_database_cannot_store_are_refused(
    owner: Client, path: str, body: dict[str, Any]
) -> None:
    _send(owner, "POST", path, body)


@FUZZ
@given(
    route=st.sampled_from(
        [
            "/api/inbox/conversations/{}",
            "/api/inbox/conversations/{}/messages",
            "/api/inbox/contacts/{}",
            "/api/inbox/agents/{}",
            "/api/inbox/saved-replies/{}",
            "/api/inbox/sla-policies/{}",
            "/api/inbox/rules/{}",
        ]
    ),
    ident=st.sampled_from([str(n) for n in ODD_NUMBERS] + ["abc", "1.5", "0x10", "١٢"]),
)
def test_odd_inbox_ids_never_crash(owner: Client, route: str, ident: str) -> None:
    _send(owner, "GET", route.format(ident))


HUGE = str(2**63)


@pytest.mark.parametrize(
    ("path", "data"),
    [
        ("/inbox/bulk/", {"ids": [HUGE, "²", "١٢"], "action": "close"}),
        ("/inbox/c/{c}/act/", {"action": "assign", "assignee": "²"}),
        ("/inbox/c/{c}/act/", {"action": "assign", "assignee": HUGE}),
        ("/inbox/c/{c}/act/", {"action": "team", "team": "²"}),
        ("/inbox/settings/", {"form": "hours", "hours_id": "²", "name": "Office"}),
    ],
)
def test_odd_ids_in_inbox_forms_find_nothing(
    client: Client, world: Any, conversation_id: int, path: str, data: dict[str, Any]
) -> None:
    client.force_login(world.alice)
    response = client.post(path.format(c=conversation_id), data)
    assert response.status_code in (302, 404), response.status_code
    # Nothing was done to the conversation on the way.
    from greenroom.inbox.models import Conversation

    stored = Conversation.objects.get(pk=conversation_id)
    assert (stored.status, stored.assignee_id, stored.team_id) == ("open", None, None)
