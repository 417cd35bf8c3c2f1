"""Celery tasks of the publishing engine (the logic lives in engine.py)."""

from __future__ import annotations

from greenroom.celery import app
from greenroom.publishing import engine

# Tasks bind to Greenroom's Celery app (not shared_task), so whoever imports them sends through
# the configured broker, or runs them eagerly in tests, even where greenroom.celery was not
# imported first.


@app.task(name="greenroom.publishing.tasks.dispatch_due", ignore_result=True)
def dispatch_due() -> int:
    """Run by beat every few seconds: claim what is due and send it to workers."""
    return engine.dispatch_due()


@app.task(name="greenroom.publishing.tasks.publish_variants", ignore_result=True)
def publish_variants(variant_ids: list[int], token: str) -> dict[str, int]:
    """Publish variants claimed with `token` (a stale token does nothing), then go on claiming
    and publishing what is due for a while (PUBLISHING_TASK_BUDGET_S), so a busy queue does not
    wait for beat's next tick nor for the broker.

    When the budget runs out with posts still due, the task hands over to a fresh one (with
    nothing claimed) instead of going on: the worker's other queued tasks get their turn, and
    the publishing does not wait for beat to start it again.
    """
    outcomes = engine.publish_batch(variant_ids, token) if variant_ids else {}
    if engine.keep_publishing().more_due:
        publish_variants.delay([], "")
    return outcomes


@app.task(name="greenroom.publishing.tasks.reclaim_expired", ignore_result=True)
def reclaim_expired() -> int:
    """Run by beat: take over variants whose worker died (lease expired)."""
    return engine.reclaim_expired()
