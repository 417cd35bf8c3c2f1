"""The rule table page: one network's limits at a time, where each comes from, and what changed.

`?network=<key>` picks the network (the first by default); `?view=changes&from=1&to=2` lists
what changed between two published versions, grouped by network.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any
from urllib.parse import unquote, urlencode, urlsplit

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils.formats import number_format
from django.utils.functional import Promise
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext_lazy

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
    "supported": gettext_lazy("Possible through the network's API"),
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
    "first_comment": gettext_lazy("First comment"),
    "weights": gettext_lazy("Character weights"),
}

# The rule table's [replies.<kind>] entries, in the inbox's words.
_REPLY_TITLES: Mapping[str, Promise] = {
    "comment": gettext_lazy("Reply to a comment"),
    "mention": gettext_lazy("Reply to a mention"),
    "dm": gettext_lazy("Direct message"),
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


_QUOTA_FIELD_LABELS: Mapping[str, Promise] = {
    "limit": gettext_lazy("How many"),
    "window_seconds": gettext_lazy("Time window"),
    "counts": gettext_lazy("What counts"),
    "scope": gettext_lazy("Counted"),
    "applies_to": gettext_lazy("Applies to"),
}

_CHANGE_KINDS: Mapping[str, Promise] = {
    "changed": pgettext_lazy("rule table change", "Changed"),
    "removed": pgettext_lazy("rule table change", "Removed"),
    "added": pgettext_lazy("rule table change", "Added"),
    "rechecked": pgettext_lazy("rule table change", "Re-checked"),
}

_COUNTING_VALUES = frozenset(method.value for method in CountingMethod)
_MENTION_VALUES = frozenset(method.value for method in MentionCounting)

# The internal sources of the sandbox network read "greenroom:<path>".
_INTERNAL_HOST = "Greenroom"


@dataclass(frozen=True)
class SourceView:
    url: str
    # A short, readable name for the link: the site and the page ("docs.x.com", "counting
    # characters"); the full address stays in the link and its title.
    host: str
    page: str
    is_link: bool
    checked: date
    note: str

    @classmethod
    def of(cls, provenance: Provenance) -> SourceView:
        host, page = _short_source(provenance.source)
        return cls(
            url=provenance.source,
            host=host,
            page=page,
            is_link=provenance.is_link,
            checked=provenance.checked,
            note=provenance.note,
        )


def _short_source(source: str) -> tuple[str, str]:
    """("docs.bsky.app", "posts") for https://docs.bsky.app/docs/advanced-guides/posts."""
    if source.startswith(rules.INTERNAL_SOURCE_PREFIX):
        return _INTERNAL_HOST, source.removeprefix(rules.INTERNAL_SOURCE_PREFIX)
    parts = urlsplit(source)
    if not parts.netloc:
        return source, ""
    host = parts.netloc.removeprefix("www.")
    segments = [unquote(segment) for segment in parts.path.split("/") if segment]
    page = segments[-1] if segments else ""
    if "." not in page:
        # A page name, not a file: "counting-characters" reads as "counting characters".
        page = page.replace("-", " ").replace("_", " ")
    if parts.fragment:
        page = f"{page} #{parts.fragment}" if page else f"#{parts.fragment}"
    return host, page


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


@dataclass(frozen=True)
class NetworkView:
    key: str
    name: str
    source: SourceView
    quotas: list[QuotaView]
    placements: list[PlacementView]


@dataclass(frozen=True)
class NetworkLink:
    key: str
    name: str
    url: str
    anchor: str
    # On the changes view: how many values changed, were added or removed (not re-checks).
    changes: int = 0


@dataclass(frozen=True)
class ChangeRow:
    kind: str
    kind_label: str
    key: str
    where: str
    label: str
    old: str
    new: str
    source: SourceView | None
    note: str


@dataclass(frozen=True)
class NetworkChanges:
    key: str
    name: str
    anchor: str
    changed: int
    added: int
    removed: int
    # Changed and removed values, then added ones (shown folded: a new network adds dozens).
    rows: list[ChangeRow]
    added_rows: list[ChangeRow]
    # Same value, with a new source, checked date or note.
    rechecked: list[ChangeRow]


@login_required
def rule_table(request: HttpRequest) -> HttpResponse:
    specs = rules.all_specs()
    published = rules.versions()
    showing_changes = request.GET.get("view") == "changes"
    context: dict[str, Any] = {
        "version": published[-1] if published else None,
        "view": "changes" if showing_changes else "limits",
        "published": published,
        "error": "",
    }
    if showing_changes:
        context.update(_changes_context(request.GET, published, specs))
    else:
        context.update(_limits_context(request.GET, specs))
    context["limits_url"] = _url(network=context.get("network_key") or None)
    context["changes_url"] = _url(
        view="changes", **{"from": context.get("from_version"), "to": context.get("to_version")}
    )
    status = 404 if context["error"] else 200
    return render(request, "networks/rule_table.html", context, status=status)


def _url(**query: object) -> str:
    """A link to this page with the query given (None values left out)."""
    params = {key: value for key, value in query.items() if value is not None}
    path = reverse("networks:rules")
    return f"{path}?{urlencode(params)}" if params else path


def _limits_context(query: Mapping[str, str], specs: Sequence[rules.NetworkSpec]) -> dict[str, Any]:
    links = [
        NetworkLink(key=s.key, name=s.name, url=_url(network=s.key), anchor=f"network-{s.key}")
        for s in specs
    ]
    wanted = query.get("network") or (specs[0].key if specs else "")
    chosen = next((s for s in specs if s.key == wanted), None)
    error = ""
    if chosen is None and specs:
        error = _("The rule table has no network “%(name)s”. Choose one from the list.") % {
            "name": wanted[:40]
        }
    return {
        "network_links": links,
        "network_key": chosen.key if chosen else "",
        "network": _network_view(chosen) if chosen else None,
        "error": error,
    }


def _changes_context(
    query: Mapping[str, str], published: Sequence[int], specs: Sequence[rules.NetworkSpec]
) -> dict[str, Any]:
    old_version, new_version, error = _chosen_pair(query, published)
    context: dict[str, Any] = {
        "from_version": old_version,
        "to_version": new_version,
        "error": error,
        "diff": None,
        "network_changes": [],
        "network_links": [],
        "changelog": [],
    }
    if error or old_version is None or new_version is None:
        return context
    if old_version == new_version:
        context["same_version"] = len(published) > 1
        return context
    diff = rules.diff_versions(old_version, new_version)
    old_entries = rules.load_snapshot(old_version).entries
    new_entries = rules.load_snapshot(new_version).entries
    groups = _network_changes(diff, old_entries, new_entries, specs)
    low, high = sorted((old_version, new_version))
    context.update(
        {
            "diff": diff,
            "network_changes": groups,
            "network_links": [
                NetworkLink(
                    key=group.key,
                    name=group.name,
                    url=f"#{group.anchor}",
                    anchor=group.anchor,
                    changes=len(group.rows) + len(group.added_rows),
                )
                for group in groups
            ],
            "changelog": [entry for entry in rules.changelog() if low < entry.version <= high],
        }
    )
    return context


def _chosen_pair(
    query: Mapping[str, str], published: Sequence[int]
) -> tuple[int | None, int | None, str]:
    """The versions to compare (?from=&to=), else the latest version and the one before it.

    With an unknown version the defaults come back with a message saying what exists.
    """
    default_to = published[-1] if published else None
    default_from = published[-2] if len(published) > 1 else default_to
    raw_from, raw_to = query.get("from", ""), query.get("to", "")
    try:
        old = int(raw_from) if raw_from else default_from
        new = int(raw_to) if raw_to else default_to
    except ValueError:
        wrong = raw_from if not raw_from.isdigit() else raw_to
        return (
            default_from,
            default_to,
            _(
                "“%(value)s” is not a version number. The published versions are "
                "%(versions)s: choose two below."
            )
            % {"value": wrong[:20], "versions": ", ".join(map(str, published))},
        )
    missing = [str(n) for n in (old, new) if n is not None and n not in published]
    if missing:
        return (
            default_from,
            default_to,
            _(
                "There is no version %(missing)s of the rule table. The published versions "
                "are %(versions)s: choose two below."
            )
            % {"missing": missing[0], "versions": ", ".join(map(str, published))},
        )
    return old, new, ""


def _network_view(network: rules.NetworkSpec) -> NetworkView:
    labels = {key: placement.display_label for key, placement in network.placements.items()}
    return NetworkView(
        key=network.key,
        name=network.name,
        source=SourceView.of(network.provenance),
        quotas=[_quota_view(quota, labels) for quota in network.quotas],
        placements=[
            *(_placement_view(p) for p in network.placements.values()),
            *([_replies_view(network)] if network.replies else []),
        ],
    )


def _replies_view(network: rules.NetworkSpec) -> PlacementView:
    """The network's reply limits, shown like a placement: one section per kind of conversation."""
    sections = []
    for kind, rule in network.replies.items():
        sections.append(
            SectionView(
                key=f"replies-{kind}",
                title=str(_REPLY_TITLES.get(kind, kind)),
                source=SourceView.of(rule.provenance),
                # A reply is text: its sizes are bytes of text, as in a placement's text section.
                rows=list(_rows(rule, "text")),
            )
        )
        if rule.weights is not None:
            sections.append(
                SectionView(
                    key=f"replies-{kind}-weights",
                    title=str(_SECTION_TITLES["weights"]),
                    source=SourceView.of(rule.weights.provenance),
                    rows=list(_rows(rule.weights, "weights")),
                )
            )
    return PlacementView(
        anchor=f"{network.key}-replies",
        label=_("Replies from the inbox"),
        source=SourceView.of(
            rules.Provenance(
                source=network.provenance.source,
                checked=network.provenance.checked,
                note=_(
                    "How a reply sent from the inbox is counted, for each kind of conversation."
                ),
            )
        ),
        sections=sections,
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
        # X's character weights come from twitter-text, not from the page the text limit does.
        weights = getattr(rule, "weights", None)
        if isinstance(weights, rules.Weights):
            sections.append(
                SectionView(
                    key=f"{key}-weights",
                    title=str(_SECTION_TITLES["weights"]),
                    source=SourceView.of(weights.provenance),
                    rows=list(_rows(weights, "weights")),
                )
            )
    return PlacementView(
        anchor=f"{placement.network}-{placement.key}",
        label=placement.display_label,
        source=SourceView.of(placement.provenance),
        sections=sections,
    )


def _rows(rule: Rule, section: str) -> Iterator[ValueRow]:
    for name, value, provenance in rules.iter_rule_values(rule):
        yield ValueRow(
            label=str(_FIELD_LABELS.get(name, name)),
            value=_display(name, value, section),
            source=SourceView.of(provenance),
            own_source=name in rule.field_provenance,
        )


def _quota_text(limit: float, counts: str, window_seconds: float, scope: str) -> str:
    return _("%(limit)s %(counts)s every %(window)s, %(scope)s") % {
        "limit": _number(limit),
        "counts": _QUOTA_COUNTS.get(counts, counts),
        "window": _duration(window_seconds),
        "scope": _QUOTA_SCOPES.get(scope, scope),
    }


def _quota_view(quota: Quota, placement_labels: Mapping[str, str]) -> QuotaView:
    return QuotaView(
        text=_quota_text(quota.limit, quota.counts, quota.window_seconds, quota.scope),
        applies_to=", ".join(placement_labels.get(key, key) for key in quota.applies_to),
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


def _network_changes(
    diff: rules.TableDiff,
    old_entries: Mapping[str, rules.TableEntry],
    new_entries: Mapping[str, rules.TableEntry],
    specs: Sequence[rules.NetworkSpec],
) -> list[NetworkChanges]:
    """The diff grouped by network, in the table's order; networks since removed come last."""
    entries = {**old_entries, **new_entries}
    # A note every value of a section carries is the section's note, not a reason for this
    # change; only a value's own note is shown beside it.
    shared_notes = _shared_notes(old_entries) | _shared_notes(new_entries)
    by_network: dict[str, dict[str, list[ChangeRow]]] = {}
    kinds = (
        ("changed", diff.changed),
        ("removed", diff.removed),
        ("added", diff.added),
        ("rechecked", diff.rechecked),
    )
    known = {spec.key: spec for spec in specs}
    for kind, changes in kinds:
        for change in changes:
            network = change.key.split(".", 1)[0]
            rows = by_network.setdefault(network, {name: [] for name, _changes in kinds})
            rows[kind].append(_change_row(kind, change, entries, shared_notes, known.get(network)))
    order = [spec.key for spec in specs] + sorted(set(by_network) - set(known))
    groups = []
    for key in order:
        if key not in by_network:
            continue
        rows = by_network[key]
        spec = known.get(key)
        groups.append(
            NetworkChanges(
                key=key,
                name=spec.name if spec else key.capitalize(),
                anchor=f"changes-{key}",
                changed=len(rows["changed"]),
                added=len(rows["added"]),
                removed=len(rows["removed"]),
                rows=rows["changed"] + rows["removed"],
                added_rows=rows["added"],
                rechecked=rows["rechecked"],
            )
        )
    return groups


def _shared_notes(entries: Mapping[str, rules.TableEntry]) -> set[tuple[str, str]]:
    """(section key, note) for every note that two or more values of a section share."""
    counts = Counter(
        (key.rsplit(".", 1)[0], entry.note) for key, entry in entries.items() if entry.note
    )
    return {pair for pair, count in counts.items() if count > 1}


def _change_row(
    kind: str,
    change: rules.EntryChange,
    entries: Mapping[str, rules.TableEntry],
    shared_notes: set[tuple[str, str]],
    network: rules.NetworkSpec | None,
) -> ChangeRow:
    # Keys read network.placement.section[.weights].field, or network.quotas.<quota>.field.
    parts = change.key.split(".")
    field = parts[-1]
    if len(parts) >= 4 and parts[1] == "replies":
        # network.replies.<kind>[.weights].field: a reply's text, counted like a post's.
        section = "weights" if parts[-2] == "weights" else "text"
        where = " · ".join(
            [
                _("Replies from the inbox"),
                str(_REPLY_TITLES.get(parts[2], parts[2])),
                *(str(_SECTION_TITLES.get(part, part)) for part in parts[3:-1]),
            ]
        )
        label = str(_FIELD_LABELS.get(field, field))
    elif len(parts) >= 4 and parts[1] == "quotas":
        section = "quotas"
        where = _quota_where(".".join(parts[:3]), entries)
        label = str(_QUOTA_FIELD_LABELS.get(field, field))
    elif len(parts) >= 4:
        section = parts[-2]
        placement = network.placements.get(parts[1]) if network else None
        where = " · ".join(
            [
                placement.label if placement else parts[1],
                *(str(_SECTION_TITLES.get(part, part)) for part in parts[2:-1]),
            ]
        )
        label = str(_FIELD_LABELS.get(field, field))
    else:
        section, where, label = "", "", field
    entry = change.new or change.old
    note = entry.note if entry is not None else ""
    if (change.key.rsplit(".", 1)[0], note) in shared_notes:
        note = ""
    source = None
    if entry is not None and entry.source and entry.checked:
        source = SourceView.of(
            Provenance(
                source=entry.source,
                checked=date.fromisoformat(entry.checked),
                note=entry.note,
            )
        )
    return ChangeRow(
        kind=kind,
        kind_label=str(_CHANGE_KINDS[kind]),
        key=change.key,
        where=where,
        label=label,
        old=_entry_value(field, section, change.old.value) if change.old else "",
        new=_entry_value(field, section, change.new.value) if change.new else "",
        source=source,
        # A note says why a value moved; on added or re-sourced values it repeats the table.
        note=note if kind in ("changed", "removed") else "",
    )


def _quota_where(prefix: str, entries: Mapping[str, rules.TableEntry]) -> str:
    """A quota as people read it ("Quota: posts every 24 h, per account"), from its entries."""

    def value(field: str) -> rules.JsonValue | None:
        entry = entries.get(f"{prefix}.{field}")
        return entry.value if entry else None

    counts, window, scope = value("counts"), value("window_seconds"), value("scope")
    if not (isinstance(counts, str) and isinstance(window, int | float) and isinstance(scope, str)):
        return _("Quota")
    return _("Quota: %(counts)s every %(window)s, %(scope)s") % {
        "counts": _QUOTA_COUNTS.get(counts, counts),
        "window": _duration(window),
        "scope": _QUOTA_SCOPES.get(scope, scope),
    }


def _entry_value(field: str, section: str, value: rules.JsonValue) -> str:
    """A published value (JSON) written the way the limits table writes it."""
    if field == "counting" and isinstance(value, str) and value in _COUNTING_VALUES:
        return str(_COUNTING_LABELS[CountingMethod(value)])
    if field == "mention_counting" and isinstance(value, str) and value in _MENTION_VALUES:
        return str(_MENTION_LABELS[MentionCounting(value)])
    if section == "quotas" and field == "counts" and isinstance(value, str):
        return str(_QUOTA_COUNTS.get(value, value))
    if section == "quotas" and field == "scope" and isinstance(value, str):
        return str(_QUOTA_SCOPES.get(value, value))
    if field == "ranges" and isinstance(value, list):
        ranges = [_weight_range_of(item) for item in value]
        if all(ranges):
            return "; ".join(_weight_range(r) for r in ranges if r)
    if isinstance(value, list):
        return ", ".join(_entry_value(field, section, item) for item in value)
    if isinstance(value, bool | int | float):
        return _display(field, value, section)
    return value


def _weight_range_of(value: rules.JsonValue) -> WeightRange | None:
    """[start, end, weight] as published, back as a WeightRange."""
    if not isinstance(value, list):
        return None
    numbers = [n for n in value if isinstance(n, int) and not isinstance(n, bool)]
    if len(value) != 3 or len(numbers) != 3:
        return None
    return WeightRange(start=numbers[0], end=numbers[1], weight=numbers[2])
