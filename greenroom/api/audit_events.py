"""The audit log: who did what, when, from where (append-only and hash-chained)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.http import HttpRequest
from ninja import Field, Query, Router, Schema

from greenroom.core.models import AuditEvent
from greenroom.core.restrict import RestrictedQuerySet

from .access import get_or_404, require, visible
from .auth import Caller, caller_of
from .paging import paginate
from .schemas import ObjectId, Page, PageQuery, ShortText, UtcDatetime, errors

router = Router(tags=["Audit events"])


class AuditEventOut(Schema):
    id: int
    created_at: datetime
    actor_id: int | None = Field(description="The acting user's id; null for the system.")
    actor_name: str = Field(description="Copied when the event was written.")
    action: str = Field(description="What happened, e.g. member.added or channel.updated.")
    target_type: str = Field(description="The kind of object acted on, e.g. core.channel.")
    target_id: str
    target_repr: str
    before: dict[str, Any] | None
    after: dict[str, Any] | None
    ip: str | None
    request_id: str
    hash: str = Field(description="SHA-256 over this event and the previous event's hash.")
    prev_hash: str


class AuditQuery(PageQuery):
    action: ShortText | None = Field(
        None, description="Exact action (member.added), or a prefix ending in a dot (member.)."
    )
    actor: ObjectId | None = Field(None, description="Only events by this user id.")
    target_type: ShortText | None = Field(None, description="e.g. core.channel")
    since: UtcDatetime | None = Field(None, description="Events at or after this time (ISO 8601).")
    until: UtcDatetime | None = Field(None, description="Events before this time (ISO 8601).")


def _events(caller: Caller) -> RestrictedQuerySet[AuditEvent]:
    return visible(AuditEvent.objects, caller, "view_audit")


@router.get(
    "/audit-events",
    response={200: Page[AuditEventOut], **errors(401, 403, 422)},
    summary="List audit events",
    description="Newest first. Needs view_audit (owners, admins, auditors). Times without an "
    "offset are read as UTC.",
)
def list_audit_events(request: HttpRequest, query: Query[AuditQuery]) -> dict[str, Any]:
    caller = caller_of(request)
    require(caller, "view_audit")
    events = _events(caller)
    if query.action:
        if query.action.endswith("."):
            events = events.filter(action__startswith=query.action)
        else:
            events = events.filter(action=query.action)
    if query.actor is not None:
        events = events.filter(actor_id=query.actor)
    if query.target_type:
        events = events.filter(target_type=query.target_type)
    if query.since is not None:
        events = events.filter(created_at__gte=query.since)
    if query.until is not None:
        events = events.filter(created_at__lt=query.until)
    return paginate(events.order_by("-id"), query)


@router.get(
    "/audit-events/{event_id}",
    response={200: AuditEventOut, **errors(401, 403, 404)},
    summary="Get an audit event",
)
def get_audit_event(request: HttpRequest, event_id: ObjectId) -> AuditEvent:
    event: AuditEvent = get_or_404(_events(caller_of(request)), event_id, "audit event")
    return event
