"""What a message is: its language (lingua, restricted to the organisation's languages), its
sentiment (Greenroom's English + Korean lexicon scorer; VADER for English when asked) and whether
it looks like spam or abuse.

Why our own scorer: no sentiment model that ships inside its wheel reads Korean and installs
here (see docs/architecture/inbox.md for the candidates and the measurements on the labelled set
in greenroom/inbox/data/). VADER reads every Korean sentence as neutral.
"""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from greenroom.inbox.lexicon import (
    ABUSE_WORDS,
    EMOJI,
    EN_INTENSIFIERS,
    EN_NEGATORS,
    EN_WORDS,
    KO_STEMS,
    SPAM_PATTERNS,
)

POSITIVE_AT = 0.35
NEGATIVE_AT = -0.35
_HANGUL = re.compile(r"[\uac00-\ud7a3]")
_EN_TOKEN = re.compile(r"[a-z]+(?:'[a-z]+)?")
# Flags are matched on the lowered text, one pattern at a time: each has a literal the regex
# engine looks for quickly, where one big case-insensitive alternation is tried at every
# position. Abuse words are looked for as plain substrings before the word-boundary check.
_SPAM = tuple(re.compile(p) for p in SPAM_PATTERNS)
_ABUSE_WORDS = tuple(w.lower() for w in ABUSE_WORDS)
_ABUSE = re.compile(
    "|".join(
        rf"\b{re.escape(w)}\b" if w.isascii() and w[0].isalpha() else re.escape(w)
        for w in _ABUSE_WORDS
    )
)
# Phrases (several words) are matched before single words.
_EN_PHRASES = sorted((p for p in EN_WORDS if " " in p), key=len, reverse=True)
_KO_STEMS = sorted(KO_STEMS, key=len, reverse=True)
_EMOJI = sorted(EMOJI, key=len, reverse=True)


@dataclass(frozen=True)
class Reading:
    """What Greenroom understood of one message."""

    language: str
    sentiment: str
    score: float
    is_spam: bool
    is_abusive: bool


# --- Language ------------------------------------------------------------------------------------


@functools.lru_cache(maxsize=32)
def _detector(languages: tuple[str, ...]) -> object | None:
    from lingua import IsoCode639_1, LanguageDetectorBuilder

    codes = []
    for code in languages:
        iso = getattr(IsoCode639_1, code.upper(), None)
        if iso is not None:
            codes.append(iso)
    if len(codes) < 2:
        return None
    return LanguageDetectorBuilder.from_iso_codes_639_1(*codes).build()


def detect_language(text: str, languages: Sequence[str], names: Iterable[str] = ()) -> str:
    """The ISO 639-1 code of `text` among `languages` ('' when it cannot tell). `names` (the
    organisation's brands, channels and handles) are left out of the words weighed: they are
    written the same whatever the writer's language."""
    wanted = tuple(sorted({code.lower() for code in languages if code}))
    if not wanted:
        return ""
    if len(wanted) == 1:
        return wanted[0]
    return detect_languages([text], wanted, names)[0]


def detect_languages(
    texts: Sequence[str], languages: Sequence[str], names: Iterable[str] = ()
) -> list[str]:
    """`detect_language` for many texts at once (lingua runs them in parallel)."""
    wanted = tuple(sorted({code.lower() for code in languages if code}))
    if len(wanted) < 2:
        return [wanted[0] if wanted else ""] * len(texts)
    detector = _detector(wanted)
    if detector is None:
        return [""] * len(texts)
    scripts = [(code, _SCRIPTS[code]) for code in wanted if code in _SCRIPTS]
    own_names = _names_pattern(frozenset(names))
    codes: list[str | None] = []
    rest: list[str] = []
    for text in texts:
        words = _words_for_detection(own_names.sub(" ", text) if own_names else text)
        code = _by_script(words, scripts) if scripts else None
        codes.append(code)
        if code is None:
            rest.append(" ".join(words) if any(w.isalpha() for w in words) else text)
    found = iter(detector.detect_languages_in_parallel_of(rest))  # type: ignore[attr-defined]
    for i, code in enumerate(codes):
        if code is None:
            f = next(found)
            codes[i] = str(f.iso_code_639_1.name).lower() if f is not None else ""
    return [code or "" for code in codes]


# Scripts that only one of the languages Greenroom may be asked to tell apart is written in.
# People writing in these languages drop in Latin words (brand and product names, places) far
# more often than people writing English drop in theirs: "늘 믿고 마시는 Cloud Tea Korea" is
# Korean, though most of its letters are Latin, which is what lingua weighs.
_SCRIPTS = {
    "ko": re.compile(r"[\uac00-\ud7a3\u1100-\u11ff\u3130-\u318f]"),
    "ja": re.compile(r"[\u3040-\u30ff]"),
    "th": re.compile(r"[\u0e00-\u0e7f]"),
    "el": re.compile(r"[\u0370-\u03ff]"),
    "he": re.compile(r"[\u0590-\u05ff]"),
}
_LATIN_WORD = re.compile(r"[A-Za-z]{2,}")
# Addresses and handles say nothing of the writer's language: t.me/x, bit.ly/x, @brand.kr.
_NOT_WORDS = re.compile(r"https?://\S+|\b[\w-]+(?:\.[\w-]+)+/\S*|@[\w.]+|www\.\S+")


@functools.lru_cache(maxsize=64)
def _names_pattern(names: frozenset[str]) -> re.Pattern[str] | None:
    """The names as whole words, longest first, case ignored (None for no names)."""
    kept = sorted({n.strip().lstrip("@") for n in names if n.strip().lstrip("@")}, key=len)
    if not kept:
        return None
    alternatives = "|".join(re.escape(n) for n in reversed(kept))
    return re.compile(rf"(?<!\w)(?:{alternatives})(?!\w)", re.IGNORECASE)


def _words_for_detection(text: str) -> list[str]:
    return _NOT_WORDS.sub(" ", text).split()


def _by_script(words: list[str], scripts: list[tuple[str, re.Pattern[str]]]) -> str | None:
    """The language whose own script writes at least as many of the words as the Latin alphabet
    does; None when none does (lingua decides)."""
    latin = sum(1 for w in words if _LATIN_WORD.search(w))
    for code, script in scripts:
        own = sum(1 for w in words if script.search(w))
        if own and own >= latin:
            return code
    return None


# --- Sentiment -----------------------------------------------------------------------------------


def _squash(total: float) -> float:
    # Into -1..1 like VADER's compound, so thresholds read the same for both scorers.
    return total / math.sqrt(total * total + 15)


def _emoji_score(text: str) -> float:
    score = 0.0
    for emoji in _EMOJI:
        if emoji in text:
            score += EMOJI[emoji] * min(text.count(emoji), 2)
            text = text.replace(emoji, " ")
    return score


def _english_score(text: str) -> float:
    lowered = text.lower().replace("’", "'")
    total = 0.0
    for phrase in _EN_PHRASES:
        if phrase in lowered:
            total += EN_WORDS[phrase]
            lowered = lowered.replace(phrase, " ")
    tokens = _EN_TOKEN.findall(lowered)
    for i, token in enumerate(tokens):
        weight = EN_WORDS.get(token)
        if weight is None:
            continue
        window = tokens[max(0, i - 3) : i]
        if any(w in EN_NEGATORS or w.endswith("n't") for w in window):
            weight = -0.6 * weight
        if i and tokens[i - 1] in EN_INTENSIFIERS:
            weight *= EN_INTENSIFIERS[tokens[i - 1]]
        total += weight
    # Shouting and repeated marks make a complaint stronger, not different.
    if total < 0 and ("!!" in text or "??" in text):
        total *= 1.2
    return total


def _korean_score(text: str) -> float:
    remaining = text
    total = 0.0
    for stem in _KO_STEMS:
        if stem in remaining:
            total += KO_STEMS[stem] * min(remaining.count(stem), 2)
            remaining = remaining.replace(stem, " ")
    if total < 0 and ("!!" in text or "??" in text):
        total *= 1.2
    return total


def lexicon_score(text: str, language: str = "") -> float:
    """A score in -1..1 from Greenroom's own word lists (both languages when mixed)."""
    total = _emoji_score(text)
    if language == "ko" or _HANGUL.search(text):
        total += _korean_score(text)
    if language != "ko" or re.search(r"[A-Za-z]{3,}", text):
        total += _english_score(text)
    return _squash(total)


@functools.lru_cache(maxsize=1)
def _vader() -> object:
    from vaderSentiment.vaderSentiment import (  # type: ignore[import-untyped]
        SentimentIntensityAnalyzer,
    )

    return SentimentIntensityAnalyzer()


def vader_score(text: str) -> float:
    """VADER's compound score (English only: every Korean sentence comes out 0)."""
    scores = _vader().polarity_scores(text)  # type: ignore[attr-defined]
    return float(scores["compound"])


def label(score: float) -> str:
    if score >= POSITIVE_AT:
        return "positive"
    if score <= NEGATIVE_AT:
        return "negative"
    return "neutral"


def sentiment(text: str, language: str = "", *, scorer: str = "lexicon") -> tuple[str, float]:
    """(label, score) for a message; `scorer` is "lexicon" (default) or "vader"."""
    score = vader_score(text) if scorer == "vader" else lexicon_score(text, language)
    if scorer == "vader":
        return ("positive" if score >= 0.05 else "negative" if score <= -0.05 else "neutral"), score
    return label(score), score


# --- Spam and abuse ------------------------------------------------------------------------------


def is_spam(text: str) -> bool:
    lowered = text.lower()
    return any(pattern.search(lowered) for pattern in _SPAM)


def is_abusive(text: str) -> bool:
    lowered = text.lower()
    return any(word in lowered for word in _ABUSE_WORDS) and bool(_ABUSE.search(lowered))


def read(text: str, languages: Sequence[str], *, language: str | None = None) -> Reading:
    """Language, sentiment and flags of one message."""
    lang = language if language is not None else detect_language(text, languages)
    label_, score = sentiment(text, lang)
    spam, abusive = is_spam(text), is_abusive(text)
    if abusive:
        # An insult is a negative message whatever words of praise it borrows.
        label_, score = "negative", min(score, -0.5)
    elif spam:
        # Spam is not an opinion about us; it must not count as praise or a complaint.
        label_, score = "neutral", 0.0
    return Reading(language=lang, sentiment=label_, score=score, is_spam=spam, is_abusive=abusive)


# Readings of texts seen recently, per set of languages and names: the same words (a "+1", a
# run of spam, a complaint copied by many people) are read once. Bounded: past CACHE_SIZE the
# oldest entries go first. A reading depends only on the text, the languages and the names, so
# a cached one is exact.
CACHE_SIZE = 50_000
_readings: dict[tuple[str, tuple[tuple[str, ...], frozenset[str]]], Reading] = {}


@dataclass
class CacheStats:
    hits: int = 0
    misses: int = 0


cache_stats = CacheStats()


def clear_cache() -> None:
    _readings.clear()
    cache_stats.hits = cache_stats.misses = 0


def read_many(
    texts: Iterable[str],
    languages: Sequence[str],
    *,
    names: Iterable[str] = (),
    cache: bool = True,
) -> list[Reading]:
    """`read` for a batch: each distinct text read once (and remembered), language detection
    in parallel over the texts not seen before. `names`: see `detect_language`."""
    batch = list(texts)
    wanted = tuple(sorted({code.lower() for code in languages if code}))
    own_names = frozenset(names)
    context = (wanted, own_names)
    cache = cache and CACHE_SIZE > 0
    found: list[Reading | None] = [None] * len(batch)
    missing: dict[str, list[int]] = {}
    for i, text in enumerate(batch):
        reading = _readings.get((text, context)) if cache else None
        if reading is None:
            missing.setdefault(text, []).append(i)
        else:
            found[i] = reading
    cache_stats.hits += len(batch) - len(missing)
    cache_stats.misses += len(missing)
    if missing:
        unique = list(missing)
        langs = detect_languages(unique, wanted, own_names)
        for text, lang in zip(unique, langs, strict=True):
            reading = read(text, wanted, language=lang)
            for i in missing[text]:
                found[i] = reading
            if cache:
                if len(_readings) >= CACHE_SIZE:
                    del _readings[next(iter(_readings))]
                _readings[(text, context)] = reading
    return [r for r in found if r is not None]
