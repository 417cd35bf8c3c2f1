"""The inbox's numbers, as the staffing model and analytics read them (from InboxActivity).

Everything here is a read: arrivals per hour of the week, response, handle and resolution times,
breaches. Hours of the week are in each channel's own time zone (0 = Monday 00:00-01:00).
"""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db.models import Avg, Count, QuerySet

from greenroom.core.models import Channel, Organization, User
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


@dataclass(frozen=True)
class Times:
    """A set of measured durations: how many, the median and the 90th percentile."""

    count: int
    median_s: float | None
    p90_s: float | None

    @classmethod
    def of(cls, seconds: list[float]) -> Times:
        if not seconds:
            return cls(0, None, None)
        ordered = sorted(seconds)
        # Nearest rank: the smallest duration at least 90% of the measurements do not exceed.
        p90 = ordered[max(0, math.ceil(0.9 * len(ordered)) - 1)]
        return cls(len(ordered), statistics.median(ordered), p90)


@dataclass(frozen=True)
class Line:
    """The numbers of one channel, one agent or the whole organisation over a period."""

    key: int
    messages_in: int
    messages_out: int
    first_response: Times
    # The same first responses counted in business hours (what the SLA counts).
    first_response_business: Times
    handle: Times
    resolution: Times
    breaches: int

    def figures(self) -> dict[str, int | float | None]:
        """The line by name (`FIGURES`), durations in seconds (None: nothing measured): the
        API's fields and the CSV's columns."""
        values = (
            self.messages_in,
            self.messages_out,
            self.first_response.count,
            self.first_response.median_s,
            self.first_response.p90_s,
            self.first_response_business.median_s,
            self.handle.median_s,
            self.resolution.count,
            self.resolution.median_s,
            self.breaches,
        )
        return dict(zip(FIGURES, values, strict=True))


FIGURES = (
    "received",
    "replies",
    "first_responses",
    "first_response_median_s",
    "first_response_p90_s",
    "first_response_business_median_s",
    "handle_median_s",
    "closed",
    "resolution_median_s",
    "breaches",
)


# The durations a report reads: first response, handle and resolution times.
_TIMED = (ActivityKind.FIRST_RESPONSE, ActivityKind.HANDLE, ActivityKind.RESOLUTION)


def lines(rows: QuerySet[InboxActivity], by: str) -> list[Line]:
    """The numbers of each channel (`by="channel_id"`), agent (`"agent_id"`) or organisation
    (`"organization_id"`) in `rows`, busiest first: two queries. Medians are worked out here
    from the measured durations (databases differ in how, or whether, they compute them)."""
    counts: dict[int, dict[str, int]] = {}
    for key, kind, n in (
        rows.exclude(**{by: None}).values_list(by, "kind").annotate(n=Count("pk")).order_by()
    ):
        counts.setdefault(key, {})[kind] = n
    durations: dict[tuple[int, str], list[float]] = {}
    business: dict[int, list[float]] = {}
    for key, kind, seconds, business_seconds in (
        rows.filter(kind__in=_TIMED, seconds__isnull=False)
        .exclude(**{by: None})
        .values_list(by, "kind", "seconds", "business_seconds")
    ):
        durations.setdefault((key, kind), []).append(seconds)
        if kind == ActivityKind.FIRST_RESPONSE and business_seconds is not None:
            business.setdefault(key, []).append(business_seconds)
    found = [
        Line(
            key=key,
            messages_in=n.get(ActivityKind.MESSAGE_IN, 0),
            messages_out=n.get(ActivityKind.MESSAGE_OUT, 0),
            first_response=Times.of(durations.get((key, ActivityKind.FIRST_RESPONSE), [])),
            first_response_business=Times.of(business.get(key, [])),
            handle=Times.of(durations.get((key, ActivityKind.HANDLE), [])),
            resolution=Times.of(durations.get((key, ActivityKind.RESOLUTION), [])),
            breaches=n.get(ActivityKind.BREACH, 0),
        )
        for key, n in counts.items()
    ]
    return sorted(found, key=lambda line: (-(line.messages_in + line.messages_out), line.key))


@dataclass(frozen=True)
class Report:
    """The inbox's numbers over the last `days` days, as one person may see them: the whole
    organisation's line, each channel's and each agent's (who replied or spent time writing)
    with the channel or person, and the rows they were read from."""

    days: int
    since: datetime
    until: datetime
    rows: QuerySet[InboxActivity]
    total: Line | None
    channels: list[tuple[Channel, Line]]
    agents: list[tuple[User, Line]]


def report(user: User, org: Organization, days: int, until: datetime) -> Report:
    since = until - timedelta(days=days)
    rows = activity(user, org, since, until)
    whole = lines(rows, "organization_id")
    by_channel = lines(rows, "channel_id")
    channels = Channel.objects.in_bulk([line.key for line in by_channel])
    by_agent = [line for line in lines(rows, "agent_id") if line.messages_out or line.handle.count]
    people = User.objects.in_bulk([line.key for line in by_agent])
    return Report(
        days=days,
        since=since,
        until=until,
        rows=rows,
        total=whole[0] if whole else None,
        channels=[(channels[line.key], line) for line in by_channel if line.key in channels],
        agents=[(people[line.key], line) for line in by_agent if line.key in people],
    )
