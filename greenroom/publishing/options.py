"""Per-post network options: what a variant asks of its network beyond text and media.

Each network's connector reads a few keys of `OutgoingPost.extra` (YouTube's privacy and
"made for kids", TikTok's privacy level and interactions, Mastodon's content warning ...). A
variant keeps them in `Variant.options`; this module is the small schema they are checked
against (allowed keys, types, allowed values, lengths from the rule table), and the engine
copies them into `extra` unchanged. The keys are the connectors' own: see each network's
`connector.py`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from django.utils.functional import Promise
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from greenroom.networks import rules
from greenroom.networks.text import validate_text


class Kind(StrEnum):
    CHOICE = "choice"  # one of `choices` (a string)
    FLAG = "flag"  # true or false
    TEXT = "text"  # one line of text, at most `max_length` (or the rule table's limit)
    WORDS = "words"  # a list of short texts (tags, language codes)
    PARTS = "parts"  # a list of longer texts (the posts after the first in a thread)


@dataclass(frozen=True)
class Option:
    key: str
    label: Promise
    kind: Kind
    help: Promise | str = ""
    choices: tuple[tuple[str, Promise], ...] = ()
    max_length: int | None = None
    max_items: int | None = None
    # Measured with the rule table's field of this name (e.g. "title") when it has one.
    rule_field: str = ""
    # Placements it applies to; empty: every placement of the network.
    placements: tuple[str, ...] = ()

    def applies_to(self, placement: str) -> bool:
        return not self.placements or placement in self.placements

    def choice_label(self, value: str) -> str:
        return str(dict(self.choices).get(value, value))


_PRIVACY_YOUTUBE = (
    ("public", gettext_lazy("Public")),
    ("unlisted", gettext_lazy("Unlisted: only people with the link")),
    ("private", gettext_lazy("Private: only you and people you choose")),
)
# YouTube's assignable video categories (videoCategories.list); 22 is YouTube's default.
_YOUTUBE_CATEGORIES = (
    ("1", gettext_lazy("Film & Animation")),
    ("2", gettext_lazy("Autos & Vehicles")),
    ("10", gettext_lazy("Music")),
    ("15", gettext_lazy("Pets & Animals")),
    ("17", gettext_lazy("Sports")),
    ("19", gettext_lazy("Travel & Events")),
    ("20", gettext_lazy("Gaming")),
    ("22", gettext_lazy("People & Blogs")),
    ("23", gettext_lazy("Comedy")),
    ("24", gettext_lazy("Entertainment")),
    ("25", gettext_lazy("News & Politics")),
    ("26", gettext_lazy("Howto & Style")),
    ("27", gettext_lazy("Education")),
    ("28", gettext_lazy("Science & Technology")),
    ("29", gettext_lazy("Nonprofits & Activism")),
)
_PRIVACY_TIKTOK = (
    ("PUBLIC_TO_EVERYONE", gettext_lazy("Everyone")),
    ("MUTUAL_FOLLOW_FRIENDS", gettext_lazy("Friends (followers you follow back)")),
    ("FOLLOWER_OF_CREATOR", gettext_lazy("Followers")),
    ("SELF_ONLY", gettext_lazy("Only me")),
)
_MASTODON_VISIBILITY = (
    ("public", gettext_lazy("Public")),
    ("unlisted", gettext_lazy("Unlisted: public, but not in public timelines")),
    ("private", gettext_lazy("Followers only")),
    ("direct", gettext_lazy("Mentioned people only")),
)

SCHEMAS: Mapping[str, tuple[Option, ...]] = {
    "youtube": (
        Option(
            "title",
            gettext_lazy("Video title"),
            Kind.TEXT,
            help=gettext_lazy("Empty: the first line of the text."),
            rule_field="title",
        ),
        Option(
            "privacy_status",
            gettext_lazy("Who can watch"),
            Kind.CHOICE,
            help=gettext_lazy("Empty: public."),
            choices=_PRIVACY_YOUTUBE,
        ),
        Option(
            "category_id",
            gettext_lazy("Category"),
            Kind.CHOICE,
            help=gettext_lazy("Empty: People & Blogs."),
            choices=_YOUTUBE_CATEGORIES,
        ),
        Option(
            "made_for_kids",
            gettext_lazy("Made for kids"),
            Kind.FLAG,
            help=gettext_lazy(
                "YouTube asks every upload whether it is made for children (US COPPA law). "
                "Tick it if it is: comments and personalised ads are then switched off."
            ),
        ),
        Option(
            "tags",
            gettext_lazy("Tags"),
            Kind.WORDS,
            help=gettext_lazy("Separated by commas."),
            max_length=100,
            max_items=30,
        ),
    ),
    "tiktok": (
        Option(
            "privacy_level",
            gettext_lazy("Who can view"),
            Kind.CHOICE,
            help=gettext_lazy(
                "Empty: everyone. It must be one the account offers; TikTok lets apps it has "
                "not audited post only to “Only me”."
            ),
            choices=_PRIVACY_TIKTOK,
        ),
        Option("disable_comment", gettext_lazy("Turn off comments"), Kind.FLAG),
        Option(
            "disable_duet",
            gettext_lazy("Turn off duets"),
            Kind.FLAG,
            placements=("feed",),
        ),
        Option(
            "disable_stitch",
            gettext_lazy("Turn off stitches"),
            Kind.FLAG,
            placements=("feed",),
        ),
        Option(
            "tiktok_mode",
            gettext_lazy("How it is posted"),
            Kind.CHOICE,
            help=gettext_lazy(
                "Empty: posted directly. To the inbox: the creator gets it as a draft in the "
                "TikTok app and finishes it there."
            ),
            choices=(
                ("direct", gettext_lazy("Post directly")),
                ("inbox", gettext_lazy("Send to the creator's TikTok inbox")),
            ),
        ),
        Option(
            "title",
            gettext_lazy("Photo post title"),
            Kind.TEXT,
            help=gettext_lazy("Empty: the first line of the text."),
            rule_field="title",
            placements=("photo",),
        ),
        Option(
            "auto_add_music",
            gettext_lazy("Add music automatically"),
            Kind.FLAG,
            placements=("photo",),
        ),
    ),
    "linkedin": (
        Option(
            "title",
            gettext_lazy("Video title"),
            Kind.TEXT,
            help=gettext_lazy("Shown with a video; empty: none."),
            max_length=200,
        ),
    ),
    "mastodon": (
        Option(
            "spoiler_text",
            gettext_lazy("Content warning"),
            Kind.TEXT,
            help=gettext_lazy("Readers see this first and open the post to read the rest."),
            max_length=500,
        ),
        Option(
            "visibility",
            gettext_lazy("Visibility"),
            Kind.CHOICE,
            help=gettext_lazy("Empty: public."),
            choices=_MASTODON_VISIBILITY,
        ),
        Option(
            "sensitive",
            gettext_lazy("Mark media as sensitive"),
            Kind.FLAG,
            help=gettext_lazy("Always on with a content warning."),
        ),
        Option(
            "language",
            gettext_lazy("Language"),
            Kind.TEXT,
            help=gettext_lazy("Two letters (ISO 639-1), e.g. en or ko. Empty: the account's."),
            max_length=2,
        ),
    ),
    "bluesky": (
        Option(
            "langs",
            gettext_lazy("Languages"),
            Kind.WORDS,
            help=gettext_lazy("Up to three language codes separated by commas, e.g. en, ko."),
            max_length=8,
            max_items=3,
        ),
        Option(
            "thread",
            gettext_lazy("More posts in a thread"),
            Kind.PARTS,
            help=gettext_lazy(
                "Each part is posted as a reply to the one before. Separate parts with a line "
                "holding only ---."
            ),
            max_items=20,
        ),
    ),
}


def options_for(network: str, placement: str | None = None) -> tuple[Option, ...]:
    """The options a network's posts take (on this placement, when given)."""
    found = SCHEMAS.get(network, ())
    if placement is None:
        return found
    return tuple(o for o in found if o.applies_to(placement))


def tidy(raw: Mapping[str, Any]) -> dict[str, Any]:
    """Leave out what says nothing (empty texts, empty lists, None): the connector's default."""
    kept: dict[str, Any] = {}
    for key, value in raw.items():
        if value is None or value == "" or value == []:
            continue
        kept[str(key)] = value.strip() if isinstance(value, str) else value
    return kept


def problems(network: str, placement: str, raw: Mapping[str, Any], *, where: str) -> list[str]:
    """What is wrong with these options for this network and placement, each naming the field
    and the fix (nothing for valid options). `where` names the channel."""
    try:
        spec = rules.get_spec(network, placement)
    except rules.UnknownNetwork:
        return []  # the placement's own problem is reported elsewhere
    schema = {o.key: o for o in options_for(network)}
    found: list[str] = []
    for key, value in raw.items():
        option = schema.get(key)
        if option is None:
            if not schema:
                found.append(
                    _("%(where)s: %(network)s takes no options; remove “%(key)s”.")
                    % {"where": where, "network": spec.network_name, "key": key}
                )
            else:
                found.append(
                    _("%(where)s: %(network)s has no option “%(key)s”. Its options are: %(known)s.")
                    % {
                        "where": where,
                        "network": spec.network_name,
                        "key": key,
                        "known": ", ".join(schema),
                    }
                )
            continue
        if not option.applies_to(placement):
            found.append(
                _("%(where)s: “%(label)s” (%(key)s) applies only to %(placements)s; remove it.")
                % {
                    "where": where,
                    "label": option.label,
                    "key": key,
                    "placements": ", ".join(spec_label(network, p) for p in option.placements),
                }
            )
            continue
        problem = _value_problem(option, value, network, placement)
        if problem:
            found.append(
                _("%(where)s: “%(label)s” (%(key)s) %(problem)s")
                % {"where": where, "label": option.label, "key": key, "problem": problem}
            )
    return found


def spec_label(network: str, placement: str) -> str:
    try:
        return rules.get_spec(network, placement).display_label
    except rules.UnknownNetwork:
        return placement


def _value_problem(option: Option, value: Any, network: str, placement: str) -> str:
    if option.kind is Kind.FLAG:
        if not isinstance(value, bool):
            return _("must be true or false, not %(value)s.") % {"value": _shown(value)}
        return ""
    if option.kind is Kind.CHOICE:
        allowed = [key for key, _label in option.choices]
        if value not in allowed:
            return _("must be one of %(allowed)s; %(value)s is not one of them.") % {
                "allowed": ", ".join(allowed),
                "value": _shown(value),
            }
        return ""
    if option.kind is Kind.TEXT:
        if not isinstance(value, str):
            return _("must be text, not %(value)s.") % {"value": _shown(value)}
        return _text_problem(option, value, network, placement)
    # WORDS and PARTS: a list of texts.
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        return _("must be a list of texts, like [“one”, “two”], not %(value)s.") % {
            "value": _shown(value)
        }
    if option.max_items is not None and len(value) > option.max_items:
        return _("has %(n)s items; at most %(max)s are allowed. Remove %(excess)s.") % {
            "n": len(value),
            "max": option.max_items,
            "excess": len(value) - option.max_items,
        }
    for item in value:
        problem = _text_problem(option, item, network, placement)
        if problem:
            return problem
        if option.kind is Kind.PARTS:
            reasons = validate_text(item, network, placement)
            if reasons:
                return reasons[0]
    return ""


def _text_problem(option: Option, value: str, network: str, placement: str) -> str:
    if "\x00" in value:
        # Options are kept as JSON, and PostgreSQL cannot store NUL in it.
        return _("contains a NUL character; remove it.")
    if option.rule_field:
        reasons = validate_text(value, network, placement, field=option.rule_field)
        return reasons[0] if reasons else ""
    if option.max_length is not None and len(value) > option.max_length:
        return _("is %(n)s characters long; at most %(max)s are allowed. Shorten it.") % {
            "n": len(value),
            "max": option.max_length,
        }
    return ""


def _shown(value: Any) -> str:
    text = repr(value) if not isinstance(value, str) else f"“{value}”"
    return text if len(text) <= 60 else text[:57] + "..."


def describe(network: str, raw: Mapping[str, Any]) -> list[tuple[str, str]]:
    """(label, value) of each option set, as a person reads them (the post page)."""
    schema = {o.key: o for o in options_for(network)}
    shown = []
    for key, value in raw.items():
        option = schema.get(key)
        if option is None:
            shown.append((key, str(value)))
        elif option.kind is Kind.FLAG:
            shown.append((str(option.label), _("Yes") if value else _("No")))
        elif option.kind is Kind.CHOICE:
            shown.append((str(option.label), option.choice_label(str(value))))
        elif option.kind is Kind.PARTS:
            shown.append((str(option.label), _("%(n)s more posts") % {"n": len(value)}))
        elif isinstance(value, list):
            shown.append((str(option.label), ", ".join(map(str, value))))
        else:
            shown.append((str(option.label), str(value)))
    return shown
