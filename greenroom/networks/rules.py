"""The network rule table: what each network accepts, and where we read it.

The table lives in `specs/<network>.toml`, one file per network, each with per-placement entries
(text, media, video) and the network's posting quotas. Every entry carries `source` (a link to the
network's own developer documentation) and `checked` (the date someone last read it there); a
single value whose sources disagree overrides them with an inline table
`{ value = ..., source = ..., checked = ..., note = "what conflicts" }`.

Nothing else in Greenroom may hard-code a limit: validation, counters and pages read this module.

The table is versioned. Each published version is kept whole, flattened to
`specs/history/v<N>.json`, with a line in `specs/CHANGELOG.toml`; `diff_versions()` says what
changed between two of them, and `snapshot_current()` publishes the TOML files as the next version.
A test holds the TOML files equal to the latest snapshot, so the table never changes unannounced.

Replies: each network also says, under `[replies.<kind>]`, how a reply from the inbox is counted
for each kind of conversation (`comment`, `mention`, `dm`, the inbox's ConversationKind values):
a text rule like a placement's, with its own source. `reply_limit(network, kind)` reads it. Where
a network documents no limit for a kind, the entry says so and repeats the post limit.

Sizes: where a network's documentation says "MB" or "GB" without giving bytes, the table reads it
as 1,000,000 or 1,000,000,000 bytes, the stricter reading.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import re
import tomllib
import types
import typing
from collections.abc import Iterator, Mapping
from dataclasses import MISSING, dataclass, field
from datetime import date, datetime
from enum import StrEnum
from pathlib import Path
from typing import Any, Final, TypeAlias, TypeVar

from django.utils.translation import gettext, gettext_noop

SPECS_DIR: Final = Path(__file__).resolve().parent / "specs"
HISTORY_DIRNAME: Final = "history"
CHANGELOG_NAME: Final = "CHANGELOG.toml"

# Sources are links to the networks' developer docs; the sandbox, which Greenroom itself serves,
# points into Greenroom with this prefix instead.
INTERNAL_SOURCE_PREFIX: Final = "greenroom:"

JsonValue: TypeAlias = "str | int | float | bool | list[JsonValue]"


R = TypeVar("R", bound="Rule")


class RuleTableError(Exception):
    """The rule table (or one of its published versions) is malformed or missing."""


class UnknownNetwork(LookupError):
    """A network or placement the rule table does not describe."""


class CountingMethod(StrEnum):
    """How a network measures text against its limit."""

    # twitter-text's weighted length: most CJK characters and emoji weigh 2, every URL a fixed 23.
    X_WEIGHTED = "x_weighted"
    # Bluesky: at most N grapheme clusters and, separately, at most M UTF-8 bytes.
    GRAPHEMES_AND_BYTES = "graphemes_and_bytes"
    # Extended grapheme clusters (what a reader sees as one character).
    GRAPHEMES = "graphemes"
    # Unicode code points.
    CHARACTERS = "characters"
    UTF8_BYTES = "utf8_bytes"
    UTF16_UNITS = "utf16_units"
    # Threads: code points, except that an emoji counts as its length in UTF-8 bytes.
    CHARACTERS_EMOJI_AS_UTF8_BYTES = "characters_emoji_as_utf8_bytes"


class MentionCounting(StrEnum):
    FULL = "full"
    # Mastodon: `@alice@example.social` counts as `@alice`.
    USERNAME_ONLY = "username_only"


@dataclass(frozen=True)
class Provenance:
    source: str
    checked: date
    note: str = ""

    @property
    def is_link(self) -> bool:
        return self.source.startswith(("https://", "http://"))


_RATIO = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*[:x×]\s*(\d+(?:\.\d+)?)\s*$")


@dataclass(frozen=True)
class AspectRatio:
    """Width divided by height, kept with the text the table wrote ("4:5", "1.91:1")."""

    text: str
    value: float

    @classmethod
    def parse(cls, raw: str | float) -> AspectRatio:
        if isinstance(raw, int | float):
            if raw <= 0:
                raise ValueError(f"an aspect ratio must be positive, not {raw}")
            return cls(text=f"{raw:g}:1", value=float(raw))
        match = _RATIO.match(raw)
        if match is None:
            raise ValueError(f"{raw!r} is not an aspect ratio like '4:5' or '1.91:1'")
        width, height = float(match[1]), float(match[2])
        if width <= 0 or height <= 0:
            raise ValueError(f"{raw!r} has a zero side")
        return cls(text=raw.strip(), value=width / height)

    def __str__(self) -> str:
        return self.text


@dataclass(frozen=True)
class WeightRange:
    """Code points start..end (inclusive) weigh `weight` (in the table's scale)."""

    start: int
    end: int
    weight: int


@dataclass(frozen=True, kw_only=True)
class Rule:
    """A table entry: its values, where they come from, and per-value sources where those differ."""

    provenance: Provenance
    field_provenance: Mapping[str, Provenance] = field(default_factory=dict)

    def provenance_of(self, name: str) -> Provenance:
        return self.field_provenance.get(name, self.provenance)


@dataclass(frozen=True, kw_only=True)
class Weights(Rule):
    """twitter-text's weighting configuration (X only)."""

    scale: int
    default_weight: int
    emoji_parsing: bool
    ranges: tuple[WeightRange, ...]

    def weight_of(self, char: str) -> int:
        point = ord(char)
        for weighted in self.ranges:
            if weighted.start <= point <= weighted.end:
                return weighted.weight
        return self.default_weight


@dataclass(frozen=True, kw_only=True)
class TextRule(Rule):
    # The word the network's own UI uses for this text ("post", "caption", "description").
    noun: str
    limit: int
    counting: CountingMethod
    # A second, byte-based ceiling (Bluesky's 3,000 bytes next to its 300 graphemes).
    max_bytes: int | None = None
    # Every link counts this many, whatever its length (None: links count as written).
    url_length: int | None = None
    mention_counting: MentionCounting = MentionCounting.FULL
    max_hashtags: int | None = None
    max_mentions: int | None = None
    max_links: int | None = None
    forbidden_characters: tuple[str, ...] = ()
    weights: Weights | None = None


@dataclass(frozen=True, kw_only=True)
class MediaRule(Rule):
    """Attachments in general, and images in particular."""

    max_items: int
    min_items: int | None = None
    max_videos: int | None = None
    image_types: tuple[str, ...] = ()
    video_types: tuple[str, ...] = ()
    max_image_bytes: int | None = None
    min_width: int | None = None
    max_width: int | None = None
    min_height: int | None = None
    max_height: int | None = None
    max_pixels: int | None = None
    # Narrowest and widest shape allowed, as width:height.
    min_aspect: AspectRatio | None = None
    max_aspect: AspectRatio | None = None
    recommended_sizes: tuple[str, ...] = ()

    def accepts_image(self, mime_type: str) -> bool:
        return _type_matches(mime_type, self.image_types)

    def accepts_video(self, mime_type: str) -> bool:
        return _type_matches(mime_type, self.video_types)


@dataclass(frozen=True, kw_only=True)
class VideoRule(Rule):
    max_bytes: int | None = None
    min_duration_seconds: float | None = None
    max_duration_seconds: float | None = None
    min_fps: float | None = None
    max_fps: float | None = None
    min_aspect: AspectRatio | None = None
    max_aspect: AspectRatio | None = None
    min_width: int | None = None
    max_width: int | None = None
    min_height: int | None = None
    max_height: int | None = None
    recommended_sizes: tuple[str, ...] = ()


@dataclass(frozen=True, kw_only=True)
class Quota(Rule):
    """At most `limit` `counts` (posts, replies, uploads...) per `window_seconds`, per `scope`."""

    key: str
    limit: int
    window_seconds: int
    counts: str
    scope: str
    # Placements the quota applies to; empty: all of the network's placements.
    applies_to: tuple[str, ...] = ()

    def applies(self, placement: str) -> bool:
        return not self.applies_to or placement in self.applies_to


@dataclass(frozen=True, kw_only=True)
class CommentRule(Rule):
    """Whether an app may comment under its own post on this placement (a first comment).

    Absent: a placement that carries text takes a first comment counted like its text."""

    supported: bool


# The placement labels the rule table uses, so that they are translated (display_label).
_PLACEMENT_LABELS: Final = (
    gettext_noop("Carousel"),
    gettext_noop("Feed post"),
    gettext_noop("Page post"),
    gettext_noop("Photo post"),
    gettext_noop("Post"),
    gettext_noop("Reel"),
    gettext_noop("Short"),
    gettext_noop("Story"),
    gettext_noop("Video"),
)


@dataclass(frozen=True, kw_only=True)
class PlacementSpec(Rule):
    """Everything one kind of post on one network accepts (X feed, Instagram Reels...)."""

    network: str
    network_name: str
    key: str
    label: str
    # None: this placement carries no text of its own (Instagram Stories).
    text: TextRule | None
    title: TextRule | None = None
    tags: TextRule | None = None
    media: MediaRule
    video: VideoRule | None = None
    first_comment: CommentRule | None = None
    quotas: tuple[Quota, ...] = ()

    @property
    def display_label(self) -> str:
        """The label in the reader's language; the table itself keeps the English one."""
        return gettext(self.label)

    def text_rule(self, name: str = "text") -> TextRule | None:
        if name not in TEXT_FIELDS:
            raise ValueError(f"{name!r} is not a text field; use one of {', '.join(TEXT_FIELDS)}")
        rule: TextRule | None = getattr(self, name)
        return rule


@dataclass(frozen=True, kw_only=True)
class NetworkSpec(Rule):
    key: str
    name: str
    placements: Mapping[str, PlacementSpec]
    quotas: tuple[Quota, ...] = ()
    # How a reply is counted, per kind of inbox conversation (REPLY_KINDS).
    replies: Mapping[str, TextRule] = field(default_factory=dict)


@dataclass(frozen=True)
class RuleTable:
    networks: Mapping[str, NetworkSpec]


TEXT_FIELDS: Final = ("text", "title", "tags")
# The inbox's conversation kinds (inbox.models.ConversationKind): every network says how a reply to
# each is counted, so no reply is held to a post's limit by default.
REPLY_KINDS: Final = ("comment", "mention", "dm")
SECTIONS: Final = (*TEXT_FIELDS, "media", "video", "first_comment")
_SECTION_TYPES: Final[Mapping[str, type[Rule]]] = {
    "text": TextRule,
    "title": TextRule,
    "tags": TextRule,
    "media": MediaRule,
    "video": VideoRule,
    "first_comment": CommentRule,
}
# Fields that describe an entry rather than state a rule: shown on pages, never versioned.
_NOT_RULES: Final = frozenset(
    {"provenance", "field_provenance", "noun", "key", "label", "name", "network", "network_name"}
)
_PROVENANCE_KEYS: Final = frozenset({"source", "checked", "note"})


def _type_matches(mime_type: str, accepted: tuple[str, ...]) -> bool:
    kind = mime_type.split("/", 1)[0]
    return any(a == mime_type or a == f"{kind}/*" for a in accepted)


# --- Loading -------------------------------------------------------------------------------------


def _provenance(raw: Mapping[str, Any], where: str) -> Provenance:
    for key in ("source", "checked"):
        if key not in raw:
            raise RuleTableError(
                f"{where} has no {key!r}. Every entry in the rule table needs 'source' (a link to "
                "the network's developer documentation) and 'checked' (the date it was last read "
                "there, e.g. 2026-11-27)."
            )
    source, checked, note = raw["source"], raw["checked"], raw.get("note", "")
    if not isinstance(source, str) or not source.startswith(
        ("https://", "http://", INTERNAL_SOURCE_PREFIX)
    ):
        raise RuleTableError(f"{where}: 'source' must be a link (https://...), not {source!r}.")
    # tomllib reads `2026-11-27` as a date and `2026-11-27T10:00:00` as a datetime (a subclass).
    if not isinstance(checked, date) or isinstance(checked, datetime):
        raise RuleTableError(
            f"{where}: 'checked' must be a plain TOML date such as 2026-11-27, not {checked!r}."
        )
    if not isinstance(note, str):
        raise RuleTableError(f"{where}: 'note' must be text.")
    return Provenance(source=source, checked=checked, note=note)


def _convert(hint: Any, value: Any, where: str) -> Any:
    """Check one TOML value against a dataclass field's type and convert it."""
    origin = typing.get_origin(hint)
    if origin is types.UnionType:
        # Optional fields: the value is present (absence is handled by the caller).
        inner = [arg for arg in typing.get_args(hint) if arg is not type(None)]
        return _convert(inner[0], value, where)
    if origin is tuple:
        item_hint = typing.get_args(hint)[0]
        if not isinstance(value, list):
            raise RuleTableError(f"{where} must be a list, not {value!r}.")
        return tuple(_convert(item_hint, item, f"{where}[{i}]") for i, item in enumerate(value))
    if hint is WeightRange:
        if not (isinstance(value, list) and len(value) == 3 and all(_is_int(v) for v in value)):
            raise RuleTableError(f"{where} must be [start, end, weight], not {value!r}.")
        return WeightRange(start=value[0], end=value[1], weight=value[2])
    if hint is AspectRatio:
        if isinstance(value, bool) or not isinstance(value, str | int | float):
            raise RuleTableError(f"{where} must be an aspect ratio like '4:5', not {value!r}.")
        try:
            return AspectRatio.parse(value)
        except ValueError as exc:
            raise RuleTableError(f"{where}: {exc}.") from None
    if isinstance(hint, type) and issubclass(hint, StrEnum):
        try:
            return hint(value)
        except ValueError:
            allowed = ", ".join(member.value for member in hint)
            raise RuleTableError(f"{where} must be one of {allowed}, not {value!r}.") from None
    if hint is bool:
        if not isinstance(value, bool):
            raise RuleTableError(f"{where} must be true or false, not {value!r}.")
        return value
    if hint is int:
        if not _is_int(value):
            raise RuleTableError(f"{where} must be a whole number, not {value!r}.")
        if value < 0:
            raise RuleTableError(f"{where} must not be negative.")
        return value
    if hint is float:
        if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
            raise RuleTableError(f"{where} must be a non-negative number, not {value!r}.")
        return float(value)
    if hint is str:
        if not isinstance(value, str):
            raise RuleTableError(f"{where} must be text, not {value!r}.")
        return value
    raise TypeError(f"the rule table cannot read a field of type {hint!r}")  # a bug in this module


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _hints(cls: type[Rule]) -> dict[str, Any]:
    return typing.get_type_hints(cls)


def _build(cls: type[R], raw: Any, where: str, **given: Any) -> R:
    """Read one TOML table into `cls`; keys named in `given` are filled by the caller."""
    if not isinstance(raw, dict):
        raise RuleTableError(f"{where} must be a table.")
    provenance = _provenance(raw, where)
    hints = _hints(cls)
    readable = {f.name: f for f in dataclasses.fields(cls) if f.name not in given}
    readable.pop("provenance")
    readable.pop("field_provenance")
    unknown = set(raw) - set(readable) - _PROVENANCE_KEYS
    if unknown:
        raise RuleTableError(
            f"{where} has unknown key(s) {', '.join(sorted(unknown))}. "
            f"Known keys: {', '.join(sorted(readable))}, source, checked, note."
        )
    values: dict[str, Any] = {}
    overrides: dict[str, Provenance] = {}
    for name, spec in readable.items():
        required = spec.default is MISSING and spec.default_factory is MISSING
        if name not in raw:
            if required:
                raise RuleTableError(f"{where} is missing {name!r}.")
            continue
        value = raw[name]
        hint = hints[name]
        nested = _nested_rule_type(hint)
        if nested is not None:
            # where is "file [a.b]"; the nested table is "file [a.b.name]".
            values[name] = _build(nested, value, f"{where[:-1]}.{name}]")
            continue
        if isinstance(value, dict):
            # One value with its own source: { value = ..., source = ..., checked = ..., note = ...}
            extra = set(value) - _PROVENANCE_KEYS - {"value"}
            if "value" not in value or extra:
                raise RuleTableError(
                    f"{where} {name}: a value with its own source is written "
                    "{ value = ..., source = ..., checked = ..., note = ... }."
                )
            overrides[name] = _provenance(value, f"{where} {name}")
            value = value["value"]
        values[name] = _convert(hint, value, f"{where} {name}")
    return cls(provenance=provenance, field_provenance=overrides, **given, **values)


def _nested_rule_type(hint: Any) -> type[Rule] | None:
    candidates = typing.get_args(hint) if typing.get_origin(hint) is types.UnionType else (hint,)
    for candidate in candidates:
        if isinstance(candidate, type) and issubclass(candidate, Rule):
            return candidate
    return None


def _check_text_rule(rule: TextRule, where: str) -> None:
    if rule.counting is CountingMethod.X_WEIGHTED and (
        rule.weights is None or rule.url_length is None
    ):
        raise RuleTableError(f"{where}: x_weighted counting needs 'url_length' and [weights].")
    if rule.counting is CountingMethod.GRAPHEMES_AND_BYTES and rule.max_bytes is None:
        raise RuleTableError(f"{where}: graphemes_and_bytes counting needs 'max_bytes'.")


def _load_network(path: Path) -> NetworkSpec:
    key = path.stem
    where = path.name
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise RuleTableError(f"{where} is not valid TOML: {exc}") from None
    provenance = _provenance(raw, f"{where} (top level)")
    unknown = set(raw) - {"name", "placements", "quotas", "replies"} - _PROVENANCE_KEYS
    if unknown:
        raise RuleTableError(f"{where} has unknown top-level key(s) {', '.join(sorted(unknown))}.")
    display_name = raw.get("name")
    if not isinstance(display_name, str) or not display_name:
        raise RuleTableError(f"{where} needs a 'name' (how the network calls itself).")

    quotas = tuple(
        _build(Quota, body, f"{where} [quotas.{qkey}]", key=qkey)
        for qkey, body in _table_of(raw, "quotas", where).items()
    )
    raw_placements = _table_of(raw, "placements", where)
    for quota in quotas:
        for target in quota.applies_to:
            if target not in raw_placements:
                raise RuleTableError(
                    f"{where} [quotas.{quota.key}] applies to {target!r}, "
                    "which is not a placement of this network."
                )
    placements: dict[str, PlacementSpec] = {}
    for pkey, body in raw_placements.items():
        pwhere = f"{where} [placements.{pkey}]"
        if not isinstance(body, dict):
            raise RuleTableError(f"{pwhere} must be a table.")
        pprov = _provenance(body, pwhere)
        unknown = set(body) - {"label", *SECTIONS} - _PROVENANCE_KEYS
        if unknown:
            raise RuleTableError(f"{pwhere} has unknown key(s) {', '.join(sorted(unknown))}.")
        label = body.get("label", pkey)
        if not isinstance(label, str):
            raise RuleTableError(f"{pwhere}: 'label' must be text.")
        sections: dict[str, Rule] = {
            section: _build(
                _SECTION_TYPES[section], body[section], f"{where} [placements.{pkey}.{section}]"
            )
            for section in SECTIONS
            if section in body
        }
        media = _pick(sections, "media", MediaRule)
        if media is None:
            raise RuleTableError(f"{pwhere} needs a [placements.{pkey}.media] table.")
        texts = {name: _pick(sections, name, TextRule) for name in TEXT_FIELDS}
        for name, rule in texts.items():
            if rule is not None:
                _check_text_rule(rule, f"{where} [placements.{pkey}.{name}]")
        placements[pkey] = PlacementSpec(
            provenance=pprov,
            network=key,
            network_name=display_name,
            key=pkey,
            label=label,
            text=texts["text"],
            title=texts["title"],
            tags=texts["tags"],
            media=media,
            video=_pick(sections, "video", VideoRule),
            first_comment=_pick(sections, "first_comment", CommentRule),
            quotas=tuple(q for q in quotas if q.applies(pkey)),
        )
    if "feed" not in placements:
        raise RuleTableError(f"{where} needs a [placements.feed] table (the default placement).")
    return NetworkSpec(
        provenance=provenance,
        key=key,
        name=display_name,
        placements=types.MappingProxyType(placements),
        quotas=quotas,
        replies=types.MappingProxyType(_load_replies(raw, where)),
    )


def _load_replies(raw: Mapping[str, Any], where: str) -> dict[str, TextRule]:
    raw_replies = _table_of(raw, "replies", where)
    unknown = set(raw_replies) - set(REPLY_KINDS)
    if unknown:
        raise RuleTableError(
            f"{where} [replies] has unknown kind(s) {', '.join(sorted(unknown))}. "
            f"Known: {', '.join(REPLY_KINDS)}."
        )
    missing = [kind for kind in REPLY_KINDS if kind not in raw_replies]
    if missing:
        raise RuleTableError(
            f"{where} needs a [replies.{missing[0]}] table: every network says how a reply to "
            f"each kind of conversation ({', '.join(REPLY_KINDS)}) is counted. Where the network "
            "documents no limit, repeat the post limit and say so in 'note'."
        )
    replies = {}
    for kind in REPLY_KINDS:
        rwhere = f"{where} [replies.{kind}]"
        rule = _build(TextRule, raw_replies[kind], rwhere)
        _check_text_rule(rule, rwhere)
        replies[kind] = rule
    return replies


def _pick(sections: Mapping[str, Rule], name: str, cls: type[R]) -> R | None:
    rule = sections.get(name)
    return rule if isinstance(rule, cls) else None


def _table_of(raw: Mapping[str, Any], key: str, where: str) -> dict[str, Any]:
    value = raw.get(key, {})
    if not isinstance(value, dict):
        raise RuleTableError(f"{where}: '{key}' must be a table of tables.")
    return value


def load_table(specs_dir: Path = SPECS_DIR) -> RuleTable:
    """Read and check every `<network>.toml` in `specs_dir` (uncached; see `table()`)."""
    paths = sorted(specs_dir.glob("*.toml"))
    networks = {path.stem: _load_network(path) for path in paths if path.name != CHANGELOG_NAME}
    if not networks:
        raise RuleTableError(f"No network specs (*.toml) found in {specs_dir}.")
    return RuleTable(networks=types.MappingProxyType(networks))


@functools.cache
def table() -> RuleTable:
    """The current rule table, read once per process on first use."""
    return load_table()


def network_names() -> list[str]:
    return sorted(table().networks)


def all_specs() -> list[NetworkSpec]:
    """Every network, in a stable order (by key)."""
    return [table().networks[name] for name in network_names()]


def get_network(network: str) -> NetworkSpec:
    try:
        return table().networks[network]
    except KeyError:
        raise UnknownNetwork(
            f"The rule table has no network {network!r}. Known: {', '.join(network_names())}."
        ) from None


def get_spec(network: str, placement: str = "feed") -> PlacementSpec:
    """The rules for one placement of one network.

    A sandboxed channel uses the spec of the network it emulates (its `kind`); the "sandbox"
    spec is only for channels whose kind is "sandbox".
    """
    spec = get_network(network)
    try:
        return spec.placements[placement]
    except KeyError:
        raise UnknownNetwork(
            f"{spec.name} has no placement {placement!r}. "
            f"Known: {', '.join(sorted(spec.placements))}."
        ) from None


def reply_limit(network: str, kind: str) -> TextRule:
    """How `network` counts a reply in a conversation of `kind` (comment, mention or dm).

    The same kind of rule a post's text has, so `text.count_reply` measures it with the post
    counter (X's weights and 23-character links, Bluesky's graphemes and bytes...). A sandboxed
    channel uses the rules of the network it emulates, as for posts. Raises `UnknownNetwork` for
    a network or kind the table does not know.
    """
    spec = get_network(network)
    try:
        return spec.replies[kind]
    except KeyError:
        raise UnknownNetwork(
            f"{spec.name} has no reply rule for {kind!r}. Known: {', '.join(REPLY_KINDS)}."
        ) from None


# --- Flattening and versions ---------------------------------------------------------------------


@dataclass(frozen=True)
class TableEntry:
    """One value of the table, as published in a version."""

    value: JsonValue
    source: str | None
    checked: str | None
    note: str = ""

    def to_json(self) -> dict[str, JsonValue | None]:
        return {
            "value": self.value,
            "source": self.source,
            "checked": self.checked,
            "note": self.note,
        }

    @classmethod
    def from_json(cls, raw: Any, where: str) -> TableEntry:
        if not isinstance(raw, dict) or "value" not in raw:
            raise RuleTableError(f"{where} must be an object with a 'value'.")
        return cls(
            value=raw["value"],
            source=raw.get("source"),
            checked=raw.get("checked"),
            note=raw.get("note") or "",
        )


def _to_json(value: Any) -> JsonValue:
    if isinstance(value, StrEnum):
        return value.value
    if isinstance(value, AspectRatio):
        return value.text
    if isinstance(value, WeightRange):
        return [value.start, value.end, value.weight]
    if isinstance(value, tuple | list):
        return [_to_json(item) for item in value]
    if isinstance(value, float) and value.is_integer():
        # 900.0 seconds reads as 900 in the published JSON and in diffs.
        return int(value)
    if isinstance(value, bool | int | float | str):
        return value
    raise TypeError(f"cannot publish {value!r}")  # a bug in this module


def iter_rule_values(rule: Rule) -> Iterator[tuple[str, Any, Provenance]]:
    """The rule's own values that say something: (field, value, provenance), nested rules skipped.

    Unset values, empty lists and defaults (links counted as written, mentions counted in full)
    are left out, so a published version lists only what a network actually limits.
    """
    for spec in dataclasses.fields(rule):
        if spec.name in _NOT_RULES:
            continue
        value = getattr(rule, spec.name)
        if isinstance(value, Rule) or value is None or value == ():
            continue
        if spec.default is not MISSING and value == spec.default:
            continue
        yield spec.name, value, rule.provenance_of(spec.name)


def _entries(prefix: str, rule: Rule) -> Iterator[tuple[str, TableEntry]]:
    for name, value, prov in iter_rule_values(rule):
        yield (
            f"{prefix}.{name}",
            TableEntry(
                value=_to_json(value),
                source=prov.source,
                checked=prov.checked.isoformat(),
                note=prov.note,
            ),
        )
    for spec in dataclasses.fields(rule):
        nested = getattr(rule, spec.name)
        if isinstance(nested, Rule):
            yield from _entries(f"{prefix}.{spec.name}", nested)


def flatten(rule_table: RuleTable) -> dict[str, TableEntry]:
    """The whole table as `network.placement.section.field -> entry`, sorted by key."""
    entries: dict[str, TableEntry] = {}
    for key, network in rule_table.networks.items():
        for quota in network.quotas:
            entries.update(_entries(f"{key}.quotas.{quota.key}", quota))
        for kind, reply in network.replies.items():
            entries.update(_entries(f"{key}.replies.{kind}", reply))
        for pkey, placement in network.placements.items():
            for section in SECTIONS:
                rule = getattr(placement, section)
                if rule is not None:
                    entries.update(_entries(f"{key}.{pkey}.{section}", rule))
    return dict(sorted(entries.items()))


@dataclass(frozen=True)
class Snapshot:
    version: int
    published: str
    entries: Mapping[str, TableEntry]


@dataclass(frozen=True)
class ChangelogEntry:
    version: int
    date: date
    summary: str


@dataclass(frozen=True)
class EntryChange:
    key: str
    old: TableEntry | None
    new: TableEntry | None


@dataclass(frozen=True)
class TableDiff:
    old_version: int | None
    new_version: int | None
    added: tuple[EntryChange, ...]
    removed: tuple[EntryChange, ...]
    # The value itself changed.
    changed: tuple[EntryChange, ...]
    # Same value, but its source, checked date or note changed.
    rechecked: tuple[EntryChange, ...]

    @property
    def is_empty(self) -> bool:
        return not (self.added or self.removed or self.changed or self.rechecked)


_SNAPSHOT_NAME = re.compile(r"^v([1-9]\d*)\.json$")


def _history_dir(specs_dir: Path) -> Path:
    return specs_dir / HISTORY_DIRNAME


def versions(specs_dir: Path = SPECS_DIR) -> list[int]:
    """Published version numbers, oldest first."""
    history = _history_dir(specs_dir)
    found = (_SNAPSHOT_NAME.match(path.name) for path in history.glob("v*.json"))
    return sorted(int(match[1]) for match in found if match)


def current_version(specs_dir: Path = SPECS_DIR) -> int:
    """The latest published version (the TOML files must equal it; see `unpublished_changes`)."""
    published = versions(specs_dir)
    if not published:
        raise RuleTableError(f"No published versions in {_history_dir(specs_dir)}.")
    return published[-1]


def load_snapshot(version: int, specs_dir: Path = SPECS_DIR) -> Snapshot:
    path = _history_dir(specs_dir) / f"v{version}.json"
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise RuleTableError(
            f"Rule table version {version} does not exist. Published: "
            f"{', '.join(map(str, versions(specs_dir))) or 'none'}."
        ) from None
    except json.JSONDecodeError as exc:
        raise RuleTableError(f"{path.name} is not valid JSON: {exc}") from None
    if not isinstance(raw, dict) or raw.get("version") != version:
        raise RuleTableError(f"{path.name} does not say it is version {version}.")
    entries = raw.get("entries")
    if not isinstance(entries, dict):
        raise RuleTableError(f"{path.name} has no 'entries'.")
    return Snapshot(
        version=version,
        published=str(raw.get("published", "")),
        entries={
            key: TableEntry.from_json(body, f"{path.name} {key}") for key, body in entries.items()
        },
    )


def changelog(specs_dir: Path = SPECS_DIR) -> list[ChangelogEntry]:
    path = specs_dir / CHANGELOG_NAME
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return []
    except tomllib.TOMLDecodeError as exc:
        raise RuleTableError(f"{CHANGELOG_NAME} is not valid TOML: {exc}") from None
    result = []
    for i, item in enumerate(raw.get("versions", [])):
        where = f"{CHANGELOG_NAME} [[versions]] #{i + 1}"
        version, day, summary = item.get("version"), item.get("date"), item.get("summary")
        if not _is_int(version) or not isinstance(day, date) or not isinstance(summary, str):
            raise RuleTableError(f"{where} needs version (number), date and summary.")
        result.append(ChangelogEntry(version=version, date=day, summary=summary.strip()))
    return sorted(result, key=lambda entry: entry.version)


def diff_entries(
    old: Mapping[str, TableEntry],
    new: Mapping[str, TableEntry],
    *,
    old_version: int | None = None,
    new_version: int | None = None,
) -> TableDiff:
    added, removed, changed, rechecked = [], [], [], []
    for key in sorted(set(old) | set(new)):
        before, after = old.get(key), new.get(key)
        change = EntryChange(key=key, old=before, new=after)
        if before is None:
            added.append(change)
        elif after is None:
            removed.append(change)
        elif before.value != after.value:
            changed.append(change)
        elif before != after:
            rechecked.append(change)
    return TableDiff(
        old_version=old_version,
        new_version=new_version,
        added=tuple(added),
        removed=tuple(removed),
        changed=tuple(changed),
        rechecked=tuple(rechecked),
    )


def diff_versions(a: int, b: int, specs_dir: Path = SPECS_DIR) -> TableDiff:
    """What changed from published version `a` to published version `b`."""
    return diff_entries(
        load_snapshot(a, specs_dir).entries,
        load_snapshot(b, specs_dir).entries,
        old_version=a,
        new_version=b,
    )


def unpublished_changes(specs_dir: Path = SPECS_DIR) -> TableDiff:
    """How the TOML files differ from the latest published version (empty when published)."""
    latest = current_version(specs_dir)
    return diff_entries(
        load_snapshot(latest, specs_dir).entries,
        flatten(load_table(specs_dir)),
        old_version=latest,
    )


def snapshot_current(
    summary: str, *, published: date | None = None, specs_dir: Path = SPECS_DIR
) -> Path:
    """Publish the TOML files as the next version: write history/v<N>.json and a changelog line.

    `summary` says in plain words what changed and why (it is shown to users). Refuses when the
    files equal the latest version, so every version number means a real change.
    """
    if not summary.strip():
        raise RuleTableError("A new version needs a summary of what changed.")
    entries = flatten(load_table(specs_dir))
    published_versions = versions(specs_dir)
    if published_versions:
        latest = load_snapshot(published_versions[-1], specs_dir)
        if dict(latest.entries) == entries:
            raise RuleTableError(
                f"The rule table equals version {latest.version}; there is nothing to publish."
            )
    version = (published_versions[-1] if published_versions else 0) + 1
    day = published or date.today()
    history = _history_dir(specs_dir)
    history.mkdir(exist_ok=True)
    path = history / f"v{version}.json"
    document = {
        "version": version,
        "published": day.isoformat(),
        "entries": {key: entry.to_json() for key, entry in entries.items()},
    }
    path.write_text(json.dumps(document, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    # JSON string escapes are valid in TOML basic strings, so json.dumps quotes the summary.
    with (specs_dir / CHANGELOG_NAME).open("a", encoding="utf-8") as log:
        log.write(
            f"\n[[versions]]\nversion = {version}\ndate = {day.isoformat()}\n"
            f"summary = {json.dumps(summary.strip(), ensure_ascii=False)}\n"
        )
    if specs_dir == SPECS_DIR:
        table.cache_clear()
    return path
