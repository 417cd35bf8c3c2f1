"""The inbox's numbers page (`/inbox/numbers/`): what the team received and answered over a
period, how fast, and when messages arrive, per channel and per agent.

Everything is read from `InboxActivity` through `inbox/metrics.py`, restricted to the channels
on which the person may see analytics. The staffing model reads the same rows.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext as _

from greenroom.core.models import Channel, User
from greenroom.core.tenancy import require_section
from greenroom.inbox import metrics

# The periods offered, in days; the first is the default.
PERIODS = (30, 7, 90)


def span(seconds: float | None) -> str:
    """A measured duration, short enough for a table cell: "45 s", "2 min 30 s", "12 min",
    "3 h 5 min", "2 d 4 h" (seconds only under ten minutes, where handle times are); a dash
    when nothing was measured."""
    if seconds is None:
        return "–"
    whole = int(seconds + 0.5)
    if whole < 600:
        minutes, rest = divmod(whole, 60)
        parts = [_("%(n)d min") % {"n": minutes}] if minutes else []
        if rest or not minutes:
            parts.append(_("%(n)d s") % {"n": rest})
        return " ".join(parts)
    minutes = int(seconds / 60 + 0.5)
    if minutes < 60:
        return _("%(n)d min") % {"n": minutes}
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        parts = [_("%(n)d h") % {"n": hours}]
        if minutes:
            parts.append(_("%(n)d min") % {"n": minutes})
        return " ".join(parts)
    days, hours = divmod(hours, 24)
    parts = [_("%(n)d d") % {"n": days}]
    if hours:
        parts.append(_("%(n)d h") % {"n": hours})
    return " ".join(parts)


@dataclass(frozen=True)
class Row:
    """A line of the channel or agent table, named and with its durations written out."""

    name: str
    detail: str
    line: metrics.Line
    first_response: str
    first_response_p90: str
    handle: str
    resolution: str


def _row(name: str, detail: str, line: metrics.Line) -> Row:
    return Row(
        name=name,
        detail=detail,
        line=line,
        first_response=span(line.first_response.median_s),
        first_response_p90=span(line.first_response.p90_s),
        handle=span(line.handle.median_s),
        resolution=span(line.resolution.median_s),
    )


def _heat(counts: list[int]) -> list[tuple[str, list[tuple[int, int, str]]]]:
    """The 168 hourly arrival counts as seven rows (Monday first) of 24 cells: (count, shade
    0-4, what the cell says when pointed at)."""
    days = [_("Mon"), _("Tue"), _("Wed"), _("Thu"), _("Fri"), _("Sat"), _("Sun")]
    top = max(counts) if counts else 0
    grid = []
    for day, label in enumerate(days):
        cells = []
        for hour in range(24):
            n = counts[day * 24 + hour]
            shade = 0 if not n or not top else 1 + min(3, (4 * n - 1) // top)
            title = _("%(day)s %(hour)02d:00: %(n)d received") % {
                "day": label,
                "hour": hour,
                "n": n,
            }
            cells.append((n, shade, title))
        grid.append((label, cells))
    return grid


@login_required
def numbers(request: HttpRequest) -> HttpResponse:
    org = require_section(request, "analytics")
    user = request.user
    assert isinstance(user, User)
    try:
        days = int(request.GET.get("days", PERIODS[0]))
    except ValueError:
        days = PERIODS[0]
    if days not in PERIODS:
        days = PERIODS[0]
    until = timezone.now()
    since = until - timedelta(days=days)
    rows = metrics.activity(user, org, since, until)

    whole = metrics.lines(rows, "organization_id")
    total = whole[0] if whole else None
    by_channel = metrics.lines(rows, "channel_id")
    channels = Channel.objects.in_bulk([line.key for line in by_channel])
    channel_rows = [
        _row(channels[line.key].name, channels[line.key].kind, line)
        for line in by_channel
        if line.key in channels
    ]
    by_agent = [
        line for line in metrics.lines(rows, "agent_id") if line.messages_out or line.handle.count
    ]
    people = User.objects.in_bulk([line.key for line in by_agent])
    agent_rows = [
        _row(people[line.key].display_name or people[line.key].username, "", line)
        for line in by_agent
        if line.key in people
    ]
    return render(
        request,
        "inbox/numbers.html",
        {
            "org": org,
            "days": days,
            "periods": PERIODS,
            "since": since,
            "total": total and _row("", "", total),
            "first_business": span(total.first_response_business.median_s) if total else "–",
            "channel_rows": channel_rows,
            "agent_rows": agent_rows,
            "heat": _heat(metrics.arrivals_by_hour_of_week(rows)),
        },
    )
