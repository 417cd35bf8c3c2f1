"""The inbox's numbers page (`/inbox/numbers/`): what the team received and answered over a
period, how fast, and when messages arrive, per channel and per agent.

Everything is read from `InboxActivity` through `inbox/metrics.py`, restricted to the channels
on which the person may see analytics. The staffing model reads the same rows.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext as _

from greenroom.core.audit_csv import cell
from greenroom.core.models import Organization, User
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


def _report(request: HttpRequest) -> tuple[Organization, metrics.Report]:
    org = require_section(request, "analytics")
    user = request.user
    assert isinstance(user, User)
    try:
        days = int(request.GET.get("days", PERIODS[0]))
    except ValueError:
        days = PERIODS[0]
    if days not in PERIODS:
        days = PERIODS[0]
    return org, metrics.report(user, org, days, timezone.now())


@login_required
def numbers(request: HttpRequest) -> HttpResponse:
    org, report = _report(request)
    total = report.total
    return render(
        request,
        "inbox/numbers.html",
        {
            "org": org,
            "days": report.days,
            "periods": PERIODS,
            "total": total and _row("", "", total),
            "first_business": span(total.first_response_business.median_s) if total else "–",
            "channel_rows": [_row(c.name, c.kind, line) for c, line in report.channels],
            "agent_rows": [_row(u.name, "", line) for u, line in report.agents],
            "heat": _heat(metrics.arrivals_by_hour_of_week(report.rows)),
            # Every third hour named over the grid's columns.
            "hour_labels": [f"{h:02d}" if h % 3 == 0 else "" for h in range(24)],
        },
    )


def _csv_value(value: int | float | None) -> str | int:
    """Counts as they are, durations in whole seconds, nothing measured as an empty cell."""
    if value is None:
        return ""
    return value if isinstance(value, int) else f"{value:.0f}"


@login_required
def numbers_csv(request: HttpRequest) -> HttpResponse:
    """The page's numbers as CSV, durations in seconds: the organisation, then each channel,
    then each agent. Names are people's and channels' own, so cells a spreadsheet would run as
    formulas are neutralised (`audit_csv.cell`)."""
    org, report = _report(request)
    lines: list[tuple[str, str, str, metrics.Line]] = []
    if report.total is not None:
        lines.append(("organization", org.name, "", report.total))
    lines += [("channel", c.name, c.kind, line) for c, line in report.channels]
    lines += [("agent", u.name, "", line) for u, line in report.agents]
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["scope", "name", "network", *metrics.FIGURES])
    for scope, name, network, line in lines:
        figures = line.figures().values()
        writer.writerow([scope, cell(name), network, *map(_csv_value, figures)])
    response = HttpResponse("\ufeff" + out.getvalue(), content_type="text/csv; charset=utf-8")
    stamp = timezone.localtime().strftime("%Y%m%d")
    response["Content-Disposition"] = (
        f'attachment; filename="greenroom-inbox-{org.slug}-{report.days}d-{stamp}.csv"'
    )
    return response
