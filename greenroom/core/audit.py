"""The hash-chained audit log.

Every event's hash covers its own fields and the previous event's hash, so editing or deleting a
row breaks the chain at that row; `AuditChainHead` records the newest hash so deleting the newest
rows is caught too. `record()` must run inside the action's transaction: the event commits or
rolls back with the change it describes.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from django.db import models, transaction
from django.utils import timezone

from greenroom.core import context
from greenroom.core.models import AuditChainHead, AuditEvent, Organization, User

GENESIS = "0" * 64


def _canonical(event: AuditEvent) -> bytes:
    created: datetime = event.created_at
    payload = {
        "organization": event.organization_id,
        "created_at": created.astimezone(UTC).isoformat(timespec="microseconds"),
        "actor": event.actor_id,
        "actor_name": event.actor_name,
        "action": event.action,
        "target_type": event.target_type,
        "target_id": event.target_id,
        "target_repr": event.target_repr,
        "before": event.before,
        "after": event.after,
        "ip": event.ip,
        "request_id": event.request_id,
        "prev_hash": event.prev_hash,
    }
    return json.dumps(payload, sort_keys=True, separators=(",", ":"), default=str).encode()


def compute_hash(event: AuditEvent) -> str:
    return hashlib.sha256(_canonical(event)).hexdigest()


def snapshot(obj: models.Model, fields: Iterable[str]) -> dict[str, Any]:
    """A JSON-safe picture of some fields, for an event's before/after."""
    out: dict[str, Any] = {}
    for name in fields:
        value = getattr(obj, name)
        if isinstance(value, models.Model):
            value = value.pk
        elif isinstance(value, datetime):
            value = value.isoformat()
        out[name] = value
    return out


def record(
    action: str,
    *,
    actor: User | None,
    organization: Organization | None,
    target: models.Model | None = None,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
) -> AuditEvent:
    """Append one event to the chain. Call inside the action's transaction."""
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("audit.record() must run inside the action's transaction")
    ctx = context.current()
    # Locking the head serialises writers on PostgreSQL; SQLite runs IMMEDIATE transactions.
    head = AuditChainHead.objects.select_for_update().filter(pk=1).first()
    if head is None:
        head = AuditChainHead.objects.create(pk=1)
    event = AuditEvent(
        organization=organization,
        created_at=timezone.now(),
        actor=actor,
        actor_name=actor.name if actor is not None else "system",
        action=action,
        target_type=target._meta.label_lower if target is not None else "",
        target_id=str(target.pk) if target is not None else "",
        target_repr=str(target)[:300] if target is not None else "",
        before=before,
        after=after,
        ip=ctx.ip,
        request_id=ctx.request_id,
        prev_hash=head.last_hash or GENESIS,
    )
    # The id is not hashed: order is proven by each event naming its predecessor's hash.
    event.hash = compute_hash(event)
    super(AuditEvent, event).save()
    head.last_event_id = event.pk
    head.last_hash = event.hash
    head.save(update_fields=["last_event_id", "last_hash"])
    return event


@dataclass(frozen=True)
class Entry:
    """One event of a batch for `record_many`: what `record` takes, minus the actor."""

    action: str
    organization: Organization | None
    target: models.Model | None = None
    before: dict[str, Any] | None = None
    after: dict[str, Any] | None = None


def record_many(entries: Iterable[Entry], *, actor: User | None) -> list[AuditEvent]:
    """Append several events by one actor as one chained batch: one head lock, one INSERT.

    For actions that change many objects at once (offboarding someone who holds 300 grants):
    each object still gets its own event, in order, exactly as `record` would have written them.
    Call inside the action's transaction.
    """
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("audit.record_many() must run inside the action's transaction")
    batch = list(entries)
    if not batch:
        return []
    ctx = context.current()
    head = AuditChainHead.objects.select_for_update().filter(pk=1).first()
    if head is None:
        head = AuditChainHead.objects.create(pk=1)
    now = timezone.now()
    prev_hash = head.last_hash or GENESIS
    events = []
    for entry in batch:
        target = entry.target
        event = AuditEvent(
            organization=entry.organization,
            created_at=now,
            actor=actor,
            actor_name=actor.name if actor is not None else "system",
            action=entry.action,
            target_type=target._meta.label_lower if target is not None else "",
            target_id=str(target.pk) if target is not None else "",
            target_repr=str(target)[:300] if target is not None else "",
            before=entry.before,
            after=entry.after,
            ip=ctx.ip,
            request_id=ctx.request_id,
            prev_hash=prev_hash,
        )
        event.hash = prev_hash = compute_hash(event)
        events.append(event)
    # bulk_create bypasses AuditEvent.save(), which only guards against updates.
    AuditEvent.objects.bulk_create(events, batch_size=500)
    last = events[-1]
    last_id = last.pk or AuditEvent.objects.filter(hash=last.hash).values_list("pk", flat=True)[0]
    head.last_event_id = last_id
    head.last_hash = last.hash
    head.save(update_fields=["last_event_id", "last_hash"])
    return events


@dataclass(frozen=True)
class ChainReport:
    ok: bool
    checked: int
    broken_at: int | None = None
    reason: str = ""


def verify(batch: int = 2000) -> ChainReport:
    """Walk the whole chain in id order and name the first broken link."""
    prev_hash = GENESIS
    prev_id = 0
    checked = 0
    last_seen = 0
    while True:
        rows = list(AuditEvent.objects.filter(pk__gt=last_seen).order_by("pk")[:batch])
        if not rows:
            break
        for event in rows:
            if event.prev_hash != prev_hash:
                missing = (
                    ""
                    if event.pk == prev_id + 1
                    else f" (events {prev_id + 1}..{event.pk - 1} are missing)"
                )
                return ChainReport(
                    False,
                    checked,
                    event.pk,
                    f"event #{event.pk} does not follow event #{prev_id}{missing}",
                )
            if compute_hash(event) != event.hash:
                return ChainReport(
                    False, checked, event.pk, f"event #{event.pk} was changed after it was written"
                )
            prev_hash, prev_id = event.hash, event.pk
            checked += 1
        last_seen = rows[-1].pk
    head = AuditChainHead.objects.filter(pk=1).first()
    if head is not None and (head.last_event_id != prev_id or head.last_hash != prev_hash):
        return ChainReport(
            False,
            checked,
            head.last_event_id,
            f"the newest events after #{prev_id} are missing (chain head is #{head.last_event_id})",
        )
    return ChainReport(True, checked)


_LABELS: dict[str, Any] = {}


def name_actions(labels: dict[str, Any]) -> None:
    """Give audit action codes their words (lazy translations), for the audit page and exports."""
    _LABELS.update(labels)


def action_labels() -> dict[str, Any]:
    return _LABELS
