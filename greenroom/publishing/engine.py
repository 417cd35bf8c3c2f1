"""The publishing engine: every due variant published exactly once (DESIGN.md, "Publishing engine").

1. `dispatch_due` starts publishing loops for what is due; each loop claims due variants with
   one conditional UPDATE (scheduled -> publishing, with a lease token and expiry, skipping
   anything under an active pause) and publishes what it claimed itself.
2. `publish_one` (in the task) holds the variant only while its lease token is the variant's.
   It asks the network `find_published(key)` first whenever an earlier attempt may have reached
   it, then publishes with the variant's idempotency key. Known outcomes: published, failed for
   good (plain message and the network's code), or back to scheduled with exponential backoff
   that honours Retry-After, up to a cap. An unknown outcome goes back to scheduled flagged
   `outcome_unknown`, so the next attempt asks the network before sending again.
3. `reclaim_expired` (the reconciler) takes back variants whose lease expired (the worker died,
   or its task was lost or waited too long) through the same unknown-outcome path.
4. Every write the engine makes is conditional on the variant still being in the state it
   expects and, while publishing, on the lease token being its own: a slow worker whose lease
   was reclaimed cannot overwrite the new holder's result.

Each channel's variant succeeds or fails on its own; the post's state is derived from them.
See docs/architecture/publishing.md for why this holds with many processes.
"""

from __future__ import annotations

import enum
import functools
import logging
import os
import random
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import reduce
from operator import or_
from typing import NamedTuple

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import DatabaseError, connections, transaction
from django.db.models import F, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from greenroom.core import audit
from greenroom.core.models import Channel, ChannelStatus
from greenroom.networks import registry
from greenroom.networks.base import ConnectorError, OutcomeUnknown, OutgoingPost, PublishedRef
from greenroom.publishing import content, sentences
from greenroom.publishing.actions.common import (
    PublishingAction,
    Words,
    as_stored,
    in_active_language,
    notify,
    refresh_post_state,
)
from greenroom.publishing.models import (
    AttemptOutcome,
    PauseScope,
    Post,
    PostState,
    PublishAttempt,
    PublishingPause,
    Variant,
    VariantState,
)
from greenroom.publishing.signals import variant_published

logger = logging.getLogger("greenroom.publishing.engine")

# Network error codes that mean the channel's connection is gone, not the post's content.
RECONNECT_CODES = frozenset(
    {"invalid_token", "reconnect_needed", "no_credentials", "invalid_grant"}
)
# Past the attempt cap, an unknown outcome gets this many more rounds to ask the network.
UNKNOWN_EXTRA_ATTEMPTS = 3


def lease_duration() -> timedelta:
    # A worker renews the leases it holds every quarter of this (see `LeaseKeeper`), however
    # long a network call takes, so a lease only expires when its worker is gone or stuck.
    return timedelta(seconds=float(settings.PUBLISHING_LEASE_S))


def max_attempts() -> int:
    return int(settings.PUBLISHING_MAX_ATTEMPTS)


def backoff(attempts: int) -> float:
    """Seconds before the next try after `attempts` tries: exponential, jittered, capped."""
    base = float(settings.PUBLISHING_BACKOFF_BASE_S)
    delay = min(base * 2 ** max(0, attempts - 1), float(settings.PUBLISHING_BACKOFF_MAX_S))
    # Jitter spreads the retries of many variants hit by the same outage.
    return float(delay * random.uniform(0.8, 1.2))


@functools.cache
def _host() -> str:
    return socket.gethostname()


def worker_name() -> str:
    return f"{_host()}:{os.getpid()}:{threading.get_ident() % 100000}"


# --- Pauses --------------------------------------------------------------------------------------


def active_pauses(at: datetime | None = None) -> list[PublishingPause]:
    return list(
        PublishingPause.objects.active(at).select_related("brand", "channel", "organization")
    )


def _pause_q(pause: PublishingPause) -> Q:
    """The variants a pause holds, as a filter on Variant."""
    if pause.scope == PauseScope.CHANNEL:
        return Q(channel_id=pause.channel_id)
    if pause.scope == PauseScope.BRAND:
        return Q(channel__brand_id=pause.brand_id)
    if pause.scope == PauseScope.REGION:
        return Q(
            channel__organization_id=pause.organization_id, channel__region__iexact=pause.region
        )
    return Q(channel__organization_id=pause.organization_id)


def held_q(pauses: Sequence[PublishingPause]) -> Q | None:
    """Variants under any of these pauses (None: no pause at all)."""
    if not pauses:
        return None
    return reduce(or_, (_pause_q(p) for p in pauses))


def pause_holding(channel: Channel, pauses: Sequence[PublishingPause]) -> PublishingPause | None:
    """The pause that holds a channel's posts, if any (the earliest-started wins)."""
    for pause in sorted(pauses, key=lambda p: (p.starts_at, p.pk)):
        if pause.organization_id != channel.organization_id:
            continue
        if pause.scope == PauseScope.ORGANIZATION:
            return pause
        if pause.scope == PauseScope.BRAND and pause.brand_id == channel.brand_id:
            return pause
        if pause.scope == PauseScope.CHANNEL and pause.channel_id == channel.pk:
            return pause
        if pause.scope == PauseScope.REGION and pause.region.casefold() == (
            channel.region.casefold()
        ):
            return pause
    return None


# --- Claiming ------------------------------------------------------------------------------------


def _due_q(now: datetime) -> Q:
    """Scheduled, its time come, and its next attempt (after a retry) due too."""
    return Q(state=VariantState.SCHEDULED, publish_at__lte=now) & (
        Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now)
    )


@dataclass(frozen=True)
class Claim:
    token: str
    variant_ids: list[int]


def claim_due(*, limit: int, now: datetime | None = None) -> Claim:
    """Claim up to `limit` due variants in one conditional UPDATE; returns what this call got.

    The UPDATE's own WHERE repeats every condition, so when two processes race for the same rows
    each row changes once: PostgreSQL re-checks the WHERE of a row another transaction just
    changed, and SQLite runs one writer at a time. Rows under an active pause are not touched.
    """
    now = now or timezone.now()
    token = uuid.uuid4().hex
    due = _due_q(now)
    held = held_q(active_pauses(now))
    candidates = Variant.objects.filter(due)
    if held is not None:
        candidates = candidates.exclude(held)
    if not candidates.exists():
        # Nothing due: no write transaction (on SQLite it would queue behind every writer).
        return Claim(token=token, variant_ids=[])
    # Earliest due first: a variant back from a retry has waited longest, so it goes ahead of
    # those due after it instead of queueing behind a backlog (which would be its lateness).
    candidate_ids = candidates.order_by("publish_at", "pk").values("pk")[:limit]
    with transaction.atomic():
        target = Variant.objects.filter(due, pk__in=candidate_ids)
        if held is not None:
            target = target.exclude(held)
        changed = target.update(
            state=VariantState.PUBLISHING,
            lease_token=token,
            lease_expires_at=now + lease_duration(),
            attempts=F("attempts") + 1,
            updated_at=now,
        )
        ids = (
            list(
                Variant.objects.filter(lease_token=token, state=VariantState.PUBLISHING)
                .order_by("pk")
                .values_list("pk", flat=True)
            )
            if changed
            else []
        )
        if ids:
            # Any channel being published makes its post "publishing" (derive_post_state).
            Post.objects.filter(
                pk__in=Variant.objects.filter(lease_token=token).values("post_id")
            ).exclude(state=PostState.PUBLISHING).update(state=PostState.PUBLISHING)
    return Claim(token=token, variant_ids=ids)


def _due(now: datetime) -> QuerySet[Variant]:
    """Variants due now and under no active pause."""
    due = Variant.objects.filter(_due_q(now))
    held = held_q(active_pauses(now))
    return due.exclude(held) if held is not None else due


def running_loops(now: datetime | None = None) -> int:
    """About how many publishing loops are at work: each holds one live lease token at a time."""
    now = now or timezone.now()
    return (
        Variant.objects.filter(state=VariantState.PUBLISHING, lease_expires_at__gt=now)
        .values("lease_token")
        .distinct()
        .count()
    )


def dispatch_due() -> int:
    """Start publishing loops for what is due; returns how many variants were due.

    Nothing is claimed here. Each loop (`tasks.publish_variants`, running `keep_publishing`)
    claims a chunk when it starts and publishes it itself, so a claimed chunk never waits in the
    broker behind busy workers while its lease runs out. Up to PUBLISHING_LOOPS loops are kept
    going: this starts the ones missing (a loop hands over to a fresh one when its time budget is
    spent, so they keep themselves going; one whose worker died is replaced here). A start sent
    while every worker slot is busy waits in the broker holding nothing, and finds nothing to do
    if the others got there first.
    """
    from greenroom.publishing import tasks

    now = timezone.now()
    waiting = _due(now).count()
    if not waiting:
        return 0
    chunk = max(1, int(settings.PUBLISHING_TASK_CHUNK))
    missing = int(settings.PUBLISHING_LOOPS) - running_loops(now)
    for _start in range(min(missing, -(-waiting // chunk))):
        tasks.publish_variants.delay([], "")
    return waiting


def reclaim_expired(*, limit: int = 500, now: datetime | None = None) -> int:
    """Take over variants whose lease expired (their worker died or lost its task).

    They go back to `scheduled`, due now, with `outcome_unknown` set: whoever claims them next
    asks the network before sending anything. Claims go earliest-due first, so they are next;
    no task is queued for them (in a busy broker it would wait behind the backlog, and its
    lease could run out again before it started).
    """
    now = now or timezone.now()
    token = uuid.uuid4().hex
    expired = Q(state=VariantState.PUBLISHING, lease_expires_at__lt=now)
    if not Variant.objects.filter(expired).exists():
        return 0
    candidate_ids = Variant.objects.filter(expired).order_by("pk").values("pk")[:limit]
    with transaction.atomic():
        # The token only marks this call's rows until the attempt rows are written. Not counted
        # as another attempt: the claim that picks them up counts one, and the task may simply
        # have waited in the broker; a variant must not run out of attempts it never made.
        changed = Variant.objects.filter(expired, pk__in=candidate_ids).update(
            state=VariantState.SCHEDULED,
            lease_token=token,
            lease_expires_at=None,
            outcome_unknown=True,
            next_attempt_at=now,
            attempts=F("attempts") - 1,
            updated_at=now,
        )
        if not changed:
            return 0
        taken = list(
            Variant.objects.filter(lease_token=token, state=VariantState.SCHEDULED)
            .order_by("pk")
            .values_list("pk", "attempts")
        )
        Variant.objects.filter(lease_token=token).update(lease_token="")
        # For the post's history: the try that went quiet.
        PublishAttempt.objects.bulk_create(
            PublishAttempt(
                variant_id=pk,
                number=attempts + 1,
                started_at=now,
                finished_at=now,
                outcome=AttemptOutcome.UNKNOWN,
                error=_(
                    "No worker reported within the lease (it stopped, or its task was lost); "
                    "Greenroom takes over and checks with the network before sending."
                ),
                error_code="lease_expired",
            )
            for pk, attempts in taken
        )
    logger.warning("reclaimed %s variants whose lease expired", len(taken))
    return len(taken)


_last_reclaim = {"at": 0.0}
_reclaim_lock = threading.Lock()


def _reclaim_now_and_then() -> None:
    """Take back expired leases from the publishing loop itself, at most every
    PUBLISHING_RECLAIM_EVERY_S per process: while every worker slot is publishing, beat's
    reconciler task waits in the broker behind them, and a dead worker's claims with it."""
    every = float(settings.PUBLISHING_RECLAIM_EVERY_S)
    with _reclaim_lock:
        if time.monotonic() - _last_reclaim["at"] < every:
            return
        _last_reclaim["at"] = time.monotonic()
    reclaim_expired()


class Run(NamedTuple):
    claimed: int
    # True when the time budget ran out while variants were still due.
    more_due: bool


def keep_publishing(*, budget_s: float | None = None) -> Run:
    """Claim a chunk at a time and publish it right here, until nothing is due or the time
    budget is spent.

    A worker that just finished a chunk goes on with the next one itself instead of a round
    trip through the broker (in embedded mode a SQLite file, slow to write): the claimer still
    is the only one who publishes what it claimed, and nothing it claimed waits in a queue.
    """
    budget = float(settings.PUBLISHING_TASK_BUDGET_S if budget_s is None else budget_s)
    chunk = max(1, int(settings.PUBLISHING_TASK_CHUNK))
    deadline = timezone.now() + timedelta(seconds=budget)
    total = 0
    while timezone.now() < deadline:
        _reclaim_now_and_then()
        claim = claim_due(limit=chunk)
        if not claim.variant_ids:
            return Run(total, more_due=False)
        total += len(claim.variant_ids)
        publish_batch(claim.variant_ids, claim.token)
    return Run(total, more_due=True)


# --- Publishing claimed variants -----------------------------------------------------------------
#
# A chunk of claimed variants goes through three steps: load them (one query), talk to the
# network for each (concurrently: the time is spent waiting for the network), then write every
# outcome in one transaction. Each write is still conditional on the variant's lease token, so
# batching changes how many transactions there are, not what any of them may overwrite.


class LeaseKeeper:
    """The lease tokens this process is publishing under, renewed together by one thread.

    A lease must outlast the slowest network call, or the reconciler would take over a variant
    whose worker is only waiting; but the longer it is, the longer a dead worker's variants wait.
    Renewing every held lease every quarter of its length from a thread of the worker's own
    (started with the worker, `start()`) decouples the two: the lease can be short (a SIGKILLed
    worker's claims are taken over within one lease) while a call may take as long as its
    timeout. Every write of the engine stays conditional on the token, so a renewal never
    revives a lease that was taken over: it extends only rows still `publishing` under it.
    """

    def __init__(self) -> None:
        self._held: dict[str, int] = {}
        self._lock = threading.Lock()
        self._started_in: int | None = None

    @contextmanager
    def holding(self, token: str) -> Iterator[None]:
        with self._lock:
            self._held[token] = self._held.get(token, 0) + 1
        try:
            yield
        finally:
            with self._lock:
                left = self._held.pop(token) - 1
                if left:
                    self._held[token] = left

    def tokens(self) -> list[str]:
        with self._lock:
            return list(self._held)

    def renew(self) -> int:
        """Extend every lease this process holds; how many variants were extended."""
        tokens = self.tokens()
        if not tokens:
            return 0
        return Variant.objects.filter(lease_token__in=tokens, state=VariantState.PUBLISHING).update(
            lease_expires_at=timezone.now() + lease_duration()
        )

    def start(self) -> None:
        """Renew from a daemon thread of this process (once per process; a forked child starts
        its own)."""
        if self._started_in == os.getpid():
            return
        self._started_in = os.getpid()

        def loop() -> None:
            while True:
                time.sleep(lease_duration().total_seconds() / 4)
                try:
                    self.renew()
                except Exception:
                    # The database was busy or gone: the next round tries again, and the
                    # engine's own checks before each send still hold.
                    logger.exception("could not renew publishing leases")
                    connections.close_all()

        threading.Thread(target=loop, name="publishing-leases", daemon=True).start()


lease_keeper = LeaseKeeper()


def _ours(variant_id: int, token: str) -> Q:
    return Q(pk=variant_id, state=VariantState.PUBLISHING, lease_token=token)


def _renew(variant_id: int, token: str) -> bool:
    """Extend our lease; False when it is no longer ours (reclaimed, or cancelled meanwhile)."""
    now = timezone.now()
    return bool(
        Variant.objects.filter(_ours(variant_id, token)).update(
            lease_expires_at=now + lease_duration()
        )
    )


@dataclass(frozen=True)
class Try:
    """One attempt in progress; written as a PublishAttempt row with its outcome, in the same
    transaction as the outcome itself (one write per attempt instead of two)."""

    variant_id: int
    number: int
    started_at: datetime
    worker: str

    def finished(self, outcome: str, error: str = "", code: str = "") -> PublishAttempt:
        return PublishAttempt(
            variant_id=self.variant_id,
            number=self.number,
            started_at=self.started_at,
            finished_at=timezone.now(),
            outcome=outcome,
            error=error,
            error_code=code[:100],
            worker=self.worker,
        )


class Verdict(enum.Enum):
    """What an attempt came to, before it is written."""

    SUCCEED = "succeed"  # on the network (sent now, or found there by its key)
    FAIL = "fail"  # for good, with a message
    RETRY = "retry"  # temporary or unknown: back to scheduled, or failed past the cap
    RELEASE = "release"  # a pause holds it: back to scheduled, unsent
    LEASE_LOST = "lease_lost"  # no longer ours: write nothing but the attempt


@dataclass(frozen=True)
class Decision:
    """One variant's attempt as decided by talking to the network; `_write` records it.

    Why a variant failed (`message`, `Words`): the network's own words (a plain string, kept as
    it came), or a function that writes Greenroom's sentence in the active language. The failure
    notice calls it again in its recipient's language (`_fail_with`), so the notice never reads
    in the worker's.
    """

    variant: Variant
    token: str
    attempt: Try
    verdict: Verdict
    ref: PublishedRef | None = None
    found_existing: bool = False
    message: Words = ""
    code: str = ""
    reconnect: bool = False
    error: ConnectorError | None = None
    unknown: bool = False
    pause: PublishingPause | None = None


def _ensure_lease(variant: Variant, token: str) -> bool:
    """Before talking to the network: hold the lease with at least half its length left, so
    the reconciler cannot take the variant over while a request is in flight. Renews (a
    conditional write) only when needed; False when the lease is no longer ours."""
    left = (
        (variant.lease_expires_at - timezone.now()).total_seconds()
        if variant.lease_expires_at is not None
        else 0.0
    )
    if left > lease_duration().total_seconds() / 2:
        return True
    if not _renew(variant.pk, token):
        return False
    variant.lease_expires_at = timezone.now() + lease_duration()
    return True


def _load(variant_ids: Sequence[int], token: str) -> list[Variant]:
    """The variants of `variant_ids` that `token` still holds, with what publishing reads."""
    return list(
        Variant.objects.select_related(
            "post",
            "post__author",
            "channel",
            "channel__brand",
            "channel__organization",
            "channel__credentials",
        )
        .filter(pk__in=list(variant_ids), state=VariantState.PUBLISHING, lease_token=token)
        .order_by("pk")
    )


@dataclass(frozen=True)
class _Chunk:
    """What the sends of a chunk read from the database, read once by the thread that claimed
    it (network threads then rarely need a connection of their own): the active pauses and why
    a publishing policy, if any, stops each variant."""

    token: str
    pauses: Sequence[PublishingPause]
    refusals: dict[int, Exception]


def _policy_refusals(variants: Sequence[Variant]) -> dict[int, Exception]:
    refusals: dict[int, Exception] = {}
    # The chunk's variants are checked together: each organisation's rules are read once.
    with content.policy_batch():
        for variant in variants:
            try:
                content.check_policies(variant)
            except Exception as exc:  # a blocking rule, or a broken check: `_decide` handles both
                refusals[variant.pk] = exc
    return refusals


def _decide(variant: Variant, chunk: _Chunk) -> Decision:
    """Talk to the network about one held variant; writes nothing but a lease renewal."""
    token = chunk.token
    attempt = Try(
        variant_id=variant.pk,
        number=variant.attempts,
        started_at=timezone.now(),
        worker=worker_name(),
    )

    decided = functools.partial(Decision, variant, token, attempt)
    pause = pause_holding(variant.channel, chunk.pauses)
    if pause is not None:
        # Paused after the claim: hand it back untouched; it waits like the others.
        return decided(Verdict.RELEASE, pause=pause)
    try:
        connector = registry.connector_for(variant.channel)
    except ImproperlyConfigured:
        network = variant.channel.kind
        return decided(
            Verdict.FAIL,
            message=lambda: _(sentences.NO_CONNECTOR) % {"network": network},
            code="no_connector",
        )
    try:
        if not _ensure_lease(variant, token):
            return decided(Verdict.LEASE_LOST)
        if variant.outcome_unknown:
            found = connector.find_published(variant.idempotency_key)
            if found is not None:
                return decided(Verdict.SUCCEED, ref=found, found_existing=True)
            if not _ensure_lease(variant, token):
                return decided(Verdict.LEASE_LOST)
        if variant.attempts > max_attempts():
            tries = max_attempts()
            return decided(
                Verdict.FAIL,
                message=lambda: _(sentences.NO_CLEAR_ANSWER) % {"n": tries},
                code=variant.error_code or "gave_up",
            )
        # Publishing policies, checked again just before sending (read with the chunk): a
        # blocking rule fails the variant for good (ConnectorError "policy_blocked", with the
        # rule's reason). Not before asking the network: a post already out stays published.
        refused = chunk.refusals.get(variant.pk)
        if refused is not None:
            raise refused
        outgoing = OutgoingPost(
            text=content.final_text(variant),
            idempotency_key=variant.idempotency_key,
            placement=variant.placement,
            media=content.media_items(variant),
            # The variant's network options (checked against greenroom.publishing.options when
            # saved) are the keys each connector reads from extra.
            extra={
                **variant.options,
                **({"first_comment": variant.first_comment} if variant.first_comment else {}),
            },
        )
        ref = connector.publish(outgoing)
    except OutcomeUnknown as exc:
        return decided(Verdict.RETRY, error=exc, unknown=True)
    except ConnectorError as exc:
        if exc.permanent:
            # Greenroom's own sentence (a policy block) is written again in the author's language.
            words: Words = exc.words or exc.message
            return decided(Verdict.FAIL, message=words, code=exc.code, reconnect=True)
        return decided(Verdict.RETRY, error=exc, unknown=False)
    except Exception:
        # A bug or crash inside the connector: whether the post went out is unknown.
        logger.exception("connector crashed publishing variant %s", variant.pk)

        def internal() -> str:
            return _("Greenroom hit an internal error while publishing; it will check and retry.")

        return decided(
            Verdict.RETRY,
            error=ConnectorError(internal(), code="internal_error", words=internal),
            unknown=True,
        )
    return decided(Verdict.SUCCEED, ref=ref)


def _decide_in_thread(variant: Variant, chunk: _Chunk) -> Decision:
    try:
        return _decide(variant, chunk)
    finally:
        # The connection a lease renewal or a token refresh may have opened in this network
        # thread: closed now, rather than held open by an idle thread.
        connections.close_all()


_pools = threading.local()


def _network_pool(size: int) -> ThreadPoolExecutor:
    """This thread's pool for network calls, kept from chunk to chunk (starting threads for
    every chunk cost more CPU than the chunk's own database work); a forked child starts its own.
    """
    pool: ThreadPoolExecutor | None = getattr(_pools, "pool", None)
    if pool is None or _pools.key != (os.getpid(), size):
        if pool is not None:
            pool.shutdown(wait=False)
        pool = ThreadPoolExecutor(max_workers=size, thread_name_prefix="publish")
        _pools.pool, _pools.key = pool, (os.getpid(), size)
    return pool


def _decide_all(variants: Sequence[Variant], token: str) -> list[Decision]:
    """Decide every variant of a chunk, concurrently up to PUBLISHING_TASK_THREADS (the time
    goes into waiting for the network, so threads overlap the waits)."""
    # Read once per chunk, just before its sends.
    chunk = _Chunk(token, active_pauses(), _policy_refusals(variants))
    threads = max(1, int(settings.PUBLISHING_TASK_THREADS))
    # Inside a transaction (tests, the demo seed) other threads would not see its rows.
    if threads == 1 or len(variants) == 1 or transaction.get_connection().in_atomic_block:
        return [_decide(variant, chunk) for variant in variants]
    pool = _network_pool(threads)
    return list(pool.map(lambda v: _decide_in_thread(v, chunk), variants))


def _publish(variant_ids: Sequence[int], token: str) -> dict[int, str]:
    """Publish the claimed variants that `token` still holds; each one's outcome by id
    ("stale" for those it no longer holds: reclaimed, cancelled or finished meanwhile)."""
    with lease_keeper.holding(token):
        variants = _load(variant_ids, token)
        outcomes = dict.fromkeys(variant_ids, "stale")
        if variants:
            decisions = _decide_all(variants, token)
            for decision, outcome in zip(decisions, _write(decisions), strict=True):
                outcomes[decision.variant.pk] = outcome
    return outcomes


def publish_one(variant_id: int, token: str) -> str:
    """Publish one claimed variant, if `token` still holds it. Returns the attempt's outcome."""
    return _publish([variant_id], token)[variant_id]


def publish_batch(variant_ids: Sequence[int], token: str) -> dict[str, int]:
    """Publish claimed variants (a chunk of one claim); returns a count per outcome."""
    counts: dict[str, int] = {}
    for outcome in _publish(variant_ids, token).values():
        counts[outcome] = counts.get(outcome, 0) + 1
    return counts


# --- Outcomes ------------------------------------------------------------------------------------


@dataclass
class _Batch:
    """What a chunk's outcomes add besides the variant rows: attempt rows, audit events (written
    last, together, so the audit chain's head is held once and briefly) and posts whose state
    to recompute."""

    attempts: list[PublishAttempt] = field(default_factory=list)
    events: list[audit.Entry] = field(default_factory=list)
    posts: set[int] = field(default_factory=set)


def _write(decisions: Sequence[Decision]) -> list[str]:
    """Record a chunk's outcomes in one transaction; the outcome of each, in order.

    If the chunk's transaction fails (a database error), each outcome is written on its own,
    so one bad row does not hold back the others; one that still cannot be written stays
    leased, and the reconciler asks the network about it when the lease expires.
    """
    try:
        with transaction.atomic():
            return _apply(decisions)
    except DatabaseError:
        if len(decisions) == 1:
            raise
        logger.warning(
            "writing %s outcomes together failed; writing them one by one",
            len(decisions),
            exc_info=True,
        )
    outcomes = []
    for decision in decisions:
        try:
            with transaction.atomic():
                outcomes += _apply([decision])
        except DatabaseError:
            logger.exception("could not record the outcome of variant %s", decision.variant.pk)
            outcomes.append("unrecorded")
    return outcomes


def _apply(decisions: Sequence[Decision]) -> list[str]:
    batch = _Batch()
    outcomes = [_APPLY[decision.verdict](decision, batch) for decision in decisions]
    for post_id in sorted(batch.posts):  # one order for every writer: no lock cycles
        refresh_post_state(post_id)
    PublishAttempt.objects.bulk_create(batch.attempts)
    audit.record_many(batch.events, actor=None)
    return outcomes


def _succeed(d: Decision, batch: _Batch) -> str:
    assert d.ref is not None
    now = timezone.now()
    variant, ref = d.variant, d.ref
    changed = Variant.objects.filter(_ours(variant.pk, d.token)).update(
        state=VariantState.PUBLISHED,
        external_id=ref.external_id[:200],
        external_url=safe_url(ref.url),
        published_at=ref.published_at or now,
        lease_token="",
        lease_expires_at=None,
        outcome_unknown=False,
        last_error="",
        error_code="",
        updated_at=now,
    )
    if not changed:
        # Our lease was taken over; the new holder finds this post by its key.
        batch.attempts.append(d.attempt.finished(AttemptOutcome.LEASE_LOST))
        return AttemptOutcome.LEASE_LOST
    # In the chunk's transaction: a first comment's "pending" mark commits with the success, and
    # its task is queued after the commit (greenroom/publishing/first_comments.py).
    variant_published.send(sender=Variant, variant_id=variant.pk, variant=variant)
    outcome = AttemptOutcome.FOUND if d.found_existing else AttemptOutcome.PUBLISHED
    batch.attempts.append(d.attempt.finished(outcome))
    batch.events.append(
        audit.Entry(
            PublishingAction.VARIANT_PUBLISHED,
            organization=variant.channel.organization,
            target=variant,
            after={
                "external_id": ref.external_id,
                "url": ref.url,
                "found_existing": d.found_existing,
                "attempt": variant.attempts,
            },
        )
    )
    batch.posts.add(variant.post_id)
    return outcome


def safe_url(url: str) -> str:
    """A network's link to the post, kept only if it is a plain web link (it is shown as one)."""
    return url[:2000] if url.lower().startswith(("https://", "http://")) else ""


def _fail(d: Decision, batch: _Batch) -> str:
    return _fail_with(d, batch, d.message, d.code, reconnect=d.reconnect)


def _fail_with(d: Decision, batch: _Batch, words: Words, code: str, *, reconnect: bool) -> str:
    variant = d.variant
    # The variant, its attempt and the audit row keep Greenroom's sentence in English, which
    # pages say again in their reader's language (`sentences.say_again`), never the worker's;
    # the author's notice is written in the author's own (`notify` calls the function in the
    # recipient's language).
    message = as_stored(words)
    changed = Variant.objects.filter(_ours(variant.pk, d.token)).update(
        state=VariantState.FAILED,
        last_error=message,
        error_code=code[:100],
        lease_token="",
        lease_expires_at=None,
        updated_at=timezone.now(),
    )
    if not changed:
        batch.attempts.append(d.attempt.finished(AttemptOutcome.LEASE_LOST, message, code))
        return AttemptOutcome.LEASE_LOST
    batch.attempts.append(d.attempt.finished(AttemptOutcome.FAILED, message, code))
    batch.events.append(
        audit.Entry(
            PublishingAction.VARIANT_FAILED,
            organization=variant.channel.organization,
            target=variant,
            after={"error": message, "code": code, "attempt": variant.attempts},
        )
    )
    notify(
        variant.post,
        variant.post.author,
        "failed",
        lambda: (
            _("“%(post)s” was not published on %(channel)s: %(error)s")
            % {
                "post": variant.post,
                "channel": variant.channel,
                "error": in_active_language(words),
            }
        ),
    )
    if reconnect and code in RECONNECT_CODES:
        _mark_needs_reconnect(variant.channel)
    batch.posts.add(variant.post_id)
    return AttemptOutcome.FAILED


def _mark_needs_reconnect(channel: Channel) -> None:
    from greenroom.core.actions import do_update_channel

    fresh = Channel.objects.get(pk=channel.pk)
    if fresh.status == ChannelStatus.ACTIVE:
        do_update_channel(fresh, status=ChannelStatus.NEEDS_RECONNECT, acting_user=None)


def _retry(d: Decision, batch: _Batch) -> str:
    assert d.error is not None
    variant, exc, unknown = d.variant, d.error, d.unknown
    # The network's last answer is its own words; Greenroom's sentence around it (and the
    # answer, when Greenroom wrote it) is rendered in whoever reads it's language (`_fail_with`).
    tries, words = variant.attempts, exc.words or exc.message
    # What the variant and its attempt keep until then: shown again in the reader's language.
    stored = as_stored(words)
    if unknown and variant.attempts >= max_attempts() + UNKNOWN_EXTRA_ATTEMPTS:
        return _fail_with(
            d,
            batch,
            lambda: _(sentences.OUTCOME_UNKNOWN) % {"n": tries, "error": in_active_language(words)},
            exc.code or "outcome_unknown",
            reconnect=False,
        )
    # Past the cap an unknown outcome is not a failure yet: the next round asks the network
    # first and fails with a clear message only if the post is not there.
    if variant.attempts >= max_attempts() and not unknown:
        return _fail_with(
            d,
            batch,
            lambda: _(sentences.GAVE_UP) % {"n": tries, "error": in_active_language(words)},
            exc.code or "gave_up",
            reconnect=False,
        )
    now = timezone.now()
    delay = backoff(variant.attempts)
    if exc.retry_after:
        delay = max(delay, float(exc.retry_after))
    outcome = AttemptOutcome.UNKNOWN if unknown else AttemptOutcome.RETRY
    fields: dict[str, object] = {
        "state": VariantState.SCHEDULED,
        "next_attempt_at": now + timedelta(seconds=delay),
        "lease_token": "",
        "lease_expires_at": None,
        "last_error": stored,
        "error_code": exc.code[:100],
        "updated_at": now,
    }
    if unknown:
        fields["outcome_unknown"] = True
    changed = Variant.objects.filter(_ours(variant.pk, d.token)).update(**fields)
    if not changed:
        batch.attempts.append(d.attempt.finished(AttemptOutcome.LEASE_LOST, stored, exc.code))
        return AttemptOutcome.LEASE_LOST
    batch.attempts.append(d.attempt.finished(outcome, stored, exc.code))
    batch.posts.add(variant.post_id)
    logger.info("variant %s: %s (%s); next try in %.0f s", variant.pk, outcome, exc.code, delay)
    return outcome


def _release(d: Decision, batch: _Batch) -> str:
    """Give a claimed variant back, unsent, because a pause now holds it."""
    assert d.pause is not None
    changed = Variant.objects.filter(_ours(d.variant.pk, d.token)).update(
        state=VariantState.SCHEDULED,
        lease_token="",
        lease_expires_at=None,
        # The claim counted an attempt that never happened.
        attempts=F("attempts") - 1,
        updated_at=timezone.now(),
    )
    outcome = AttemptOutcome.PAUSED if changed else AttemptOutcome.LEASE_LOST
    reason = d.pause.reason
    # Stored in English, said again in the reader's language by the post's history.
    held = as_stored(lambda: _(sentences.HELD_BY_PAUSE) % {"reason": reason})
    batch.attempts.append(d.attempt.finished(outcome, held))
    if changed:
        batch.posts.add(d.variant.post_id)
    return outcome


def _lease_lost(d: Decision, batch: _Batch) -> str:
    batch.attempts.append(d.attempt.finished(AttemptOutcome.LEASE_LOST))
    return AttemptOutcome.LEASE_LOST


_APPLY: dict[Verdict, Callable[[Decision, _Batch], str]] = {
    Verdict.SUCCEED: _succeed,
    Verdict.FAIL: _fail,
    Verdict.RETRY: _retry,
    Verdict.RELEASE: _release,
    Verdict.LEASE_LOST: _lease_lost,
}
