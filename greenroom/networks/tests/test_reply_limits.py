"""Inbox replies are counted by the rule table's reply entries, not by the post limit.

Each network says how a reply to a comment, to a mention and in a direct message is counted
(`rules.reply_limit`); `text.count_reply` and `text.validate_reply` measure a reply with the
same counter as posts (X's weights and 23-character links, Bluesky's graphemes and bytes...).
"""

from __future__ import annotations

import pytest
from django.utils import translation

from greenroom.inbox.models import ConversationKind
from greenroom.networks import rules
from greenroom.networks.rules import CountingMethod, UnknownNetwork
from greenroom.networks.text import count, count_reply, validate_reply

THUMBS = "\U0001f44d"  # 👍: one code point beyond the basic plane (2 UTF-16 units, 4 bytes)


# --- The table: every network, every kind of conversation ----------------------------------------


def test_the_table_knows_every_kind_of_inbox_conversation() -> None:
    assert set(rules.REPLY_KINDS) == set(ConversationKind.values)
    for network in rules.all_specs():
        assert set(network.replies) == set(ConversationKind.values), network.key


@pytest.mark.parametrize(
    ("network", "kind", "limit", "counting", "max_bytes"),
    [
        ("x", "comment", 280, CountingMethod.X_WEIGHTED, None),
        ("x", "mention", 280, CountingMethod.X_WEIGHTED, None),
        ("x", "dm", 10_000, CountingMethod.CHARACTERS, None),
        ("bluesky", "comment", 300, CountingMethod.GRAPHEMES_AND_BYTES, 3_000),
        ("bluesky", "mention", 300, CountingMethod.GRAPHEMES_AND_BYTES, 3_000),
        ("bluesky", "dm", 1_000, CountingMethod.GRAPHEMES_AND_BYTES, 10_000),
        ("mastodon", "comment", 500, CountingMethod.GRAPHEMES, None),
        ("mastodon", "mention", 500, CountingMethod.GRAPHEMES, None),
        ("mastodon", "dm", 500, CountingMethod.GRAPHEMES, None),
        ("threads", "comment", 500, CountingMethod.CHARACTERS_EMOJI_AS_UTF8_BYTES, None),
        ("threads", "mention", 500, CountingMethod.CHARACTERS_EMOJI_AS_UTF8_BYTES, None),
        ("threads", "dm", 500, CountingMethod.CHARACTERS_EMOJI_AS_UTF8_BYTES, None),
        ("facebook", "comment", 8_000, CountingMethod.CHARACTERS, None),
        ("facebook", "mention", 8_000, CountingMethod.CHARACTERS, None),
        ("facebook", "dm", 2_000, CountingMethod.CHARACTERS, None),
        ("instagram", "comment", 2_200, CountingMethod.CHARACTERS, None),
        ("instagram", "mention", 2_200, CountingMethod.CHARACTERS, None),
        ("instagram", "dm", 1_000, CountingMethod.UTF8_BYTES, None),
        ("linkedin", "comment", 1_250, CountingMethod.CHARACTERS, None),
        ("linkedin", "mention", 1_250, CountingMethod.CHARACTERS, None),
        ("linkedin", "dm", 3_000, CountingMethod.CHARACTERS, None),
        ("tiktok", "comment", 150, CountingMethod.UTF16_UNITS, None),
        ("tiktok", "mention", 150, CountingMethod.UTF16_UNITS, None),
        ("tiktok", "dm", 2_200, CountingMethod.UTF16_UNITS, None),
        ("youtube", "comment", 5_000, CountingMethod.UTF8_BYTES, None),
        ("youtube", "mention", 5_000, CountingMethod.UTF8_BYTES, None),
        ("youtube", "dm", 5_000, CountingMethod.UTF8_BYTES, None),
        ("sandbox", "comment", 1_000, CountingMethod.CHARACTERS, None),
        ("sandbox", "dm", 1_000, CountingMethod.CHARACTERS, None),
    ],
)
def test_each_reply_has_its_networks_limit_and_counting(
    network: str, kind: str, limit: int, counting: CountingMethod, max_bytes: int | None
) -> None:
    rule = rules.reply_limit(network, kind)
    assert (rule.limit, rule.counting, rule.max_bytes) == (limit, counting, max_bytes)


def test_replies_that_are_posts_count_links_and_mentions_like_posts() -> None:
    x_reply = rules.reply_limit("x", "comment")
    assert x_reply.url_length == 23
    assert x_reply.weights is not None and x_reply.weights.weight_of("가") == 200
    mastodon_dm = rules.reply_limit("mastodon", "dm")
    assert mastodon_dm.url_length == 23
    assert mastodon_dm.mention_counting is rules.MentionCounting.USERNAME_ONLY
    assert rules.reply_limit("threads", "comment").max_links == 5


@pytest.mark.parametrize(
    ("network", "kind"),
    [
        ("instagram", "comment"),
        ("youtube", "comment"),
        ("linkedin", "dm"),
        ("tiktok", "dm"),
        ("threads", "dm"),
        ("youtube", "dm"),
    ],
)
def test_a_limit_without_a_source_says_so_and_repeats_the_post_limit(
    network: str, kind: str
) -> None:
    rule = rules.reply_limit(network, kind)
    assert rule.provenance.note.startswith("No source"), rule.provenance.note
    post = rules.get_spec(network).text
    assert post is not None
    assert (rule.limit, rule.counting) == (post.limit, post.counting)


@pytest.mark.parametrize(
    ("network", "kind"),
    [("facebook", "comment"), ("linkedin", "comment"), ("tiktok", "comment")],
)
def test_a_third_party_figure_is_marked_not_verified(network: str, kind: str) -> None:
    rule = rules.reply_limit(network, kind)
    assert rule.provenance.note.startswith("Not verified"), rule.provenance.note
    assert rule.provenance.is_link
    assert not rule.provenance.source.startswith(("https://developers.", "https://learn."))


def test_an_unknown_network_or_kind_is_an_error_not_a_guess() -> None:
    with pytest.raises(UnknownNetwork, match="Known: comment, mention, dm"):
        rules.reply_limit("x", "review")
    with pytest.raises(UnknownNetwork, match="no network 'myspace'"):
        count_reply("hi", "myspace", "comment")


# --- Counting: the post counter, the reply's limit -----------------------------------------------


def test_an_x_reply_weighs_korean_and_links_like_a_post() -> None:
    text = "가" * 129 + " https://example.com/a/very/long/path/that/goes/on"
    measured = count_reply(text, "x", "comment")
    # 129 syllables x 2 + 1 space + a link at 23
    assert (measured.length, measured.limit, measured.over) == (282, 280, True)
    assert (measured.placement, measured.field) == ("replies", "comment")
    assert validate_reply(text, "x", "comment") == [
        "X counts this reply as 282 of 280: Korean characters count 2, each link counts 23. "
        "Shorten it by 2."
    ]


def test_an_x_direct_message_is_not_held_to_the_post_limit() -> None:
    text = "가" * 2_000
    assert count(text, "x").over
    measured = count_reply(text, "x", "dm")
    assert (measured.length, measured.limit, measured.over) == (2_000, 10_000, False)
    assert validate_reply(text, "x", "dm") == []
    assert count_reply("a" * 10_001, "x", "dm").over


def test_a_linkedin_comment_reply_stops_at_1250_though_a_post_takes_3000() -> None:
    text = "a" * 1_251
    assert not count(text, "linkedin").over
    assert validate_reply(text, "linkedin", "comment") == [
        "LinkedIn counts this comment as 1,251 of 1,250. Shorten it by 1."
    ]
    assert validate_reply("a" * 1_250, "linkedin", "mention") == []


def test_an_instagram_dm_counts_bytes_so_korean_takes_three() -> None:
    text = "안" * 334  # 1,002 bytes
    assert validate_reply(text, "instagram", "comment") == []
    assert validate_reply(text, "instagram", "dm") == [
        "Instagram counts this message as 1,002 of 1,000 bytes: Korean characters take 3 bytes "
        "each. Shorten it by 2 bytes."
    ]
    assert validate_reply("안" * 333, "instagram", "dm") == []


def test_a_bluesky_chat_message_has_its_own_graphemes_and_bytes() -> None:
    assert not count_reply("a" * 1_000, "bluesky", "dm").over
    assert count_reply("a" * 1_001, "bluesky", "dm").over
    # 1,000 graphemes but 1,000 x 11 bytes: over the 10,000-byte ceiling only.
    families = "\U0001f468\u200d\U0001f469\u200d\U0001f467" * 1_000
    measured = count_reply(families, "bluesky", "dm")
    assert (measured.length, measured.bytes_over, measured.over) == (1_000, True, True)
    assert count_reply("a" * 301, "bluesky", "comment").over


def test_a_tiktok_comment_counts_utf16_units_to_150() -> None:
    assert not count_reply("a" * 148 + THUMBS, "tiktok", "comment").over
    measured = count_reply("a" * 149 + THUMBS, "tiktok", "comment")
    assert (measured.length, measured.over) == (151, True)


def test_a_mastodon_direct_message_counts_links_as_23_and_remote_mentions_short() -> None:
    text = "@alice@example.social " + "https://example.com/" + "x" * 200
    measured = count_reply(text, "mastodon", "dm")
    assert measured.length == len("@alice ") + 23


def test_a_facebook_messenger_reply_stops_at_2000() -> None:
    assert validate_reply("a" * 2_000, "facebook", "dm") == []
    assert validate_reply("a" * 2_001, "facebook", "dm") == [
        "Facebook counts this message as 2,001 of 2,000. Shorten it by 1."
    ]
    assert validate_reply("a" * 2_001, "facebook", "comment") == []


def test_the_problem_reads_in_korean_for_a_korean_agent() -> None:
    with translation.override("ko"):
        (problem,) = validate_reply("a" * 281, "x", "comment")
    assert "답글" in problem
    assert "281" in problem
