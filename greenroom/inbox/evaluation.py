"""Accuracy and speed of the sentiment scorers on the labelled English + Korean set
(greenroom/inbox/data/sentiment_en_ko.csv), used by `greenroom bench inbox` and the docs."""

from __future__ import annotations

import csv
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from greenroom.inbox import understanding

DATASET = Path(__file__).resolve().parent / "data" / "sentiment_en_ko.csv"


@dataclass(frozen=True)
class Example:
    id: str
    language: str
    sentiment: str
    flag: str
    split: str
    text: str


@dataclass(frozen=True)
class Score:
    scorer: str
    split: str
    language: str
    examples: int
    correct: int
    msgs_per_s: float

    @property
    def accuracy(self) -> float:
        return self.correct / self.examples if self.examples else 0.0


def load(path: Path = DATASET) -> list[Example]:
    with path.open(encoding="utf-8", newline="") as handle:
        return [Example(**row) for row in csv.DictReader(handle)]


SCORERS: dict[str, Callable[[str, str], str]] = {
    # The inbox's full reading: lexicon score, with abuse read as negative and spam as neutral.
    "inbox": lambda text, lang: understanding.read(text, (), language=lang).sentiment,
    "lexicon": lambda text, lang: understanding.sentiment(text, lang)[0],
    "vader": lambda text, lang: understanding.sentiment(text, lang, scorer="vader")[0],
}


def evaluate(scorer: str, examples: list[Example], *, split: str = "", language: str = "") -> Score:
    chosen = [
        e
        for e in examples
        if (not split or e.split == split) and (not language or e.language == language)
    ]
    fn = SCORERS[scorer]
    start = time.perf_counter()
    predicted = [fn(e.text, e.language) for e in chosen]
    elapsed = time.perf_counter() - start
    correct = sum(p == e.sentiment for p, e in zip(predicted, chosen, strict=True))
    return Score(
        scorer=scorer,
        split=split or "all",
        language=language or "en+ko",
        examples=len(chosen),
        correct=correct,
        msgs_per_s=len(chosen) / elapsed if elapsed else 0.0,
    )


def flag_accuracy(examples: list[Example]) -> tuple[int, int]:
    """(examples whose spam/abuse flag is right, examples)."""
    right = 0
    for e in examples:
        spam, abuse = understanding.is_spam(e.text), understanding.is_abusive(e.text)
        right += (spam == (e.flag == "spam")) and (abuse == (e.flag == "abuse"))
    return right, len(examples)


def errors(scorer: str, examples: list[Example], split: str = "dev") -> list[tuple[str, str, str]]:
    """(expected, predicted, text) for every miss: what to look at when tuning the word lists."""
    fn = SCORERS[scorer]
    return [
        (e.sentiment, got, e.text)
        for e in examples
        if e.split == split and (got := fn(e.text, e.language)) != e.sentiment
    ]
