"""Text counted the way each network counts it, with Korean, emoji, links and mentions."""

from __future__ import annotations

import importlib
import os
import re
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from greenroom.networks.rules import UnknownNetwork
from greenroom.networks.text import count, validate_text

FLAG_KR = "\U0001f1f0\U0001f1f7"  # 🇰🇷: two regional indicators
THUMBS_MEDIUM = "\U0001f44d\U0001f3fd"  # 👍🏽: thumbs up and a skin tone modifier
FAMILY = "\U0001f468\u200d\U0001f469\u200d\U0001f467\u200d\U0001f466"  # 👨‍👩‍👧‍👦: 4 people, 3 ZWJs
KEYCAP_1 = "1\ufe0f\u20e3"  # 1️⃣
HAN_JAMO = "\u1112\u1161\u11ab"  # 한, spelled with three conjoining jamo
HAN = "\ud55c"  # 한, the precomposed syllable
LONG_URL = "https://example.com/a/very/long/path/that/goes/on/and/on/for/a/while"


# --- X -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "length"),
    [
        ("Hello, world", 12),
        ("안녕하세요", 10),  # Hangul syllables weigh 2
        ("ㅋㅋㅋ", 6),  # compatibility jamo too
        (HAN_JAMO, 2),  # X normalises to NFC first: three jamo become one syllable
        ("café", 4),
        (FLAG_KR, 2),  # an emoji counts 2 however many code points it has
        (THUMBS_MEDIUM, 2),
        (FAMILY, 2),
        (KEYCAP_1, 2),
        ("日本語", 6),
        ("example.com", 23),  # a bare domain is a link on X
        (f"Read {LONG_URL} now", 5 + 23 + 4),
        ("오늘 #그린룸 출시! https://example.com 👍🏽 @alice", 52),
    ],
)
def test_x_weighs_text_like_twitter_text(text: str, length: int) -> None:
    measured = count(text, "x")
    assert measured.length == length
    assert measured.limit == 280
    assert measured.remaining == 280 - length
    assert not measured.over


def test_x_finds_hashtags_mentions_and_links_in_mixed_korean_text() -> None:
    measured = count("오늘 #그린룸 출시! https://example.com 👍🏽 @alice #1 #Launch #launch", "x")
    assert measured.hashtags == ("그린룸", "Launch")
    assert measured.mentions == ("@alice",)
    assert measured.urls == ("https://example.com",)


def test_x_explains_an_over_long_post_in_plain_words() -> None:
    text = "가" * 100 + " https://example.com/x " + "😀" * 30 + "abcdef"
    assert count(text, "x").length == 291
    assert validate_text(text, "x") == [
        "X counts this post as 291 of 280: Korean characters and emoji count 2, "
        "each link counts 23. Shorten it by 11."
    ]


def test_x_plain_ascii_over_the_limit_names_no_special_reason() -> None:
    assert validate_text("a" * 281, "x") == ["X counts this post as 281 of 280. Shorten it by 1."]
    assert validate_text("a" * 280, "x") == []


# --- Conformance with twitter-text's own cases ---------------------------------------------------

REPO_ROOT = Path(__file__).resolve().parents[3]


def _conformance_file() -> Path | None:
    # shared/ sits beside the repository on developers' machines and in CI, not in a user's clone.
    shared = Path(os.environ.get("GREENROOM_SHARED_DIR", REPO_ROOT.parent / "shared"))
    path = shared / "reference" / "conformance" / "twitter-text-validate.yml"
    return path if path.is_file() else None


def _weighted_v3_cases() -> tuple[list[dict[str, Any]], str]:
    """twitter-text's v3 weighted-length cases, or why they cannot be read here."""
    path = _conformance_file()
    if path is None:
        return [], (
            "twitter-text's conformance cases (shared/reference/conformance, beside the "
            "repository) are not here; CI has them"
        )
    try:
        yaml = importlib.import_module("yaml")
    except ImportError:
        return [], "PyYAML is needed to read twitter-text's conformance cases (pip install pyyaml)"
    document = yaml.safe_load(path.read_text(encoding="utf-8"))
    # The v3 configuration (an emoji sequence counts once) is the one X uses.
    return list(document["tests"]["WeightedTweetsWithDiscountedEmojiCounterTest"]), ""


CONFORMANCE_CASES, CONFORMANCE_SKIP = _weighted_v3_cases()


def test_the_conformance_file_holds_all_v3_weighted_cases() -> None:
    if CONFORMANCE_SKIP:
        pytest.skip(CONFORMANCE_SKIP)
    assert len(CONFORMANCE_CASES) == 22


@pytest.mark.parametrize(
    "case",
    [pytest.param(case, id=case["description"]) for case in CONFORMANCE_CASES]
    or [pytest.param(None, marks=pytest.mark.skip(reason=CONFORMANCE_SKIP))],
)
def test_x_matches_twitter_text_conformance(case: dict[str, Any]) -> None:
    expected = case["expected"]
    measured = count(case["text"], "x")
    assert measured.length == expected["weightedLength"]
    assert measured.over == (expected["weightedLength"] > 280)
    if expected["valid"]:
        assert not measured.over


# --- Bluesky -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "graphemes", "utf8"),
    [
        ("Hello", 5, 5),
        ("안녕하세요", 5, 15),
        (HAN_JAMO, 1, 9),  # one syllable to a reader, three jamo of 3 bytes each
        (FLAG_KR, 1, 8),
        (THUMBS_MEDIUM, 1, 8),
        (FAMILY, 1, 25),
        (KEYCAP_1, 1, 7),
        ("https://example.com/abc", 23, 23),  # links count in full
    ],
)
def test_bluesky_counts_graphemes_and_bytes(text: str, graphemes: int, utf8: int) -> None:
    measured = count(text, "bluesky")
    assert (measured.length, measured.graphemes, measured.bytes) == (graphemes, graphemes, utf8)
    assert (measured.limit, measured.byte_limit) == (300, 3000)


def test_bluesky_refuses_300_families_for_their_bytes_not_their_length() -> None:
    text = FAMILY * 300
    measured = count(text, "bluesky")
    assert (measured.length, measured.bytes) == (300, 7500)
    assert measured.over and measured.bytes_over
    (problem,) = validate_text(text, "bluesky")
    assert problem.startswith("Bluesky also limits a post to 3")
    assert "(emoji take 4 or more)" in problem
    assert re.search(r"Shorten it by 4\D?500 bytes\.$", problem)


def test_bluesky_301_syllables_are_over_by_one_character() -> None:
    (problem,) = validate_text("가" * 301, "bluesky")
    assert problem == "Bluesky counts this post as 301 of 300. Shorten it by 1."


# --- Mastodon ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "length"),
    [
        (f"Read {LONG_URL}", 5 + 23),  # every link counts 23...
        ("https://a.co", 23),  # ...even a short one
        ("See https://example.com/x.", 4 + 23 + 1),  # the full stop ends the sentence
        ("https://example.com/x에서", 23 + 2),  # Korean right after a link is not the link
        ("@alice@mastodon.social hi", len("@alice hi")),  # the server is not counted
        ("@bob hi", 7),
        ("bob@example.com", 15),  # an e-mail address is not a mention
        (FAMILY, 1),
        (FLAG_KR + THUMBS_MEDIUM + KEYCAP_1, 3),
        (HAN_JAMO, 1),
    ],
)
def test_mastodon_counts_like_its_server(text: str, length: int) -> None:
    assert count(text, "mastodon").length == length


def test_mastodon_explains_that_links_count_23() -> None:
    text = "a" * 478 + " https://example.com/very/long/path"
    assert validate_text(text, "mastodon") == [
        "Mastodon counts this post as 502 of 500: each link counts 23. Shorten it by 2."
    ]


def test_mastodon_lists_remote_mentions_in_full() -> None:
    assert count("hi @alice@mastodon.social and @bob", "mastodon").mentions == (
        "@alice@mastodon.social",
        "@bob",
    )


# --- Threads, TikTok, YouTube, Instagram ----------------------------------------------------------


@pytest.mark.parametrize(
    ("network", "placement", "text", "length"),
    [
        ("threads", "feed", "😀", 4),  # an emoji counts its UTF-8 bytes
        ("threads", "feed", FAMILY, 25),
        ("threads", "feed", FLAG_KR, 8),
        ("threads", "feed", KEYCAP_1, 7),
        ("threads", "feed", f"Hi {THUMBS_MEDIUM}", 3 + 8),
        ("threads", "feed", "안녕", 2),  # other text counts per character
        ("tiktok", "feed", "😀", 2),  # UTF-16: an emoji outside the basic plane is 2 units
        ("tiktok", "feed", FAMILY, 4 * 2 + 3),
        ("tiktok", "feed", KEYCAP_1, 3),
        ("tiktok", "photo", "안녕", 2),
        ("youtube", "feed", "안녕하세요", 15),  # the description is limited in bytes
        ("youtube", "feed", FAMILY, 25),
        ("instagram", "feed", FAMILY, 7),  # code points: every part of the family
        ("instagram", "feed", FLAG_KR, 2),
        ("instagram", "feed", HAN_JAMO, 3),
        ("instagram", "feed", HAN, 1),
        ("linkedin", "feed", "안녕하세요 👍🏽", 8),
    ],
)
def test_other_networks_count_as_documented(
    network: str, placement: str, text: str, length: int
) -> None:
    assert count(text, network, placement).length == length


def test_youtube_titles_count_characters_and_refuse_angle_brackets() -> None:
    assert count("가" * 100, "youtube", field="title").length == 100
    assert not count("가" * 100, "youtube", field="title").over
    assert validate_text("<b>New</b> video", "youtube", field="title") == [
        "YouTube does not accept < and > in a title. Remove or replace them."
    ]


def test_youtube_description_over_in_bytes_says_why() -> None:
    (problem,) = validate_text("안" * 1700, "youtube")
    assert problem.startswith("YouTube counts this description as 5")
    assert "bytes: Korean characters take 3 bytes each." in problem
    assert re.search(r"Shorten it by 100 bytes\.$", problem)


def test_threads_refuses_a_sixth_link_and_explains_emoji_weight() -> None:
    links = " ".join(f"https://example{i}.com" for i in range(6))
    assert validate_text(links, "threads") == [
        "Threads allows at most 5 links in a post; this one has 6. Remove 1."
    ]
    # A bare domain is a link too, and the same link twice counts once.
    five = "www.facebook.com 그리고 a.com b.co.kr https://c.net/x d.org"
    assert count(five, "threads").urls == (
        "www.facebook.com",
        "a.com",
        "b.co.kr",
        "https://c.net/x",
        "d.org",
    )
    assert validate_text(five + " d.org", "threads") == []
    assert len(validate_text(five + " e.io", "threads")) == 1
    assert validate_text("😀" * 130, "threads") == [
        "Threads counts this post as 520 of 500: each emoji counts as its size in bytes "
        "(4 or more). Shorten it by 20."
    ]


def test_instagram_caps_hashtags_and_mentions() -> None:
    hashtags = " ".join(f"#tag{i}" for i in range(31)) + " #tag0 #TAG1"
    mentions = " ".join(f"@friend{i}" for i in range(21))
    assert validate_text(hashtags, "instagram") == [
        "Instagram allows at most 30 hashtags in a caption; this one has 31. Remove 1."
    ]
    assert validate_text(mentions, "instagram", "reels") == [
        "Instagram allows at most 20 @mentions in a caption; this one has 21. Remove 1."
    ]
    assert validate_text("#tag " * 40 + "#1 #2", "instagram") == []


def test_instagram_stories_carry_no_caption() -> None:
    assert validate_text("", "instagram", "stories") == []
    assert validate_text("Hello", "instagram", "stories") == [
        "Instagram: a Story carries no text, so this text would not be published. "
        "Remove it or choose another placement."
    ]
    with pytest.raises(ValueError, match="has no text"):
        count("Hello", "instagram", "stories")


def test_tiktok_photo_titles_have_their_own_limit() -> None:
    assert count("😀" * 45, "tiktok", "photo", field="title").length == 90
    (problem,) = validate_text("😀" * 46, "tiktok", "photo", field="title")
    assert problem == (
        "TikTok counts this title as 92 of 90: emoji and other characters beyond the basic set "
        "count 2. Shorten it by 2."
    )


def test_an_unknown_network_is_an_error_not_a_guess() -> None:
    with pytest.raises(UnknownNetwork):
        count("hi", "friendster")
    with pytest.raises(ValueError, match="not a text field"):
        count("hi", "x", field="body")


# --- Properties ----------------------------------------------------------------------------------

# No ':' (so no links on networks that need a scheme) and no '@' (so no remote mentions, which
# Mastodon shortens): what is left only ever grows when a character is added.
_PLAIN = st.characters(exclude_characters=":@", codec="utf-8")
# On X a '.' can turn text into a bare-domain link counted 23, and emoji sequences collapse to 2;
# letters, digits and Korean, Chinese and Japanese text cannot shrink.
_X_PLAIN = st.one_of(
    st.characters(min_codepoint=0x20, max_codepoint=0x7E, exclude_characters=".:"),
    st.characters(min_codepoint=0xAC00, max_codepoint=0xD7A3),
    st.characters(min_codepoint=0x4E00, max_codepoint=0x9FFF),
    st.characters(min_codepoint=0x3040, max_codepoint=0x30FF),
)


@pytest.mark.parametrize(
    ("network", "placement"),
    [
        ("bluesky", "feed"),
        ("mastodon", "feed"),
        ("threads", "feed"),
        ("tiktok", "feed"),
        ("youtube", "feed"),
        ("instagram", "feed"),
        ("sandbox", "feed"),
    ],
)
@given(text=st.text(_PLAIN, max_size=40), extra=_PLAIN)
def test_appending_a_character_never_shortens_the_count(
    network: str, placement: str, text: str, extra: str
) -> None:
    assert count(text + extra, network, placement).length >= count(text, network, placement).length


@given(text=st.text(_X_PLAIN, max_size=40), extra=_X_PLAIN)
def test_appending_a_character_never_shortens_the_x_count(text: str, extra: str) -> None:
    assert count(text + extra, "x").length >= count(text, "x").length


@given(st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7E, exclude_characters=".")))
def test_plain_ascii_without_links_counts_one_per_character_on_x(text: str) -> None:
    measured = count(text, "x")
    assert measured.urls == ()
    assert measured.length == len(text)
    assert measured.over == (len(text) > 280)


@given(st.text(st.characters(codec="utf-8")))
def test_bluesky_bytes_are_utf8_and_graphemes_never_exceed_code_points(text: str) -> None:
    measured = count(text, "bluesky")
    assert measured.bytes == len(text.encode("utf-8"))
    assert measured.graphemes <= len(text)
    assert measured.over == (measured.graphemes > 300 or measured.bytes > 3000)


@given(st.text(st.characters(codec="utf-8"), max_size=60))
def test_tiktok_counts_two_units_for_each_character_beyond_the_basic_plane(text: str) -> None:
    astral = sum(1 for char in text if ord(char) > 0xFFFF)
    assert count(text, "tiktok").length == len(text) + astral
