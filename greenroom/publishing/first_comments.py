"""First comments: what a channel comments under its own post right after it is published
(hashtags kept out of the caption, a link), on networks that have comments.

1. The engine sends `signals.variant_published` when it records a variant as published.
   `queue_first_comment` marks the variant's first comment pending (one conditional UPDATE: only
   a published variant with a first comment that was never queued) and sends the task after
   commit.
2. `send_first_comment(variant_id)` claims it with a conditional UPDATE (pending -> sending, the
   attempt counted), so two workers never both send; only the claimer talks to the network,
   with the key `<variant key>:first-comment`, and every connector posts once per key (a retry
   after a lost answer finds the comment instead of posting it again).
3. Outcomes: sent (the comment's id and link), failed for good (the network's words and code),
   or back to pending after a backoff that honours Retry-After, up to FIRST_COMMENT_MAX_ATTEMPTS.
   A first comment never changes the variant's own state: the post is published either way.
4. `sweep_first_comments` (beat, every minute) sends again what a lost task left pending and
   what a dead worker left sending past its claim's expiry.
5. Failed ones can be retried from the post's page (`actions.do_retry_first_comment`).

Sent and failed first comments are audit events; the post's author is told about a failure.
"""

from __future__ import annotations

import logging
import random
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import transaction
from django.db.models import F, Q
from django.dispatch import receiver
from django.utils import timezone
from django.utils.translation import gettext as _

from greenroom.celery import app
from greenroom.core import audit
from greenroom.networks import registry
from greenroom.networks.base import ConnectorError, OutcomeUnknown, PublishedRef
from greenroom.publishing import sentences
from greenroom.publishing.actions.common import (
    PublishingAction,
    Words,
    as_stored,
    in_active_language,
    notify,
)
from greenroom.publishing.models import FirstCommentState, Variant, VariantState
from greenroom.publishing.signals import variant_published

logger = logging.getLogger("greenroom.publishing.first_comments")

State = FirstCommentState


def max_attempts() -> int:
    return int(getattr(settings, "FIRST_COMMENT_MAX_ATTEMPTS", 5))


def claim_duration() -> timedelta:
    # Far longer than one connector call: a claim expires only when its worker is gone.
    return timedelta(seconds=float(getattr(settings, "FIRST_COMMENT_CLAIM_S", 300)))


def sweep_grace() -> timedelta:
    # A task normally runs within seconds; only one this late was lost.
    return timedelta(seconds=float(getattr(settings, "FIRST_COMMENT_SWEEP_GRACE_S", 60)))


def backoff(attempts: int) -> float:
    """Seconds before the next try after `attempts` tries: exponential, jittered, capped."""
    base = float(getattr(settings, "FIRST_COMMENT_BACKOFF_BASE_S", 30))
    cap = float(getattr(settings, "FIRST_COMMENT_BACKOFF_MAX_S", 900))
    return float(min(base * 2 ** max(0, attempts - 1), cap) * random.uniform(0.8, 1.2))


def idempotency_key(variant: Variant) -> str:
    """The key of a variant's first comment: stable for the variant's life, so every retry
    (automatic or from the post's page) is the same comment to the network."""
    return f"{variant.idempotency_key}:first-comment"


def safe_url(url: str) -> str:
    """A network's link to the comment, kept only if it is a plain web link (it is shown)."""
    return url[:2000] if url.lower().startswith(("https://", "http://")) else ""


# --- Queueing ------------------------------------------------------------------------------------


@receiver(variant_published, dispatch_uid="greenroom.publishing.first_comments.queue")
def queue_first_comment(
    sender: Any, variant_id: int, variant: Variant | None = None, **kwargs: Any
) -> bool:
    """Mark a just-published variant's first comment pending and send it after commit.

    Conditional, so a second signal for the same variant (a retried engine write, a found
    post) queues nothing more. Returns whether this call queued it."""
    if variant is not None and not variant.first_comment.strip():
        return False  # the usual case, decided without a query
    now = timezone.now()
    queued = (
        Variant.objects.filter(
            pk=variant_id, state=VariantState.PUBLISHED, first_comment_state=State.NONE
        )
        .exclude(first_comment="")
        .update(
            first_comment_state=State.PENDING,
            first_comment_attempts=0,
            first_comment_next_attempt_at=now,
        )
    )
    if queued:
        transaction.on_commit(lambda: send_first_comment.delay(variant_id))
    return bool(queued)


# --- Sending -------------------------------------------------------------------------------------


def _claim(variant_id: int, now: datetime) -> int | None:
    """Pending -> sending, counting the attempt; the attempt number (our claim) or None."""
    due = Q(first_comment_next_attempt_at__isnull=True) | Q(first_comment_next_attempt_at__lte=now)
    with transaction.atomic():
        changed = (
            Variant.objects.filter(
                due,
                pk=variant_id,
                state=VariantState.PUBLISHED,
                first_comment_state=State.PENDING,
            )
            .exclude(external_id="")
            .update(
                first_comment_state=State.SENDING,
                first_comment_attempts=F("first_comment_attempts") + 1,
                first_comment_next_attempt_at=now + claim_duration(),
            )
        )
        if not changed:
            return None
        attempts: int = (
            Variant.objects.filter(pk=variant_id)
            .values_list("first_comment_attempts", flat=True)
            .get()
        )
        return attempts


def _ours(variant_id: int, attempt: int) -> Q:
    # A claim that expired and was taken over has a higher attempt number than ours.
    return Q(pk=variant_id, first_comment_state=State.SENDING, first_comment_attempts=attempt)


def send(variant_id: int) -> str:
    """Post one variant's first comment if it is pending and due; returns what happened
    ("sent", "failed", "retry" or "stale" when there was nothing for this call to do)."""
    attempt = _claim(variant_id, timezone.now())
    if attempt is None:
        return "stale"
    variant = Variant.objects.select_related(
        "post", "post__author", "channel", "channel__organization"
    ).get(pk=variant_id)
    try:
        connector = registry.connector_for(variant.channel)
    except ImproperlyConfigured:
        network = variant.channel.kind
        return _failed(
            variant,
            attempt,
            lambda: _(sentences.FIRST_COMMENT_NO_CONNECTOR) % {"network": network},
            "no_connector",
        )
    post = PublishedRef(variant.external_id, variant.external_url)
    try:
        ref = connector.comment_on_own_post(post, variant.first_comment, idempotency_key(variant))
    except OutcomeUnknown as exc:
        return _retry(variant, attempt, exc, unknown=True)
    except ConnectorError as exc:
        if exc.permanent:
            return _failed(variant, attempt, exc.words or exc.message, exc.code)
        return _retry(variant, attempt, exc, unknown=False)
    except Exception:
        # A bug or crash inside the connector: whether the comment went out is unknown; the
        # next try asks the network first (every connector comments once per key).
        logger.exception("connector crashed posting the first comment of variant %s", variant_id)

        def internal() -> str:
            return _(
                "Greenroom hit an internal error while posting the first comment; it will retry."
            )

        error = ConnectorError(internal(), code="internal_error", words=internal)
        return _retry(variant, attempt, error, unknown=True)
    return _sent(variant, attempt, ref)


def _sent(variant: Variant, attempt: int, ref: PublishedRef) -> str:
    now = timezone.now()
    with transaction.atomic():
        changed = Variant.objects.filter(_ours(variant.pk, attempt)).update(
            first_comment_state=State.SENT,
            first_comment_external_id=ref.external_id[:200],
            first_comment_url=safe_url(ref.url),
            first_comment_sent_at=ref.published_at or now,
            first_comment_next_attempt_at=None,
            first_comment_error="",
            first_comment_error_code="",
        )
        if not changed:
            return "stale"
        audit.record(
            PublishingAction.FIRST_COMMENT_SENT,
            actor=None,
            organization=variant.channel.organization,
            target=variant,
            after={"external_id": ref.external_id, "url": ref.url, "attempt": attempt},
        )
    logger.info("first comment sent variant=%s attempt=%s", variant.pk, attempt)
    return "sent"


def _failed(variant: Variant, attempt: int, words: Words, code: str) -> str:
    # The variant and the audit row keep Greenroom's sentence in English, which the post page
    # says again in its reader's language (`sentences.say_again`), never the worker's; the
    # author's notice is written in the author's (`notify` calls it in their language).
    message = as_stored(words)
    with transaction.atomic():
        changed = Variant.objects.filter(_ours(variant.pk, attempt)).update(
            first_comment_state=State.FAILED,
            first_comment_next_attempt_at=None,
            first_comment_error=message,
            first_comment_error_code=code[:100],
        )
        if not changed:
            return "stale"
        audit.record(
            PublishingAction.FIRST_COMMENT_FAILED,
            actor=None,
            organization=variant.channel.organization,
            target=variant,
            after={"error": message, "code": code, "attempt": attempt},
        )
        notify(
            variant.post,
            variant.post.author,
            "first_comment_failed",
            lambda: (
                _(
                    "“%(post)s” is published on %(channel)s, but its first comment was not posted: "
                    "%(error)s"
                )
                % {
                    "post": variant.post,
                    "channel": variant.channel,
                    "error": in_active_language(words),
                }
            ),
        )
    logger.warning("first comment failed variant=%s code=%s", variant.pk, code)
    return "failed"


def _retry(variant: Variant, attempt: int, exc: ConnectorError, *, unknown: bool) -> str:
    if attempt >= max_attempts():
        # The network's last answer is its own words (Greenroom's, if it wrote it, are written
        # again in the reader's language, like the sentence around it).
        answer: Words = exc.words or exc.message

        def gave_up() -> str:
            if unknown:
                return _(sentences.FIRST_COMMENT_OUTCOME_UNKNOWN) % {
                    "n": attempt,
                    "error": in_active_language(answer),
                }
            return _(sentences.FIRST_COMMENT_GAVE_UP) % {
                "n": attempt,
                "error": in_active_language(answer),
            }

        return _failed(variant, attempt, gave_up, exc.code or "gave_up")
    delay = backoff(attempt)
    if exc.retry_after:
        delay = max(delay, float(exc.retry_after))
    changed = Variant.objects.filter(_ours(variant.pk, attempt)).update(
        first_comment_state=State.PENDING,
        first_comment_next_attempt_at=timezone.now() + timedelta(seconds=delay),
        # Greenroom's own sentence in English, said in the reader's language by the post page.
        first_comment_error=as_stored(exc.words or exc.message),
        first_comment_error_code=exc.code[:100],
    )
    if not changed:
        return "stale"
    send_first_comment.apply_async((variant.pk,), countdown=delay)
    logger.info(
        "first comment of variant %s: retry in %.0f s (%s)", variant.pk, delay, exc.code or "?"
    )
    return "retry"


# --- The sweep -----------------------------------------------------------------------------------


def sweep(now: datetime | None = None, limit: int = 500) -> int:
    """Send again what a lost task left pending and what a dead worker left sending; returns
    how many tasks were sent."""
    now = now or timezone.now()
    expired = Q(first_comment_state=State.SENDING, first_comment_next_attempt_at__lt=now)
    dead = list(Variant.objects.filter(expired).order_by("pk").values_list("pk", flat=True)[:limit])
    if dead:
        # Their worker stopped mid-send: whether the comment went out is unknown, and the
        # connector asks the network before sending again.
        Variant.objects.filter(expired, pk__in=dead).update(
            first_comment_state=State.PENDING, first_comment_next_attempt_at=now
        )
    lost = Q(
        first_comment_state=State.PENDING, first_comment_next_attempt_at__lte=now - sweep_grace()
    )
    waiting = list(Variant.objects.filter(lost).order_by("pk").values_list("pk", flat=True)[:limit])
    if waiting:
        # Due now, and not swept again before the grace has passed once more.
        Variant.objects.filter(lost, pk__in=waiting).update(first_comment_next_attempt_at=now)
    ids = dead + waiting
    for variant_id in ids:
        send_first_comment.delay(variant_id)
    if ids:
        logger.warning(
            "sent %s first comments again (%s with a dead worker, %s with a lost task)",
            len(ids),
            len(dead),
            len(waiting),
        )
    return len(ids)


# --- Tasks ---------------------------------------------------------------------------------------


@app.task(name="greenroom.publishing.send_first_comment", ignore_result=True)
def send_first_comment(variant_id: int) -> str:
    """Post one variant's first comment (does nothing unless it is pending and due)."""
    return send(variant_id)


@app.task(name="greenroom.publishing.sweep_first_comments", ignore_result=True)
def sweep_first_comments() -> int:
    """Run by beat: first comments whose task was lost or whose worker died."""
    return sweep()
