"""Scheduling an approved post: schedule, reschedule, publish now, cancel, retry one channel.

Every change to a variant is a conditional UPDATE on its state (`transition`), because the
engine may claim a scheduled variant at the same moment: a person's action never overwrites
what the engine did, and says so instead.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from greenroom.core import audit
from greenroom.core.models import Channel, User
from greenroom.publishing.models import Post, Variant, VariantState

from .common import (
    ActionError,
    NotAllowed,
    PublishingAction,
    channels_with,
    is_author,
    refresh_post_state,
    transition,
)
from .posts import PAST_GRACE

# What schedule() moves to "scheduled"; drafts only get their desired time.
SCHEDULABLE = (
    VariantState.APPROVED,
    VariantState.SCHEDULED,
    VariantState.NEEDS_NEW_TIME,
    VariantState.FAILED,
)
BEFORE_APPROVAL = (VariantState.DRAFT, VariantState.IN_APPROVAL)
CANCELLABLE = (*BEFORE_APPROVAL, *SCHEDULABLE)


def _selected(post: Post, channels: Sequence[Channel] | None) -> list[Variant]:
    variants = list(post.variants.select_related("channel", "channel__brand").order_by("pk"))
    if channels is None:
        return variants
    wanted = {c.pk for c in channels}
    chosen = [v for v in variants if v.channel_id in wanted]
    if len(chosen) != len(wanted):
        raise ActionError(_("This post does not go to some of those channels."))
    return chosen


def _require_scheduler(user: User, post: Post, variants: Sequence[Variant], doing: str) -> None:
    """Publishers of the channel may schedule; so may the post's author where they may draft
    (the approval covered the content; choosing the time is the author's)."""
    channels = [v.channel for v in variants]
    allowed = channels_with(user, "publish", channels)
    if is_author(user, post):
        allowed |= channels_with(user, "draft", channels)
    missing = [c for c in channels if c.pk not in allowed]
    if missing:
        raise NotAllowed(
            _("You may not %(doing)s on %(channels)s: that needs the publish permission there.")
            % {"doing": doing, "channels": ", ".join(str(c) for c in missing)}
        )


def _kick_dispatch() -> None:
    # Beat dispatches every few seconds anyway; this only saves the wait.
    from greenroom.publishing import tasks

    transaction.on_commit(lambda: tasks.dispatch_due.delay())


@transaction.atomic
def do_schedule(
    post: Post,
    *,
    publish_at: datetime,
    channels: Sequence[Channel] | None = None,
    acting_user: User,
) -> Post:
    """Schedule (or reschedule) the post's channels for `publish_at`.

    Approved, scheduled, failed and needing-a-new-time channels are scheduled; channels still in
    draft or approval only get the time, applied when they are approved.
    """
    if timezone.is_naive(publish_at):
        raise ActionError(_("Give the time with its time zone."))
    if publish_at < timezone.now() - PAST_GRACE:
        raise ActionError(_("That time has already passed. Choose a later time, or publish now."))
    variants = [
        v
        for v in _selected(post, channels)
        if channels is not None or v.state in (*SCHEDULABLE, *BEFORE_APPROVAL)
    ]
    if not variants:
        raise ActionError(_("Nothing in this post can be scheduled."))
    _require_scheduler(acting_user, post, variants, _("schedule this post"))
    changes = []
    for variant in variants:
        before = {"state": variant.state, "publish_at": variant.publish_at}
        if variant.state in BEFORE_APPROVAL:
            moved = transition(
                variant, BEFORE_APPROVAL, publish_at=publish_at, next_attempt_at=publish_at
            )
        elif variant.state in SCHEDULABLE:
            moved = transition(
                variant,
                SCHEDULABLE,
                state=VariantState.SCHEDULED,
                publish_at=publish_at,
                next_attempt_at=publish_at,
                attempts=0,
                last_error="",
                error_code="",
            )
        else:
            moved = False
        if not moved:
            raise ActionError(
                _("%(channel)s is %(state)s and cannot be rescheduled.")
                % {"channel": variant.channel, "state": variant.get_state_display().lower()}
            )
        was = before["publish_at"]
        audit.record(
            PublishingAction.VARIANT_RESCHEDULED
            if was is not None
            else PublishingAction.VARIANT_SCHEDULED,
            actor=acting_user,
            organization=post.organization,
            target=variant,
            before={
                "state": before["state"],
                "publish_at": was.isoformat() if isinstance(was, datetime) else None,
            },
            after={"state": variant.state, "publish_at": publish_at.isoformat()},
        )
        changes.append(variant.channel_id)
    refresh_post_state(post.pk)
    post.refresh_from_db()
    return post


@transaction.atomic
def do_publish_now(
    post: Post, *, channels: Sequence[Channel] | None = None, acting_user: User
) -> Post:
    """Publish approved channels of the post right away (the engine picks them up within
    seconds). A draft must be submitted first."""
    variants = [
        v for v in _selected(post, channels) if channels is not None or v.state in SCHEDULABLE
    ]
    not_ready = [v for v in variants if v.state not in SCHEDULABLE]
    if not_ready:
        v = not_ready[0]
        raise ActionError(
            _("%(channel)s is %(state)s; only approved posts can be published.")
            % {"channel": v.channel, "state": v.get_state_display().lower()}
        )
    if not variants:
        raise ActionError(_("Nothing in this post is approved and waiting to be published."))
    _require_scheduler(acting_user, post, variants, _("publish this post"))
    now = timezone.now()
    for variant in variants:
        before = {"state": variant.state, "publish_at": variant.publish_at}
        if not transition(
            variant,
            SCHEDULABLE,
            state=VariantState.SCHEDULED,
            publish_at=now,
            next_attempt_at=now,
            attempts=0,
            last_error="",
            error_code="",
        ):
            raise ActionError(
                _("%(channel)s is being published right now.") % {"channel": variant.channel}
            )
        audit.record(
            PublishingAction.VARIANT_PUBLISH_NOW,
            actor=acting_user,
            organization=post.organization,
            target=variant,
            before={
                "state": before["state"],
                "publish_at": before["publish_at"].isoformat()
                if isinstance(before["publish_at"], datetime)
                else None,
            },
            after={"state": VariantState.SCHEDULED, "publish_at": now.isoformat()},
        )
    _kick_dispatch()
    refresh_post_state(post.pk)
    post.refresh_from_db()
    return post


@transaction.atomic
def do_cancel(post: Post, *, channels: Sequence[Channel] | None = None, acting_user: User) -> Post:
    """Cancel the post on some channels (all by default). Published channels stay published; a
    channel being published at this very moment cannot be stopped, and the error says so."""
    selected = _selected(post, channels)
    busy = [v for v in selected if v.state == VariantState.PUBLISHING]
    if busy:
        raise ActionError(
            _(
                "%(channel)s is being published right now and cannot be cancelled; cancel the "
                "other channels one by one."
            )
            % {"channel": busy[0].channel}
        )
    variants = selected
    variants = [v for v in variants if v.state in CANCELLABLE]
    if not variants:
        raise ActionError(_("Nothing in this post can be cancelled."))
    _require_scheduler(acting_user, post, variants, _("cancel this post"))
    cancelled = []
    for variant in variants:
        before = variant.state
        if not transition(variant, CANCELLABLE, state=VariantState.CANCELLED):
            raise ActionError(
                _("%(channel)s was picked up for publishing a moment ago; it cannot be cancelled.")
                % {"channel": variant.channel}
            )
        audit.record(
            PublishingAction.VARIANT_CANCELLED,
            actor=acting_user,
            organization=post.organization,
            target=variant,
            before={"state": before},
            after={"state": VariantState.CANCELLED},
        )
        cancelled.append(variant.channel_id)
    refresh_post_state(post.pk)
    post.refresh_from_db()
    return post


@transaction.atomic
def do_retry_variant(variant: Variant, *, acting_user: User) -> Variant:
    """Try a failed channel again now (its attempts start over; its error history is kept)."""
    variant = Variant.objects.select_related("post", "channel").get(pk=variant.pk)
    if variant.state != VariantState.FAILED:
        raise ActionError(
            _("Only a failed channel can be retried; %(channel)s is %(state)s.")
            % {"channel": variant.channel, "state": variant.get_state_display().lower()}
        )
    _require_scheduler(acting_user, variant.post, [variant], _("retry this post"))
    now = timezone.now()
    before = {"error": variant.last_error, "code": variant.error_code}
    if not transition(
        variant,
        [VariantState.FAILED],
        state=VariantState.SCHEDULED,
        publish_at=min(variant.publish_at or now, now),
        next_attempt_at=now,
        attempts=0,
        last_error="",
        error_code="",
    ):
        raise ActionError(_("This channel changed a moment ago; reload the page."))
    audit.record(
        PublishingAction.VARIANT_RETRIED,
        actor=acting_user,
        organization=variant.post.organization,
        target=variant,
        before=before,
        after={"state": VariantState.SCHEDULED},
    )
    _kick_dispatch()
    refresh_post_state(variant.post_id)
    return variant
