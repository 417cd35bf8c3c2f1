"""Searching the inbox and narrowing a queue by sentiment and language, on the page and through
the API: any message the person wrote counts (not only the latest), their handle and name
count, case is ignored, and nobody finds a conversation they may not see."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client

from greenroom.api.tests.conftest import bearer, call, make_token
from greenroom.conftest import World
from greenroom.core.models import User
from greenroom.inbox import queues
from greenroom.inbox.models import Conversation
from greenroom.inbox.tests.conftest import BASE, conversation_of, item, land


def _traffic(world: World) -> dict[str, Conversation]:
    coffee, tea = world.coffee_x, world.tea_bluesky
    land(
        coffee,
        item("c1", "Is the Oat Latte back?", author="emma_k", at=BASE),
        item(
            "c2",
            "Thanks, see you soon",
            author="emma_k",
            in_reply_to="c1",
            at=BASE + timedelta(minutes=5),
        ),
        item("c3", "말차 라떼 언제 다시 나와요?", author="minji", name="김민지", at=BASE),
        item("c4", "100% refund please", author="jo", at=BASE),
    )
    land(tea, item("t1", "oat latte on the tea menu?", author="sam", at=BASE))
    found = {
        "oat": conversation_of(coffee, "c1"),
        "matcha": conversation_of(coffee, "c3"),
        "refund": conversation_of(coffee, "c4"),
        "tea": conversation_of(tea, "t1"),
    }
    # Set here, so the filters are tested apart from what the model reads.
    Conversation.objects.filter(pk=found["oat"].pk).update(sentiment="positive", language="en")
    Conversation.objects.filter(pk=found["matcha"].pk).update(sentiment="neutral", language="ko")
    Conversation.objects.filter(pk=found["refund"].pk).update(sentiment="negative", language="en")
    Conversation.objects.filter(pk=found["tea"].pk).update(sentiment="neutral", language="en")
    return found


def _shown(client: Client, **query: str) -> set[int]:
    page = client.get("/inbox/", {"queue": "all", **query})
    assert page.status_code == 200
    return {row.pk for row in page.context["rows"]}


def test_search_finds_any_message_the_person_wrote_ignoring_case(
    world: World, client: Client
) -> None:
    found = _traffic(world)
    client.force_login(world.alice)
    # "Oat Latte" is in the first message; the conversation's latest says something else.
    assert _shown(client, q="oat latte") == {found["oat"].pk, found["tea"].pk}
    assert _shown(client, q="OAT LATTE", network="x") == {found["oat"].pk}
    assert _shown(client, q="말차") == {found["matcha"].pk}
    assert _shown(client, q="nothing like this") == set()


def test_a_word_in_more_conversations_than_the_id_list_holds_is_found_the_same(
    world: World, client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Past SEARCH_IDS conversations the search looks per conversation instead of by ids.
    monkeypatch.setattr(queues, "SEARCH_IDS", 1)
    found = _traffic(world)
    client.force_login(world.alice)
    assert _shown(client, q="oat latte") == {found["oat"].pk, found["tea"].pk}
    assert _shown(client, q="OAT LATTE", network="x") == {found["oat"].pk}
    assert _shown(client, q="e") >= {found["oat"].pk, found["refund"].pk}
    client.force_login(world.agnes)
    assert _shown(client, q="oat latte") == {found["tea"].pk}


def test_search_finds_people_by_handle_and_name(world: World, client: Client) -> None:
    found = _traffic(world)
    client.force_login(world.alice)
    assert _shown(client, q="김민지") == {found["matcha"].pk}
    assert _shown(client, q="EMMA_K") == {found["oat"].pk}


def test_search_words_are_text_not_patterns(world: World, client: Client) -> None:
    found = _traffic(world)
    client.force_login(world.alice)
    assert _shown(client, q="100%") == {found["refund"].pk}
    # A lone wildcard matches only text that holds it.
    assert _shown(client, q="%") == {found["refund"].pk}
    assert _shown(client, q="_") == {found["oat"].pk}  # emma_k's handle


def test_sentiment_and_language_narrow_the_queue(world: World, client: Client) -> None:
    found = _traffic(world)
    client.force_login(world.alice)
    assert _shown(client, sentiment="negative") == {found["refund"].pk}
    assert _shown(client, language="ko") == {found["matcha"].pk}
    assert _shown(client, sentiment="neutral", language="en") == {found["tea"].pk}


def test_nobody_finds_what_they_may_not_see(world: World, client: Client) -> None:
    found = _traffic(world)
    client.force_login(world.agnes)  # Tea only
    assert _shown(client, q="oat latte") == {found["tea"].pk}
    assert _shown(client, q="말차") == set()


def test_the_search_box_and_filters_are_on_the_page_in_korean(world: World, client: Client) -> None:
    _traffic(world)
    client.force_login(world.alice)
    page = client.get("/inbox/", {"queue": "all", "q": "<b>oat</b>"}).content.decode()
    # What was searched comes back in the box as text.
    assert 'name="q"' in page and "&lt;b&gt;oat&lt;/b&gt;" in page and "<b>oat</b>" not in page
    assert 'placeholder="Search messages and people"' in page
    User.objects.filter(pk=world.alice.pk).update(language="ko")
    page = client.get("/inbox/", {"queue": "all"}).content.decode()
    assert 'placeholder="메시지와 사람 검색"' in page
    assert "모든 감정" in page and "부정" in page


def test_the_api_searches_and_filters_the_same_way(world: World) -> None:
    found = _traffic(world)
    _token, plaintext = make_token(world, "alice")
    api = bearer(plaintext)

    def ids(**query: str) -> set[int]:
        answer = call(api, "GET", "/api/inbox/conversations", query)
        assert answer.status_code == 200, answer.content
        return {row["id"] for row in answer.json()["items"]}

    assert ids(q="oat latte") == {found["oat"].pk, found["tea"].pk}
    assert ids(q="김민지") == {found["matcha"].pk}
    assert ids(sentiment="negative") == {found["refund"].pk}
    assert ids(language="ko", q="말차") == {found["matcha"].pk}
    assert call(api, "GET", "/api/inbox/conversations", {"sentiment": "angry"}).status_code == 422
