"""Sentiment on phrasings that carry it without the usual words (leaving a brand, slang praise);
the measured accuracy is the labelled set's (inbox/evaluation.py), these guard what was added."""

from __future__ import annotations

import pytest

from greenroom.inbox import evaluation, understanding


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
