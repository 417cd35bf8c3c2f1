"""Sentiment on phrasings that carry it without the usual words (leaving a brand, slang praise),
and the language of messages that mix in the brand's Latin names; the measured accuracy is the
labelled set's (inbox/evaluation.py), these guard what was added."""

from __future__ import annotations

from typing import Any

import pytest

from greenroom.inbox import evaluation, understanding
from greenroom.inbox.tests.conftest import conversation_of, item, land


@pytest.mark.parametrize(
    ("text", "language", "sentiment"),
    [
        ("Is it true? I'm never buying from them again.", "en", "negative"),
        ("Called support and got hung up on twice.", "en", "negative"),
        ("ok the oat latte slaps. that's the post", "en", "positive"),
        ("this coffee got me through finals week", "en", "positive"),
        ("사실인가요? 이제 다시는 안 삽니다.", "ko", "negative"),
        ("제대로 해명하세요. 소비자를 뭘로 보는 건가요", "ko", "negative"),
        ("퇴근길에 한 잔이 요즘 제일 큰 낙이에요", "ko", "positive"),
    ],
)
def test_phrasings_that_carry_sentiment(text: str, language: str, sentiment: str) -> None:
    assert understanding.read(text, (), language=language).sentiment == sentiment


def test_the_labelled_sets_accuracy_holds() -> None:
    examples = evaluation.load()
    assert len(examples) >= 300
    assert evaluation.evaluate("inbox", examples).accuracy >= 0.97
    assert evaluation.evaluate("inbox", examples, split="test").accuracy >= 0.93


@pytest.mark.parametrize(
    ("text", "language"),
    [
        # Korean around the brand's own (Latin) name, a handle or a link: Korean.
        ("늘 믿고 마시는 Acme Tea 🍵", "ko"),
        ("Acme Coffee 광화문점 최고", "ko"),
        ("@acme.coffee 핸드드립에 우유 들어가나요?", "ko"),
        ("주문했는데 https://shop.example/orders/123 아직 안 와요", "ko"),
        ("팔로워 1만 명 빠르게 늘려 드립니다 bit.ly/grow-now-kr", "ko"),
        # English with a Korean word in it: English.
        ("I love the 김치 toastie at Acme Coffee", "en"),
        ("@acme.coffee is the Seongsu store open late tonight?", "en"),
    ],
)
def test_the_language_is_the_writers_not_the_brand_names(text: str, language: str) -> None:
    names = ["Acme Coffee", "Acme Tea", "@acmecoffee", "acme.coffee"]
    assert understanding.detect_languages([text], ["en", "ko"], names) == [language]
    assert understanding.read_many([text], ["en", "ko"], names=names)[0].language == language


def test_a_korean_comment_naming_the_brand_lands_as_korean(world: Any) -> None:
    """The whole way: ingestion tells the language with the organisation's brand and channel
    names left out, so the Korean queue and Korean routing rules get this comment."""
    land(world.tea_bluesky, item("ko-brand", "늘 믿고 마시는 Acme Tea 💚"))
    land(world.coffee_x, item("ko-handle", "Acme Coffee acmecoffee 최고"))
    assert conversation_of(world.tea_bluesky, "ko-brand").language == "ko"
    assert conversation_of(world.coffee_x, "ko-handle").language == "ko"
