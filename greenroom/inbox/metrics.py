"""The inbox's numbers, as the staffing model and analytics read them (from InboxActivity).

Everything here is a read: arrivals per hour of the week, response, handle and resolution times,
breaches. Hours of the week are in each channel's own time zone (0 = Monday 00:00-01:00).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db.models import Avg, Count, QuerySet

from greenroom.core.models import Organization, User
from greenroom.inbox.models import ActivityKind, InboxActivity


@dataclass(frozen=True)
class Summary:
    messages_in: int
    messages_out: int
    first_responses: int
    mean_first_response_s: float | None
    mean_first_response_business_s: float | None
    mean_handle_s: float | None
    resolutions: int
    mean_resolution_s: float | None
    breaches: int


def activity(
    user: User, org: Organization, since: datetime, until: datetime
) -> QuerySet[InboxActivity]:
    """The activity rows the person may see (view_analytics in the organisation)."""
    return InboxActivity.objects.restrict(user, "view_analytics").filter(
        organization=org, at__gte=since, at__lt=until
    )


def arrivals_by_hour_of_week(rows: QuerySet[InboxActivity]) -> list[int]:
    """Messages received in each of the 168 hours of the week."""
    counts = [0] * 168
    for hour, n in (
        rows.filter(kind=ActivityKind.MESSAGE_IN)
        .values_list("hour_of_week")
        .annotate(n=Count("pk"))
        .order_by()
    ):
        counts[hour] = n
    return counts


def summary(rows: QuerySet[InboxActivity]) -> Summary:
    by_kind = dict(rows.values_list("kind").annotate(n=Count("pk")).order_by())

    def mean(kind: str, field: str = "seconds") -> float | None:
        value = rows.filter(kind=kind).aggregate(v=Avg(field))["v"]
        return float(value) if value is not None else None

    return Summary(
        messages_in=by_kind.get(ActivityKind.MESSAGE_IN, 0),
        messages_out=by_kind.get(ActivityKind.MESSAGE_OUT, 0),
        first_responses=by_kind.get(ActivityKind.FIRST_RESPONSE, 0),
        mean_first_response_s=mean(ActivityKind.FIRST_RESPONSE),
        mean_first_response_business_s=mean(ActivityKind.FIRST_RESPONSE, "business_seconds"),
        mean_handle_s=mean(ActivityKind.HANDLE),
        resolutions=by_kind.get(ActivityKind.RESOLUTION, 0),
        mean_resolution_s=mean(ActivityKind.RESOLUTION),
        breaches=by_kind.get(ActivityKind.BREACH, 0),
    )
