"""The rule table page: every network's limits, where each comes from, and what changed."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any
from urllib.parse import urlsplit

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.formats import number_format
from django.utils.functional import Promise
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from greenroom.networks import rules
from greenroom.networks.rules import (
    AspectRatio,
    CountingMethod,
    MentionCounting,
    PlacementSpec,
    Provenance,
    Quota,
    Rule,
    WeightRange,
)

_FIELD_LABELS: Mapping[str, Promise] = {
    "limit": gettext_lazy("Length limit"),
    "counting": gettext_lazy("How length is counted"),
    "max_bytes": gettext_lazy("Size limit"),
    "url_length": gettext_lazy("Each link counts"),
    "mention_counting": gettext_lazy("Mentions count"),
    "max_hashtags": gettext_lazy("Most hashtags"),
    "max_mentions": gettext_lazy("Most @mentions"),
    "max_links": gettext_lazy("Most links"),
    "forbidden_characters": gettext_lazy("Characters refused"),
    "scale": gettext_lazy("Weight scale"),
    "default_weight": gettext_lazy("Weight of other characters"),
    "emoji_parsing": gettext_lazy("An emoji counts once"),
    "ranges": gettext_lazy("Lighter characters"),
    "max_items": gettext_lazy("Most attachments"),
    "min_items": gettext_lazy("Fewest attachments"),
    "max_videos": gettext_lazy("Most videos"),
    "image_types": gettext_lazy("Image types"),
    "video_types": gettext_lazy("Video types"),
    "max_image_bytes": gettext_lazy("Largest image"),
    "min_width": gettext_lazy("Narrowest"),
    "max_width": gettext_lazy("Widest"),
    "min_height": gettext_lazy("Lowest"),
    "max_height": gettext_lazy("Tallest"),
    "max_pixels": gettext_lazy("Most pixels"),
    "min_aspect": gettext_lazy("Narrowest shape"),
    "max_aspect": gettext_lazy("Widest shape"),
    "recommended_sizes": gettext_lazy("Recommended sizes"),
    "min_duration_seconds": gettext_lazy("Shortest"),
    "max_duration_seconds": gettext_lazy("Longest"),
    "min_fps": gettext_lazy("Lowest frame rate"),
    "max_fps": gettext_lazy("Highest frame rate"),
}

_SECTION_TITLES: Mapping[str, Promise] = {
    "text": gettext_lazy("Text"),
    "title": gettext_lazy("Title"),
    "tags": gettext_lazy("Tags"),
    "media": gettext_lazy("Media"),
    "video": gettext_lazy("Video"),
}

_COUNTING_LABELS: Mapping[CountingMethod, Promise] = {
    CountingMethod.X_WEIGHTED: gettext_lazy(
        "Weighted: most CJK characters and emoji count 2, links a fixed length"
    ),
    CountingMethod.GRAPHEMES_AND_BYTES: gettext_lazy("Characters as a reader sees them, and bytes"),
    CountingMethod.GRAPHEMES: gettext_lazy("Characters as a reader sees them (a flag counts 1)"),
    CountingMethod.CHARACTERS: gettext_lazy("Unicode code points"),
    CountingMethod.UTF8_BYTES: gettext_lazy("Bytes (UTF-8): a Korean syllable counts 3"),
    CountingMethod.UTF16_UNITS: gettext_lazy("UTF-16 code units: an emoji counts 2"),
    CountingMethod.CHARACTERS_EMOJI_AS_UTF8_BYTES: gettext_lazy(
        "Code points, but an emoji counts its size in bytes"
    ),
}

_MENTION_LABELS: Mapping[MentionCounting, Promise] = {
    MentionCounting.FULL: gettext_lazy("In full"),
    MentionCounting.USERNAME_ONLY: gettext_lazy("Only the user name, not the server"),
}

_QUOTA_COUNTS: Mapping[str, Promise] = {
    "posts": gettext_lazy("posts"),
    "replies": gettext_lazy("replies"),
    "records": gettext_lazy("new records (posts, likes, follows)"),
    "containers": gettext_lazy("media containers"),
    "requests": gettext_lazy("requests"),
    "uploads": gettext_lazy("uploads"),
}

_QUOTA_SCOPES: Mapping[str, Promise] = {
    "account": gettext_lazy("per account"),
    "project": gettext_lazy("per developer project"),
    "token": gettext_lazy("per access token"),
}


@dataclass(frozen=True)
class SourceView:
    url: str
    text: str
    is_link: bool
    checked: date
    note: str

    @classmethod
    def of(cls, provenance: Provenance) -> SourceView:
        text = provenance.source
        if provenance.is_link:
            parts = urlsplit(provenance.source)
            text = parts.netloc + parts.path
        return cls(
            url=provenance.source,
            text=text,
            is_link=provenance.is_link,
            checked=provenance.checked,
            note=provenance.note,
        )


@dataclass(frozen=True)
class ValueRow:
    label: str
    value: str
    source: SourceView
    # Set when this value has a source of its own (sources disagreed about it).
    own_source: bool


@dataclass(frozen=True)
class SectionView:
    key: str
    title: str
    source: SourceView
    rows: list[ValueRow]


@dataclass(frozen=True)
class QuotaView:
    text: str
    applies_to: str
    source: SourceView


@dataclass(frozen=True)
class PlacementView:
    anchor: str
    label: str
    source: SourceView
    sections: list[SectionView]
    quotas: list[QuotaView]


@dataclass(frozen=True)
class NetworkView:
    key: str
    name: str
    source: SourceView
    placements: list[PlacementView]


@dataclass(frozen=True)
class ChangeRow:
    key: str
    old: str
    new: str
    source: SourceView | None
    note: str


@dataclass(frozen=True)
class ChangeGroup:
    title: str
    rows: list[ChangeRow]
    # Notes explain why a value moved; on added or re-sourced values they repeat the table above.
    show_notes: bool


@login_required
def rule_table(request: HttpRequest) -> HttpResponse:
    published = rules.versions()
    current = published[-1] if published else None
    old_version, new_version, pair_error = _chosen_pair(request.GET, published)
    diff = (
        rules.diff_versions(old_version, new_version)
        if old_version is not None and new_version is not None
        else None
    )
    low, high = sorted((old_version or 0, new_version or 0))
    context: dict[str, Any] = {
        "version": current,
        "networks": [_network_view(network) for network in rules.all_specs()],
        "published": published,
        "from_version": old_version,
        "to_version": new_version,
        "pair_error": pair_error,
        "changelog": [entry for entry in rules.changelog() if low < entry.version <= high],
        "diff": diff,
        "change_groups": _change_groups(diff) if diff else [],
    }
    return render(request, "networks/rule_table.html", context)


def _chosen_pair(
    query: Mapping[str, str], published: Sequence[int]
) -> tuple[int | None, int | None, str]:
    """The versions to compare: ?from=&to=, else the latest version and the one before it."""
    default_to = published[-1] if published else None
    default_from = published[-2] if len(published) > 1 else None
    if "from" not in query and "to" not in query:
        return default_from, default_to, ""
    try:
        old = int(query.get("from", default_from or 0))
        new = int(query.get("to", default_to or 0))
    except ValueError:
        return default_from, default_to, _("Versions are numbers; showing the latest change.")
    if old not in published or new not in published:
        return (
            default_from,
            default_to,
            _("There is no such version; the published versions are %(versions)s.")
            % {"versions": ", ".join(map(str, published))},
        )
    return old, new, ""


def _network_view(network: rules.NetworkSpec) -> NetworkView:
    return NetworkView(
        key=network.key,
        name=network.name,
        source=SourceView.of(network.provenance),
        placements=[_placement_view(p) for p in network.placements.values()],
    )


def _placement_view(placement: PlacementSpec) -> PlacementView:
    sections = []
    for key in rules.SECTIONS:
        rule = getattr(placement, key)
        if isinstance(rule, Rule):
            sections.append(
                SectionView(
                    key=key,
                    title=str(_SECTION_TITLES[key]),
                    source=SourceView.of(rule.provenance),
                    rows=list(_rows(rule, key)),
                )
            )
    return PlacementView(
        anchor=f"{placement.network}-{placement.key}",
        label=placement.label,
        source=SourceView.of(placement.provenance),
        sections=sections,
        quotas=[_quota_view(quota, placement) for quota in placement.quotas],
    )


def _rows(rule: Rule, section: str) -> Iterator[ValueRow]:
    for name, value, provenance in rules.iter_rule_values(rule):
        yield ValueRow(
            label=str(_FIELD_LABELS.get(name, name)),
            value=_display(name, value, section),
            source=SourceView.of(provenance),
            own_source=name in rule.field_provenance,
        )
    weights = getattr(rule, "weights", None)
    if isinstance(weights, rules.Weights):
        yield from _rows(weights, "weights")


def _quota_view(quota: Quota, placement: PlacementSpec) -> QuotaView:
    text = _("%(limit)s %(counts)s every %(window)s, %(scope)s") % {
        "limit": _number(quota.limit),
        "counts": _QUOTA_COUNTS.get(quota.counts, quota.counts),
        "window": _duration(quota.window_seconds),
        "scope": _QUOTA_SCOPES.get(quota.scope, quota.scope),
    }
    return QuotaView(
        text=text,
        applies_to=", ".join(quota.applies_to),
        source=SourceView.of(quota.provenance_of("limit")),
    )


def _display(name: str, value: Any, section: str) -> str:
    """A value as a person reads it: sizes in MB, durations in minutes, shapes as 4:5."""
    if isinstance(value, CountingMethod):
        return str(_COUNTING_LABELS[value])
    if isinstance(value, MentionCounting):
        return str(_MENTION_LABELS[value])
    if isinstance(value, bool):
        return _("Yes") if value else _("No")
    if isinstance(value, AspectRatio):
        return value.text
    if name == "ranges":
        return "; ".join(_weight_range(r) for r in value)
    if isinstance(value, tuple):
        return ", ".join(map(str, value))
    if name == "max_bytes" and section == "text":
        return _("%(count)s bytes") % {"count": _number(value)}
    if name.endswith("bytes"):
        return _file_size(value)
    if name.endswith("_seconds"):
        return _duration(value)
    if name.endswith(("width", "height")):
        return _("%(count)s px") % {"count": _number(value)}
    if name.endswith("fps"):
        return _("%(count)s fps") % {"count": _number(value)}
    if name == "url_length":
        return _("%(count)s characters") % {"count": _number(value)}
    if isinstance(value, int | float):
        return _number(value)
    return str(value)


def _weight_range(weighted: WeightRange) -> str:
    return f"U+{weighted.start:04X}–U+{weighted.end:04X} ×{weighted.weight}"


def _number(value: float) -> str:
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return number_format(value, force_grouping=True)


def _file_size(size: float) -> str:
    # Decimal units, as the networks' documentation writes them (8 MB = 8,000,000 bytes here).
    for unit, factor in ((_("GB"), 1e9), (_("MB"), 1e6), (_("KB"), 1e3)):
        if size >= factor:
            return f"{_number(round(size / factor, 2))} {unit}"
    return _("%(count)s bytes") % {"count": _number(size)}


def _duration(seconds: float) -> str:
    if seconds >= 3600 and seconds % 3600 == 0:
        return _("%(count)s h") % {"count": _number(seconds // 3600)}
    if seconds >= 60 and seconds % 60 == 0:
        return _("%(count)s min") % {"count": _number(seconds // 60)}
    return _("%(count)s s") % {"count": _number(seconds)}


def _change_groups(diff: rules.TableDiff) -> list[ChangeGroup]:
    groups = [
        (_("Changed"), diff.changed, True),
        (_("Added"), diff.added, False),
        (_("Removed"), diff.removed, True),
        (_("Same value, new source, date or note"), diff.rechecked, False),
    ]
    return [
        ChangeGroup(title, _change_rows(changes), show_notes)
        for title, changes, show_notes in groups
        if changes
    ]


def _change_rows(changes: Sequence[rules.EntryChange]) -> list[ChangeRow]:
    rows = []
    for change in changes:
        entry = change.new or change.old
        source = None
        if entry is not None and entry.source and entry.checked:
            source = SourceView.of(
                Provenance(
                    source=entry.source,
                    checked=date.fromisoformat(entry.checked),
                    note=entry.note,
                )
            )
        rows.append(
            ChangeRow(
                key=change.key,
                old=_display_json(change.old.value) if change.old else "",
                new=_display_json(change.new.value) if change.new else "",
                source=source,
                note=entry.note if entry is not None else "",
            )
        )
    return rows


def _display_json(value: rules.JsonValue) -> str:
    if isinstance(value, bool):
        return _("Yes") if value else _("No")
    if isinstance(value, list):
        if any(isinstance(item, list) for item in value):
            return "; ".join(f"[{_display_json(item)}]" for item in value)
        return ", ".join(_display_json(item) for item in value)
    if isinstance(value, int | float):
        return _number(value)
    return value
