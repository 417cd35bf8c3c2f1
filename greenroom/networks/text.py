"""Counting text the way each network counts it, and saying plainly what is wrong.

Every number comes from the rule table (`rules.py`): this module knows how to count (code points,
graphemes, bytes, X's weights), never how much is allowed.

- X: twitter-text's `parse_tweet` with the weights from the table (v3: most CJK characters and
  emoji count 2, every link 23, text NFC-normalised first).
- Bluesky: grapheme clusters (the `regex` module's `\\X`, kept current with Unicode) and, as a
  second ceiling, UTF-8 bytes.
- Mastodon: grapheme clusters, with every link counted as 23 and `@user@domain` as `@user`.
- Threads: code points, except that an emoji counts as its UTF-8 bytes.
- Others: code points, UTF-16 code units or UTF-8 bytes, as the table says.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

# Without types-regex installed the module is untyped; with it, the ignore is unused.
import regex  # type: ignore[import-untyped, unused-ignore]
from django.utils.formats import number_format
from django.utils.translation import gettext as _
from django.utils.translation import pgettext
from twitter_text import extract_urls, parse_tweet

from greenroom.networks import rules
from greenroom.networks.rules import CountingMethod, MentionCounting, TextRule

_GRAPHEME = regex.compile(r"\X")
# A grapheme containing one of these is an emoji: pictographs, flags (regional indicators), and
# keycaps such as 1️⃣ (a digit, VS16 and U+20E3).
_EMOJI = regex.compile(r"[\p{Extended_Pictographic}\p{Regional_Indicator}\u20E3]")
_HANGUL = regex.compile(r"\p{Script=Hangul}")
_HAN_KANA = regex.compile(r"[\p{Script=Han}\p{Script=Hiragana}\p{Script=Katakana}]")
# Not preceded by a word character, '&' (an HTML entity) or '/' (a URL fragment); a keycap #️⃣ is
# not a hashtag. Hashtags of digits only are not hashtags on any network that documents it.
_HASHTAG = regex.compile(r"(?<![\p{L}\p{M}\p{N}_&#/])[#＃](?![\uFE0F\u20E3])([\p{L}\p{M}\p{N}_]+)")
# @name, @name.with.dots (Bluesky handles) and @name@server.example (Mastodon); an e-mail address
# is not a mention because a word character precedes its '@'.
_MENTION = regex.compile(
    r"(?<![\p{L}\p{M}\p{N}_@./])@([A-Za-z0-9_](?:[A-Za-z0-9_.\-]*[A-Za-z0-9_])?)"
    r"(?:@([A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)+))?"
)
# Networks other than X only link URLs with a scheme; a URL ends at whitespace or at a character
# outside printable ASCII (Korean text often follows a link without a space).
_URL = regex.compile(r"https?://[!-~]+", regex.IGNORECASE)
_URL_TRAILING = ".,;:!?'\"*"
_CLOSERS = {")": "(", "]": "[", "}": "{", ">": "<"}


@dataclass(frozen=True, kw_only=True)
class TextCount:
    """How a network measures one text, and what it found in it."""

    network: str
    placement: str
    field: str
    counting: CountingMethod
    # The length as the network counts it, against `limit`.
    length: int
    limit: int
    remaining: int
    # True when any ceiling is exceeded (for Bluesky: graphemes or bytes).
    over: bool
    graphemes: int
    bytes: int
    byte_limit: int | None
    hashtags: tuple[str, ...]
    hashtag_cap: int | None
    mentions: tuple[str, ...]
    mention_cap: int | None
    urls: tuple[str, ...]
    link_cap: int | None

    @property
    def bytes_over(self) -> bool:
        return self.byte_limit is not None and self.bytes > self.byte_limit


def count(text: str, network: str, placement: str = "feed", *, field: str = "text") -> TextCount:
    """Measure `text` as `network` counts it for `placement` (field: text, title or tags).

    Raises `rules.UnknownNetwork` for a network or placement the table does not know, and
    ValueError when the placement has no such text field (Instagram Stories have no caption).
    """
    spec = rules.get_spec(network, placement)
    rule = spec.text_rule(field)
    if rule is None:
        raise ValueError(f"{spec.network_name} {spec.label} has no {field}.")
    return _measure(text, rule, network=spec.network, placement=spec.key, field=field)


# A reply's count says placement "replies" and names the conversation kind as its field.
REPLY_PLACEMENT = "replies"


def count_reply(text: str, network: str, kind: str) -> TextCount:
    """Measure an inbox reply as `network` counts a reply in a conversation of `kind`.

    `kind` is the conversation's kind (comment, mention, dm); the limit and the counting come
    from the rule table's `[replies.<kind>]` (`rules.reply_limit`), not from the post limit.
    Raises `rules.UnknownNetwork` for a network or kind the table does not know.
    """
    rule = rules.reply_limit(network, kind)
    return _measure(
        text, rule, network=rules.get_network(network).key, placement=REPLY_PLACEMENT, field=kind
    )


def validate_reply(text: str, network: str, kind: str) -> list[str]:
    """What stops an inbox reply from being sent as it is, in plain words (empty: it fits).

    The same messages as `validate_text`, worded for a reply, a comment or a message.
    """
    rule = rules.reply_limit(network, kind)
    spec = rules.get_network(network)
    measured = _measure(text, rule, network=spec.key, placement=REPLY_PLACEMENT, field=kind)
    return _problems(text, rule, measured, spec.name)


def _measure(text: str, rule: TextRule, *, network: str, placement: str, field: str) -> TextCount:
    urls = _urls(text, rule)
    length = _length(text, rule)
    utf8 = _utf8_length(text)
    graphemes = _grapheme_count(text)
    over = length > rule.limit or (rule.max_bytes is not None and utf8 > rule.max_bytes)
    return TextCount(
        network=network,
        placement=placement,
        field=field,
        counting=rule.counting,
        length=length,
        limit=rule.limit,
        remaining=rule.limit - length,
        over=over,
        graphemes=graphemes,
        bytes=utf8,
        byte_limit=rule.max_bytes,
        hashtags=_distinct(match[1] for match in _HASHTAG.finditer(text) if not match[1].isdigit()),
        hashtag_cap=rule.max_hashtags,
        mentions=_distinct(match[0] for match in _MENTION.finditer(text)),
        mention_cap=rule.max_mentions,
        urls=tuple(urls),
        link_cap=rule.max_links,
    )


def _distinct(items: Iterable[str]) -> tuple[str, ...]:
    # A tag or a person named twice is still one tag or one person; case does not make another.
    seen: dict[str, str] = {}
    for item in items:
        seen.setdefault(item.casefold(), item)
    return tuple(seen.values())


# --- Length, per counting method -----------------------------------------------------------------


def _length(text: str, rule: TextRule) -> int:
    if rule.counting is CountingMethod.X_WEIGHTED:
        return _x_weighted_length(text, rule)
    countable = _countable_text(text, rule)
    return _MEASURES[rule.counting](countable)


def _x_weighted_length(text: str, rule: TextRule) -> int:
    weights = rule.weights
    if weights is None or rule.url_length is None:  # rules.py refuses such a table
        raise ValueError("x_weighted counting needs weights and url_length")
    options = {
        "version": 3,
        "max_weighted_tweet_length": rule.limit,
        "scale": weights.scale,
        "default_weight": weights.default_weight,
        "emoji_parsing_enabled": weights.emoji_parsing,
        "transformed_url_length": rule.url_length,
        "ranges": [{"start": r.start, "end": r.end, "weight": r.weight} for r in weights.ranges],
    }
    return int(parse_tweet(text, options).weightedLength)


def _countable_text(text: str, rule: TextRule) -> str:
    """The text as the network measures it: links at their fixed length, remote mentions short."""
    if rule.url_length is not None:
        placeholder = "x" * rule.url_length
        text = _replace_spans(text, _url_spans(text), lambda _url: placeholder)
    if rule.mention_counting is MentionCounting.USERNAME_ONLY:
        text = _MENTION.sub(lambda match: "@" + match[1], text)
    return text


def _utf8_length(text: str) -> int:
    # surrogatepass: a stray surrogate from a broken client is counted, not a crash.
    return len(text.encode("utf-8", "surrogatepass"))


def _utf16_length(text: str) -> int:
    return len(text.encode("utf-16-le", "surrogatepass")) // 2


def _grapheme_count(text: str) -> int:
    return len(_GRAPHEME.findall(text))


def _emoji_as_utf8_length(text: str) -> int:
    return sum(
        _utf8_length(grapheme) if _EMOJI.search(grapheme) else len(grapheme)
        for grapheme in _GRAPHEME.findall(text)
    )


_MEASURES: dict[CountingMethod, Callable[[str], int]] = {
    CountingMethod.CHARACTERS: len,
    CountingMethod.GRAPHEMES: _grapheme_count,
    CountingMethod.GRAPHEMES_AND_BYTES: _grapheme_count,
    CountingMethod.UTF8_BYTES: _utf8_length,
    CountingMethod.UTF16_UNITS: _utf16_length,
    CountingMethod.CHARACTERS_EMOJI_AS_UTF8_BYTES: _emoji_as_utf8_length,
}


# --- Links ---------------------------------------------------------------------------------------


def _url_spans(text: str) -> list[tuple[int, int]]:
    spans = []
    for match in _URL.finditer(text):
        start, end = match.span()
        url = text[start:end]
        # Trailing punctuation ends a sentence, not a URL; a closing bracket belongs to the URL
        # only when the URL opened it.
        while url:
            last = url[-1]
            if last in _URL_TRAILING or (
                last in _CLOSERS and url.count(_CLOSERS[last]) < url.count(last)
            ):
                url = url[:-1]
            else:
                break
        if url.split("://", 1)[1]:
            spans.append((start, start + len(url)))
    return spans


def _replace_spans(text: str, spans: Sequence[tuple[int, int]], new: Callable[[str], str]) -> str:
    parts, last = [], 0
    for start, end in spans:
        parts += [text[last:start], new(text[start:end])]
        last = end
    parts.append(text[last:])
    return "".join(parts)


def _urls(text: str, rule: TextRule) -> list[str]:
    if rule.url_length is not None and rule.counting is not CountingMethod.X_WEIGHTED:
        # Mastodon shortens only links that start with http:// or https://.
        return [text[start:end] for start, end in _url_spans(text)]
    # X, Threads and Bluesky also link bare domains ("example.com"); twitter-text finds those.
    return [str(url) for url in extract_urls(unicodedata.normalize("NFC", text))]


# --- Problems in plain language ------------------------------------------------------------------


def validate_text(
    text: str, network: str, placement: str = "feed", *, field: str = "text"
) -> list[str]:
    """What stops `text` from being published as it is, in words a social media manager uses.

    An empty list means the text fits. Each message says what the network counts, by how much the
    text is over, and what to do.
    """
    spec = rules.get_spec(network, placement)
    rule = spec.text_rule(field)
    if rule is None:
        if not text.strip():
            return []
        return [
            _(
                "%(network)s: a %(placement)s carries no %(field)s, so this text would not be "
                "published. Remove it or choose another placement."
            )
            % {"network": spec.network_name, "placement": spec.label, "field": _field_word(field)}
        ]
    measured = _measure(text, rule, network=spec.network, placement=spec.key, field=field)
    return _problems(text, rule, measured, spec.network_name)


def _problems(text: str, rule: TextRule, measured: TextCount, name: str) -> list[str]:
    noun = _noun(rule.noun)
    problems = []
    if measured.length > rule.limit:
        problems.append(_over_limit(text, rule, measured, name, noun))
    if rule.max_bytes is not None and measured.bytes > rule.max_bytes:
        problems.append(
            _(
                "%(network)s also limits a %(noun)s to %(limit)s bytes; this one is %(length)s "
                "bytes%(why)s. Shorten it by %(excess)s bytes."
            )
            % {
                "network": name,
                "noun": noun,
                "limit": _n(rule.max_bytes),
                "length": _n(measured.bytes),
                "why": _prefixed(_byte_reasons(text)),
                "excess": _n(measured.bytes - rule.max_bytes),
            }
        )
    for found, cap, message in (
        (
            measured.hashtags,
            rule.max_hashtags,
            _(
                "%(network)s allows at most %(cap)s hashtags in a %(noun)s; this one has "
                "%(count)s. Remove %(excess)s."
            ),
        ),
        (
            measured.mentions,
            rule.max_mentions,
            _(
                "%(network)s allows at most %(cap)s @mentions in a %(noun)s; this one has "
                "%(count)s. Remove %(excess)s."
            ),
        ),
        (
            # Threads counts each distinct link once.
            _distinct(measured.urls),
            rule.max_links,
            _(
                "%(network)s allows at most %(cap)s links in a %(noun)s; this one has %(count)s. "
                "Remove %(excess)s."
            ),
        ),
    ):
        if cap is not None and len(found) > cap:
            problems.append(
                message
                % {
                    "network": name,
                    "noun": noun,
                    "cap": _n(cap),
                    "count": _n(len(found)),
                    "excess": _n(len(found) - cap),
                }
            )
    forbidden = [char for char in rule.forbidden_characters if char in text]
    if forbidden:
        problems.append(
            _("%(network)s does not accept %(characters)s in a %(noun)s. Remove or replace them.")
            % {"network": name, "noun": noun, "characters": _join(forbidden)}
        )
    return problems


def _over_limit(text: str, rule: TextRule, measured: TextCount, name: str, noun: str) -> str:
    reasons = _length_reasons(text, rule)
    values = {
        "network": name,
        "noun": noun,
        "length": _n(measured.length),
        "limit": _n(rule.limit),
        "excess": _n(measured.length - rule.limit),
        # Each reason is a clause of its own ("emoji count 2", "each link counts 23").
        "reasons": ", ".join(reasons),
    }
    if rule.counting is CountingMethod.UTF8_BYTES:
        if reasons:
            return (
                _(
                    "%(network)s counts this %(noun)s as %(length)s of %(limit)s bytes: "
                    "%(reasons)s. Shorten it by %(excess)s bytes."
                )
                % values
            )
        return (
            _(
                "%(network)s counts this %(noun)s as %(length)s of %(limit)s bytes. "
                "Shorten it by %(excess)s bytes."
            )
            % values
        )
    if reasons:
        return (
            _(
                "%(network)s counts this %(noun)s as %(length)s of %(limit)s: %(reasons)s. "
                "Shorten it by %(excess)s."
            )
            % values
        )
    return (
        _("%(network)s counts this %(noun)s as %(length)s of %(limit)s. Shorten it by %(excess)s.")
        % values
    )


def _length_reasons(text: str, rule: TextRule) -> list[str]:
    """Why the count differs from what the writer sees, only where it does."""
    method = rule.counting
    reasons: list[str] = []
    if method is CountingMethod.X_WEIGHTED and rule.weights is not None:
        heavy = _x_heavy_kinds(text, rule.weights)
        if heavy:
            reasons.append(
                _("%(kinds)s count %(weight)s")
                % {
                    "kinds": _join(heavy),
                    "weight": _n(rule.weights.default_weight // rule.weights.scale),
                }
            )
    elif method is CountingMethod.UTF8_BYTES:
        reasons += _byte_reasons(text)
    elif method is CountingMethod.UTF16_UNITS:
        if any(ord(char) > 0xFFFF for char in text):
            reasons.append(_("emoji and other characters beyond the basic set count 2"))
    elif method is CountingMethod.CHARACTERS_EMOJI_AS_UTF8_BYTES:
        if _EMOJI.search(text):
            reasons.append(_("each emoji counts as its size in bytes (4 or more)"))
    elif method is CountingMethod.CHARACTERS and any(
        len(grapheme) > 1 and _EMOJI.search(grapheme) for grapheme in _GRAPHEME.findall(text)
    ):
        reasons.append(_("an emoji built from several parts counts each part"))
    if rule.url_length is not None and _urls(text, rule):
        reasons.append(_("each link counts %(length)s") % {"length": _n(rule.url_length)})
    elif rule.url_length is None and method is not CountingMethod.UTF8_BYTES and _urls(text, rule):
        reasons.append(_("links count in full"))
    return reasons


def _x_heavy_kinds(text: str, weights: rules.Weights) -> list[str]:
    """Which kinds of characters in `text` weigh more than one on X, in a fixed order."""
    normalized = unicodedata.normalize("NFC", text)
    for url in extract_urls(normalized):
        normalized = normalized.replace(str(url), " ")
    korean = han_kana = emoji = other = False
    for grapheme in _GRAPHEME.findall(normalized):
        if _EMOJI.search(grapheme):
            emoji = True
            continue
        for char in grapheme:
            if weights.weight_of(char) <= weights.scale:
                continue
            if _HANGUL.match(char):
                korean = True
            elif _HAN_KANA.match(char):
                han_kana = True
            else:
                other = True
    kinds = [
        (korean, _("Korean characters")),
        (han_kana, _("Chinese and Japanese characters")),
        (emoji, _("emoji")),
        (other, _("some other symbols and letters")),
    ]
    return [label for present, label in kinds if present]


def _byte_reasons(text: str) -> list[str]:
    reasons = []
    if _HANGUL.search(text):
        reasons.append(_("Korean characters take 3 bytes each"))
    if _EMOJI.search(text):
        reasons.append(_("emoji take 4 or more"))
    return reasons


def _prefixed(reasons: list[str]) -> str:
    return f" ({', '.join(reasons)})" if reasons else ""


def _join(items: Sequence[str]) -> str:
    if len(items) <= 1:
        return "".join(items)
    return _("%(first)s and %(last)s") % {"first": ", ".join(items[:-1]), "last": items[-1]}


def _n(value: int) -> str:
    return number_format(value, force_grouping=True)


# The table names the text in the network's own words; these are the words a person reads.
def _noun(noun: str) -> str:
    nouns = {
        "post": _("post"),
        "caption": _("caption"),
        "description": _("description"),
        "title": _("title"),
        "tags": _("tags"),
        # In context: "comment" alone is already translated elsewhere as an opinion.
        "reply": pgettext("counted text", "reply"),
        "comment": pgettext("counted text", "comment"),
        "message": pgettext("counted text", "message"),
    }
    return nouns.get(noun, noun)


def _field_word(field: str) -> str:
    return {"text": _("text"), "title": _("title"), "tags": _("tags")}.get(field, field)
