"""Bulk import of posts from CSV, the same as the import page (greenroom/publishing/bulk.py).

Every row is checked first (rule table, rights, channels, campaigns, media); nothing is imported
while a row has an error unless `import_valid_rows` is set. The calendar window is
`GET /posts?from=…&to=…` (the publishing router).
"""

from __future__ import annotations

import zoneinfo
from typing import Any

from django.http import HttpRequest
from ninja import Field, Router, Schema, Status
from ninja.errors import HttpError

from greenroom.core.models import Channel
from greenroom.publishing import bulk

from .auth import caller_of
from .schemas import TimezoneName, errors

router = Router(tags=["Publishing"])

# The schema's own ceiling; the configured one (PUBLISHING_IMPORT_MAX_BYTES) is checked too.
CSV_MAX_CHARS = 20_000_000


class ImportIn(Schema):
    csv: str = Field(
        max_length=CSV_MAX_CHARS,
        description="The file's text: a header row naming the columns (channel, placement, "
        "publish_at, text, link, alt_text, first_comment, campaign, media), then one post per "
        "row. Only `channel` is required.",
    )
    import_valid_rows: bool = Field(
        False, description="Import the valid rows even when other rows have errors."
    )
    submit: bool = Field(
        True,
        description="Submit each imported post: to its approvers, or scheduled straight away "
        "where no approval is needed. False keeps them as drafts.",
    )
    dry_run: bool = Field(False, description="Only check the rows; import nothing.")
    timezone: TimezoneName | None = Field(
        None,
        description="The zone of publish_at values written without an offset (default: yours).",
    )


class RowErrorOut(Schema):
    line: int = Field(description="The line of the file (1 is the header; 0: the whole file).")
    column: str
    message: str = Field(description="What is wrong with the row and how to fix it.")


class ImportOut(Schema):
    rows: int = Field(description="Rows in the file (blank lines not counted).")
    valid: int
    imported: int
    posts: list[int] = Field(description="Ids of the posts created, in the file's order.")
    errors: list[RowErrorOut]


def _result(checked: bulk.Checked, posts: list[int]) -> dict[str, Any]:
    return {
        "rows": checked.total,
        "valid": len(checked.rows),
        "imported": len(posts),
        "posts": posts,
        "errors": bulk.as_json(checked.errors),
    }


@router.post(
    "/post-imports",
    response={200: ImportOut, 201: ImportOut, **errors(400, 401, 403, 422)},
    summary="Import posts from CSV",
    description="One post per row, checked against the network rules and your rights before "
    "anything is written. 201: posts created (one transaction); 200: a dry run, with every "
    "row's errors by line and column; 400: nothing imported, `detail` lists each error as "
    "“line N, column: message”. Needs the draft permission on the rows' channels.",
)
def import_posts(request: HttpRequest, body: ImportIn) -> Status[dict[str, Any]]:
    caller = caller_of(request)
    user, org = caller.user, caller.organization
    if not Channel.objects.restrict(user, "draft").filter(organization=org).exists():
        raise HttpError(
            403,
            f"Your role in {org} does not allow drafting posts on any channel, so there is "
            "nothing you can import.",
        )
    zone = zoneinfo.ZoneInfo(body.timezone or user.timezone or "UTC")
    checked = bulk.check(body.csv, org=org, user=user, zone=zone)
    if body.dry_run:
        return Status(200, _result(checked, []))
    try:
        done = bulk.do_import_posts(
            checked,
            org=org,
            valid_rows_only=body.import_valid_rows,
            submit=body.submit,
            acting_user=user,
        )
    except bulk.ImportRefused as exc:
        lines = [str(exc), *(bulk.describe(e) for e in exc.errors)]
        raise HttpError(400, "\n".join(lines)) from exc
    return Status(201, _result(checked, [p.pk for p in done.posts]))
