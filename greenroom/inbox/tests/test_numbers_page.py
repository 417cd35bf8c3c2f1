"""The inbox numbers page (`/inbox/numbers/`): totals, medians, the week's arrival pattern and
the channel and agent tables, for the people who see analytics and nobody else."""

from __future__ import annotations

import csv
import io
import re
from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from greenroom.api.tests.conftest import bearer, call, make_token
from greenroom.conftest import World
from greenroom.core.models import Channel, User
from greenroom.inbox import actions, metrics
from greenroom.inbox.models import ActivityKind, InboxActivity, Message
from greenroom.inbox.report_views import span
from greenroom.inbox.tests.conftest import conversation_of, item, land


def _measured(channel: Channel, kind: str, seconds: float, *, days_ago: float = 1) -> None:
    InboxActivity.objects.create(
        organization_id=channel.organization_id,
        channel=channel,
        brand_id=channel.brand_id,
        kind=kind,
        at=timezone.now() - timedelta(days=days_ago),
        hour_of_week=0,
        seconds=seconds,
        business_seconds=seconds / 2,
    )


def test_a_reply_shows_in_the_totals_and_under_its_agent(
    client: Client, world: World, sandbox: Any
) -> None:
    sent = timezone.now().replace(microsecond=0) - timedelta(hours=3)
    land(world.coffee_x, item("n1", "Is the Seongsu store open?", at=sent - timedelta(hours=2)))
    conversation = conversation_of(world.coffee_x, "n1")
    reply = actions.do_reply(conversation, "Until 10pm!", acting_user=world.adam, handle_seconds=90)
    actions.do_mark_reply_sent(Message.objects.get(pk=reply.pk), external_id="r-n1", sent_at=sent)
    land(world.globex_x, item("g1", "Another company's message"))

    client.force_login(world.anna)  # analyst: sees analytics, does not answer
    page = client.get("/inbox/numbers/")
    assert page.status_code == 200
    total = page.context["total"]
    assert (total.line.messages_in, total.line.messages_out) == (1, 1)
    assert total.first_response == "2 h"
    assert total.handle == "1 min 30 s"
    [channel_row] = page.context["channel_rows"]
    assert channel_row.name == world.coffee_x.name
    [agent_row] = page.context["agent_rows"]
    assert agent_row.name == world.adam.display_name
    assert agent_row.line.first_response.count == 1
    html = page.content.decode()
    assert "Another company" not in html and "Globex" not in html
    # One response and nothing closed: no percentile of one, no median of none.
    assert "9 in 10 within" not in html.split('id="inbox-by-channel"')[0]
    assert "conversations closed</span>" in html and "median – open" not in html


def test_medians_and_the_ninetieth_percentile() -> None:
    times = metrics.Times.of([60.0, 120.0, 180.0, 240.0, 3600.0 * 30])
    assert (times.count, times.median_s, times.p90_s) == (5, 180.0, 3600.0 * 30)
    assert metrics.Times.of([]) == metrics.Times(0, None, None)
    assert [span(s) for s in (None, 0.2, 42, 150, 120, 899.6, 3600 * 5 + 600, 3600 * 60)] == [
        "–",
        "0 s",
        "42 s",
        "2 min 30 s",
        "2 min",
        "15 min",
        "5 h 10 min",
        "2 d 12 h",
    ]


def test_the_period_decides_what_counts(client: Client, world: World) -> None:
    for seconds in (600, 1200, 1800):
        _measured(world.coffee_x, ActivityKind.FIRST_RESPONSE, seconds, days_ago=1)
    _measured(world.coffee_x, ActivityKind.FIRST_RESPONSE, 7200, days_ago=10)
    client.force_login(world.alice)
    last_month = client.get("/inbox/numbers/").context
    assert last_month["days"] == 30
    assert last_month["total"].line.first_response.count == 4
    assert last_month["total"].first_response == "25 min"
    assert last_month["first_business"] == "13 min"  # 12.5 min, rounded
    last_week = client.get("/inbox/numbers/?days=7").context["total"]
    assert last_week.line.first_response.count == 3
    assert last_week.first_response == "20 min"
    # An unknown period is the default one, not an error.
    assert client.get("/inbox/numbers/?days=abc").context["days"] == 30
    assert client.get("/inbox/numbers/?days=100000000").context["days"] == 30


def test_arrivals_fill_the_hour_of_the_channels_week(client: Client, world: World) -> None:
    # Two messages on a Wednesday at 14:10 in Seoul (05:10 UTC), one on the Sunday after at
    # 23:30 in Seoul (14:30 UTC): the channel's week, not the server's.
    base = timezone.now().replace(microsecond=0) - timedelta(days=14)
    wednesday = (base - timedelta(days=(base.weekday() - 2) % 7)).replace(hour=5, minute=10)
    sunday = (wednesday + timedelta(days=4)).replace(hour=14, minute=30)
    land(
        world.coffee_x, item("w1", "one", at=wednesday), item("w2", "two", author="b", at=wednesday)
    )
    land(world.coffee_x, item("s1", "three", author="c", at=sunday))
    client.force_login(world.alice)
    heat = dict(client.get("/inbox/numbers/").context["heat"])
    assert heat["Wed"][14] == (2, 4, "Wed 14:00: 2 received")  # the busiest hour, darkest
    assert heat["Sun"][23] == (1, 2, "Sun 23:00: 1 received")
    assert sum(n for row in heat.values() for n, _shade, _title in row) == 3
    assert sum(1 for row in heat.values() for n, shade, _t in row if n == 0 and shade == 0) == 166


@pytest.mark.parametrize("person", ["agnes", "carl", "charlie"])
def test_people_who_do_not_see_analytics_get_a_404(
    client: Client, world: World, person: str
) -> None:
    client.force_login(world.people[person])
    assert client.get("/inbox/numbers/").status_code == 404


def test_the_page_reads_in_korean_and_says_when_there_is_nothing(
    client: Client, world: World
) -> None:
    client.force_login(world.anna)
    empty = client.get("/inbox/numbers/").content.decode()
    assert "Nothing received or answered in this period" in empty
    _measured(world.coffee_x, ActivityKind.MESSAGE_IN, 0)
    User.objects.filter(pk=world.anna.pk).update(language="ko")
    korean = client.get("/inbox/numbers/").content.decode()
    assert "메시지함 지표" in korean and "받은 메시지" in korean and "상담원별" in korean


def test_the_inbox_and_analytics_pages_link_to_the_numbers(client: Client, world: World) -> None:
    client.force_login(world.bianca)  # engages on Coffee and sees analytics
    assert "/inbox/numbers/" in client.get("/inbox/").content.decode()
    assert "/inbox/numbers/" in client.get("/analytics/").content.decode()
    client.force_login(world.agnes)  # engages on Tea, no analytics: no link to a 404
    assert "/inbox/numbers/" not in client.get("/inbox/").content.decode()


def test_the_numbers_download_as_csv_with_names_made_harmless(
    client: Client, world: World, sandbox: Any
) -> None:
    User.objects.filter(pk=world.adam.pk).update(display_name="=HYPERLINK(evil)")
    sent = timezone.now().replace(microsecond=0) - timedelta(hours=1)
    land(world.coffee_x, item("c1", "Open on Sunday?", at=sent - timedelta(minutes=30)))
    conversation = conversation_of(world.coffee_x, "c1")
    reply = actions.do_reply(conversation, "Yes!", acting_user=world.adam, handle_seconds=45)
    actions.do_mark_reply_sent(Message.objects.get(pk=reply.pk), external_id="r-c1", sent_at=sent)

    client.force_login(world.anna)
    response = client.get("/inbox/numbers/export.csv?days=7")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert "-7d-" in response["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert [r["scope"] for r in rows] == ["organization", "channel", "agent"]
    organisation, channel, agent = rows
    assert organisation["name"] == "Acme" and organisation["received"] == "1"
    # A channel named by its handle starts with "@", which spreadsheets also read as a formula.
    assert channel["name"] == "'@acmecoffee" and channel["network"] == "x"
    assert channel["first_response_median_s"] == "1800"
    assert agent["name"] == "'=HYPERLINK(evil)"  # a spreadsheet shows it, never runs it
    assert agent["handle_median_s"] == "45" and agent["replies"] == "1"
    # The same people may download it as may see the page.
    client.force_login(world.agnes)
    assert client.get("/inbox/numbers/export.csv").status_code == 404


def test_the_api_gives_the_same_numbers(world: World, sandbox: Any) -> None:
    sent = timezone.now().replace(microsecond=0) - timedelta(hours=2)
    land(world.coffee_x, item("a1", "Gift cards?", at=sent - timedelta(minutes=20)))
    conversation = conversation_of(world.coffee_x, "a1")
    reply = actions.do_reply(conversation, "Yes!", acting_user=world.adam, handle_seconds=30)
    actions.do_mark_reply_sent(Message.objects.get(pk=reply.pk), external_id="r-a1", sent_at=sent)
    land(world.globex_x, item("a2", "Globex's own"))

    anna = bearer(make_token(world, "anna")[1])
    found = call(anna, "GET", "/api/inbox/numbers", {"days": 7}).json()
    assert found["days"] == 7
    assert found["organization"]["received"] == 1
    assert found["organization"]["first_response_median_s"] == 1200
    [channel] = found["channels"]
    assert channel["channel"]["id"] == world.coffee_x.pk and channel["replies"] == 1
    [agent] = found["agents"]
    assert (agent["user_id"], agent["handle_median_s"]) == (world.adam.pk, 30)
    assert len(found["arrivals_by_hour_of_week"]) == 168
    assert sum(found["arrivals_by_hour_of_week"]) == 1
    # A period the API cannot read is a 422 that says so, not a guess.
    assert call(anna, "GET", "/api/inbox/numbers", {"days": 0}).status_code == 422


def test_an_empty_period_downloads_the_header_alone(client: Client, world: World) -> None:
    client.force_login(world.anna)
    rows = client.get("/inbox/numbers/export.csv").content.decode("utf-8-sig").splitlines()
    assert rows == [",".join(["scope", "name", "network", *metrics.FIGURES])]


def test_the_grid_names_every_third_hour(client: Client, world: World) -> None:
    _measured(world.coffee_x, ActivityKind.MESSAGE_IN, 0)
    client.force_login(world.anna)
    html = client.get("/inbox/numbers/").content.decode()
    head = html.split('<table class="gr-heat"')[1].split("</thead>")[0]
    assert re.findall(r"<th scope=\"col\">(\d\d)</th>", head) == [
        "00",
        "03",
        "06",
        "09",
        "12",
        "15",
        "18",
        "21",
    ]
    assert head.count('<th scope="col">') == 25  # the day column and 24 hours
