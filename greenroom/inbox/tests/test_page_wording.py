"""What the inbox pages say, in English and Korean: late clocks say how late, empty queues say
why they are empty, times read the same everywhere, SLA targets read as lengths of time, and an
agent sees where their held replies are."""

from __future__ import annotations

from datetime import UTC, timedelta

import pytest
from django.test import Client
from django.utils import timezone

from greenroom.conftest import World
from greenroom.core.models import User
from greenroom.inbox import actions
from greenroom.inbox.models import Conversation, DeliveryStatus, Message, Priority
from greenroom.inbox.tests.conftest import conversation_of, item, land


def _korean(person: User) -> None:
    User.objects.filter(pk=person.pk).update(language="ko")


def _late(conversation: Conversation, by: timedelta) -> None:
    due = timezone.now() - by
    Conversation.objects.filter(pk=conversation.pk).update(
        sla_due_at=due, sla_warn_at=due - timedelta(minutes=30)
    )


@pytest.mark.parametrize(
    # Django writes a no-break space between a number and its unit.
    ("language", "late"),
    [("en", "2\xa0hours overdue"), ("ko", "2시간 초과")],
)
def test_a_breached_clock_says_how_late_it_is(
    client: Client, world: World, language: str, late: str
) -> None:
    land(world.coffee_x, item("late1", "Still waiting for my refund", author="emma"))
    conversation = conversation_of(world.coffee_x, "late1")
    _late(conversation, timedelta(hours=2, minutes=5))
    if language == "ko":
        _korean(world.alice)
    client.force_login(world.alice)
    queue = client.get("/inbox/?queue=all", HTTP_ACCEPT_LANGUAGE=language).content.decode()
    page = client.get(
        f"/inbox/c/{conversation.pk}/", HTTP_ACCEPT_LANGUAGE=language
    ).content.decode()
    assert late in queue
    assert late in page


@pytest.mark.parametrize(
    ("language", "no_match", "clear", "mine"),
    [
        (
            "en",
            "No conversation matches",
            "Clear the search and filters",
            "Nothing assigned to you",
        ),
        (
            "ko",
            "조건에 맞는 대화가 없습니다",
            "검색어와 필터 지우기",
            "내게 배정된 대화가 없습니다",
        ),
    ],
)
def test_an_empty_queue_says_why_it_is_empty(
    client: Client, world: World, language: str, no_match: str, clear: str, mine: str
) -> None:
    land(world.coffee_x, item("e1", "Where is my coffee order?", author="emma"))
    if language == "ko":
        _korean(world.alice)
    client.force_login(world.alice)
    searched = client.get(
        "/inbox/?queue=all&q=zzzqqq", HTTP_ACCEPT_LANGUAGE=language
    ).content.decode()
    assert no_match in searched
    # The way out keeps the queue and drops the search.
    assert clear in searched and 'href="?queue=all"' in searched
    empty_mine = client.get("/inbox/?queue=mine", HTTP_ACCEPT_LANGUAGE=language).content.decode()
    assert mine in empty_mine
    assert no_match not in empty_mine
    # A queue with conversations in it shows them, not an empty state.
    listed = client.get("/inbox/?queue=all", HTTP_ACCEPT_LANGUAGE=language).content.decode()
    assert "gr-queue-empty" not in listed and "Where is my coffee order?" in listed


def test_snoozed_and_closed_rows_show_their_time_like_every_other_time(
    client: Client, world: World
) -> None:
    land(world.coffee_x, item("s1", "Snooze me", author="emma"), item("s2", "Close me"))
    snoozed = conversation_of(world.coffee_x, "s1")
    closed = conversation_of(world.coffee_x, "s2")
    until = timezone.now().replace(second=0, microsecond=0) + timedelta(hours=4)
    actions.do_snooze([snoozed], until, acting_user=world.alice)
    actions.do_close([closed], acting_user=world.alice)
    closed.refresh_from_db()
    assert closed.closed_at is not None
    User.objects.filter(pk=world.alice.pk).update(timezone="Asia/Seoul")
    client.force_login(world.alice)
    seoul = timezone.get_fixed_timezone(9 * 60)
    page = client.get("/inbox/?queue=snoozed").content.decode()
    # The same "2026-11-28 12:44" as the thread and the clocks, not "11/28/2026 12:44 p.m.".
    assert "Snoozed until " in page
    assert until.astimezone(seoul).strftime("%Y-%m-%d %H:%M") in page
    page = client.get("/inbox/?queue=closed").content.decode()
    closed_utc = closed.closed_at.astimezone(UTC)
    assert f'Closed <time datetime="{closed_utc:%Y-%m-%dT%H:%M:%S}' in page
    assert "No clock running" not in page


@pytest.mark.parametrize(
    ("language", "targets", "minutes"),
    [
        ("en", "first response within 2 hours · next response within 30 minutes", "1440"),
        ("ko", "첫 응답 2시간 이내 · 다음 응답 30분 이내", "1440"),
    ],
)
def test_sla_targets_read_as_lengths_of_time(
    client: Client, world: World, language: str, targets: str, minutes: str
) -> None:
    actions.do_save_sla_policy(
        world.acme,
        name="Weekday DMs",
        first_response_minutes=120,
        next_response_minutes=30,
        resolution_minutes=1440,
        acting_user=world.alice,
    )
    if language == "ko":
        _korean(world.alice)
    client.force_login(world.alice)
    page = client.get("/inbox/settings/", HTTP_ACCEPT_LANGUAGE=language).content.decode()
    assert targets in page
    assert ("resolved within 1 day" if language == "en" else "해결 1일 이내") in page
    assert minutes + " min" not in page and minutes + "분" not in page


def test_an_agent_sees_where_their_held_replies_are(client: Client, world: World) -> None:
    actions.do_save_routing_rule(
        world.acme, name="Careful", require_approval=True, acting_user=world.alice
    )
    land(world.tea_bluesky, item("a1", "Your tea made me sick", author="jun"))
    conversation = conversation_of(world.tea_bluesky, "a1")
    actions.do_reply(conversation, "So sorry, please DM us", acting_user=world.agnes)
    held = Message.objects.get(direction="out")
    assert held.status == DeliveryStatus.AWAITING_APPROVAL

    client.force_login(world.agnes)  # an agent: cannot approve
    page = client.get("/inbox/approvals/").content.decode()
    assert "Your replies waiting for someone to approve them" in page
    assert "So sorry, please DM us" in page
    assert f"/inbox/c/{conversation.pk}/" in page
    assert "Nothing waits for approval" not in page
    assert f"/inbox/approvals/{held.pk}/" not in page  # nothing to decide for her

    client.force_login(world.alice)  # an approver: the reply is hers to decide, once
    page = client.get("/inbox/approvals/").content.decode()
    assert f"/inbox/approvals/{held.pk}/" in page
    assert "Your replies waiting for someone to approve them" not in page

    # Once decided, the agent is told nothing waits, and why she sees no replies to decide.
    actions.do_approve_reply(held, acting_user=world.alice)
    client.force_login(world.agnes)
    page = client.get("/inbox/approvals/").content.decode()
    assert "Nothing waits for approval" in page
    assert "You do not approve replies on any of your channels." in page


@pytest.mark.parametrize(("language", "high"), [("en", "Priority: High"), ("ko", "우선순위: 높음")])
def test_the_conversation_names_its_priority(
    client: Client, world: World, language: str, high: str
) -> None:
    land(world.coffee_x, item("p1", "Hello", author="emma"))
    conversation = conversation_of(world.coffee_x, "p1")
    if language == "ko":
        _korean(world.alice)
    client.force_login(world.alice)
    url = f"/inbox/c/{conversation.pk}/"
    page = client.get(url, HTTP_ACCEPT_LANGUAGE=language).content.decode()
    assert high not in page
    assert ("Priority: Normal" if language == "en" else "우선순위: 보통") not in page
    actions.do_set_priority([conversation], Priority.HIGH, acting_user=world.alice)
    page = client.get(url, HTTP_ACCEPT_LANGUAGE=language).content.decode()
    assert high in page


def test_a_bulk_action_on_one_conversation_says_one(client: Client, world: World) -> None:
    land(world.coffee_x, item("b1", "Hello", author="emma"), item("b2", "Hi", author="lee"))
    one = conversation_of(world.coffee_x, "b1")
    two = conversation_of(world.coffee_x, "b2")
    client.force_login(world.alice)
    response = client.post(
        "/inbox/bulk/", {"ids": [one.pk], "action": "tag", "tag": "x"}, follow=True
    )
    assert "Done for 1 conversation." in response.content.decode()
    response = client.post(
        "/inbox/bulk/", {"ids": [one.pk, two.pk], "action": "tag", "tag": "y"}, follow=True
    )
    assert "Done for 2 conversations." in response.content.decode()


@pytest.mark.parametrize(
    ("language", "over"),
    [("en", "300 of 280 · 20 too many: shorten it to send"), ("ko", "20자 초과: 줄여야")],
)
def test_a_reply_over_the_limit_says_by_how_much(
    client: Client, world: World, language: str, over: str
) -> None:
    land(world.coffee_x, item("c1", "Hello", author="emma"))
    conversation = conversation_of(world.coffee_x, "c1")
    if language == "ko":
        _korean(world.alice)
    client.force_login(world.alice)
    url = f"/inbox/c/{conversation.pk}/count/"
    # X counts each Korean character twice: 150 of them are 300 of 280.
    counted = client.post(url, {"text": "가" * 150}, HTTP_ACCEPT_LANGUAGE=language)
    assert over in counted.content.decode()
    within = client.post(url, {"text": "가" * 140}, HTTP_ACCEPT_LANGUAGE=language)
    assert "280" in within.content.decode()
    assert ("too many" if language == "en" else "초과") not in within.content.decode()


def test_the_bulk_bar_speaks_korean(client: Client, world: World) -> None:
    land(world.coffee_x, item("k1", "Hello", author="emma"))
    _korean(world.alice)
    client.force_login(world.alice)
    page = client.get("/inbox/?queue=all", HTTP_ACCEPT_LANGUAGE="ko").content.decode()
    # The count the script fills in ("{n}" becomes the number) is Korean too.
    assert 'data-template="{n}건 선택됨"' in page
    assert "모두 선택" in page and "선택한 대화 없음" in page and "추가할 태그" in page
    assert "None selected" not in page and "Select all" not in page


@pytest.mark.parametrize(
    ("language", "matches", "does"),
    [
        (
            "en",
            "Matches: “refund, order” · Korean · Negative · not a known customer",
            "Does: Priority: High · #complaint · approval",
        ),
        (
            "ko",
            "조건: “refund, order” · 한국어 · 부정 · 기존 고객 아님",
            "처리: 우선순위: 높음 · #complaint · 승인 필요",
        ),
    ],
)
def test_the_list_of_rules_says_what_each_matches_and_does(
    client: Client, world: World, language: str, matches: str, does: str
) -> None:
    actions.do_save_routing_rule(
        world.acme,
        name="Angry refunds",
        keywords="refund, order",
        sentiment="negative",
        language="ko",
        author_is_customer=False,
        set_priority="high",
        add_tags=["complaint"],
        require_approval=True,
        acting_user=world.alice,
    )
    actions.do_save_routing_rule(world.acme, name="Catch-all", acting_user=world.alice)
    if language == "ko":
        _korean(world.alice)
    client.force_login(world.alice)
    page = client.get("/inbox/settings/", HTTP_ACCEPT_LANGUAGE=language).content.decode()
    assert matches in page
    assert does in page
    assert ("Matches: every message" if language == "en" else "조건: 모든 메시지") in page


@pytest.mark.parametrize(
    ("language", "ago", "now"), [("en", "3\xa0hours ago", "just now"), ("ko", "3시간 전", "방금")]
)
def test_each_row_says_how_long_ago_the_person_wrote(
    client: Client, world: World, language: str, ago: str, now: str
) -> None:
    earlier = timezone.now() - timedelta(hours=3, minutes=10)
    land(world.coffee_x, item("t1", "Earlier question", author="emma", at=earlier))
    land(world.coffee_x, item("t2", "New question", author="lee", at=timezone.now()))
    conversation = conversation_of(world.coffee_x, "t1")
    # Answered: no clock runs, and the row still says when they wrote.
    Conversation.objects.filter(pk=conversation.pk).update(sla_due_at=None, sla_warn_at=None)
    if language == "ko":
        _korean(world.alice)
    client.force_login(world.alice)
    page = client.get("/inbox/?queue=all", HTTP_ACCEPT_LANGUAGE=language).content.decode()
    assert ago in page
    assert now in page
    assert f'<time datetime="{earlier.astimezone(UTC):%Y-%m-%dT%H:%M:%S}' in page


def test_a_snoozed_conversation_says_until_when_in_korean_word_order(
    client: Client, world: World
) -> None:
    land(world.coffee_x, item("u1", "Hello", author="emma"))
    conversation = conversation_of(world.coffee_x, "u1")
    until = timezone.now().replace(second=0, microsecond=0) + timedelta(hours=4)
    actions.do_snooze([conversation], until, acting_user=world.alice)
    User.objects.filter(pk=world.alice.pk).update(language="ko", timezone="Asia/Seoul")
    client.force_login(world.alice)
    page = client.get(f"/inbox/c/{conversation.pk}/", HTTP_ACCEPT_LANGUAGE="ko").content.decode()
    local = until.astimezone(timezone.get_fixed_timezone(9 * 60)).strftime("%Y-%m-%d %H:%M")
    # "…까지" follows the time ("until" comes after it in Korean), not "까지 2026-…".
    assert f"{local}</time>까지" in page
    assert "까지 <time" not in page


@pytest.mark.parametrize(
    ("language", "in_queue", "on_page"),
    [
        (
            "en",
            "No text: open it to see what came",
            "The network sent no text with this message, and nothing attached.",
        ),
        (
            "ko",
            "텍스트 없음: 열어서 확인하세요",
            "네트워크가 이 메시지의 텍스트도 첨부 파일도 보내지 않았습니다.",
        ),
    ],
)
def test_a_message_without_text_still_has_something_to_click_and_read(
    client: Client, world: World, language: str, in_queue: str, on_page: str
) -> None:
    """An Instagram mention Meta would not show, or one past the webhook's lookup budget,
    lands with its ids only: its queue row still has a link to click, and the conversation
    says why the message is empty instead of showing a blank card."""
    land(world.coffee_x, item("empty1", ""))
    conversation = conversation_of(world.coffee_x, "empty1")
    if language == "ko":
        _korean(world.alice)
    client.force_login(world.alice)
    queue = client.get("/inbox/?queue=all", HTTP_ACCEPT_LANGUAGE=language).content.decode()
    link = f'<a href="/inbox/c/{conversation.pk}/" class="gr-preview"><span class="gr-meta">'
    assert link + in_queue in queue
    page = client.get(f"/inbox/c/{conversation.pk}/", HTTP_ACCEPT_LANGUAGE=language)
    assert on_page in page.content.decode()


def test_the_conversation_is_headed_with_the_persons_name(client: Client, world: World) -> None:
    land(world.coffee_x, item("named1", "Hi", author="jiwoo_k", name="Kim <b>Ji-woo</b>"))
    conversation = conversation_of(world.coffee_x, "named1")
    client.force_login(world.alice)
    page = client.get(f"/inbox/c/{conversation.pk}/").content.decode()
    heading = page.split("<h1>", 1)[1].split("</h1>", 1)[0]
    assert "Comment thread · Kim &lt;b&gt;Ji-woo&lt;/b&gt;" in heading  # as text, not markup
    assert '<span class="gr-handle">jiwoo_k</span>' in heading
