"""Publishing notices go on through apprise (greenroom.core.notify, the inbox's mechanism) to the
recipient's own notification URL: after the commit, in the recipient's language, and a failing
delivery never changes what happened to the post."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from apprise.decorators import notify as apprise_plugin
from django.utils import timezone

from greenroom.compliance.actions import do_save_policy_rule
from greenroom.conftest import World
from greenroom.core.models import Channel, User
from greenroom.inbox import actions as inbox_actions
from greenroom.publishing import actions, deadlines, engine
from greenroom.publishing.actions import StepInput
from greenroom.publishing.actions.posts import VariantInput
from greenroom.publishing.models import (
    FirstCommentState,
    Notification,
    Post,
    PostState,
    Variant,
    VariantState,
)

from .conftest import Pub, fresh, variant_of
from .test_approvals import draft

SENT: list[dict[str, Any]] = []
SECRET = "tok-9f8e7d6c5b4a"


@apprise_plugin(on="grnotice", name="Greenroom publishing test capture")
def _capture(
    body: str, title: str, notify_type: str, meta: dict[str, Any], *a: Any, **k: Any
) -> bool:
    SENT.append({"title": title, "body": body, "url": meta.get("url")})
    return True


@apprise_plugin(on="grbroken", name="Greenroom publishing test failure")
def _broken(
    body: str, title: str, notify_type: str, meta: dict[str, Any], *a: Any, **k: Any
) -> bool:
    raise ConnectionError(f"cannot reach grbroken://{SECRET}@chat.example")


@pytest.fixture(autouse=True)
def sent() -> Iterator[list[dict[str, Any]]]:
    SENT.clear()
    yield SENT
    SENT.clear()


def test_an_approval_request_reaches_the_approver_in_korean(
    pub: Pub, django_capture_on_commit_callbacks: Any, sent: list[dict[str, Any]]
) -> None:
    world = pub.world
    april = world.people["april"]
    april.language = "ko"
    april.save(update_fields=["language"])
    inbox_actions.do_set_notify_url(
        world.acme, april, url=f"grnotice://{SECRET}@april", acting_user=april
    )
    actions.do_create_approval_policy(
        world.acme,
        name="Coffee",
        brand=world.coffee,
        steps=[StepInput(name="Brand", approvers=[april, world.adam])],
        acting_user=world.alice,
    )
    carl = world.people["carl"]
    post = pub.post(author=carl, submit=False)

    with django_capture_on_commit_callbacks(execute=True):
        actions.do_submit_for_approval(post, acting_user=carl)

    assert Notification.objects.filter(recipient=april, kind="approval_requested").exists()
    # Only april set a URL: adam sees the notice in Greenroom only.
    assert Notification.objects.filter(recipient=world.adam, kind="approval_requested").exists()
    assert [s["url"] for s in sent] == [f"grnotice://{SECRET}@april"]
    [message] = sent
    assert message["title"] == "Greenroom: 승인을 기다리는 게시물이 있습니다"
    assert "승인" in message["body"] and "Carl" in message["body"]
    assert f"/publishing/posts/{post.pk}/" in message["body"]
    # The in-app row is in her language too.
    note = Notification.objects.get(recipient=april, kind="approval_requested")
    assert note.message == message["body"].split("\n\n")[0]


def test_a_failed_and_a_partially_published_post_tell_the_author(
    pub: Pub, django_capture_on_commit_callbacks: Any, sent: list[dict[str, Any]]
) -> None:
    world = pub.world
    inbox_actions.do_set_notify_url(
        world.acme, world.alice, url="grnotice://alice", acting_user=world.alice
    )
    post = pub.post([world.coffee_x, world.tea_bluesky])
    pub.due(post)
    Variant.objects.filter(post=post, channel=world.coffee_x).update(text="가" * 200)

    with django_capture_on_commit_callbacks(execute=True):
        engine.dispatch_due()

    assert fresh(post).state == PostState.PARTIALLY_PUBLISHED
    titles = sorted(s["title"] for s in sent)
    assert titles == [
        "Greenroom: A post is only partially published",
        "Greenroom: A post was not published",
    ]
    failed = next(s for s in sent if s["title"].endswith("not published"))
    assert "Shorten it by" in failed["body"]
    partial = next(s for s in sent if "partially" in s["title"])
    assert "published on 1 of 2 channels" in partial["body"]
    assert {s["url"] for s in sent} == {"grnotice://alice"}


def test_a_failing_delivery_is_logged_without_its_secret_and_changes_nothing(
    pub: Pub,
    django_capture_on_commit_callbacks: Any,
    caplog: pytest.LogCaptureFixture,
    sent: list[dict[str, Any]],
) -> None:
    world = pub.world
    inbox_actions.do_set_notify_url(
        world.acme, world.alice, url=f"grbroken://{SECRET}@chat.example", acting_user=world.alice
    )
    post = pub.post()
    pub.due(post)
    Variant.objects.filter(post=post).update(text="가" * 200)

    with caplog.at_level(logging.WARNING), django_capture_on_commit_callbacks(execute=True):
        engine.dispatch_due()

    variant = variant_of(post, world.coffee_x)
    assert variant.state == VariantState.FAILED
    assert variant.error_code == "text_too_long"
    assert fresh(post).state == PostState.FAILED
    assert Notification.objects.filter(recipient=world.alice, kind="failed").exists()
    assert "not delivered to alice" in caplog.text
    assert SECRET not in caplog.text
    assert sent == []


def test_nobody_without_a_notification_url_gets_anything_but_the_in_app_notice(
    pub: Pub, django_capture_on_commit_callbacks: Any, sent: list[dict[str, Any]]
) -> None:
    post = pub.post()
    pub.due(post)
    Variant.objects.filter(post=post).update(text="가" * 200)
    with django_capture_on_commit_callbacks(execute=True):
        engine.dispatch_due()
    assert Notification.objects.filter(recipient=pub.world.alice, kind="failed").exists()
    assert sent == []


def test_a_late_approval_tells_the_author_in_korean_and_reminders_go_out_too(
    world: World, django_capture_on_commit_callbacks: Any, sent: list[dict[str, Any]]
) -> None:
    carl, april = world.people["carl"], world.people["april"]
    carl.language = "ko"
    carl.save(update_fields=["language"])
    for person in (carl, april):
        inbox_actions.do_set_notify_url(
            world.acme, person, url=f"grnotice://{person.username}", acting_user=person
        )
    post = actions.do_submit_for_approval(draft(world), acting_user=carl)
    past = timezone.now() - timedelta(minutes=5)
    Variant.objects.filter(post=post).update(publish_at=past, next_attempt_at=past)

    with django_capture_on_commit_callbacks(execute=True):
        actions.do_approve(post, acting_user=april)

    [told] = [s for s in sent if s["url"] == "grnotice://carl"]
    assert told["title"] == "Greenroom: 게시물에 새 시각이 필요합니다"
    assert "새 시각을 고르세요" in told["body"]

    sent.clear()
    actions.do_create_approval_policy(
        world.acme,
        name="Coffee",
        brand=world.coffee,
        steps=[StepInput(name="Brand", approvers=[april])],
        acting_user=world.alice,
    )
    waiting = actions.do_submit_for_approval(
        draft(world, at=timezone.now() + timedelta(hours=1)), acting_user=carl
    )
    Post.objects.filter(pk=waiting.pk).update(submitted_at=timezone.now() - timedelta(hours=1))
    with django_capture_on_commit_callbacks(execute=True):
        assert deadlines.remind_approvals() == {"due_soon": 1, "overdue": 0}
    assert [(s["url"], s["title"]) for s in sent] == [
        ("grnotice://april", "Greenroom: An approval is due soon")
    ]


def test_a_failed_post_is_told_to_each_author_in_their_own_language(
    pub: Pub,
    django_capture_on_commit_callbacks: Any,
    sent: list[dict[str, Any]],
    settings: Any,
) -> None:
    """One worker fails two posts in one chunk: the Korean author reads Korean, the English one
    English, in Greenroom and through apprise; the network's last answer is quoted as it came."""
    settings.PUBLISHING_MAX_ATTEMPTS = 2
    world = pub.world
    alice, adam = world.alice, world.adam
    alice.language = "ko"
    alice.save(update_fields=["language"])
    for person in (alice, adam):
        inbox_actions.do_set_notify_url(
            world.acme, person, url=f"grnotice://{person.username}", acting_user=person
        )
    pub.sandbox.set_failures(world.coffee_x, error_rate=1.0)
    hers = pub.post(text="Cold brew is back.", author=alice)
    his = pub.post(text="Iced tea is back.", author=adam)
    for post in (hers, his):
        pub.due(post)

    with django_capture_on_commit_callbacks(execute=True):
        engine.dispatch_due()
        for post in (hers, his):
            pub.retry_now(variant_of(post, world.coffee_x))
        engine.dispatch_due()

    for post in (hers, his):
        assert variant_of(post, world.coffee_x).state == VariantState.FAILED
    # The variant keeps the installation's language (it is shown to everyone on the post page).
    stored = variant_of(hers, world.coffee_x).last_error
    assert stored.startswith("Greenroom tried 2 times and gave up. The network's last answer: ")
    answer = stored.split("last answer: ", 1)[1]
    assert "temporary problem" in answer

    korean = Notification.objects.get(recipient=alice, kind="failed").message
    channel = world.coffee_x
    assert korean.startswith(f"“Cold brew is back.”을(를) {channel}에 게시하지 못했습니다: ")
    assert "Greenroom이 2번 시도한 끝에 중단했습니다. 네트워크의 마지막 응답: " + answer in korean
    assert "gave up" not in korean and "was not published" not in korean

    english = Notification.objects.get(recipient=adam, kind="failed").message
    assert english.startswith(f"“Iced tea is back.” was not published on {channel}: ")
    assert "Greenroom tried 2 times and gave up. The network's last answer: " + answer in english

    by_url = {s["url"]: s for s in sent}
    assert set(by_url) == {"grnotice://alice", "grnotice://adam"}
    to_alice, to_adam = by_url["grnotice://alice"], by_url["grnotice://adam"]
    assert to_alice["title"] == "Greenroom: 게시되지 않은 게시물이 있습니다"
    assert to_alice["body"] == korean + "\n\n게시물 열기: " + _post_link(hers)
    assert to_adam["title"] == "Greenroom: A post was not published"
    assert to_adam["body"] == english + "\n\nOpen the post: " + _post_link(his)


def test_a_network_refusal_keeps_the_networks_words_inside_a_korean_sentence(
    pub: Pub, django_capture_on_commit_callbacks: Any, sent: list[dict[str, Any]]
) -> None:
    world = pub.world
    world.alice.language = "ko"
    world.alice.save(update_fields=["language"])
    inbox_actions.do_set_notify_url(
        world.acme, world.alice, url="grnotice://alice", acting_user=world.alice
    )
    post = pub.post()
    pub.due(post)
    Variant.objects.filter(post=post).update(text="가" * 200)

    with django_capture_on_commit_callbacks(execute=True):
        engine.dispatch_due()

    variant = variant_of(post, world.coffee_x)
    assert variant.error_code == "text_too_long"
    note = Notification.objects.get(recipient=world.alice, kind="failed").message
    assert note == f"“{post}”을(를) {world.coffee_x}에 게시하지 못했습니다: {variant.last_error}"
    [message] = sent
    assert message["body"].startswith(note + "\n\n게시물 열기: ")


def _korean_and_english_authors(world: World) -> tuple[User, User]:
    """alice reads Korean, adam English; both have a notification URL."""
    alice, adam = world.alice, world.adam
    alice.language = "ko"
    alice.save(update_fields=["language"])
    for person in (alice, adam):
        inbox_actions.do_set_notify_url(
            world.acme, person, url=f"grnotice://{person.username}", acting_user=person
        )
    return alice, adam


def test_a_policy_block_is_told_to_each_author_in_their_own_language(
    pub: Pub, django_capture_on_commit_callbacks: Any, sent: list[dict[str, Any]]
) -> None:
    """Rules added after approval block two posts at publish time: the Korean author reads
    Greenroom's sentences in Korean, the English one in English; the rules' names and the
    organisation's reasons are quoted as the organisation wrote them."""
    world = pub.world
    alice, adam = _korean_and_english_authors(world)
    hers = pub.post(text="Casino night! Call 010-1234-5678", author=alice)
    his = pub.post(text="Casino night! Call 010-9876-5432", author=adam)
    for name, kind, terms, reason in (
        ("No gambling", "banned_terms", ["casino"], "Brand safety: we never promote gambling."),
        ("개인정보 보호", "personal_data", [], "고객 정보는 게시하지 않습니다."),
    ):
        do_save_policy_rule(
            world.acme,
            name=name,
            kind=kind,
            action="block",
            terms=terms,
            reason=reason,
            acting_user=alice,
        )
    for post in (hers, his):
        pub.due(post)

    with django_capture_on_commit_callbacks(execute=True):
        engine.dispatch_due()

    channel = world.coffee_x
    her_variant, his_variant = variant_of(hers, channel), variant_of(his, channel)
    for variant in (her_variant, his_variant):
        assert variant.state == VariantState.FAILED
        assert variant.error_code == "policy_blocked"
    # The variant keeps the installation's language (it is shown to everyone on the post page).
    assert her_variant.last_error == (
        "A publishing policy blocks this post: “No gambling” does not allow “casino” in posts. "
        "Brand safety: we never promote gambling. “개인정보 보호”: the post contains what looks "
        "like personal data: a phone number (010-1234-5678). Remove it before publishing. "
        "고객 정보는 게시하지 않습니다."
    )

    korean = Notification.objects.get(recipient=alice, kind="failed").message
    assert korean == (
        f"“{hers}”을(를) {channel}에 게시하지 못했습니다: 게시 정책이 이 게시물을 막습니다: "
        "“No gambling” 규칙에 따라 게시물에 “casino”을(를) 쓸 수 없습니다. Brand safety: we never "
        "promote gambling. “개인정보 보호”: 게시물에 개인정보로 보이는 내용이 있습니다: 전화번호 "
        "(010-1234-5678). 게시하기 전에 삭제하세요. 고객 정보는 게시하지 않습니다."
    )
    english = Notification.objects.get(recipient=adam, kind="failed").message
    assert english == f"“{his}” was not published on {channel}: {his_variant.last_error}"
    assert "010-9876-5432" in english and "고객 정보는 게시하지 않습니다." in english

    by_url = {s["url"]: s for s in sent}
    assert set(by_url) == {"grnotice://alice", "grnotice://adam"}
    assert by_url["grnotice://alice"]["title"] == "Greenroom: 게시되지 않은 게시물이 있습니다"
    assert by_url["grnotice://alice"]["body"] == korean + "\n\n게시물 열기: " + _post_link(hers)
    assert by_url["grnotice://adam"]["title"] == "Greenroom: A post was not published"
    assert by_url["grnotice://adam"]["body"] == english + "\n\nOpen the post: " + _post_link(his)


def _published_with_a_first_comment(pub: Pub, channel: Channel, author: User, text: str) -> Post:
    post = actions.do_create_post(
        pub.world.acme,
        text=text,
        channels=[VariantInput(channel=channel, first_comment="#coldbrew #콜드브루")],
        publish_at=timezone.now() + timedelta(hours=1),
        acting_user=author,
    )
    actions.do_submit_for_approval(post, acting_user=author)
    pub.due(post)
    claim = engine.claim_due(limit=10)
    engine.publish_one(variant_of(post, channel).pk, claim.token)
    assert variant_of(post, channel).state == VariantState.PUBLISHED
    return post


def test_a_first_comment_that_gave_up_is_told_to_each_author_in_their_own_language(
    pub: Pub, sent: list[dict[str, Any]], settings: Any
) -> None:
    settings.FIRST_COMMENT_MAX_ATTEMPTS = 1
    world = pub.world
    alice, adam = _korean_and_english_authors(world)
    channel = world.coffee_x
    hers = _published_with_a_first_comment(pub, channel, alice, "Cold brew is back.")
    his = _published_with_a_first_comment(pub, channel, adam, "Iced tea is back.")
    # The posts are out; then the network stops answering, and the comments give up.
    pub.sandbox.set_failures(channel, error_rate=1.0)

    pub.sandbox.deliver()  # what the engine's commits run: the first comments, then the notices

    her_variant, his_variant = variant_of(hers, channel), variant_of(his, channel)
    for variant in (her_variant, his_variant):
        assert variant.first_comment_state == FirstCommentState.FAILED
        assert variant.state == VariantState.PUBLISHED
    # The variant keeps the installation's language; the network's answer is its own words.
    stored = her_variant.first_comment_error
    prefix = "Greenroom tried 1 times to post the first comment and gave up. "
    assert stored.startswith(prefix + "The network's last answer: ")
    answer = stored.split("last answer: ", 1)[1]
    assert "temporary problem" in answer

    korean = Notification.objects.get(recipient=alice, kind="first_comment_failed").message
    assert korean == (
        f"“{hers}”은(는) {channel}에 게시되었지만 첫 댓글은 게시되지 않았습니다: "
        f"Greenroom이 첫 댓글 게시를 1번 시도한 뒤 중단했습니다. 네트워크의 마지막 응답: {answer}"
    )
    english = Notification.objects.get(recipient=adam, kind="first_comment_failed").message
    assert english == (
        f"“{his}” is published on {channel}, but its first comment was not posted: "
        f"{his_variant.first_comment_error}"
    )
    assert english.endswith(prefix + "The network's last answer: " + answer)

    by_url = {s["url"]: s for s in sent}
    assert set(by_url) == {"grnotice://alice", "grnotice://adam"}
    assert by_url["grnotice://alice"]["title"] == "Greenroom: 첫 댓글이 달리지 않았습니다"
    assert by_url["grnotice://alice"]["body"] == korean + "\n\n게시물 열기: " + _post_link(hers)
    assert by_url["grnotice://adam"]["title"] == "Greenroom: A first comment was not posted"
    assert by_url["grnotice://adam"]["body"] == english + "\n\nOpen the post: " + _post_link(his)


def _post_link(post: Post) -> str:
    from django.conf import settings
    from django.urls import reverse

    return settings.BASE_URL + reverse("publishing_post", args=[post.pk])
