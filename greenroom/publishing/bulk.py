"""Bulk import: many posts from one CSV file, every row checked before anything is written.

Columns (a header row names them; order is free, only `channel` is required):

    channel        a channel's id, its handle (@acmecoffee), or network:handle when two
                   networks share a handle (x:@acmecoffee)
    placement      a placement of the channel's network (feed, reels, stories ...); empty: feed
    publish_at     ISO 8601 with an offset (2026-12-24T09:30:00+09:00, or Z for UTC), or
                   without one in the importing person's time zone; empty: no time yet
    text, link, alt_text, first_comment, campaign (a campaign's name), media (media library
                   ids, separated by spaces; alt_text then holds one text per file, split by |)
    options        the channel's network options as a JSON object, the API's `options`
                   ({"privacy_status": "unlisted", "made_for_kids": false}); empty: none

Every row is checked against the rule table (through the composer's problems_of, which is the
publishing app's own check), the person's rights and the organisation's channels, campaigns and
media; errors come per row with the file's line number, in plain words. Nothing is imported
unless every row is valid, or the person asks for the valid rows only. The import itself runs in
one transaction through the publishing actions, so each created post has its own audit event and
a failure part-way leaves nothing behind.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, tzinfo
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.db import transaction
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _

from greenroom.core.actions import ActionError
from greenroom.core.ids import as_id
from greenroom.core.models import Channel, ChannelStatus, Organization, User
from greenroom.media.models import MediaAsset
from greenroom.networks import rules
from greenroom.publishing import actions, options
from greenroom.publishing.actions import VariantInput
from greenroom.publishing.actions.common import channels_with
from greenroom.publishing.actions.posts import PAST_GRACE
from greenroom.publishing.composer.compose import (
    DEFAULT_UTM_MEDIUM,
    campaign_slug,
    problems_of,
    unsaved_variant,
    utm_for,
)
from greenroom.publishing.models import Campaign, Post

COLUMNS = (
    "channel",
    "placement",
    "publish_at",
    "text",
    "link",
    "alt_text",
    "first_comment",
    "campaign",
    "media",
    "options",
)
REQUIRED = ("channel",)
# Header spellings people use in spreadsheets ("Publish at", "alt text", "Channel handle").
ALIASES = {
    "channel_handle": "channel",
    "channel_id": "channel",
    "handle": "channel",
    "time": "publish_at",
    "publish_time": "publish_at",
    "date": "publish_at",
    "alt": "alt_text",
    "comment": "first_comment",
    "media_ids": "media",
}
_SPLIT_IDS = re.compile(r"[\s,;|]+")


def max_rows() -> int:
    return int(settings.PUBLISHING_IMPORT_MAX_ROWS)


def max_bytes() -> int:
    return int(settings.PUBLISHING_IMPORT_MAX_BYTES)


@dataclass(frozen=True)
class RowError:
    """A problem with one row (line 0: the file as a whole), in plain words."""

    line: int
    column: str
    message: str


@dataclass
class ImportRow:
    """One valid row, ready for do_create_post."""

    line: int
    channel: Channel
    placement: str
    publish_at: datetime | None
    text: str
    link: str
    alt_texts: list[str]
    first_comment: str
    campaign: Campaign | None
    media: list[int]
    options: dict[str, Any] = field(default_factory=dict)

    def variant(self) -> VariantInput:
        return VariantInput(
            channel=self.channel,
            placement=self.placement,
            first_comment=self.first_comment,
            options=self.options,
            utm=link_utm(self.channel, self.link, self.campaign),
            media=self.media,
            alt_texts=self.alt_texts,
        )


def link_utm(channel: Channel, link: str, campaign: Campaign | None) -> dict[str, str]:
    """The composer's defaults: utm_source is the network, utm_campaign the campaign's name."""
    if not link:
        return {}
    return utm_for(
        channel.kind,
        medium=DEFAULT_UTM_MEDIUM,
        campaign=campaign_slug(campaign.name) if campaign else "",
    )


@dataclass
class Checked:
    """The whole file, checked: the valid rows and every error, by line."""

    rows: list[ImportRow] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)
    total: int = 0

    @property
    def ok(self) -> bool:
        return not self.errors

    @property
    def invalid_lines(self) -> list[int]:
        return sorted({e.line for e in self.errors if e.line})

    @property
    def file_errors(self) -> list[RowError]:
        return [e for e in self.errors if e.line == 0]


@dataclass
class Imported:
    posts: list[Post]
    skipped_lines: list[int]


# --- Reading the file ----------------------------------------------------------------------------


def _text_of(data: bytes | str) -> str:
    text = data if isinstance(data, str) else _decoded(data)
    # NUL is never in a CSV text file (a UTF-16 one is full of them), and PostgreSQL cannot store
    # it: refuse the file rather than import posts that fail to save.
    if "\x00" in text:
        raise ActionError(
            _(
                "The file contains NUL characters, so it is not CSV text (it may be UTF-16). "
                "Save it as “CSV UTF-8” and try again."
            )
        )
    return text


def _decoded(data: bytes) -> str:
    for encoding in ("utf-8-sig", "cp949"):
        # Korean Excel saves CSV as CP949 unless told otherwise.
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise ActionError(_("The file is not text in UTF-8. Save it as “CSV UTF-8” and try again."))


def _column(name: str) -> str:
    key = re.sub(r"[\s\-]+", "_", name.strip().lower())
    return ALIASES.get(key, key)


def read(data: bytes | str) -> tuple[list[tuple[int, dict[str, str]]], list[RowError]]:
    """The rows of a CSV file as (line number, {column: value}), and any problem with the file."""
    if len(data) > max_bytes():
        return [], [
            RowError(
                0,
                "",
                _("The file is larger than %(mb)s MB. Split it into smaller files.")
                % {"mb": max_bytes() // 1_000_000},
            )
        ]
    try:
        text = _text_of(data)
    except ActionError as exc:
        return [], [RowError(0, "", str(exc))]
    if not text.strip():
        return [], [
            RowError(
                0,
                "",
                _("The file is empty. Start with a header row: %(cols)s.")
                % {"cols": ",".join(COLUMNS)},
            )
        ]
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(reader)
    except csv.Error as exc:
        return [], [RowError(1, "", _("Line 1 is not valid CSV: %(why)s.") % {"why": exc})]
    names = [_column(h) for h in header]
    errors = []
    unknown = [h for h, n in zip(header, names, strict=True) if n and n not in COLUMNS]
    if unknown:
        errors.append(
            RowError(
                1,
                "",
                _("Unknown columns: %(names)s. The columns are: %(known)s.")
                % {"names": ", ".join(unknown), "known": ", ".join(COLUMNS)},
            )
        )
    missing = [c for c in REQUIRED if c not in names]
    if missing:
        errors.append(
            RowError(
                1,
                "",
                _("The header row has no %(names)s column. The columns are: %(known)s.")
                % {"names": ", ".join(missing), "known": ", ".join(COLUMNS)},
            )
        )
    if errors:
        return [], errors
    rows: list[tuple[int, dict[str, str]]] = []
    try:
        while True:
            # A quoted text may span lines: a row is named by the line it starts on.
            line = reader.line_num + 1
            values = next(reader, None)
            if values is None:
                break
            if not any(v.strip() for v in values):
                continue
            if len(values) > len(names):
                errors.append(
                    RowError(
                        line,
                        "",
                        _(
                            "This row has %(n)s values but the header has %(m)s columns. A text "
                            "with commas must be in double quotes."
                        )
                        % {"n": len(values), "m": len(names)},
                    )
                )
                continue
            rows.append((line, {n: v for n, v in zip(names, values, strict=False) if n}))
    except csv.Error as exc:
        errors.append(
            RowError(reader.line_num, "", _("This line is not valid CSV: %(why)s.") % {"why": exc})
        )
    if len(rows) > max_rows():
        errors.append(
            RowError(
                0,
                "",
                _("The file has %(n)s rows; at most %(max)s can be imported at once. Split it.")
                % {"n": len(rows), "max": max_rows()},
            )
        )
        return [], errors
    if not rows and not errors:
        errors.append(RowError(0, "", _("The file has a header row but no posts.")))
    return rows, errors


# --- Checking rows -------------------------------------------------------------------------------


class _Lookup:
    """The organisation's channels, campaigns and media as this person reaches them."""

    def __init__(self, org: Organization, user: User) -> None:
        self.org = org
        channels = list(
            Channel.objects.restrict(user, "view").filter(organization=org).select_related("brand")
        )
        self.by_id = {str(c.pk): c for c in channels}
        self.by_handle: dict[str, list[Channel]] = {}
        for c in channels:
            for key in _handle_keys(c.handle):
                self.by_handle.setdefault(key, []).append(c)
        self.draftable = channels_with(user, "draft", channels)
        self.campaigns = {
            c.name.casefold(): c
            for c in Campaign.objects.restrict(user, "view_org").filter(organization=org)
        }
        self.user = user

    def channel(self, raw: str) -> tuple[Channel | None, str]:
        raw = raw.strip()
        if raw.isdigit() and raw in self.by_id:
            return self.by_id[raw], ""
        network = ""
        handle = raw
        if ":" in raw and not raw.lower().startswith(("http:", "https:")):
            network, handle = (part.strip() for part in raw.split(":", 1))
        found = []
        for key in _handle_keys(handle):
            found += self.by_handle.get(key, [])
        found = list({c.pk: c for c in found}.values())
        if network:
            found = [c for c in found if c.kind == network.lower()]
        if len(found) > 1:
            return None, _(
                "Several channels have the handle “%(handle)s” (%(networks)s). Write it as "
                "network:handle, e.g. %(example)s, or use the channel's id."
            ) % {
                "handle": handle,
                "networks": ", ".join(sorted(c.kind for c in found)),
                "example": f"{found[0].kind}:{handle}",
            }
        if not found:
            return None, _(
                "There is no channel “%(channel)s” in %(org)s that you can see. Use a channel's "
                "handle (e.g. @acmecoffee) or its id."
            ) % {"channel": raw, "org": self.org}
        return found[0], ""

    def media(self, ids: Sequence[int]) -> list[int]:
        found = set(
            MediaAsset.objects.restrict(self.user, "view")
            .filter(organization=self.org, pk__in=ids)
            .values_list("pk", flat=True)
        )
        return [pk for pk in ids if pk not in found]


def _handle_keys(handle: str) -> set[str]:
    # "@acmecoffee", "acmecoffee" and "AcmeCoffee" name the same account.
    h = handle.strip().casefold()
    return {h, h.lstrip("@"), "@" + h.lstrip("@")}


def parse_time(raw: str, zone: tzinfo) -> datetime:
    """ISO 8601 with an offset, or without one in `zone`; ValueError when it is neither."""
    text = raw.strip().replace(" ", "T", 1) if "T" not in raw else raw.strip()
    if text.endswith(("z", "Z")):
        text = text[:-1] + "+00:00"
    value = datetime.fromisoformat(text)
    if timezone.is_naive(value):
        value = value.replace(tzinfo=zone)
    try:
        # 0001-01-01T00:00+14:00 reads, but is before the first moment a datetime can hold.
        return value.astimezone(UTC)
    except OverflowError:
        raise OutOfRange(raw) from None


class OutOfRange(ValueError):
    """A time that reads but falls outside the years 1 to 9999 in UTC."""


def _check_row(
    line: int, values: dict[str, str], lookup: _Lookup, zone: tzinfo, now: datetime
) -> tuple[ImportRow | None, list[RowError]]:
    errors: list[RowError] = []

    def problem(column: str, message: str) -> None:
        errors.append(RowError(line, column, message))

    raw_channel = values.get("channel", "").strip()
    channel = None
    if not raw_channel:
        problem("channel", _("The channel is missing. Give a handle or an id."))
    else:
        channel, why = lookup.channel(raw_channel)
        if channel is None:
            problem("channel", why)
        elif channel.pk not in lookup.draftable:
            problem(
                "channel",
                _(
                    "You may not draft posts on %(channel)s: that needs the draft permission "
                    "there. Ask an admin, or remove the row."
                )
                % {"channel": channel},
            )
            channel = None
        elif channel.status == ChannelStatus.ARCHIVED:
            problem(
                "channel",
                _("%(channel)s is archived; posts cannot go to it.") % {"channel": channel},
            )
            channel = None

    publish_at = None
    raw_time = values.get("publish_at", "").strip()
    if raw_time:
        try:
            publish_at = parse_time(raw_time, zone)
        except OutOfRange:
            problem(
                "publish_at",
                _("“%(value)s” is too far in the past or future. Choose a time in the next years.")
                % {"value": raw_time},
            )
        except ValueError:
            problem(
                "publish_at",
                _(
                    "“%(value)s” is not a date and time Greenroom can read. Write it as "
                    "2026-12-24T09:30+09:00, or 2026-12-24 09:30 for your own time zone (%(zone)s)."
                )
                % {"value": raw_time, "zone": zone},
            )
        else:
            if publish_at < now - PAST_GRACE:
                problem(
                    "publish_at",
                    _("%(time)s has already passed. Choose a later time.")
                    % {"time": date_format(publish_at.astimezone(zone), "Y-m-d H:i")},
                )

    link = values.get("link", "").strip()
    if link:
        try:
            URLValidator(schemes=["http", "https"])(link)
        except ValidationError:
            problem(
                "link",
                _("“%(link)s” is not a web address. Links start with https://.") % {"link": link},
            )
            link = ""

    campaign = None
    raw_campaign = values.get("campaign", "").strip()
    if raw_campaign:
        campaign = lookup.campaigns.get(raw_campaign.casefold())
        if campaign is None:
            problem(
                "campaign",
                _("There is no campaign called “%(name)s”. Create it first, or leave it empty.")
                % {"name": raw_campaign},
            )

    media: list[int] = []
    raw_media = values.get("media", "").strip()
    if raw_media:
        parts = [p for p in _SPLIT_IDS.split(raw_media) if p]
        # as_id: "²" passes isdigit() and 2**63 overflows the lookup; neither is a file's id.
        bad = [p for p in parts if as_id(p) is None]
        if bad:
            problem(
                "media",
                _("Media are given by their ids in the media library; “%(value)s” is not one.")
                % {"value": bad[0]},
            )
        else:
            media = [int(p) for p in parts]
            unknown = lookup.media(media)
            if unknown:
                problem(
                    "media",
                    _("The media library has no file with id %(ids)s that you can see.")
                    % {"ids": ", ".join(map(str, unknown))},
                )
    alt_raw = values.get("alt_text", "").strip()
    alt_texts = [a.strip() for a in alt_raw.split("|")] if alt_raw else []
    if alt_texts and len(alt_texts) > len(media):
        problem(
            "alt_text",
            _(
                "There is alt text for %(alts)s files but the row has %(media)s. Alt text "
                "describes media: add the files' ids in the media column."
            )
            % {"alts": len(alt_texts), "media": len(media)},
        )

    placement = values.get("placement", "").strip().lower() or "feed"
    text = values.get("text", "")
    first_comment = values.get("first_comment", "").strip()
    network_options: dict[str, Any] = {}
    options_raw = values.get("options", "").strip()
    if options_raw:
        try:
            parsed = json.loads(options_raw)
        except ValueError:
            parsed = None
        if isinstance(parsed, dict):
            network_options = options.tidy(parsed)
        else:
            problem(
                "options",
                _(
                    'Options are a JSON object, like {"privacy_status": "unlisted"}; '
                    "“%(value)s” is not one."
                )
                % {"value": options_raw[:60]},
            )
    if channel is not None:
        try:
            network = rules.get_network(channel.kind)
        except rules.UnknownNetwork:
            network = None
        if network is None or placement not in network.placements:
            known = ", ".join(network.placements) if network else "feed"
            problem(
                "placement",
                _("%(network)s has no placement “%(placement)s”. Use one of: %(known)s.")
                % {
                    "network": network.name if network else channel.kind,
                    "placement": placement,
                    "known": known,
                },
            )
        elif not errors:
            variant = unsaved_variant(
                channel,
                placement=placement,
                text=text,
                link=link,
                utm=link_utm(channel, link, campaign),
                media=media,
            )
            for message in problems_of(variant, first_comment):
                problem("text", message)
            for message in options.problems(
                channel.kind, placement, network_options, where=str(channel)
            ):
                problem("options", message)

    if errors or channel is None:
        return None, errors
    return (
        ImportRow(
            line=line,
            channel=channel,
            placement=placement,
            publish_at=publish_at,
            text=text,
            link=link,
            alt_texts=alt_texts,
            first_comment=first_comment,
            campaign=campaign,
            media=media,
            options=network_options,
        ),
        [],
    )


def check(data: bytes | str, *, org: Organization, user: User, zone: tzinfo) -> Checked:
    """Read and check every row; nothing is written."""
    rows, errors = read(data)
    checked = Checked(errors=list(errors), total=len(rows))
    if not rows:
        return checked
    lookup = _Lookup(org, user)
    now = timezone.now()
    for line, values in rows:
        row, problems = _check_row(line, values, lookup, zone, now)
        if row is not None:
            checked.rows.append(row)
        checked.errors += problems
    return checked


# --- Importing -----------------------------------------------------------------------------------


class ImportRefused(ActionError):
    """Nothing was imported; `errors` says why, row by row."""

    def __init__(self, message: str, errors: Sequence[RowError]) -> None:
        super().__init__(message)
        self.errors = list(errors)


def do_import_posts(
    checked: Checked,
    *,
    org: Organization,
    valid_rows_only: bool = False,
    submit: bool = True,
    acting_user: User,
) -> Imported:
    """Create one post per valid row, all in one transaction, through the publishing actions
    (one audit event per post); `submit` sends each for approval (or schedules it where no
    approval is needed).

    With errors in the file nothing is imported unless `valid_rows_only`; a row the actions
    refuse after all rolls everything back (ImportRefused names its line).
    """
    if checked.file_errors or (checked.errors and not valid_rows_only):
        raise ImportRefused(
            _("Nothing was imported: %(n)s rows have errors. Fix them, or import the valid rows.")
            % {"n": len(checked.invalid_lines) or 1},
            checked.errors,
        )
    if not checked.rows:
        raise ImportRefused(_("Nothing was imported: no row is valid."), checked.errors)
    posts: list[Post] = []
    with transaction.atomic():
        # The actions check the channels as they are now, not as they were when the file was
        # checked (one may have been archived in between).
        fresh = Channel.objects.select_for_update().in_bulk([r.channel.pk for r in checked.rows])
        for row in checked.rows:
            row.channel = fresh.get(row.channel.pk, row.channel)
            try:
                post = actions.do_create_post(
                    org,
                    text=row.text,
                    link=row.link,
                    campaign=row.campaign,
                    publish_at=row.publish_at,
                    channels=[row.variant()],
                    acting_user=acting_user,
                )
                if submit:
                    post = actions.do_submit_for_approval(post, acting_user=acting_user)
            except ActionError as exc:
                raise ImportRefused(
                    _("Nothing was imported: line %(line)s was refused: %(why)s")
                    % {"line": row.line, "why": exc},
                    [RowError(row.line, "", str(exc))],
                ) from exc
            posts.append(post)
    return Imported(posts=posts, skipped_lines=checked.invalid_lines)


def template_rows() -> list[list[str]]:
    """An example file people can start from."""
    return [
        list(COLUMNS),
        [
            "@acmecoffee",
            "feed",
            "2026-12-24T09:30:00+09:00",
            "Cold brew is back. #coffee",
            "https://example.com/cold-brew",
            "",
            "",
            "",
            "",
        ],
    ]


def describe(error: RowError) -> str:
    """One error as a line of text: "Line 3, publish_at: … ."."""
    if not error.line:
        return error.message
    if error.column:
        return _("Line %(line)s, %(column)s: %(message)s") % {
            "line": error.line,
            "column": error.column,
            "message": error.message,
        }
    return _("Line %(line)s: %(message)s") % {"line": error.line, "message": error.message}


def as_json(errors: Sequence[RowError]) -> list[dict[str, Any]]:
    return [{"line": e.line, "column": e.column, "message": e.message} for e in errors]
