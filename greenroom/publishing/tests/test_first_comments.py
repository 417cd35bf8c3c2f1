"""First comments against the sandbox network: posted once under the published post, failures
said in plain words without touching the post's own state, retries, the sweep and the page."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.utils import timezone, translation

from greenroom.api.tests.conftest import bearer, call, make_token
from greenroom.core.models import AuditEvent, Channel
from greenroom.networks.base import PublishedRef
from greenroom.networks.sandbox import service
from greenroom.networks.sandbox.connector import SandboxConnector
from greenroom.networks.sandbox.models import SandboxPost
from greenroom.publishing import actions, engine, first_comments
from greenroom.publishing.actions.posts import VariantInput
from greenroom.publishing.models import (
    FirstCommentState,
    Notification,
    Post,
    PostState,
    Variant,
    VariantState,
)
from greenroom.publishing.signals import variant_published

from .conftest import Pub, fresh, variant_of

COMMENT = "#coldbrew #콜드브루 Menu: https://acme.example/menu"


def published(pub: Pub, channel: Channel, first_comment: str = COMMENT) -> Variant:
    """A post with a first comment, published by the engine on `channel`; the first comment is
    not queued yet (the engine does not send the signal in these tests)."""
    w = pub.world
    post = actions.do_create_post(
        w.acme,
        text="Cold brew is back this weekend.",
        channels=[VariantInput(channel=channel, first_comment=first_comment)],
        publish_at=timezone.now() + timedelta(hours=1),
        acting_user=w.alice,
    )
    actions.do_submit_for_approval(post, acting_user=w.alice)
    pub.due(post)
    claim = engine.claim_due(limit=10)
    variant = variant_of(post, channel)
    engine.publish_one(variant.pk, claim.token)
    variant.refresh_from_db()
    assert variant.state == VariantState.PUBLISHED
    return variant


def comments_under(variant: Variant) -> list[SandboxPost]:
    return list(SandboxPost.objects.filter(in_reply_to=variant.external_id).order_by("pk"))


def queue(pub: Pub, variant: Variant) -> None:
    """What the engine's hook does, then what its commit runs (the task, eager in tests)."""
    variant_published.send(sender=Variant, variant_id=variant.pk)
    pub.sandbox.deliver()


def lose_pending_tasks() -> None:
    """The commit's callbacks (the queued task) never run: the task was lost."""
    connection.run_on_commit = []


def events(variant: Variant, action: str) -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(action=action, target_id=str(variant.pk)))


def test_a_published_post_gets_its_first_comment_once(pub: Pub) -> None:
    variant = published(pub, pub.world.coffee_x)
    # The engine's success marked it pending; its task runs when the commit does.
    assert variant.first_comment_state == FirstCommentState.PENDING
    pub.sandbox.deliver()

    variant = fresh(variant)
    [comment] = comments_under(variant)
    assert comment.text == COMMENT
    assert comment.idempotency_key == f"{variant.idempotency_key}:first-comment"
    assert variant.first_comment_state == FirstCommentState.SENT
    assert variant.first_comment_external_id == comment.external_id
    assert variant.first_comment_url.endswith(
        f"/sandbox/p/{variant.external_id}/#{comment.external_id}"
    )
    assert variant.first_comment_sent_at is not None
    assert variant.state == VariantState.PUBLISHED
    [event] = events(variant, "variant.first_comment_sent")
    assert event.after["external_id"] == comment.external_id

    # The engine telling twice (a found post, a retried write) comments no more.
    queue(pub, variant)
    assert len(comments_under(variant)) == 1
    assert len(events(variant, "variant.first_comment_sent")) == 1


def test_a_variant_without_a_first_comment_is_decided_without_a_query(
    pub: Pub, django_assert_num_queries: Any
) -> None:
    variant = published(pub, pub.world.coffee_x, first_comment="")

    with django_assert_num_queries(0):
        variant_published.send(sender=Variant, variant_id=variant.pk, variant=variant)
    variant_published.send(sender=Variant, variant_id=variant.pk)
    pub.sandbox.deliver()

    assert fresh(variant).first_comment_state == FirstCommentState.NONE
    assert comments_under(variant) == []


def test_a_variant_that_is_not_published_is_never_commented_on(pub: Pub) -> None:
    w = pub.world
    post = actions.do_create_post(
        w.acme,
        text="Not yet.",
        channels=[VariantInput(channel=w.coffee_x, first_comment=COMMENT)],
        publish_at=timezone.now() + timedelta(hours=1),
        acting_user=w.alice,
    )
    variant = variant_of(post, w.coffee_x)

    assert first_comments.queue_first_comment(Variant, variant_id=variant.pk) is False
    assert fresh(variant).first_comment_state == FirstCommentState.NONE


def test_two_workers_never_both_send(pub: Pub, monkeypatch: Any) -> None:
    variant = published(pub, pub.world.coffee_x)
    variant_published.send(sender=Variant, variant_id=variant.pk)
    real = SandboxConnector.comment_on_own_post
    second: list[str] = []

    def while_sending(self: SandboxConnector, *args: Any) -> Any:
        # Another worker gets the same task while this one is talking to the network.
        second.append(first_comments.send(variant.pk))
        return real(self, *args)

    monkeypatch.setattr(SandboxConnector, "comment_on_own_post", while_sending)
    assert first_comments.send(variant.pk) == "sent"

    assert second == ["stale"]
    assert len(comments_under(variant)) == 1
    assert fresh(variant).first_comment_attempts == 1


def test_a_refused_first_comment_fails_in_plain_words_and_the_post_stays_published(
    pub: Pub,
) -> None:
    variant = published(pub, pub.world.coffee_x)
    # Someone deleted the post on the network before its comment went out.
    service.delete_post(pub.sandbox.account(pub.world.coffee_x), variant.external_id)

    queue(pub, variant)

    variant = fresh(variant)
    assert variant.first_comment_state == FirstCommentState.FAILED
    assert variant.first_comment_error == (
        "The post was deleted, so there is nothing to comment under."
    )
    assert variant.first_comment_error_code == "post_deleted"
    assert variant.state == VariantState.PUBLISHED
    assert Post.objects.get(pk=variant.post_id).state == PostState.PUBLISHED
    [event] = events(variant, "variant.first_comment_failed")
    assert event.after["code"] == "post_deleted"
    note = Notification.objects.get(recipient=pub.world.alice, kind="first_comment_failed")
    assert "its first comment was not posted" in note.message
    assert "nothing to comment under" in note.message


def test_temporary_errors_wait_as_long_as_the_network_asks_then_give_up(
    pub: Pub, settings: Any
) -> None:
    settings.FIRST_COMMENT_MAX_ATTEMPTS = 2
    channel = pub.world.coffee_x
    # One request a minute: the post's own, then the network asks to wait ten minutes.
    pub.sandbox.set_failures(channel, rate_limit_per_minute=1, retry_after_s=600)
    variant = published(pub, channel)

    before = timezone.now()
    queue(pub, variant)

    variant = fresh(variant)
    assert variant.first_comment_state == FirstCommentState.PENDING
    assert variant.first_comment_attempts == 1
    assert variant.first_comment_error_code == "rate_limited"
    assert variant.first_comment_next_attempt_at >= before + timedelta(seconds=600)
    # Not due yet: a task arriving early (or twice) sends nothing.
    assert first_comments.send(variant.pk) == "stale"

    Variant.objects.filter(pk=variant.pk).update(first_comment_next_attempt_at=timezone.now())
    assert first_comments.send(variant.pk) == "failed"

    variant = fresh(variant)
    assert variant.first_comment_state == FirstCommentState.FAILED
    assert variant.first_comment_error.startswith(
        "Greenroom tried 2 times to post the first comment and gave up."
    )
    assert comments_under(variant) == []
    assert variant.state == VariantState.PUBLISHED

    # Once the network works again, a publisher retries it from Greenroom.
    pub.sandbox.set_failures(channel, rate_limit_per_minute=0)
    actions.do_retry_first_comment(variant, acting_user=pub.world.paul)
    assert fresh(variant).first_comment_state == FirstCommentState.PENDING
    pub.sandbox.deliver()
    assert fresh(variant).first_comment_state == FirstCommentState.SENT
    assert len(comments_under(variant)) == 1
    [retried] = events(variant, "variant.first_comment_retried")
    assert retried.actor == pub.world.paul
    assert retried.before["code"] == "rate_limited"


def test_retrying_needs_the_publish_permission_and_a_failed_comment(pub: Pub) -> None:
    w = pub.world
    variant = published(pub, w.coffee_x)
    with pytest.raises(actions.ActionError, match="needs the publish permission"):
        actions.do_retry_first_comment(variant, acting_user=w.carl)
    with pytest.raises(actions.ActionError, match="Only a first comment that failed"):
        actions.do_retry_first_comment(variant, acting_user=w.paul)
    assert fresh(variant).first_comment_state == FirstCommentState.PENDING
    assert events(variant, "variant.first_comment_retried") == []


def test_the_sweep_sends_what_a_lost_task_left_pending(pub: Pub) -> None:
    variant = published(pub, pub.world.coffee_x)
    # Queued, but the task never ran (the broker lost it, or the process died before sending).
    variant_published.send(sender=Variant, variant_id=variant.pk)
    lose_pending_tasks()
    assert first_comments.sweep() == 0  # too early to call it lost
    Variant.objects.filter(pk=variant.pk).update(
        first_comment_next_attempt_at=timezone.now() - timedelta(minutes=5)
    )

    assert first_comments.sweep() == 1

    variant = fresh(variant)
    assert variant.first_comment_state == FirstCommentState.SENT
    assert len(comments_under(variant)) == 1
    assert first_comments.sweep() == 0


def test_a_worker_that_died_after_commenting_is_followed_without_a_second_comment(
    pub: Pub,
) -> None:
    channel = pub.world.coffee_x
    variant = published(pub, channel)
    # The dead worker's try: claimed, and the comment reached the network, but nothing was
    # written back before it died.
    variant_published.send(sender=Variant, variant_id=variant.pk)
    lose_pending_tasks()
    assert first_comments._claim(variant.pk, timezone.now()) == 1
    posted = pub.sandbox.connector(channel).comment_on_own_post(
        engine_ref(variant), COMMENT, first_comments.idempotency_key(variant)
    )
    assert first_comments.sweep() == 0  # its claim has not expired: it may still be working
    Variant.objects.filter(pk=variant.pk).update(
        first_comment_next_attempt_at=timezone.now() - timedelta(minutes=10)
    )

    assert first_comments.sweep() == 1

    variant = fresh(variant)
    assert variant.first_comment_state == FirstCommentState.SENT
    assert variant.first_comment_external_id == posted.external_id
    assert variant.first_comment_attempts == 2
    assert len(comments_under(variant)) == 1


def engine_ref(variant: Variant) -> PublishedRef:
    return PublishedRef(variant.external_id, variant.external_url)


# --- The post's page -----------------------------------------------------------------------------


def test_the_post_page_shows_each_channels_first_comment_and_a_retry_for_publishers(
    client: Client, pub: Pub
) -> None:
    w = pub.world
    variant = published(pub, w.coffee_x)
    service.delete_post(pub.sandbox.account(w.coffee_x), variant.external_id)
    queue(pub, variant)
    url = f"/publishing/posts/{variant.post_id}/"
    retry = f"/publishing/variants/{variant.pk}/first-comment/retry/"

    client.force_login(w.carl)
    page = client.get(url).content.decode()
    assert 'data-first-comment="failed"' in page
    assert "The post was deleted, so there is nothing to comment under." in page
    assert "post_deleted" in page
    assert retry not in page  # carl may not publish there
    refused = client.post(retry)
    assert "publish permission" in client.get(refused["Location"]).content.decode()
    assert fresh(variant).first_comment_state == FirstCommentState.FAILED

    client.force_login(w.paul)
    assert retry in client.get(url).content.decode()
    assert client.get(retry).status_code == 405
    done = client.post(retry)
    assert done.status_code == 302 and done["Location"] == url
    assert fresh(variant).first_comment_state == FirstCommentState.PENDING
    page = client.get(url).content.decode()
    assert 'data-first-comment="pending"' in page


def test_the_post_page_says_when_the_first_comment_was_posted(client: Client, pub: Pub) -> None:
    w = pub.world
    variant = published(pub, w.coffee_x)
    queue(pub, variant)
    variant = fresh(variant)

    client.force_login(w.paul)
    page = client.get(f"/publishing/posts/{variant.post_id}/").content.decode()
    assert 'data-first-comment="sent"' in page
    assert variant.first_comment_url in page


def test_the_api_shows_each_channels_first_comment(pub: Pub) -> None:
    w = pub.world
    variant = published(pub, w.coffee_x)
    service.delete_post(pub.sandbox.account(w.coffee_x), variant.external_id)
    queue(pub, variant)
    paul = bearer(make_token(w, "paul")[1])

    [out] = call(paul, "GET", f"/api/posts/{variant.post_id}").json()["variants"]
    assert out["state"] == "published"
    assert out["first_comment_state"] == "failed"
    assert out["first_comment_error"] == (
        "The post was deleted, so there is nothing to comment under."
    )
    assert out["first_comment_error_code"] == "post_deleted"

    retried = call(paul, "POST", f"/api/variants/{variant.pk}/first-comment/retry")
    assert retried.status_code == 200
    assert retried.json()["variants"][0]["first_comment_state"] == "pending"


def test_another_organisations_first_comment_cannot_be_retried(client: Client, pub: Pub) -> None:
    w = pub.world
    variant = published(pub, w.coffee_x)
    Variant.objects.filter(pk=variant.pk).update(first_comment_state=FirstCommentState.FAILED)

    client.force_login(w.gina)
    response = client.post(f"/publishing/variants/{variant.pk}/first-comment/retry/")
    assert response.status_code == 404
    client.force_login(w.charlie)
    response = client.post(f"/publishing/variants/{variant.pk}/first-comment/retry/")
    assert response.status_code == 404
    assert fresh(variant).first_comment_state == FirstCommentState.FAILED
    assert events(variant, "variant.first_comment_retried") == []


# --- Through the engine --------------------------------------------------------------------------


def test_the_engine_queues_the_first_comment_when_it_publishes(pub: Pub) -> None:
    variant = published(pub, pub.world.coffee_x)
    pub.sandbox.deliver()  # what the engine's commit runs

    variant = fresh(variant)
    assert variant.first_comment_state == FirstCommentState.SENT
    [comment] = comments_under(variant)
    assert comment.text == COMMENT


FIRST_COMMENT_CRASH_EN = (
    "Greenroom hit an internal error while posting the first comment; it will retry."
)
FIRST_COMMENT_CRASH_KO = (
    "첫 댓글을 게시하는 중 Greenroom 내부 오류가 발생했습니다. 다시 시도합니다."
)


@pytest.mark.parametrize(
    ("worker_language", "reader_language", "expected", "not_expected"),
    [
        ("ko", "en", FIRST_COMMENT_CRASH_EN, FIRST_COMMENT_CRASH_KO),
        ("en", "ko", FIRST_COMMENT_CRASH_KO, FIRST_COMMENT_CRASH_EN),
    ],
)
def test_a_crash_posting_the_first_comment_is_told_in_the_readers_language(
    client: Client,
    pub: Pub,
    monkeypatch: Any,
    worker_language: str,
    reader_language: str,
    expected: str,
    not_expected: str,
) -> None:
    w = pub.world
    variant = published(pub, w.coffee_x)

    def crash(self: SandboxConnector, *args: Any) -> Any:
        raise RuntimeError("a bug inside the connector")

    monkeypatch.setattr(SandboxConnector, "comment_on_own_post", crash)
    with translation.override(worker_language):
        queue(pub, variant)
    variant = fresh(variant)
    assert variant.first_comment_state == FirstCommentState.PENDING
    assert variant.first_comment_error_code == "internal_error"

    w.paul.language = reader_language
    w.paul.save(update_fields=["language"])
    client.force_login(w.paul)
    page = client.get(f"/publishing/posts/{variant.post_id}/").content.decode()
    assert 'data-first-comment="pending"' in page
    assert expected in page and not_expected not in page
