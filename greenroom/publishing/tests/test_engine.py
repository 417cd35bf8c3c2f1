"""The publishing engine against the sandbox network: every variant published exactly once,
every failure said in plain words, nothing dropped silently."""

from __future__ import annotations

import threading
import time
from datetime import timedelta
from typing import Any

import pytest
from django.db import OperationalError, connection
from django.utils import timezone

from greenroom.core.models import AuditEvent, ChannelStatus
from greenroom.networks.base import OutgoingPost
from greenroom.networks.sandbox import service
from greenroom.networks.sandbox.models import SandboxRateWindow
from greenroom.publishing import actions, engine
from greenroom.publishing.models import (
    AttemptOutcome,
    Notification,
    PostState,
    PublishAttempt,
    Variant,
    VariantState,
)

from .conftest import Pub, Traffic, fresh, variant_of


def test_a_due_post_is_published_once_with_its_link(pub: Pub, traffic: Traffic) -> None:
    post = pub.post()
    variant = variant_of(post, pub.world.coffee_x)
    assert variant.state == VariantState.SCHEDULED
    pub.due(post)

    assert engine.dispatch_due() == 1

    variant = fresh(variant)
    [on_network] = pub.on_network(pub.world.coffee_x)
    assert variant.state == VariantState.PUBLISHED
    assert variant.external_id == on_network.external_id
    assert variant.external_url.endswith(f"/sandbox/p/{on_network.external_id}/")
    assert on_network.idempotency_key == variant.idempotency_key
    assert on_network.text == "Cold brew is back this weekend."
    assert fresh(post).state == PostState.PUBLISHED
    assert traffic.publish_calls == 1
    assert AuditEvent.objects.filter(action="variant.published", target_id=str(variant.pk)).exists()
    [attempt] = PublishAttempt.objects.filter(variant=variant)
    assert attempt.outcome == AttemptOutcome.PUBLISHED and attempt.finished_at is not None
    # Another dispatch finds nothing to do: published is final.
    assert engine.dispatch_due() == 0
    assert traffic.publish_calls == 1


def test_nothing_is_sent_before_its_time(pub: Pub, traffic: Traffic) -> None:
    post = pub.post()
    assert engine.dispatch_due() == 0
    assert traffic.publish_calls == 0
    assert fresh(post).state == PostState.SCHEDULED


def test_a_timeout_after_the_network_created_the_post_does_not_post_twice(
    pub: Pub, traffic: Traffic
) -> None:
    post = pub.post()
    pub.due(post)
    traffic.hang_after_commit = 1

    engine.dispatch_due()

    variant = variant_of(post, pub.world.coffee_x)
    assert variant.state == VariantState.SCHEDULED  # waiting to find out, not failed
    assert variant.outcome_unknown
    assert "may or may not" in variant.last_error
    assert len(pub.on_network(pub.world.coffee_x)) == 1

    pub.retry_now(variant)
    engine.dispatch_due()

    variant = fresh(variant)
    [on_network] = pub.on_network(pub.world.coffee_x)
    assert variant.state == VariantState.PUBLISHED
    assert variant.external_id == on_network.external_id
    # The engine asked the network and did not send again.
    assert traffic.publish_calls == 1
    assert traffic.lookups == 1
    outcomes = list(
        PublishAttempt.objects.filter(variant=variant).values_list("outcome", flat=True)
    )
    assert outcomes == [AttemptOutcome.UNKNOWN, AttemptOutcome.FOUND]


def test_a_429_waits_at_least_as_long_as_the_network_asks(pub: Pub, traffic: Traffic) -> None:
    channel = pub.world.coffee_x
    pub.sandbox.set_failures(channel, rate_limit_per_minute=1, retry_after_s=300)
    # The account already used its request this minute (and the next, should the clock turn).
    minute = timezone.now().replace(second=0, microsecond=0)
    for window in (minute, minute + timedelta(minutes=1)):
        SandboxRateWindow.objects.create(
            account=pub.sandbox.account(channel), window_start=window, count=5
        )
    post = pub.post()
    pub.due(post)
    before = timezone.now()

    engine.dispatch_due()

    variant = variant_of(post, channel)
    assert variant.state == VariantState.SCHEDULED
    assert variant.next_attempt_at is not None
    assert variant.next_attempt_at >= before + timedelta(seconds=300)
    assert variant.error_code == "rate_limited"
    assert "Too many requests" in variant.last_error
    assert pub.on_network(channel) == []
    assert fresh(post).state == PostState.SCHEDULED
    # Not due again before then.
    assert engine.dispatch_due() == 0


def test_a_rejected_post_fails_with_the_networks_words_and_code(pub: Pub) -> None:
    post = pub.post()
    pub.due(post)
    # The text was fine when approved; X's count says otherwise now (e.g. the rule table moved).
    Variant.objects.filter(post=post).update(text="가" * 200)

    engine.dispatch_due()

    variant = variant_of(post, pub.world.coffee_x)
    assert variant.state == VariantState.FAILED
    assert variant.error_code == "text_too_long"
    assert "Shorten it by" in variant.last_error and "Korean characters count 2" in (
        variant.last_error
    )
    assert fresh(post).state == PostState.FAILED
    note = Notification.objects.get(recipient=pub.world.alice, kind="failed")
    assert "Shorten it by" in note.message
    assert AuditEvent.objects.filter(action="variant.failed", target_id=str(variant.pk)).exists()


def test_an_expired_token_is_refreshed_and_the_post_goes_out(pub: Pub) -> None:
    channel = pub.world.coffee_x
    pub.sandbox.expire_token(channel)
    post = pub.post()
    pub.due(post)

    engine.dispatch_due()

    assert variant_of(post, channel).state == VariantState.PUBLISHED
    assert len(pub.on_network(channel)) == 1
    assert (
        AuditEvent.objects.filter(
            action="channel.credentials_set", target_id=str(channel.pk)
        ).count()
        == 2
    )  # connected, then refreshed


def test_a_revoked_token_fails_and_says_reconnect_the_channel(pub: Pub) -> None:
    channel = pub.world.coffee_x
    service.reissue_tokens(pub.sandbox.account(channel))  # revoked on the network's side
    post = pub.post()
    pub.due(post)

    engine.dispatch_due()

    variant = variant_of(post, channel)
    assert variant.state == VariantState.FAILED
    assert "Reconnect the channel" in variant.last_error
    assert fresh(channel).status == ChannelStatus.NEEDS_RECONNECT


def test_each_channel_succeeds_or_fails_on_its_own_and_can_be_retried(pub: Pub) -> None:
    w = pub.world
    post = pub.post([w.coffee_x, w.tea_bluesky])
    pub.due(post)
    Variant.objects.filter(post=post, channel=w.tea_bluesky).update(text="x" * 400)

    engine.dispatch_due()

    assert variant_of(post, w.coffee_x).state == VariantState.PUBLISHED
    failed = variant_of(post, w.tea_bluesky)
    assert failed.state == VariantState.FAILED
    assert fresh(post).state == PostState.PARTIALLY_PUBLISHED

    Variant.objects.filter(pk=failed.pk).update(text="Short enough for Bluesky.")
    actions.do_retry_variant(failed, acting_user=w.paul)
    assert fresh(post).state == PostState.PUBLISHING
    engine.dispatch_due()

    assert variant_of(post, w.tea_bluesky).state == VariantState.PUBLISHED
    assert fresh(post).state == PostState.PUBLISHED
    assert len(pub.on_network(w.coffee_x)) == 1  # the retry did not touch X
    assert AuditEvent.objects.filter(action="variant.retried", actor=w.paul).exists()


def test_temporary_errors_back_off_then_give_up_with_a_message(pub: Pub, settings: Any) -> None:
    settings.PUBLISHING_MAX_ATTEMPTS = 3
    channel = pub.world.coffee_x
    pub.sandbox.set_failures(channel, error_rate=1.0)
    post = pub.post()
    pub.due(post)
    variant = variant_of(post, channel)
    waits = []
    for _ in range(3):
        before = timezone.now()
        engine.dispatch_due()
        variant = fresh(variant)
        if variant.state == VariantState.SCHEDULED:
            waits.append((variant.next_attempt_at - before).total_seconds())
            pub.retry_now(variant)

    assert variant.state == VariantState.FAILED
    assert "tried 3 times" in variant.last_error
    assert "temporary problem" in variant.last_error
    assert len(waits) == 2 and waits[1] > waits[0]  # exponential
    assert pub.on_network(channel) == []


def test_a_pause_holds_due_posts_until_it_is_lifted(pub: Pub, traffic: Traffic) -> None:
    w = pub.world
    coffee = pub.post([w.coffee_x])
    tea = pub.post([w.tea_bluesky])
    pub.due(coffee)
    pub.due(tea)
    pause = actions.do_pause_publishing(
        w.acme, scope="brand", brand=w.coffee, reason="Product recall", acting_user=w.paul
    )

    engine.dispatch_due()

    held = variant_of(coffee, w.coffee_x)
    assert held.state == VariantState.SCHEDULED
    assert engine.pause_holding(w.coffee_x, engine.active_pauses()) == pause
    assert pub.on_network(w.coffee_x) == []
    assert variant_of(tea, w.tea_bluesky).state == VariantState.PUBLISHED  # other brand

    actions.do_lift_pause(pause, acting_user=w.alice)
    engine.dispatch_due()

    assert fresh(held).state == VariantState.PUBLISHED
    assert len(pub.on_network(w.coffee_x)) == 1
    assert AuditEvent.objects.filter(action="publishing.pause_lifted", actor=w.alice).exists()


def test_a_pause_that_lands_after_the_claim_still_stops_the_send(
    pub: Pub, traffic: Traffic
) -> None:
    w = pub.world
    post = pub.post()
    pub.due(post)
    claim = engine.claim_due(limit=10)
    actions.do_pause_publishing(
        w.acme, scope="organization", reason="Crisis: hold everything", acting_user=w.alice
    )

    engine.publish_batch(claim.variant_ids, claim.token)

    variant = variant_of(post, w.coffee_x)
    assert variant.state == VariantState.SCHEDULED
    assert variant.attempts == 0
    assert traffic.publish_calls == 0
    [attempt] = PublishAttempt.objects.filter(variant=variant)
    assert attempt.outcome == AttemptOutcome.PAUSED and "Crisis" in attempt.error


def test_a_pause_with_an_end_time_lets_posts_go_once_it_ends(pub: Pub) -> None:
    w = pub.world
    post = pub.post([w.tea_bluesky])
    pub.due(post)
    pause = actions.do_pause_publishing(
        w.acme,
        scope="channel",
        channel=w.tea_bluesky,
        reason="Maintenance",
        until=timezone.now() + timedelta(minutes=5),
        acting_user=w.alice,
    )
    engine.dispatch_due()
    assert variant_of(post, w.tea_bluesky).state == VariantState.SCHEDULED

    type(pause).objects.filter(pk=pause.pk).update(ends_at=timezone.now())  # time passes
    engine.dispatch_due()
    assert variant_of(post, w.tea_bluesky).state == VariantState.PUBLISHED


def test_a_dead_worker_that_had_sent_the_post_is_found_not_resent(
    pub: Pub, traffic: Traffic
) -> None:
    post = pub.post()
    pub.due(post)
    claim = engine.claim_due(limit=10)
    variant = variant_of(post, pub.world.coffee_x)
    # The worker sent the post, then died before writing the outcome.
    pub.sandbox.connector(pub.world.coffee_x).publish(
        OutgoingPost(text=variant.text, idempotency_key=variant.idempotency_key)
    )
    sent_by_the_dead_worker = traffic.publish_calls
    Variant.objects.filter(pk=variant.pk).update(
        lease_expires_at=timezone.now() - timedelta(seconds=1)
    )

    assert engine.reclaim_expired() == 1
    taken_back = fresh(variant)
    assert taken_back.state == VariantState.SCHEDULED and taken_back.outcome_unknown
    assert engine.dispatch_due() == 1  # due now, and earliest due: claimed next

    variant = fresh(variant)
    assert variant.state == VariantState.PUBLISHED
    assert len(pub.on_network(pub.world.coffee_x)) == 1
    assert traffic.publish_calls == sent_by_the_dead_worker  # nothing sent again
    # The dead worker's token no longer writes anything.
    assert engine.publish_one(variant.pk, claim.token) == "stale"
    assert fresh(variant).state == VariantState.PUBLISHED


def test_a_dead_worker_that_never_sent_is_followed_by_exactly_one_send(
    pub: Pub, traffic: Traffic
) -> None:
    post = pub.post()
    pub.due(post)
    engine.claim_due(limit=10)  # claimed; the worker dies before sending
    Variant.objects.filter(post=post).update(lease_expires_at=timezone.now() - timedelta(seconds=1))

    engine.reclaim_expired()
    engine.dispatch_due()

    variant = variant_of(post, pub.world.coffee_x)
    assert variant.state == VariantState.PUBLISHED
    assert variant.attempts == 1  # a takeover is not an attempt the variant made
    assert traffic.lookups == 1 and traffic.publish_calls == 1
    assert len(pub.on_network(pub.world.coffee_x)) == 1


def test_a_live_lease_is_not_reclaimed(pub: Pub) -> None:
    post = pub.post()
    pub.due(post)
    engine.claim_due(limit=10)
    assert engine.reclaim_expired() == 0
    assert variant_of(post, pub.world.coffee_x).state == VariantState.PUBLISHING


def test_the_keeper_renews_the_leases_its_process_holds_and_no_others(pub: Pub) -> None:
    ours, other, taken = (pub.post(text=f"Post {n}") for n in range(3))
    for post in (ours, other, taken):
        pub.due(post)
    claims = {post.pk: engine.claim_due(limit=1) for post in (ours, other, taken)}
    start = timezone.now()
    # Most of every lease has passed: one second is left.
    Variant.objects.filter(post__in=[ours, other, taken]).update(
        lease_expires_at=start + timedelta(seconds=1)
    )
    # The third claim was taken over meanwhile: its rows are no longer under its token.
    Variant.objects.filter(post=taken).update(lease_token="someone-else")
    keeper = engine.LeaseKeeper()

    with keeper.holding(claims[ours.pk].token), keeper.holding(claims[taken.pk].token):
        assert keeper.renew() == 1
    assert keeper.tokens() == []

    renewed = variant_of(ours, pub.world.coffee_x).lease_expires_at
    assert renewed is not None and renewed >= start + engine.lease_duration()
    # Ten seconds on, the renewed lease is live; the two nobody renewed are taken back.
    assert engine.reclaim_expired(now=start + timedelta(seconds=10)) == 2
    assert variant_of(other, pub.world.coffee_x).state == VariantState.SCHEDULED
    kept = variant_of(ours, pub.world.coffee_x)
    assert kept.state == VariantState.PUBLISHING and kept.lease_token == claims[ours.pk].token


def test_a_busy_publishing_loop_takes_back_a_dead_workers_claims_itself(
    pub: Pub, traffic: Traffic, settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """While every slot runs a publishing loop, beat's reconciler task waits in the broker; the
    loops take back expired leases themselves, at most every PUBLISHING_RECLAIM_EVERY_S."""
    settings.PUBLISHING_RECLAIM_EVERY_S = 60
    monkeypatch.setitem(engine._last_reclaim, "at", 0.0)
    dead, later = pub.post(text="Claimed by a worker that died"), pub.post(text="Later")
    pub.due(dead)
    engine.claim_due(limit=10)  # the worker dies holding it
    Variant.objects.filter(post=dead).update(lease_expires_at=timezone.now() - timedelta(seconds=1))

    assert engine.keep_publishing(budget_s=5).claimed == 1
    assert variant_of(dead, pub.world.coffee_x).state == VariantState.PUBLISHED
    assert traffic.lookups == 1 and traffic.publish_calls == 1  # asked first, then sent once

    # Within the interval the loop does not look again.
    pub.due(later)
    engine.claim_due(limit=10)
    Variant.objects.filter(post=later).update(
        lease_expires_at=timezone.now() - timedelta(seconds=1)
    )
    assert engine.keep_publishing(budget_s=5).claimed == 0
    assert variant_of(later, pub.world.coffee_x).state == VariantState.PUBLISHING


def test_dispatch_claims_nothing_and_starts_only_the_loops_missing(
    pub: Pub, settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A claimed chunk must never wait in the broker: dispatch starts loops that claim when they
    run, no more than PUBLISHING_LOOPS at work, no more than the due variants need."""
    from greenroom.publishing import tasks

    started: list[tuple[list[int], str]] = []
    monkeypatch.setattr(
        tasks.publish_variants, "delay", lambda ids, token: started.append((ids, token))
    )
    settings.PUBLISHING_TASK_CHUNK = 2
    settings.PUBLISHING_LOOPS = 4
    posts = [pub.post(text=f"Post {n}") for n in range(5)]
    for post in posts:
        pub.due(post)

    assert engine.dispatch_due() == 5
    assert started == [([], "")] * 3  # five variants, two a chunk: three loops
    assert all(fresh(p).variants.get().state == VariantState.SCHEDULED for p in posts)

    # Two loops are at work (each holds a live lease): only two more are started.
    started.clear()
    engine.claim_due(limit=1)
    engine.claim_due(limit=1)
    assert engine.running_loops() == 2
    assert engine.dispatch_due() == 3
    assert len(started) == 2

    # All four at work: none.
    started.clear()
    engine.claim_due(limit=1)
    engine.claim_due(limit=1)
    assert engine.dispatch_due() == 1
    assert started == []


def test_a_token_held_twice_is_held_until_both_let_go() -> None:
    keeper = engine.LeaseKeeper()
    with keeper.holding("t"):
        with keeper.holding("t"):
            assert keeper.tokens() == ["t"]
        assert keeper.tokens() == ["t"]
    assert keeper.tokens() == []


def test_the_keeper_starts_one_thread_per_process(monkeypatch: pytest.MonkeyPatch) -> None:
    started: list[str] = []

    class FakeThread:
        def __init__(self, *, target: Any, name: str, daemon: bool) -> None:
            assert daemon
            self.name = name

        def start(self) -> None:
            started.append(self.name)

    monkeypatch.setattr(threading, "Thread", FakeThread)
    keeper = engine.LeaseKeeper()
    keeper.start()
    keeper.start()
    assert started == ["publishing-leases"]


def test_a_slow_worker_whose_lease_was_taken_over_cannot_overwrite(
    pub: Pub, traffic: Traffic
) -> None:
    post = pub.post()
    pub.due(post)
    slow = engine.claim_due(limit=10)
    variant = variant_of(post, pub.world.coffee_x)

    def lease_expires_and_is_taken_over() -> None:
        traffic.before_publish = None
        Variant.objects.filter(pk=variant.pk).update(
            lease_expires_at=timezone.now() - timedelta(seconds=1)
        )
        engine.reclaim_expired()
        engine.dispatch_due()  # the new holder finishes the job

    # The slow worker's request goes out just as its lease is taken over.
    traffic.before_publish = lease_expires_and_is_taken_over
    outcome = engine.publish_one(variant.pk, slow.token)

    assert outcome == AttemptOutcome.LEASE_LOST
    variant = fresh(variant)
    assert variant.state == VariantState.PUBLISHED
    assert len(pub.on_network(pub.world.coffee_x)) == 1  # one post, one idempotency key
    assert (
        AuditEvent.objects.filter(action="variant.published", target_id=str(variant.pk)).count()
        == 1
    )


def test_a_cancelled_post_is_never_claimed(pub: Pub, traffic: Traffic) -> None:
    post = pub.post()
    actions.do_cancel(post, acting_user=pub.world.alice)
    pub.due(post)
    assert engine.dispatch_due() == 0
    assert fresh(post).state == PostState.CANCELLED


def test_a_post_being_published_cannot_be_cancelled(pub: Pub) -> None:
    post = pub.post()
    pub.due(post)
    engine.claim_due(limit=10)
    with pytest.raises(actions.ActionError, match="being published right now"):
        actions.do_cancel(post, acting_user=pub.world.alice)


def test_the_most_overdue_variant_is_claimed_first_even_back_from_a_retry(pub: Pub) -> None:
    """Earliest due first: a variant whose retry comes due goes ahead of a backlog that was
    due after it, instead of adding the whole backlog's wait to its lateness."""
    retried, *backlog = [pub.post(text=f"Post {n}") for n in range(4)]
    pub.due(retried, ago=timedelta(minutes=5))
    for n, post in enumerate(backlog):
        pub.due(post, ago=timedelta(minutes=3 - n))
    # Its retry came due just now, after every post of the backlog.
    Variant.objects.filter(post=retried).update(next_attempt_at=timezone.now())

    first = engine.claim_due(limit=1)
    rest = engine.claim_due(limit=10)

    assert first.variant_ids == [variant_of(retried, pub.world.coffee_x).pk]
    assert rest.variant_ids == sorted(variant_of(p, pub.world.coffee_x).pk for p in backlog)


@pytest.mark.django_db(transaction=True)
def test_concurrent_claimers_claim_each_row_once(world: Any, settings: Any) -> None:
    """Two claimers on two connections race for the same due rows: each row goes to one."""
    post = actions.do_create_post(
        world.acme,
        text="Race",
        channels=[world.coffee_x, world.coffee_instagram, world.tea_bluesky],
        publish_at=timezone.now() + timedelta(hours=1),
        acting_user=world.alice,
    )
    actions.do_submit_for_approval(post, acting_user=world.alice)
    extra = []
    for n in range(9):
        p = actions.do_create_post(
            world.acme,
            text=f"Race {n}",
            channels=[world.coffee_x, world.tea_bluesky],
            publish_at=timezone.now() + timedelta(hours=1),
            acting_user=world.alice,
        )
        actions.do_submit_for_approval(p, acting_user=world.alice)
        extra.append(p)
    past = timezone.now() - timedelta(seconds=1)
    Variant.objects.update(publish_at=past, next_attempt_at=past)
    total = Variant.objects.count()
    results: list[list[int]] = []
    errors: list[BaseException] = []
    start = threading.Barrier(4)
    counted = threading.Lock()
    taken = [0]

    def claimer() -> None:
        try:
            start.wait()
            mine: list[int] = []
            # Claim until every row is taken (or 20 s pass): a claim may come back short while
            # the other claimers hold rows (SKIP LOCKED), so a fixed number of rounds could stop
            # before the last rows on a slow machine.
            deadline = time.monotonic() + 20
            while time.monotonic() < deadline:
                try:
                    got = engine.claim_due(limit=3).variant_ids
                except OperationalError as exc:
                    # The in-memory test database (shared cache) refuses a second writer
                    # instead of waiting; the claim rolled back, so try again.
                    if "locked" not in str(exc):
                        raise
                    time.sleep(0.001)
                    continue
                mine += got
                with counted:
                    taken[0] += len(got)
                    if taken[0] >= total:
                        break
                if not got:
                    time.sleep(0.005)
            results.append(mine)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=claimer) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    assert not errors
    claimed = [pk for mine in results for pk in mine]
    assert len(claimed) == len(set(claimed)) == total
    assert Variant.objects.filter(state=VariantState.PUBLISHING).count() == total
