"""Bulk import: every row checked first, errors by line in plain words, nothing imported unless
all rows are valid (or the person asks for the valid rows), one transaction, audited per post."""

from __future__ import annotations

import zoneinfo
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.utils import timezone

from greenroom.api.tests.conftest import bearer, make_token
from greenroom.conftest import World
from greenroom.core import actions as core_actions
from greenroom.core.models import AuditEvent
from greenroom.publishing import bulk
from greenroom.publishing.models import Post, PostState, Variant, VariantState

PAGE = "/publishing/import/"
API = "/api/post-imports"
SEOUL = zoneinfo.ZoneInfo("Asia/Seoul")


def later(days: int = 3, hour: int = 9) -> datetime:
    day = timezone.now().astimezone(SEOUL).date() + timedelta(days=days)
    return datetime(day.year, day.month, day.day, hour, 30, tzinfo=SEOUL)


def csv_text(*rows: str, header: str = "channel,placement,publish_at,text,link") -> str:
    return "\n".join([header, *rows]) + "\n"


def upload(client: Client, text: str, **fields: Any) -> Any:
    file = SimpleUploadedFile("posts.csv", text.encode(), content_type="text/csv")
    return client.post(PAGE, {"file": file, "submit": "on", **fields})


def created_posts() -> int:
    return AuditEvent.objects.filter(action="post.created").count()


def good_rows() -> list[str]:
    when = later().isoformat()
    return [
        f"@acmecoffee,feed,{when},Cold brew is back #coffee,https://example.com/brew",
        f'acmetea.bsky.social,feed,{when},"Tea time, 차 한잔",',
    ]


BAD_ROW = "@acmecoffee,feed,next tuesday,Hello,"


# --- All or nothing ------------------------------------------------------------------------------


def test_nothing_is_imported_while_a_row_has_an_error(
    client_for: Callable[[str], Client], world: World
) -> None:
    response = upload(client_for("paul"), csv_text(*good_rows(), BAD_ROW))
    assert response.status_code == 400
    body = response.content.decode()
    assert "Nothing was imported" in body
    assert "<td>4</td>" in body and "next tuesday" in body  # line 4, the date it could not read
    assert not Post.objects.exists()
    assert created_posts() == 0


def test_every_valid_file_is_imported_in_one_go_and_audited_per_post(
    client_for: Callable[[str], Client], world: World
) -> None:
    response = upload(client_for("paul"), csv_text(*good_rows()))
    assert response.status_code == 302
    assert Post.objects.count() == 2
    assert created_posts() == 2
    # Paul may publish without approval: with a time, each post is scheduled straight away.
    assert set(Post.objects.values_list("state", flat=True)) == {PostState.SCHEDULED}
    x = Variant.objects.get(channel=world.coffee_x)
    assert x.publish_at == later()
    assert x.utm == {"utm_source": "x", "utm_medium": "social"}
    tea = Variant.objects.get(channel=world.tea_bluesky)
    assert tea.text == "Tea time, 차 한잔"
    # The page lists what was imported.
    page = client_for("paul").get(response["Location"])
    assert "2 posts imported" in page.content.decode()


def test_the_valid_rows_only_when_asked(client_for: Callable[[str], Client], world: World) -> None:
    paul = client_for("paul")
    response = upload(paul, csv_text(*good_rows(), BAD_ROW), import_valid_rows="on")
    assert response.status_code == 302
    assert Post.objects.count() == 2
    assert created_posts() == 2
    page = paul.get(response["Location"])
    assert "Skipped the rows with errors, on lines 4." in page.content.decode()


def test_only_check_writes_nothing(client_for: Callable[[str], Client], world: World) -> None:
    response = upload(client_for("paul"), csv_text(*good_rows()), action="check")
    assert response.status_code == 200
    assert "Every row is valid." in response.content.decode()
    assert not Post.objects.exists()


def test_drafts_stay_drafts_when_not_submitted(world: World) -> None:
    checked = bulk.check(csv_text(*good_rows()), org=world.acme, user=world.carl, zone=SEOUL)
    done = bulk.do_import_posts(checked, org=world.acme, submit=False, acting_user=world.carl)
    assert {p.state for p in done.posts} == {PostState.DRAFT}


def test_time_passing_between_check_and_import_leaves_nothing_behind(world: World) -> None:
    checked = bulk.check(csv_text(*good_rows()), org=world.acme, user=world.paul, zone=SEOUL)
    checked.rows[1].publish_at = timezone.now() - timedelta(minutes=5)
    try:
        bulk.do_import_posts(checked, org=world.acme, acting_user=world.paul)
    except bulk.ImportRefused as exc:
        assert "line 3" in str(exc) and "already passed" in str(exc)
    else:
        raise AssertionError("the import should have been refused")
    assert not Post.objects.exists()
    assert created_posts() == 0


def test_a_refusal_part_way_leaves_nothing_behind(world: World) -> None:
    checked = bulk.check(csv_text(*good_rows()), org=world.acme, user=world.paul, zone=SEOUL)
    # Between the check and the import the Tea channel is archived by someone else.
    core_actions.do_update_channel(world.tea_bluesky, status="archived", acting_user=world.alice)
    try:
        bulk.do_import_posts(checked, org=world.acme, acting_user=world.paul)
    except bulk.ImportRefused as exc:
        assert "line 3" in str(exc)
    else:
        raise AssertionError("the import should have been refused")
    assert not Post.objects.exists()
    assert created_posts() == 0


# --- Errors, row by row --------------------------------------------------------------------------


def errors_of(world: World, text: str, person: str = "paul") -> dict[int, list[str]]:
    checked = bulk.check(text, org=world.acme, user=world.people[person], zone=SEOUL)
    found: dict[int, list[str]] = {}
    for error in checked.errors:
        found.setdefault(error.line, []).append(f"{error.column}: {error.message}")
    return found


def test_errors_come_with_the_line_they_are_on(world: World) -> None:
    when = later().isoformat()
    text = csv_text(
        f'@acmecoffee,feed,{when},"A text\nover two lines",',  # lines 2-3
        f"@nobody,feed,{when},Hi,",  # line 4
        "",  # line 5, blank: skipped
        f"@acmecoffee,feed,{when},{'가' * 141},",  # line 6
        f"@acmecoffee,reel,{when},Hi,",  # line 7
        "@acmecoffee,feed,2001-01-01T09:00:00+09:00,Hi,",  # line 8
        f"@acmecoffee,feed,{when},Hi,not a link",  # line 9
    )
    found = errors_of(world, text)
    assert set(found) == {4, 6, 7, 8, 9}
    assert "There is no channel “@nobody”" in found[4][0]
    assert "Shorten it by 2" in found[6][0] and "Korean characters" in found[6][0]
    assert found[6][0].startswith("text: ")
    assert "X has no placement “reel”" in found[7][0]
    assert "already passed" in found[8][0]
    assert "is not a web address" in found[9][0]


def test_dates_with_an_offset_or_in_the_persons_zone(world: World) -> None:
    day = later().date()
    text = csv_text(
        f"@acmecoffee,feed,{day}T09:30:00Z,UTC,",
        f"@acmecoffee,feed,{day} 09:30,Seoul,",
        f"@acmecoffee,feed,{day}T09:30+02:00,Plus two,",
        "@acmecoffee,feed,tomorrow 9am,Words,",
        f"@acmecoffee,feed,{day}T25:00,No such hour,",
    )
    checked = bulk.check(text, org=world.acme, user=world.paul, zone=SEOUL)
    times = {row.text: row.publish_at for row in checked.rows}
    base = datetime(day.year, day.month, day.day, 9, 30)
    assert times["UTC"] == base.replace(tzinfo=zoneinfo.ZoneInfo("UTC"))
    assert times["Seoul"] == base.replace(tzinfo=SEOUL)
    assert times["Plus two"] == base.replace(tzinfo=zoneinfo.ZoneInfo("Etc/GMT-2"))
    assert [e.line for e in checked.errors] == [5, 6]
    assert all(e.column == "publish_at" and "Asia/Seoul" in e.message for e in checked.errors)


def test_permission_errors_name_the_channel(world: World) -> None:
    # April approves but does not draft; Bianca cannot even see Tea's channels.
    found = errors_of(world, csv_text("@acmecoffee,feed,,Hi,"), person="april")
    assert "You may not draft posts on @acmecoffee (x)" in found[2][0]
    found = errors_of(world, csv_text("acmetea.bsky.social,feed,,Hi,"), person="bianca")
    assert "There is no channel “acmetea.bsky.social”" in found[2][0]
    # Another tenant's channel does not exist for Acme, by handle or by id.
    found = errors_of(world, csv_text(f"{world.globex_x.pk},feed,,Hi,", "@globex,feed,,Hi,"))
    assert set(found) == {2, 3}


def test_a_handle_two_networks_share_needs_the_network(world: World) -> None:
    core_actions.do_create_channel(
        world.acme,
        brand=world.coffee,
        kind="threads",
        handle="@acmecoffee",
        sandboxed=True,
        acting_user=None,
    )
    found = errors_of(world, csv_text("@acmecoffee,feed,,Hi,"))
    assert "Several channels have the handle “@acmecoffee” (threads, x)" in found[2][0]
    checked = bulk.check(
        csv_text("x:@acmecoffee,feed,,Hi,", "threads:acmecoffee,feed,,Hi,"),
        org=world.acme,
        user=world.paul,
        zone=SEOUL,
    )
    assert checked.ok
    assert [r.channel.kind for r in checked.rows] == ["x", "threads"]


def test_campaigns_media_and_alt_text_are_checked(world: World) -> None:
    header = "channel,text,campaign,media,alt_text,first_comment"
    text = csv_text(
        "@acmecoffee,Hi,No such campaign,,,",
        "@acmecoffee,Hi,,12345,,",
        "@acmecoffee,Hi,,,A cup of coffee,",
        "acme.coffee,Hi,,,,#coffee #winter",
        header=header,
    )
    found = errors_of(world, text)
    assert "There is no campaign called “No such campaign”" in found[2][0]
    assert "no file with id 12345" in found[3][0]
    assert "alt text for 1 files but the row has 0" in found[4][0]
    assert 5 not in found  # a first comment on an Instagram feed post is fine


def test_a_broken_file_says_what_to_fix(world: World) -> None:
    assert errors_of(world, "")[0][0].startswith(": The file is empty")
    found = errors_of(world, "handle,when,words\n@acmecoffee,,Hi\n")
    assert "Unknown columns: when, words" in found[1][0]
    found = errors_of(world, "text\nHi\n")
    assert "no channel column" in found[1][0]


# --- Through the API -----------------------------------------------------------------------------


def test_the_api_checks_imports_and_refuses_like_the_page(world: World) -> None:
    client = bearer(make_token(world, "paul")[1])
    text = csv_text(*good_rows(), BAD_ROW)

    dry = client.post(API, {"csv": text, "dry_run": True}, content_type="application/json")
    assert dry.status_code == 200
    assert dry.json()["rows"] == 3 and dry.json()["valid"] == 2
    assert [(e["line"], e["column"]) for e in dry.json()["errors"]] == [(4, "publish_at")]
    assert not Post.objects.exists()

    refused = client.post(API, {"csv": text}, content_type="application/json")
    assert refused.status_code == 400
    assert "Line 4, publish_at:" in refused.json()["detail"]
    assert not Post.objects.exists()

    done = client.post(
        API,
        {"csv": text, "import_valid_rows": True, "submit": False},
        content_type="application/json",
    )
    assert done.status_code == 201
    assert len(done.json()["posts"]) == 2
    assert set(Post.objects.values_list("state", flat=True)) == {PostState.DRAFT}
    assert created_posts() == 2


def test_the_api_reads_times_without_offset_in_the_callers_zone(world: World) -> None:
    core_actions.do_update_preferences(
        world.paul, language="en", timezone_name="Asia/Seoul", acting_user=world.paul
    )
    client = bearer(make_token(world, "paul")[1])
    day = later().date()
    response = client.post(
        API,
        {"csv": csv_text(f"@acmecoffee,feed,{day} 09:30,Hi,")},
        content_type="application/json",
    )
    assert response.status_code == 201
    variant = Variant.objects.get()
    assert variant.publish_at == datetime(day.year, day.month, day.day, 9, 30, tzinfo=SEOUL)
    assert variant.state == VariantState.SCHEDULED
