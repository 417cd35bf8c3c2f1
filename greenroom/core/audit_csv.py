"""The audit log as CSV, streamed: the same columns from the audit page's export and the API's.

Cells that a spreadsheet would run as a formula are neutralised (actor and target names are
user-controlled); a byte-order mark lets spreadsheet programs read Korean names correctly.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable, Iterator
from datetime import UTC, tzinfo
from typing import Any

from django.http import StreamingHttpResponse
from django.utils import timezone

from greenroom.core.models import AuditEvent, Organization

HEADER = [
    "id",
    "created_at_utc",
    "created_at_local",
    "actor",
    "action",
    "target_type",
    "target_id",
    "target",
    "before",
    "after",
    "ip",
    "request_id",
    "hash",
]


class _Echo:
    """csv.writer writes into this and gets the line back, so rows can be streamed."""

    def write(self, value: str) -> str:
        return value


def cell(value: Any) -> str:
    text = (
        ""
        if value is None
        else value
        if isinstance(value, str)
        else json.dumps(value, ensure_ascii=False, sort_keys=True)
    )
    # Spreadsheets run cells that start with these as formulas.
    if text[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + text
    return text


def lines(events: Iterable[AuditEvent], zone: tzinfo) -> Iterator[str]:
    """The header, then one CSV line per event (times in UTC and in `zone`)."""
    writer = csv.writer(_Echo())
    yield "\ufeff" + writer.writerow(HEADER)
    for event in events:
        yield writer.writerow(
            [
                event.pk,
                event.created_at.astimezone(UTC).isoformat(),
                event.created_at.astimezone(zone).isoformat(),
                cell(event.actor_name),
                cell(event.action),
                cell(event.target_type),
                cell(event.target_id),
                cell(event.target_repr),
                cell(event.before),
                cell(event.after),
                event.ip or "",
                event.request_id,
                event.hash,
            ]
        )


def response(org: Organization, events: Any, zone: tzinfo) -> StreamingHttpResponse:
    """A streamed CSV download of `events` (a queryset, read in chunks, in its own order)."""
    streamed = StreamingHttpResponse(
        lines(events.iterator(chunk_size=500), zone), content_type="text/csv; charset=utf-8"
    )
    stamp = timezone.localtime().strftime("%Y%m%d-%H%M")
    streamed["Content-Disposition"] = (
        f'attachment; filename="greenroom-audit-{org.slug}-{stamp}.csv"'
    )
    return streamed
