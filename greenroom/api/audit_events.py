"""The audit log: who did what, when, from where (append-only and hash-chained)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.http import HttpRequest, StreamingHttpResponse
from django.utils import timezone
from ninja import Field, Query, Router, Schema

from greenroom.core import audit_csv
from greenroom.core.actions import do_record_audit_export
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


class AuditFilters(Schema):
    action: ShortText | None = Field(
        None, description="Exact action (member.added), or a prefix ending in a dot (member.)."
    )
    actor: ObjectId | None = Field(None, description="Only events by this user id.")
    target_type: ShortText | None = Field(None, description="e.g. core.channel")
    since: UtcDatetime | None = Field(None, description="Events at or after this time (ISO 8601).")
    until: UtcDatetime | None = Field(None, description="Events before this time (ISO 8601).")


class AuditQuery(PageQuery, AuditFilters):
    pass


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
    return paginate(_filtered(_events(caller), query).order_by("-id"), query)


def _filtered(events: Any, query: AuditFilters) -> Any:
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
    return events


@router.get(
    "/audit-events/export",
    response={**errors(401, 403, 422)},
    summary="Export audit events as CSV",
    description="Every matching event, newest first, streamed as CSV (UTF-8 with a byte-order "
    "mark; the same columns as the audit page's export). The export is itself audited "
    "(audit.exported, with its filters). Needs view_audit (owners, admins, auditors).",
    openapi_extra={
        "responses": {
            "200": {
                "description": "The CSV file.",
                "content": {"text/csv": {"schema": {"type": "string"}}},
            }
        }
    },
)
def export_audit_events(request: HttpRequest, query: Query[AuditFilters]) -> StreamingHttpResponse:
    caller = caller_of(request)
    require(caller, "view_audit")
    events = _filtered(_events(caller), query).order_by("-id")
    filters = {k: str(v) for k, v in query.dict().items() if v is not None}
    do_record_audit_export(caller.organization, filters=filters, acting_user=caller.user)
    return audit_csv.response(caller.organization, events, timezone.get_current_timezone())


@router.get(
    "/audit-events/{event_id}",
    response={200: AuditEventOut, **errors(401, 403, 404)},
    summary="Get an audit event",
)
def get_audit_event(request: HttpRequest, event_id: ObjectId) -> AuditEvent:
    event: AuditEvent = get_or_404(_events(caller_of(request)), event_id, "audit event")
    return event
