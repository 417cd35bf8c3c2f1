"""The publishing, composer, media, compliance and governance endpoints, fuzzed like the rest of
the API (test_fuzz.py): whatever a client sends, the answer is a 4xx that says why, never a 500,
on SQLite and on PostgreSQL (which refuses NUL in text, where SQLite stores it; SQLite is the one
that overflows on an id past 2**63 in a lookup).

Every endpoint gets its body fields, its query-string filters and odd ids in its address; the
values the databases cannot store get explicit examples. Each example runs in a savepoint that
is rolled back, so they all start from the same post, guideline, asset and review.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings as settings_module
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from django.test import Client
from hypothesis import example, given, settings
from hypothesis import strategies as st

from greenroom.conftest import fuzz_examples
from greenroom.media.models import MediaAsset

from .conftest import bearer, make_token
from .test_fuzz import FUZZ, ODD_NUMBERS, ODD_TEXT, _body, _send, query_values

# Fewer examples than the governance fuzz: there are many more endpoints here.
FEW = settings(FUZZ, max_examples=fuzz_examples(12))
SOME = settings(FUZZ, max_examples=fuzz_examples(25))

HUGE_ID = 2**63
BAD_DATES = [
    "2026-13-45T25:61:00",
    "0001-01-01T00:00:00+14:00",
    "9999-12-31T23:59:59-14:00",
    "9999-12-31T23:59:59+00:00",
]
MANY_IDS = list(range(1, 10_001))
HUGE_TEXT = "a" * 100_000


@pytest.fixture
def owner(world: Any) -> Client:
    return bearer(make_token(world, "alice")[1])


@pytest.fixture(autouse=True)
def media_root(settings: Any, tmp_path: Path) -> Path:
    root = tmp_path / "media"
    settings.MEDIA_ROOT = root
    return root


@dataclass
class Ids:
    post: int
    variant: int
    campaign: int
    policy: int
    pause: int
    guideline: int
    version: int
    course: int
    record: int
    requirement: int
    review: int
    item: int
    asset: int
    rendition: int
    channel: int
    bluesky: int


def _png() -> bytes:
    import pyvips

    base = pyvips.Image.perlin(64, 48, cell_size=16, uchar=True)
    image = base.bandjoin([base, base]).copy(interpretation="srgb")
    return bytes(image.write_to_buffer(".png"))


def _created(response: Any) -> int:
    assert response.status_code in (200, 201), response.content[:500]
    return int(response.json()["id"])


@pytest.fixture
def ids(owner: Client, world: Any) -> Ids:
    """One of each thing the endpoints act on, made through the API itself."""

    def post(path: str, body: dict[str, Any]) -> Any:
        return owner.post(path, body, content_type="application/json")

    channel = world.coffee_x.pk
    campaign = _created(post("/api/campaigns", {"name": "Launch"}))
    created = post(
        "/api/posts",
        {"text": "Hello", "channels": [{"channel_id": channel}], "campaign_id": campaign},
    )
    post_id = _created(created)
    variant = created.json()["variants"][0]["id"]
    policy = _created(
        post(
            "/api/approval-policies",
            {
                "name": "Legal",
                "brand_id": world.coffee.pk,
                "steps": [{"name": "Legal", "approver_ids": [world.april.pk]}],
            },
        )
    )
    pause = _created(
        post(
            "/api/publishing-pauses",
            {"scope": "channel", "reason": "Storm", "channel_id": world.tea_bluesky.pk},
        )
    )
    guideline = post("/api/compliance/guidelines", {"title": "Voice", "body": "Be kind."})
    guideline_id = _created(guideline)
    version = guideline.json()["current_version"]["id"]
    course = _created(post("/api/compliance/courses", {"name": "Safety"}))
    record = _created(
        post(
            "/api/compliance/training-records",
            {"course_id": course, "user_id": world.paul.pk, "completed_at": "2026-01-01T00:00:00Z"},
        )
    )
    requirement = _created(post(f"/api/channels/{channel}/requirements", {"course_id": course}))
    review = _created(post("/api/compliance/access-reviews", {"deadline": "2099-01-01T00:00:00Z"}))
    items = owner.get(f"/api/compliance/access-reviews/{review}/items").json()["items"]
    upload = owner.post(
        "/api/media/assets",
        {"file": SimpleUploadedFile("cat.png", _png(), "image/png"), "alt_text": "A cat"},
    )
    asset = _created(upload)
    rendition = _created(
        post(f"/api/media/assets/{asset}/renditions", {"network": "x", "placement": "feed"})
    )
    return Ids(
        post=post_id,
        variant=variant,
        campaign=campaign,
        policy=policy,
        pause=pause,
        guideline=guideline_id,
        version=version,
        course=course,
        record=record,
        requirement=requirement,
        review=review,
        item=items[0]["id"],
        asset=asset,
        rendition=rendition,
        channel=channel,
        bluesky=world.tea_bluesky.pk,
    )


# --- Bodies --------------------------------------------------------------------------------------

VARIANT_FIELDS = [
    "channel_id",
    "placement",
    "text",
    "inherit_text",
    "first_comment",
    "link",
    "utm",
    "alt_texts",
    "media",
    "options",
    "publish_at",
]

# (method, path, fields); {name} is filled from the `ids` fixture.
BODIES: list[tuple[str, str, list[str]]] = [
    ("POST", "/api/posts", ["text", "channels", "link", "campaign_id", "brand_id", "publish_at"]),
    (
        "PATCH",
        "/api/posts/{post}",
        ["text", "link", "campaign_id", "publish_at", "variants", "remove_channel_ids"],
    ),
    ("PATCH", "/api/variants/{variant}", [f for f in VARIANT_FIELDS if f != "channel_id"]),
    ("POST", "/api/posts/{post}/approve", ["comment"]),
    ("POST", "/api/posts/{post}/request-changes", ["comment"]),
    ("POST", "/api/posts/{post}/schedule", ["publish_at", "channel_ids"]),
    ("POST", "/api/posts/{post}/publish-now", ["channel_ids"]),
    ("POST", "/api/posts/{post}/cancel", ["channel_ids"]),
    ("POST", "/api/campaigns", ["name", "colour"]),
    ("POST", "/api/approval-policies", ["name", "brand_id", "channel_id", "steps"]),
    (
        "POST",
        "/api/publishing-pauses",
        ["scope", "reason", "brand_id", "region", "channel_id", "until"],
    ),
    ("POST", "/api/post-imports", ["csv", "import_valid_rows", "submit", "dry_run", "timezone"]),
    ("PATCH", "/api/media/assets/{asset}", ["focal_x", "focal_y", "find_focal_point", "alt_text"]),
    ("POST", "/api/media/assets/{asset}/renditions", ["network", "placement", "size", "fit"]),
    (
        "POST",
        "/api/compliance/policy-rules",
        ["name", "kind", "action", "brand_id", "region", "terms", "data_kinds", "reason"],
    ),
    ("POST", "/api/compliance/policy-check", ["text", "channel_ids", "link", "sponsored"]),
    ("POST", "/api/compliance/guidelines", ["title", "body"]),
    ("POST", "/api/compliance/guidelines/{guideline}/versions", ["body", "changes"]),
    ("POST", "/api/compliance/guidelines/{guideline}/active", ["active"]),
    ("POST", "/api/compliance/guidelines/{guideline}/acknowledge", ["version_id"]),
    ("POST", "/api/compliance/courses", ["name", "description"]),
    (
        "POST",
        "/api/compliance/training-records",
        ["course_id", "user_id", "completed_at", "expires_at", "evidence"],
    ),
    ("POST", "/api/channels/{channel}/requirements", ["guideline_id", "course_id", "applies_to"]),
    ("POST", "/api/compliance/access-reviews", ["name", "deadline"]),
    (
        "POST",
        "/api/compliance/access-reviews/{review}/items/{item}/decision",
        ["decision", "note"],
    ),
    (
        "POST",
        "/api/channels/{channel}/native-admins",
        ["user_id", "name", "email", "network_role", "knows_password"],
    ),
    (
        "PUT",
        "/api/channels/{channel}/recovery",
        [
            "recovery_email",
            "recovery_email_controller_id",
            "recovery_phone",
            "recovery_phone_controller_id",
            "two_factor_method",
            "two_factor_holder_id",
        ],
    ),
]


def _path(template: str, ids: Ids) -> str:
    return template.format(**vars(ids))


@SOME
@given(data=st.data(), endpoint=st.sampled_from(BODIES))
def test_bodies_never_crash(owner: Client, ids: Ids, data: Any, endpoint: Any) -> None:
    method, path, fields = endpoint
    _send(owner, method, _path(path, ids), data.draw(_body(fields)))


@FEW
@given(
    body=_body(VARIANT_FIELDS).map(lambda v: {"text": "Hi", "channels": [{"channel_id": 1, **v}]})
)
def test_the_channels_of_a_new_post_never_crash(owner: Client, ids: Ids, body: Any) -> None:
    body["channels"][0].setdefault("channel_id", ids.channel)
    _send(owner, "POST", "/api/posts", body)


STEP_FIELDS = ["name", "team_id", "approver_ids", "min_approvals", "respond_within_hours"]


@FEW
@given(steps=st.lists(_body(STEP_FIELDS), min_size=1, max_size=3))
def test_the_steps_of_an_approval_policy_never_crash(owner: Client, steps: Any) -> None:
    _send(owner, "POST", "/api/approval-policies", {"name": "Legal", "steps": steps})


# Explicit examples for every field whose type reaches the database: NUL (PostgreSQL refuses
# it), lone surrogates (nobody stores them), ids past 2**63 (SQLite overflows), impossible and
# out-of-range dates, huge text and huge lists of ids.
ODD_BODIES: list[tuple[str, str, dict[str, Any]]] = [
    ("POST", "/api/posts", {"text": "a\x00b", "channels": [{"channel_id": "{channel}"}]}),
    ("POST", "/api/posts", {"text": "\ud800", "channels": [{"channel_id": "{channel}"}]}),
    ("POST", "/api/posts", {"text": HUGE_TEXT, "channels": [{"channel_id": "{channel}"}]}),
    ("POST", "/api/posts", {"text": "Hi", "channels": [{"channel_id": HUGE_ID}]}),
    (
        "POST",
        "/api/posts",
        {
            "text": "Hi",
            "channels": [{"channel_id": "{channel}"}],
            "campaign_id": HUGE_ID,
            "brand_id": HUGE_ID,
        },
    ),
    ("POST", "/api/posts", {"text": "Hi", "channels": [{"channel_id": c} for c in MANY_IDS]}),
    (
        "POST",
        "/api/posts",
        {
            "text": "Hi",
            "channels": [
                {
                    "channel_id": "{channel}",
                    "placement": "a\x00",
                    "first_comment": "\x00",
                    "link": "https://x.test/\x00",
                    "utm": {"utm_source": "a\x00b"},
                    "alt_texts": ["\x00"],
                    "media": [HUGE_ID],
                    "options": {"title": "a\x00b", "tags": ["\x00"]},
                }
            ],
        },
    ),
    (
        "POST",
        "/api/posts",
        {"text": "Hi", "channels": [{"channel_id": "{channel}", "options": {"a\x00": 1}}]},
    ),
    (
        "POST",
        "/api/posts",
        {"text": "Hi", "channels": [{"channel_id": "{channel}", "media": [1, 2**62]}]},
    ),
    (
        "POST",
        "/api/posts",
        {"text": "Hi", "channels": [{"channel_id": "{channel}"}], "publish_at": BAD_DATES[0]},
    ),
    (
        "POST",
        "/api/posts",
        {"text": "Hi", "channels": [{"channel_id": "{channel}"}], "publish_at": BAD_DATES[1]},
    ),
    (
        "POST",
        "/api/posts",
        {"text": "Hi", "channels": [{"channel_id": "{channel}"}], "publish_at": BAD_DATES[2]},
    ),
    ("PATCH", "/api/posts/{post}", {"text": "a\x00b", "link": "\ud800"}),
    ("PATCH", "/api/posts/{post}", {"remove_channel_ids": MANY_IDS}),
    ("PATCH", "/api/posts/{post}", {"remove_channel_ids": [HUGE_ID]}),
    ("PATCH", "/api/posts/{post}", {"campaign_id": HUGE_ID, "publish_at": BAD_DATES[1]}),
    ("PATCH", "/api/variants/{variant}", {"text": "\x00", "options": {"title": "\x00"}}),
    ("PATCH", "/api/variants/{variant}", {"media": [HUGE_ID], "alt_texts": ["\ud800"]}),
    ("POST", "/api/posts/{post}/approve", {"comment": "a\x00b"}),
    ("POST", "/api/posts/{post}/request-changes", {"comment": "\ud800"}),
    ("POST", "/api/posts/{post}/schedule", {"publish_at": BAD_DATES[0]}),
    ("POST", "/api/posts/{post}/schedule", {"publish_at": BAD_DATES[1]}),
    ("POST", "/api/posts/{post}/schedule", {"publish_at": BAD_DATES[2]}),
    (
        "POST",
        "/api/posts/{post}/schedule",
        {"publish_at": "2099-01-01T00:00:00Z", "channel_ids": MANY_IDS},
    ),
    ("POST", "/api/posts/{post}/publish-now", {"channel_ids": [HUGE_ID]}),
    ("POST", "/api/posts/{post}/cancel", {"channel_ids": [2**63 - 1]}),
    ("POST", "/api/campaigns", {"name": "a\x00b"}),
    ("POST", "/api/campaigns", {"name": "\ud800"}),
    ("POST", "/api/campaigns", {"name": HUGE_TEXT}),
    ("POST", "/api/approval-policies", {"name": "a\x00b", "steps": [{"name": "x"}]}),
    ("POST", "/api/approval-policies", {"name": "L", "steps": [{"name": "\x00"}]}),
    (
        "POST",
        "/api/approval-policies",
        {"name": "L", "steps": [{"name": "x", "approver_ids": MANY_IDS}]},
    ),
    (
        "POST",
        "/api/approval-policies",
        {"name": "L", "steps": [{"name": "x", "approver_ids": [HUGE_ID]}]},
    ),
    ("POST", "/api/approval-policies", {"name": "L", "steps": [{"name": "x", "team_id": HUGE_ID}]}),
    (
        "POST",
        "/api/approval-policies",
        {"name": "L", "steps": [{"name": "x", "respond_within_hours": 1e-300}]},
    ),
    ("POST", "/api/publishing-pauses", {"scope": "organization", "reason": "a\x00b"}),
    ("POST", "/api/publishing-pauses", {"scope": "organization", "reason": "\ud800"}),
    ("POST", "/api/publishing-pauses", {"scope": "organization", "reason": HUGE_TEXT}),
    ("POST", "/api/publishing-pauses", {"scope": "region", "reason": "x", "region": "\x00"}),
    (
        "POST",
        "/api/publishing-pauses",
        {"scope": "organization", "reason": "x", "until": BAD_DATES[1]},
    ),
    (
        "POST",
        "/api/publishing-pauses",
        {"scope": "organization", "reason": "x", "until": BAD_DATES[2]},
    ),
    ("POST", "/api/publishing-pauses", {"scope": "channel", "reason": "x", "channel_id": HUGE_ID}),
    ("POST", "/api/post-imports", {"csv": "channel,text\n{channel},a\x00b\n"}),
    ("POST", "/api/post-imports", {"csv": "channel,text\n{channel},\ud800\n"}),
    (
        "POST",
        "/api/post-imports",
        {"csv": "channel,text,publish_at\n{channel},hi," + BAD_DATES[1] + "\n"},
    ),
    (
        "POST",
        "/api/post-imports",
        {"csv": "channel,text,publish_at\n{channel},hi," + BAD_DATES[0] + "\n"},
    ),
    (
        "POST",
        "/api/post-imports",
        {"csv": f"channel,text,campaign,media\n{HUGE_ID},hi,{HUGE_ID},{HUGE_ID}\n"},
    ),
    ("POST", "/api/post-imports", {"csv": f"channel,text,media\n{{channel}},hi,{HUGE_ID}\n"}),
    ("POST", "/api/post-imports", {"csv": "channel,text,campaign\n{channel},hi,a\x00b\n"}),
    (
        "POST",
        "/api/post-imports",
        {
            "csv": "channel,text,first_comment,alt_text,link\n"
            "{channel},hi,\x00,\x00,https://x.test/\x00\n"
        },
    ),
    ("POST", "/api/post-imports", {"csv": "channel,text\n{channel}," + HUGE_TEXT + "\n"}),
    ("POST", "/api/post-imports", {"csv": "\x00", "timezone": "\x00"}),
    ("POST", "/api/post-imports", {"csv": "channel\n" + "\n".join(map(str, MANY_IDS))}),
    ("PATCH", "/api/media/assets/{asset}", {"alt_text": "a\x00b"}),
    ("PATCH", "/api/media/assets/{asset}", {"alt_text": "\ud800"}),
    ("PATCH", "/api/media/assets/{asset}", {"focal_x": 1e400, "focal_y": -0.0}),
    ("POST", "/api/media/assets/{asset}/renditions", {"network": "\x00", "placement": "\x00"}),
    ("POST", "/api/media/assets/{asset}/renditions", {"network": "x", "size": "99999999x1"}),
    ("POST", "/api/media/assets/{asset}/renditions", {"network": "x", "size": "0x0"}),
    ("POST", "/api/compliance/policy-rules", {"name": "a\x00b", "kind": "banned_terms"}),
    (
        "POST",
        "/api/compliance/policy-rules",
        {"name": "R", "kind": "banned_terms", "terms": ["\x00", "\ud800"]},
    ),
    (
        "POST",
        "/api/compliance/policy-rules",
        {"name": "R", "kind": "banned_terms", "brand_id": HUGE_ID, "reason": "\x00"},
    ),
    (
        "POST",
        "/api/compliance/policy-rules",
        {"name": "R", "kind": "banned_terms", "terms": [HUGE_TEXT]},
    ),
    ("POST", "/api/compliance/policy-check", {"text": "\x00", "channel_ids": [HUGE_ID]}),
    ("POST", "/api/compliance/policy-check", {"text": HUGE_TEXT, "channel_ids": MANY_IDS}),
    (
        "POST",
        "/api/compliance/policy-check",
        {"text": "x", "channel_ids": ["{channel}"], "link": "\x00"},
    ),
    ("POST", "/api/compliance/guidelines", {"title": "T", "body": "a\x00b"}),
    ("POST", "/api/compliance/guidelines", {"title": "\ud800", "body": "b"}),
    ("POST", "/api/compliance/guidelines", {"title": "T", "body": HUGE_TEXT + "a"}),
    ("POST", "/api/compliance/guidelines/{guideline}/versions", {"body": "b", "changes": "\x00"}),
    ("POST", "/api/compliance/guidelines/{guideline}/acknowledge", {"version_id": HUGE_ID}),
    ("POST", "/api/compliance/courses", {"name": "C", "description": "a\x00b"}),
    (
        "POST",
        "/api/compliance/training-records",
        {"course_id": HUGE_ID, "user_id": HUGE_ID, "completed_at": BAD_DATES[1]},
    ),
    (
        "POST",
        "/api/compliance/training-records",
        {"course_id": "{course}", "user_id": 1, "completed_at": BAD_DATES[2], "evidence": "\x00"},
    ),
    (
        "POST",
        "/api/compliance/training-records",
        {
            "course_id": "{course}",
            "user_id": 1,
            "completed_at": "2026-01-01T00:00:00Z",
            "expires_at": BAD_DATES[1],
        },
    ),
    ("POST", "/api/channels/{channel}/requirements", {"guideline_id": HUGE_ID}),
    ("POST", "/api/channels/{channel}/requirements", {"course_id": HUGE_ID}),
    ("POST", "/api/compliance/access-reviews", {"name": "\x00", "deadline": BAD_DATES[1]}),
    ("POST", "/api/compliance/access-reviews", {"deadline": BAD_DATES[2]}),
    (
        "POST",
        "/api/compliance/access-reviews/{review}/items/{item}/decision",
        {"decision": "certify", "note": "a\x00b"},
    ),
    ("POST", "/api/channels/{channel}/native-admins", {"user_id": HUGE_ID, "name": "\x00"}),
    (
        "PUT",
        "/api/channels/{channel}/recovery",
        {"recovery_email": "a\x00b", "recovery_email_controller_id": HUGE_ID},
    ),
    ("POST", "/api/people/{user}/offboard", {"successor_id": HUGE_ID, "reason": "\x00"}),
]


# Network options are free-form JSON until the network's schema reads them; PostgreSQL's jsonb
# refuses NUL as well.
ODD_BODIES += [
    (
        "POST",
        "/api/posts",
        {"text": "Hi", "channels": [{"channel_id": "{bluesky}", "options": options}]},
    )
    for options in (
        {"thread": ["a\x00b"]},
        {"langs": ["\x00"]},
        {"langs": ["en", "a\x00"]},
        {"thread": [HUGE_TEXT]},
        {"thread": ["x"] * 10_000},
    )
]
ODD_BODIES += [
    ("POST", "/api/post-imports", {"csv": "channel,text,options\n{bluesky},hi," + cell + "\n"})
    for cell in ('"{""langs"": [""\\u0000""]}"', '"{""thread"": [""a\\u0000b""]}"')
]

# Every field that takes a time, with every odd date.
DATED: list[tuple[str, str, Any]] = [
    (
        "POST",
        "/api/posts",
        lambda d: {"text": "Hi", "channels": [{"channel_id": "{channel}"}], "publish_at": d},
    ),
    (
        "POST",
        "/api/posts",
        lambda d: {"text": "Hi", "channels": [{"channel_id": "{channel}", "publish_at": d}]},
    ),
    ("PATCH", "/api/posts/{post}", lambda d: {"publish_at": d}),
    (
        "PATCH",
        "/api/posts/{post}",
        lambda d: {"variants": [{"channel_id": "{channel}", "publish_at": d}]},
    ),
    ("POST", "/api/posts/{post}/schedule", lambda d: {"publish_at": d}),
    (
        "POST",
        "/api/publishing-pauses",
        lambda d: {"scope": "organization", "reason": "x", "until": d},
    ),
    (
        "POST",
        "/api/post-imports",
        lambda d: {"csv": "channel,text,publish_at\n{channel},hi," + d + "\n"},
    ),
    (
        "POST",
        "/api/compliance/training-records",
        lambda d: {"course_id": "{course}", "user_id": "{user}", "completed_at": d},
    ),
    (
        "POST",
        "/api/compliance/training-records",
        lambda d: {
            "course_id": "{course}",
            "user_id": "{user}",
            "completed_at": "2026-01-01T00:00Z",
            "expires_at": d,
        },
    ),
    ("POST", "/api/compliance/access-reviews", lambda d: {"deadline": d}),
]
ODD_BODIES += [(m, p, make(d)) for m, p, make in DATED for d in BAD_DATES]


def _fill(value: Any, ids: Ids, user: int) -> Any:
    if isinstance(value, str):
        for name, number in (
            ("{channel}", ids.channel),
            ("{bluesky}", ids.bluesky),
            ("{course}", ids.course),
            ("{user}", user),
        ):
            value = value.replace(name, str(number))
        return value
    if isinstance(value, list):
        return [_fill(v, ids, user) for v in value]
    if isinstance(value, dict):
        return {k: _fill(v, ids, user) for k, v in value.items()}
    return value


def _numeric(value: Any) -> Any:
    """Ids written as "{channel}" become numbers once filled in."""
    if isinstance(value, str) and value.isdigit() and len(value) < 19:
        return int(value)
    if isinstance(value, list):
        return [_numeric(v) for v in value]
    if isinstance(value, dict):
        return {k: _numeric(v) for k, v in value.items()}
    return value


ENDPOINTS = sorted({(method, path) for method, path, _ in ODD_BODIES})


@pytest.mark.parametrize(("method", "path"), ENDPOINTS, ids=[f"{m} {p}" for m, p in ENDPOINTS])
def test_values_the_database_cannot_store_are_refused(
    owner: Client, world: Any, ids: Ids, method: str, path: str
) -> None:
    # One test per endpoint (its setup is the slow part), every odd body sent to it; each
    # example's failure is collected, so one crash does not hide the next.
    failures = []
    for body in (b for m, p, b in ODD_BODIES if (m, p) == (method, path)):
        filled = _fill(body, ids, world.carl.pk)
        if path != "/api/post-imports":
            filled = {
                k: (_numeric(v) if k.endswith(("_id", "_ids", "channels")) else v)
                for k, v in filled.items()
            }
        where = path.format(**vars(ids), user=world.carl.pk)
        assert not re.search(r"\{[a-z]+\}", f"{where} {filled}"), "a placeholder was left unfilled"
        try:
            _send(owner, method, where, filled)
        except Exception as exc:  # the test client re-raises the server's error
            failures.append(f"{str(body)[:200]}: {type(exc).__name__}: {str(exc)[:300]}")
    assert not failures, "\n".join(failures)


# --- Filters -------------------------------------------------------------------------------------

FILTERS = {
    "/api/posts": ["state", "brand", "channel", "campaign", "from", "to"],
    "/api/campaigns": [],
    "/api/approval-policies": [],
    "/api/publishing-pauses": ["active"],
    "/api/media/assets": ["kind", "brand", "shared"],
    "/api/compliance/policy-rules": ["active"],
    "/api/compliance/guidelines": [],
    "/api/compliance/guidelines/{guideline}/acknowledgements": [],
    "/api/compliance/courses": [],
    "/api/compliance/training-records": ["course", "person"],
    "/api/compliance/missing": ["person", "channel"],
    "/api/compliance/access-reviews": [],
    "/api/compliance/access-reviews/{review}/items": ["decision", "mine"],
    "/api/compliance/access-reviews/{review}/report": [],
    "/api/governance/inventory": ["gap", "brand", "kind"],
    "/api/offboardings": [],
}


@SOME
@given(data=st.data(), path=st.sampled_from(sorted(FILTERS)))
def test_filters_never_crash(owner: Client, ids: Ids, data: Any, path: str) -> None:
    names = [*FILTERS[path], "limit", "offset", "other"]
    params = data.draw(st.dictionaries(st.sampled_from(names), query_values, max_size=4))
    _send(owner, "GET", _path(path, ids), params)


@pytest.mark.parametrize(
    ("path", "params"),
    [
        *(("/api/posts", {"from": d}) for d in BAD_DATES),
        *(("/api/posts", {"to": d, "from": "2026-01-01T00:00Z"}) for d in BAD_DATES),
        ("/api/posts", {"brand": str(HUGE_ID), "channel": str(HUGE_ID)}),
        ("/api/posts", {"campaign": str(2**63 - 1), "state": "\x00"}),
        ("/api/media/assets", {"brand": str(HUGE_ID), "kind": "\x00"}),
        ("/api/compliance/training-records", {"course": str(HUGE_ID), "person": "²"}),
        ("/api/compliance/missing", {"person": str(2**63 - 1), "channel": str(2**63 - 1)}),
        ("/api/governance/inventory", {"gap": "\x00", "kind": "a\x00b", "brand": "١٢"}),
        ("/api/posts", {"limit": str(10**30), "offset": str(-(10**30))}),
    ],
)
def test_odd_filters_are_answered(owner: Client, path: str, params: dict[str, str]) -> None:
    _send(owner, "GET", path, params)


# --- Odd ids in addresses ------------------------------------------------------------------------

ROUTES = [
    ("GET", "/api/posts/{}"),
    ("POST", "/api/posts/{}/submit"),
    ("POST", "/api/posts/{}/withdraw"),
    ("POST", "/api/variants/{}/retry"),
    ("POST", "/api/variants/{}/first-comment/retry"),
    ("POST", "/api/approval-policies/{}/deactivate"),
    ("POST", "/api/publishing-pauses/{}/lift"),
    ("GET", "/api/media/assets/{}"),
    ("GET", "/api/media/assets/{}/original"),
    ("GET", "/api/media/assets/{}/renditions"),
    ("GET", "/api/media/renditions/{}"),
    ("POST", "/api/media/renditions/{}/retry"),
    ("GET", "/api/media/renditions/{}/file"),
    ("GET", "/api/compliance/policy-rules/{}"),
    ("GET", "/api/compliance/guidelines/{}"),
    ("DELETE", "/api/compliance/training-records/{}"),
    ("GET", "/api/channels/{}/requirements"),
    ("DELETE", "/api/channels/{}/requirements/{}"),
    ("GET", "/api/compliance/access-reviews/{}"),
    ("POST", "/api/compliance/access-reviews/{}/remind"),
    ("GET", "/api/channels/{}/native-admins"),
    ("DELETE", "/api/channels/{}/native-admins/{}"),
    ("GET", "/api/channels/{}/recovery"),
    ("GET", "/api/offboardings/{}"),
    ("POST", "/api/offboardings/{}/checklist/{}/done"),
    ("POST", "/api/people/{}/offboard"),
]


@SOME
@given(
    route=st.sampled_from(ROUTES),
    ident=st.one_of(
        st.sampled_from([str(n) for n in ODD_NUMBERS] + ["abc", "1.5", "0x10", "١٢", "²"]),
        st.text(
            alphabet=st.characters(exclude_categories=["Cs"], exclude_characters="/?#%"),
            min_size=1,
            max_size=30,
        ),
    ),
)
@example(route=("POST", "/api/publishing-pauses/{}/lift"), ident=str(HUGE_ID))
@example(route=("DELETE", "/api/channels/{}/requirements/{}"), ident=str(HUGE_ID))
def test_odd_ids_never_crash(owner: Client, route: tuple[str, str], ident: str) -> None:
    method, template = route
    _send(owner, method, template.replace("{}", ident), {} if method != "GET" else None)


def test_a_list_answer_for_a_real_id_is_not_an_error(owner: Client, world: Any) -> None:
    """The odd-id routes include list endpoints: a real id answers a JSON list, not an object."""
    path = f"/api/channels/{world.coffee_x.pk}/native-admins"
    assert isinstance(owner.get(path).json(), list)
    _send(owner, "GET", path)


# --- Garbage bodies ------------------------------------------------------------------------------


@SOME
@given(
    path=st.sampled_from(
        [
            "/api/posts",
            "/api/campaigns",
            "/api/approval-policies",
            "/api/publishing-pauses",
            "/api/post-imports",
            "/api/compliance/policy-rules",
            "/api/compliance/policy-check",
            "/api/compliance/guidelines",
            "/api/compliance/training-records",
            "/api/compliance/access-reviews",
        ]
    ),
    raw=st.one_of(
        st.binary(max_size=200),
        st.sampled_from(
            [
                b"",
                b"{",
                b"[]",
                b"null",
                b"1e999",
                b'{"text": 1e400}',
                b"\xff\xfe",
                b'{"text": "\\ud800", "name": "\\ud800"}',
                b'{"text": "\\u0000", "name": "\\u0000", "reason": "\\u0000"}',
            ]
        ),
    ),
)
def test_garbage_bodies_never_crash(owner: Client, path: str, raw: bytes) -> None:
    _send(owner, "POST", path, raw=raw)


# --- Uploads -------------------------------------------------------------------------------------


def _upload(client: Client, data: dict[str, Any]) -> Any:
    with transaction.atomic():
        response = client.post("/api/media/assets", data)
        assert response.status_code < 500, response.content[:500]
        transaction.set_rollback(True)
    return response


@pytest.mark.parametrize(
    ("name", "content", "content_type"),
    [
        ("cat.png", b"this is not a picture", "image/png"),
        ("cat.jpg", b"", "image/jpeg"),
        ("cat.png", b"\x89PNG\r\n\x1a\n", "image/png"),
        ("../../etc/passwd", b"root:x:0:0", "image/png"),
        ("..\\..\\evil.png", b"GIF89a", "image/gif"),
        ("a\x00b.png", b"\x00" * 10, "image/png"),
        ("\u202egnp.exe", b"MZ", "image/png"),
        ("clip.mp4", b"\x00\x00\x00\x18ftypmp42", "video/mp4"),
    ],
)
def test_files_that_are_not_pictures_are_refused(
    owner: Client, name: str, content: bytes, content_type: str
) -> None:
    response = _upload(owner, {"file": SimpleUploadedFile(name, content, content_type)})
    assert response.status_code == 400, response.content[:300]
    assert response.json()["detail"]


def _multipart(filename: bytes, content: bytes, content_type: str) -> bytes:
    """A multipart body written by hand: the test client refuses some names a client can send."""
    return (
        b"--B\r\n"
        b'Content-Disposition: form-data; name="file"; filename="' + filename + b'"\r\n'
        b"Content-Type: " + content_type.encode() + b"\r\n\r\n" + content + b"\r\n--B--\r\n"
    )


@pytest.mark.parametrize(
    "name",
    [
        b"../../etc/cat.png",
        b"a/b\\c.png",
        b"C:\\Windows\\cat.png",
        b"a\x00b.png",
        b"\x00",
        b"",
        b"/",
        b"..",
        b"x" * 1000 + b".png",
        b"\xff\xfe.png",
        # A multipart body is bytes: no client can put a lone surrogate in it.
        *(t.encode() for t in ODD_TEXT if "\ud800" not in t and "\udfff" not in t),
    ],
)
def test_a_picture_with_an_odd_filename_is_kept_safely(owner: Client, name: bytes) -> None:
    with transaction.atomic():
        response = owner.generic(
            "POST",
            "/api/media/assets",
            _multipart(name, _png(), "image/png"),
            content_type="multipart/form-data; boundary=B",
        )
        assert response.status_code < 500, response.content[:500]
        if response.status_code == 201:
            stored = response.json()["filename"]
            assert stored and not set(stored) & {"/", "\\", "\x00"}, stored
            asset = MediaAsset.objects.get(pk=response.json()["id"])
            assert Path(asset.original.path).is_relative_to(Path(settings_module.MEDIA_ROOT))
        else:
            assert response.status_code in (400, 422), response.content[:300]
        transaction.set_rollback(True)


def _form_value(value: Any) -> str:
    # A multipart body is bytes: a lone surrogate cannot be encoded into one by any client.
    return str(value).encode("utf-8", "replace").decode("utf-8")


@FEW
@given(form=_body(["brand_id", "alt_text"]))
@example(form={"brand_id": str(HUGE_ID)})
@example(form={"brand_id": "²"})
@example(form={"alt_text": "a\x00b"})
@example(form={"alt_text": HUGE_TEXT})
def test_upload_forms_never_crash(owner: Client, form: dict[str, Any]) -> None:
    data: dict[str, Any] = {k: _form_value(v) for k, v in form.items() if v is not None}
    data["file"] = SimpleUploadedFile("cat.png", _png(), "image/png")
    _upload(owner, data)


@pytest.mark.parametrize(
    ("row", "column", "says"),
    [
        ("{channel},a\x00b,,", "", "NUL"),
        ("{channel},hi,0001-01-01T00:00:00+14:00,", "publish_at", "too far"),
        ("{channel},hi,9999-12-31T23:59:59-14:00,", "publish_at", "too far"),
        (f"{{channel}},hi,,{HUGE_ID}", "media", str(HUGE_ID)),
        ("{channel},hi,,²", "media", "²"),
    ],
)
def test_an_import_with_values_nothing_can_store_says_which(
    owner: Client, ids: Ids, row: str, column: str, says: str
) -> None:
    csv = "channel,text,publish_at,media\n" + row.replace("{channel}", str(ids.channel))
    response = owner.post(
        "/api/post-imports", {"csv": csv, "dry_run": True}, content_type="application/json"
    )
    assert response.status_code == 200, response.content[:300]
    errors = response.json()["errors"]
    assert [e["column"] for e in errors] == [column], errors
    assert says in errors[0]["message"]


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("/api/campaigns", {"name": "a\x00b"}, "name"),
        ("/api/publishing-pauses", {"scope": "organization", "reason": "a\x00b"}, "reason"),
    ],
)
def test_nul_in_publishing_text_is_a_422(
    owner: Client, path: str, body: dict[str, Any], field: str
) -> None:
    # SQLite would store it; PostgreSQL cannot, so both refuse it with the field's name.
    response = owner.post(path, body, content_type="application/json")
    assert response.status_code == 422, response.content[:300]
    assert response.json()["detail"][0]["loc"][-1] == field


@pytest.mark.parametrize("options", [{"thread": ["a\x00b"]}, {"langs": ["en", "k\x00"]}])
def test_nul_in_a_network_option_is_refused_by_name(
    owner: Client, world: Any, options: dict[str, Any]
) -> None:
    # Options are stored as JSON; PostgreSQL's jsonb cannot hold NUL, SQLite's text can.
    response = owner.post(
        "/api/posts",
        {"text": "Hi", "channels": [{"channel_id": world.tea_bluesky.pk, "options": options}]},
        content_type="application/json",
    )
    assert response.status_code == 400, response.content[:300]
    detail = response.json()["detail"]
    assert "NUL" in detail and next(iter(options)) in detail, detail
