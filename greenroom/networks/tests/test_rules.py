"""The rule table: complete, sourced, loaded strictly, and versioned."""

from __future__ import annotations

import shutil
from datetime import date
from pathlib import Path

import pytest

from greenroom.networks import rules
from greenroom.networks.rules import (
    AspectRatio,
    CountingMethod,
    MentionCounting,
    RuleTableError,
    UnknownNetwork,
)

NETWORKS = {
    "x",
    "bluesky",
    "mastodon",
    "facebook",
    "instagram",
    "threads",
    "linkedin",
    "tiktok",
    "youtube",
    "sandbox",
}


def test_every_network_greenroom_supports_is_in_the_table() -> None:
    assert set(rules.network_names()) == NETWORKS
    assert [network.key for network in rules.all_specs()] == sorted(NETWORKS)
    assert set(rules.get_network("instagram").placements) == {
        "feed",
        "carousel",
        "reels",
        "stories",
    }
    for network in rules.all_specs():
        assert "feed" in network.placements, network.key


def test_every_value_names_its_source_and_when_it_was_checked() -> None:
    entries = rules.flatten(rules.table())
    assert len(entries) > 150
    for key, entry in entries.items():
        assert entry.source is not None
        assert entry.checked is not None
        if key.startswith("sandbox."):
            assert entry.source.startswith("greenroom:"), key
        else:
            assert entry.source.startswith("https://"), key
        assert date.fromisoformat(entry.checked) <= date.today(), key


def test_instagram_limits_are_metas_documented_ones() -> None:
    feed = rules.get_spec("instagram", "feed")
    assert feed.text is not None
    assert (feed.text.limit, feed.text.max_hashtags, feed.text.max_mentions) == (2200, 30, 20)
    assert feed.media.max_image_bytes == 8_000_000
    assert (feed.media.min_width, feed.media.max_width) == (320, 1440)
    assert feed.media.min_aspect == AspectRatio("4:5", 0.8)
    assert feed.media.max_aspect is not None
    assert feed.media.max_aspect.value == pytest.approx(1.91)
    assert feed.media.accepts_image("image/jpeg")
    assert not feed.media.accepts_image("image/png")

    carousel = rules.get_spec("instagram", "carousel")
    assert (carousel.media.min_items, carousel.media.max_items) == (2, 10)

    reels = rules.get_spec("instagram", "reels").video
    assert reels is not None
    assert (reels.min_duration_seconds, reels.max_duration_seconds) == (3, 900)
    assert (reels.min_fps, reels.max_fps, reels.max_bytes) == (23, 60, 300_000_000)

    stories = rules.get_spec("instagram", "stories")
    assert stories.text is None
    assert stories.video is not None
    assert stories.video.max_duration_seconds == 60

    quotas = {quota.key: quota for quota in rules.get_spec("instagram", "reels").quotas}
    assert (quotas["api_posts"].limit, quotas["api_posts"].window_seconds) == (100, 86400)


def test_text_counting_follows_each_network() -> None:
    x = rules.get_spec("x").text
    assert x is not None and x.weights is not None
    assert (x.limit, x.counting, x.url_length) == (280, CountingMethod.X_WEIGHTED, 23)
    assert x.weights.weight_of("a") == 100
    assert x.weights.weight_of("가") == 200

    bluesky = rules.get_spec("bluesky").text
    assert bluesky is not None
    assert (bluesky.limit, bluesky.max_bytes) == (300, 3000)
    assert bluesky.counting is CountingMethod.GRAPHEMES_AND_BYTES
    assert bluesky.url_length is None

    mastodon = rules.get_spec("mastodon").text
    assert mastodon is not None
    assert (mastodon.limit, mastodon.url_length) == (500, 23)
    assert mastodon.counting is CountingMethod.GRAPHEMES
    assert mastodon.mention_counting is MentionCounting.USERNAME_ONLY

    threads = rules.get_spec("threads").text
    assert threads is not None
    assert threads.counting is CountingMethod.CHARACTERS_EMOJI_AS_UTF8_BYTES
    assert (threads.limit, threads.max_links) == (500, 5)

    youtube = rules.get_spec("youtube")
    assert youtube.text is not None and youtube.title is not None
    assert (youtube.text.limit, youtube.text.counting) == (5000, CountingMethod.UTF8_BYTES)
    assert youtube.title.limit == 100
    assert youtube.text.forbidden_characters == ("<", ">")

    photo = rules.get_spec("tiktok", "photo")
    assert photo.text is not None and photo.title is not None
    assert (photo.title.limit, photo.text.limit, photo.media.max_items) == (90, 4000, 35)
    assert photo.text.counting is CountingMethod.UTF16_UNITS


def test_quotas_apply_only_where_the_network_applies_them() -> None:
    assert rules.get_spec("facebook", "feed").quotas == ()
    (reels_quota,) = rules.get_spec("facebook", "reels").quotas
    assert (reels_quota.limit, reels_quota.window_seconds) == (30, 86400)

    threads = {quota.key: quota.limit for quota in rules.get_spec("threads").quotas}
    assert threads == {"posts": 250, "replies": 1000}


def test_the_sandbox_is_a_permissive_generic_network() -> None:
    sandbox = rules.get_spec("sandbox")
    assert sandbox.text is not None
    assert (sandbox.text.limit, sandbox.text.counting) == (1000, CountingMethod.CHARACTERS)
    assert sandbox.media.max_items == 4
    assert sandbox.media.accepts_image("image/png")


def test_a_value_whose_sources_disagree_carries_its_own_source_and_note() -> None:
    video = rules.get_spec("x").video
    assert video is not None
    assert video.max_bytes == 8_000_000_000
    own = video.provenance_of("max_bytes")
    assert own is not video.provenance
    assert "512 MB" in own.note
    assert own.source.startswith("https://docs.x.com/")

    quota = next(q for q in rules.get_network("instagram").quotas if q.key == "api_posts")
    assert "50" in quota.provenance_of("limit").note
    assert quota.provenance_of("window_seconds") is quota.provenance


def test_bluesky_accepts_any_image_type_its_lexicon_accepts() -> None:
    media = rules.get_spec("bluesky").media
    assert media.accepts_image("image/webp")
    assert not media.accepts_image("video/mp4")
    assert media.accepts_video("video/mp4")
    assert media.max_image_bytes == 2_000_000


def test_an_unknown_network_or_placement_says_what_exists() -> None:
    with pytest.raises(UnknownNetwork, match="Known: bluesky, facebook"):
        rules.get_spec("myspace")
    with pytest.raises(UnknownNetwork, match="carousel, feed, reels, stories"):
        rules.get_spec("instagram", "igtv")


@pytest.mark.parametrize(
    ("raw", "value"),
    [("4:5", 0.8), ("1.91:1", 1.91), ("9:16", 0.5625), ("0.01:1", 0.01), (1.5, 1.5)],
)
def test_aspect_ratios_read_as_width_over_height(raw: str | float, value: float) -> None:
    assert AspectRatio.parse(raw).value == pytest.approx(value)


def test_a_malformed_aspect_ratio_is_refused() -> None:
    with pytest.raises(ValueError, match="not an aspect ratio"):
        AspectRatio.parse("wide")


# --- Loading fails loudly ------------------------------------------------------------------------

TINY = """
name = "Tiny"
source = "https://example.com/docs"
checked = 2026-11-27

[placements.feed]
source = "https://example.com/docs/posts"
checked = 2026-11-27

[placements.feed.text]
noun = "post"
counting = "characters"
{text}

[placements.feed.media]
max_items = 1
source = "https://example.com/docs/media"
checked = 2026-11-27
{replies}"""

TINY_REPLIES = """
[replies.comment]
noun = "reply"
limit = 10
counting = "characters"
source = "https://example.com/docs/replies"
checked = 2026-11-27

[replies.mention]
noun = "reply"
limit = 10
counting = "characters"
source = "https://example.com/docs/replies"
checked = 2026-11-27

[replies.dm]
noun = "message"
limit = 20
counting = "utf8_bytes"
source = "https://example.com/docs/messages"
checked = 2026-11-27
"""


def _tiny_table(tmp_path: Path, text: str, replies: str = TINY_REPLIES) -> Path:
    (tmp_path / "tiny.toml").write_text(TINY.format(text=text, replies=replies), encoding="utf-8")
    return tmp_path


def test_a_well_formed_table_loads(tmp_path: Path) -> None:
    specs = _tiny_table(
        tmp_path, 'limit = 10\nsource = "https://example.com/docs/text"\nchecked = 2026-11-27'
    )
    table = rules.load_table(specs)
    text = table.networks["tiny"].placements["feed"].text
    assert text is not None
    assert text.limit == 10
    assert text.provenance.source == "https://example.com/docs/text"
    dm = table.networks["tiny"].replies["dm"]
    assert (dm.limit, dm.counting, dm.noun) == (20, CountingMethod.UTF8_BYTES, "message")
    assert dm.provenance.source == "https://example.com/docs/messages"


def test_a_network_without_a_rule_for_each_kind_of_reply_is_refused(tmp_path: Path) -> None:
    text = 'limit = 10\nsource = "https://example.com/t"\nchecked = 2026-11-27'
    without_dm = TINY_REPLIES.split("[replies.dm]")[0]
    with pytest.raises(RuleTableError, match=r"tiny.toml needs a \[replies.dm\] table"):
        rules.load_table(_tiny_table(tmp_path, text, without_dm))
    with pytest.raises(RuleTableError, match=r"\[replies\] has unknown kind\(s\) review"):
        review = '\n[replies.review]\nnoun = "review"\nlimit = 5\ncounting = "characters"\n'
        review += 'source = "https://example.com/r"\nchecked = 2026-11-27\n'
        rules.load_table(_tiny_table(tmp_path, text, TINY_REPLIES + review))
    no_source = TINY_REPLIES.replace('source = "https://example.com/docs/messages"\n', "")
    with pytest.raises(RuleTableError, match=r"\[replies.dm\] has no 'source'"):
        rules.load_table(_tiny_table(tmp_path, text, no_source))


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "limit = 10\nchecked = 2026-11-27",
            r"tiny.toml \[placements.feed.text\] has no 'source'",
        ),
        (
            'limit = 10\nsource = "https://example.com/docs/text"',
            r"tiny.toml \[placements.feed.text\] has no 'checked'",
        ),
        (
            'limit = { value = 10, source = "https://example.com/other" }\n'
            'source = "https://example.com/docs/text"\nchecked = 2026-11-27',
            r"\[placements.feed.text\] limit has no 'checked'",
        ),
        (
            'limit = 10\nsource = "https://example.com/docs/text"\nchecked = "last week"',
            r"'checked' must be a plain TOML date",
        ),
        (
            'limit = 10\nsource = "the internet"\nchecked = 2026-11-27',
            r"'source' must be a link",
        ),
        (
            'limt = 10\nsource = "https://example.com/docs/text"\nchecked = 2026-11-27',
            r"unknown key\(s\) limt",
        ),
        (
            'limit = "ten"\nsource = "https://example.com/docs/text"\nchecked = 2026-11-27',
            r"limit must be a whole number",
        ),
    ],
)
def test_a_broken_table_fails_loudly_and_says_where(
    tmp_path: Path, text: str, message: str
) -> None:
    with pytest.raises(RuleTableError, match=message):
        rules.load_table(_tiny_table(tmp_path, text))


def test_x_weighted_counting_without_weights_is_refused(tmp_path: Path) -> None:
    specs = _tiny_table(
        tmp_path,
        'limit = 10\nsource = "https://example.com/t"\nchecked = 2026-11-27',
    )
    path = specs / "tiny.toml"
    path.write_text(path.read_text().replace('"characters"', '"x_weighted"'))
    with pytest.raises(RuleTableError, match="x_weighted counting needs"):
        rules.load_table(specs)


# --- Versions ------------------------------------------------------------------------------------


def test_the_toml_files_equal_the_latest_published_version() -> None:
    diff = rules.unpublished_changes()
    unpublished = [c.key for c in (*diff.added, *diff.removed, *diff.changed, *diff.rechecked)]
    assert not unpublished, (
        "The rule table was edited without publishing a version. Publish it with "
        "greenroom.networks.rules.snapshot_current('what changed and why'). Unpublished: "
        + ", ".join(unpublished[:20])
    )


def test_every_published_version_has_a_changelog_entry() -> None:
    published = rules.versions()
    assert published[:2] == [1, 2]
    assert published == list(range(1, len(published) + 1))
    log = rules.changelog()
    assert [entry.version for entry in log] == published
    assert all(entry.summary for entry in log)
    assert rules.current_version() == published[-1]


def test_version_2_is_version_1_checked_against_the_networks_docs() -> None:
    diff = rules.diff_versions(1, 2)
    changed = {c.key: (c.old, c.new) for c in diff.changed}
    old, new = changed["instagram.quotas.api_posts.limit"]
    assert old is not None and new is not None
    assert (old.value, new.value) == (25, 100)
    assert old.source is None
    assert (
        new.source == "https://developers.facebook.com/docs/instagram-platform/content-publishing"
    )
    values = {key: (o.value, n.value) for key, (o, n) in changed.items() if o and n}
    assert values["x.feed.video.max_duration_seconds"] == (140, 1200)
    assert values["mastodon.feed.text.counting"] == ("characters", "graphemes")
    assert values["tiktok.feed.text.counting"] == ("characters", "utf16_units")

    removed = {c.key for c in diff.removed}
    assert {"bluesky.feed.text.max_hashtags", "x.feed.media.recommended_sizes"} <= removed
    added = {c.key for c in diff.added}
    assert {"sandbox.feed.text.limit", "threads.feed.text.max_links"} <= added
    # Values the check confirmed keep their number and gain a source.
    rechecked = {c.key: c for c in diff.rechecked}
    assert rechecked["bluesky.feed.text.limit"].new is not None
    assert rechecked["bluesky.feed.text.limit"].new.value == 300


def test_version_5_adds_reply_limits_without_touching_post_limits() -> None:
    diff = rules.diff_versions(4, 5)
    assert not (diff.removed or diff.changed or diff.rechecked)
    added = {c.key: c.new for c in diff.added if c.new is not None}
    assert all(".replies." in key for key in added)
    for network in NETWORKS:
        for kind in rules.REPLY_KINDS:
            assert f"{network}.replies.{kind}.limit" in added
    assert added["x.replies.dm.limit"].value == 10_000
    assert added["x.replies.comment.counting"].value == "x_weighted"


def test_a_diff_read_backwards_swaps_added_and_removed() -> None:
    forward, backward = rules.diff_versions(1, 2), rules.diff_versions(2, 1)
    assert {c.key for c in forward.added} == {c.key for c in backward.removed}
    assert {c.key for c in forward.changed} == {c.key for c in backward.changed}
    assert rules.diff_versions(2, 2).is_empty


def test_a_version_that_does_not_exist_is_named() -> None:
    with pytest.raises(RuleTableError, match=r"version 999 does not exist\. Published: 1, 2"):
        rules.diff_versions(1, 999)


def test_publishing_a_change_writes_the_next_version(tmp_path: Path) -> None:
    specs = tmp_path / "specs"
    shutil.copytree(rules.SPECS_DIR, specs)
    latest = rules.current_version(specs)
    threads = specs / "threads.toml"
    threads.write_text(threads.read_text().replace("limit = 500", "limit = 600", 1))
    assert [c.key for c in rules.unpublished_changes(specs).changed] == ["threads.feed.text.limit"]

    path = rules.snapshot_current(
        "Threads now allows 600 characters.", published=date(2026, 12, 1), specs_dir=specs
    )

    assert path == specs / "history" / f"v{latest + 1}.json"
    assert rules.current_version(specs) == latest + 1
    diff = rules.diff_versions(latest, latest + 1, specs)
    assert [(c.key, c.old.value, c.new.value) for c in diff.changed if c.old and c.new] == [
        ("threads.feed.text.limit", 500, 600)
    ]
    assert not (diff.added or diff.removed or diff.rechecked)
    assert rules.changelog(specs)[-1] == rules.ChangelogEntry(
        version=latest + 1, date=date(2026, 12, 1), summary="Threads now allows 600 characters."
    )
    assert rules.unpublished_changes(specs).is_empty
    with pytest.raises(RuleTableError, match="nothing to publish"):
        rules.snapshot_current("Again.", specs_dir=specs)
    # The project's own table is untouched.
    assert rules.current_version() == latest


def test_a_version_needs_a_summary(tmp_path: Path) -> None:
    specs = tmp_path / "specs"
    shutil.copytree(rules.SPECS_DIR, specs)
    with pytest.raises(RuleTableError, match="summary"):
        rules.snapshot_current("  ", specs_dir=specs)
