"""Live updates: the inbox pages' event streams say when what they show has changed."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from asgiref.sync import async_to_sync, sync_to_async
from django.core.cache import cache
from django.test import AsyncClient, Client

from greenroom.conftest import World
from greenroom.core import actions as core_actions
from greenroom.inbox import actions, live, presence
from greenroom.inbox.models import Conversation
from greenroom.inbox.tests.conftest import conversation_of, item, land


@pytest.fixture
def conversations(world: World, monkeypatch: pytest.MonkeyPatch) -> Iterator[World]:
    # The streams check every few milliseconds here instead of every second.
    monkeypatch.setattr(live, "CHECK_S", 0.005)
    monkeypatch.setattr(live, "QUEUE_GAP_S", 0.0)
    land(world.coffee_x, item("q1", "Where is my coffee order?", author="emma"))
    land(world.tea_bluesky, item("q2", "Love the new tea", author="sora"))
    land(world.globex_x, item("q3", "Globex question", author="gus"))
    yield world
    # Each stream a test opened is closed as when a browser leaves (the test client's wrapper
    # closes the response, and with it the stream).
    while _opened:
        _opened.pop()._iterator.close()
    assert live.open_streams() == 0


def _client(world: World, person: str) -> Client:
    client = Client()
    client.force_login(world.people[person])
    return client


_opened: list[Any] = []


def _open(client: Client, url: str, **headers: str) -> Iterator[bytes]:
    """The stream as the browser reads it, after its first lines."""
    response = client.get(url, headers=headers)
    assert response.status_code == 200, response.status_code
    assert response["Content-Type"] == "text/event-stream"
    assert response["Cache-Control"] == "no-cache"
    _opened.append(response)
    chunks = response.streaming_content  # type: ignore[attr-defined]
    assert next(chunks).startswith(b"retry: 2000\n")
    return chunks  # type: ignore[no-any-return]


def _events(chunk: bytes) -> list[str]:
    return [line[7:] for line in chunk.decode().splitlines() if line.startswith("event: ")]


def _next_events(chunks: Iterator[bytes]) -> list[str]:
    return _events(next(chunks))


def _coffee(world: World) -> Conversation:
    return conversation_of(world.coffee_x, "q1")


def test_a_colleagues_note_is_a_thread_event_and_quiet_checks_send_only_keepalives(
    conversations: World,
) -> None:
    conversation = _coffee(conversations)
    chunks = _open(_client(conversations, "alice"), f"/inbox/c/{conversation.pk}/events/")
    quiet = [next(chunks) for _ in range(3)]
    assert all(_events(c) == [] and c.startswith(b": keep-alive\nid: ") for c in quiet)
    actions.do_add_note(conversation, "Checking the order", acting_user=conversations.adam)
    assert _next_events(chunks) == ["thread"]
    assert _next_events(chunks) == []  # said once


def test_a_reply_changing_status_is_a_thread_event(conversations: World) -> None:
    conversation = _coffee(conversations)
    reply = actions.do_reply(conversation, "On its way", acting_user=conversations.adam)
    chunks = _open(_client(conversations, "alice"), f"/inbox/c/{conversation.pk}/events/")
    assert _next_events(chunks) == []
    actions.do_mark_reply_failed(reply, error="The network timed out")
    assert _next_events(chunks) == ["thread"]


def test_changes_elsewhere_are_not_events_for_this_conversation(conversations: World) -> None:
    conversation = _coffee(conversations)
    tea = conversation_of(conversations.tea_bluesky, "q2")
    chunks = _open(_client(conversations, "alice"), f"/inbox/c/{conversation.pk}/events/")
    actions.do_add_note(tea, "Another conversation", acting_user=conversations.adam)
    actions.do_assign([tea], conversations.adam, acting_user=conversations.adam)
    land(conversations.coffee_x, item("q9", "A new thread on the same channel", author="lee"))
    land(conversations.globex_x, item("q8", "Globex again", author="gus"))
    assert _next_events(chunks) == []


def test_a_new_inbound_message_in_the_thread_is_a_thread_event(conversations: World) -> None:
    conversation = _coffee(conversations)
    chunks = _open(_client(conversations, "alice"), f"/inbox/c/{conversation.pk}/events/")
    land(conversations.coffee_x, item("q1b", "Any news?", author="emma", in_reply_to="q1"))
    assert conversation_of(conversations.coffee_x, "q1b").pk == conversation.pk
    assert _next_events(chunks) == ["thread"]


def test_someone_else_assigning_it_is_a_conversation_event_but_my_own_change_is_not(
    conversations: World,
) -> None:
    conversation = _coffee(conversations)
    chunks = _open(_client(conversations, "alice"), f"/inbox/c/{conversation.pk}/events/")
    actions.do_assign([conversation], conversations.alice, acting_user=conversations.alice)
    assert _next_events(chunks) == []  # her page was drawn again after her own change
    actions.do_assign([conversation], conversations.adam, acting_user=conversations.adam)
    assert _next_events(chunks) == ["conversation"]


def test_a_colleague_arriving_or_starting_to_reply_is_a_presence_event(
    conversations: World,
) -> None:
    conversation = _coffee(conversations)
    presence.touch(conversation.pk, conversations.alice, "viewing")
    chunks = _open(_client(conversations, "alice"), f"/inbox/c/{conversation.pk}/events/")
    presence.touch(conversation.pk, conversations.alice, "replying")  # her own state
    assert _next_events(chunks) == []
    presence.touch(conversation.pk, conversations.adam, "viewing")
    assert _next_events(chunks) == ["presence"]
    presence.touch(conversation.pk, conversations.adam, "viewing")  # a heartbeat, no change
    assert _next_events(chunks) == []
    presence.touch(conversation.pk, conversations.adam, "replying")
    assert _next_events(chunks) == ["presence"]


def test_a_colleague_leaving_is_a_presence_event(conversations: World) -> None:
    conversation = _coffee(conversations)
    adam = conversations.adam
    presence.touch(conversation.pk, adam, "viewing")
    chunks = _open(_client(conversations, "alice"), f"/inbox/c/{conversation.pk}/events/")
    assert _next_events(chunks) == []
    # His page closed: his last heartbeat grows older than a heartbeat counts.
    key = presence._key(conversation.pk)
    there = cache.get(key)
    there[str(adam.pk)]["at"] -= presence.ttl_s() + 1
    cache.set(key, there)
    assert _next_events(chunks) == ["presence"]


def test_a_page_drawn_before_a_change_hears_of_it_when_its_stream_opens(
    conversations: World,
) -> None:
    conversation = _coffee(conversations)
    client = _client(conversations, "alice")
    drawn = time.time()
    actions.do_add_note(conversation, "Written meanwhile", acting_user=conversations.adam)
    chunks = _open(client, f"/inbox/c/{conversation.pk}/events/?since={drawn:.3f}")
    assert "thread" in _next_events(chunks)
    # A reconnection resumes from the last id it heard, not from when the page was drawn.
    chunks = _open(
        client,
        f"/inbox/c/{conversation.pk}/events/?since={drawn:.3f}",
        **{"Last-Event-ID": f"{time.time() + live.COMMIT_MARGIN_S:.3f}"},
    )
    assert _next_events(chunks) == []


def test_the_queue_hears_of_changes_to_conversations_the_agent_may_answer(
    conversations: World,
) -> None:
    chunks = _open(_client(conversations, "agnes"), "/inbox/events/")  # Tea brand only
    assert _next_events(chunks) == []
    coffee, tea = _coffee(conversations), conversation_of(conversations.tea_bluesky, "q2")
    actions.do_assign([coffee], conversations.adam, acting_user=conversations.adam)
    assert _next_events(chunks) == []  # not hers to see
    actions.do_tag([tea], add=["refund"], acting_user=conversations.adam)
    assert _next_events(chunks) == ["queue"]
    land(conversations.tea_bluesky, item("q4", "Is matcha back?", author="yui"))
    assert _next_events(chunks) == ["queue"]


def test_queue_events_are_gathered_into_one_every_few_seconds(
    conversations: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(live, "QUEUE_GAP_S", 60.0)
    chunks = _open(_client(conversations, "alice"), "/inbox/events/")
    coffee = _coffee(conversations)
    actions.do_assign([coffee], conversations.adam, acting_user=conversations.adam)
    assert _next_events(chunks) == ["queue"]
    actions.do_assign([coffee], None, acting_user=conversations.adam)
    assert _next_events(chunks) == []  # owed, sent once the gap has passed
    monkeypatch.setattr(live, "QUEUE_GAP_S", 0.0)
    assert _next_events(chunks) == ["queue"]


def test_another_organisations_conversation_is_a_404_before_any_stream(
    conversations: World,
) -> None:
    globex = conversation_of(conversations.globex_x, "q3")
    coffee = _coffee(conversations)
    assert _client(conversations, "alice").get(f"/inbox/c/{globex.pk}/events/").status_code == 404
    assert _client(conversations, "gina").get(f"/inbox/c/{coffee.pk}/events/").status_code == 404
    # agnes engages on Tea only: Coffee's conversation is out of her scope.
    assert _client(conversations, "agnes").get(f"/inbox/c/{coffee.pk}/events/").status_code == 404


@pytest.mark.parametrize("person", ["paul", "anna", "charlie"])
def test_people_who_do_not_engage_get_a_404(conversations: World, person: str) -> None:
    coffee = _coffee(conversations)
    client = _client(conversations, person)
    assert client.get("/inbox/events/").status_code == 404
    assert client.get(f"/inbox/c/{coffee.pk}/events/").status_code == 404


def test_signed_out_the_stream_sends_to_the_login_page(conversations: World) -> None:
    response = Client().get(f"/inbox/c/{_coffee(conversations).pk}/events/")
    assert response.status_code == 302 and response["Location"].startswith("/login/")


def test_the_stream_ends_after_its_lifetime(conversations: World, settings: Any) -> None:
    settings.GREENROOM_INBOX_LIVE_SECONDS = 0.05
    chunks = _open(_client(conversations, "alice"), f"/inbox/c/{_coffee(conversations).pk}/events/")
    rest = list(chunks)  # ends by itself; EventSource reconnects after `retry`
    assert rest and rest[-1].startswith(b": keep-alive\nid: ")


def _until_the_watcher_stops() -> None:
    """The process's watcher thread stops, and gives its connection back, with the last
    stream (before the test's data is torn down)."""
    for _ in range(200):
        if not live.watcher_running():
            return
        time.sleep(0.01)
    raise AssertionError("the watcher thread is still running")


@pytest.mark.django_db(transaction=True)
def test_under_asgi_a_process_wide_watcher_tells_the_stream_what_changed(
    conversations: World, settings: Any
) -> None:
    settings.GREENROOM_INBOX_LIVE_SECONDS = 30
    conversation = _coffee(conversations)
    client = AsyncClient()
    client.force_login(conversations.alice)

    async def read() -> list[list[str]]:
        response = await client.get(f"/inbox/c/{conversation.pk}/events/")
        assert response.status_code == 200
        assert response["Content-Type"] == "text/event-stream"
        chunks = response.streaming_content.__aiter__()  # type: ignore[attr-defined]
        assert (await chunks.__anext__()).startswith(b"retry: ")
        await sync_to_async(actions.do_add_note)(
            conversation, "From another process", acting_user=conversations.adam
        )
        seen: list[list[str]] = []
        while not seen or seen[-1] == []:  # quiet checks write nothing under ASGI
            seen.append(_events(await asyncio.wait_for(chunks.__anext__(), timeout=10)))
        await chunks.aclose()  # the client went away
        return seen

    assert async_to_sync(read)()[-1] == ["thread"]
    assert live.open_streams() == 0
    _until_the_watcher_stops()


def test_the_pages_open_their_stream_and_poll_only_slowly(conversations: World) -> None:
    conversation = _coffee(conversations)
    client = _client(conversations, "alice")
    queue = client.get("/inbox/").content.decode()
    assert 'data-live="/inbox/events/?since=' in queue
    # The queue's 60 s fallback runs in inbox.js, through the same wait as the stream's
    # redraws (never while rows are selected).
    assert 'id="gr-queue" hx-get=' in queue and 'hx-trigger="gr-refresh"' in queue
    assert (
        "setInterval(refreshQueue, 60000)"
        in (Path(__file__).parents[1] / "static" / "inbox" / "inbox.js").read_text()
    )
    page = client.get(f"/inbox/c/{conversation.pk}/").content.decode()
    assert f'data-live="/inbox/c/{conversation.pk}/events/?since=' in page
    assert page.count('hx-trigger="gr-refresh, every 60s"') == 1  # the thread
    assert "load, every 5s, gr-state-change, gr-refresh" in page  # the presence heartbeat
    assert '<div id="gr-live-notice" class="alert alert-info py-2" role="status" hidden>' in page
    alice = conversations.alice
    core_actions.do_update_preferences(
        alice, language="ko", timezone_name="Asia/Seoul", acting_user=alice
    )
    korean = client.get(f"/inbox/c/{conversation.pk}/").content.decode()
    assert "이 페이지를 연 뒤 대화가 변경되었습니다." in korean and "새로고침" in korean


def test_a_page_back_after_a_long_gap_fetches_its_thread_once(conversations: World) -> None:
    conversation = _coffee(conversations)
    long_ago = time.time() - live.CATCH_UP_S - 60
    chunks = _open(
        _client(conversations, "alice"),
        f"/inbox/c/{conversation.pk}/events/",
        **{"Last-Event-ID": f"{long_ago:.3f}"},
    )
    assert _next_events(chunks) == ["thread"]
    assert _next_events(chunks) == []


@pytest.mark.django_db(transaction=True)
def test_under_asgi_quiet_streams_keep_alive_and_share_one_watcher(
    conversations: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(live, "KEEPALIVE_S", 0.05)
    conversation = _coffee(conversations)
    clients = []
    for person in ("alice", "adam"):
        client = AsyncClient()
        client.force_login(conversations.people[person])
        clients.append(client)

    async def read() -> list[tuple[bytes, list[str]]]:
        streams = []
        for client in clients:
            response = await client.get(f"/inbox/c/{conversation.pk}/events/")
            chunks = response.streaming_content.__aiter__()  # type: ignore[attr-defined]
            assert (await chunks.__anext__()).startswith(b"retry: ")
            streams.append(chunks)
        quiet = [await asyncio.wait_for(c.__anext__(), timeout=10) for c in streams]
        await sync_to_async(presence.touch)(conversation.pk, conversations.bianca, "replying")
        seen = []
        for chunks, first in zip(streams, quiet, strict=True):
            events: list[str] = []
            while not events:
                events = _events(await asyncio.wait_for(chunks.__anext__(), timeout=10))
            seen.append((first, events))
            await chunks.aclose()
        return seen

    seen = async_to_sync(read)()
    assert [first.startswith(b": keep-alive\nid: ") for first, _ in seen] == [True, True]
    assert [events for _, events in seen] == [["presence"], ["presence"]]
    assert live.open_streams() == 0
    _until_the_watcher_stops()


def test_one_pass_reads_an_organisations_events_once_for_all_its_streams(
    conversations: World,
) -> None:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    world = conversations
    tabs = [live.Watch.start(org=world.acme, user=world.alice) for _ in range(5)]
    quiet = live.Pass()
    with CaptureQueriesContext(connection) as quiet_queries:
        assert all(tab.check(quiet) == [] for tab in tabs)
    # Nothing new: one look at the newest event for five open queue pages.
    assert len(quiet_queries) == 1

    land(world.coffee_x, item("q9", "One more question", author="ida"))
    busy = live.Pass()
    with CaptureQueriesContext(connection) as busy_queries:
        assert all(tab.check(busy) == ["queue"] for tab in tabs)
    # The head and the new events, read once; an ingestion needs no further query.
    assert len(busy_queries) == 2
    # Without a shared pass each stream reads both itself.
    alone = [live.Watch.start(org=world.acme, user=world.alice) for _ in range(2)]
    land(world.coffee_x, item("q10", "And another", author="jo"))
    with CaptureQueriesContext(connection) as alone_queries:
        assert all(tab.check() == ["queue"] for tab in alone)
    assert len(alone_queries) == 4
