"""What a variant publishes, and whether the network would accept it (from the rule table).

The engine, the validation in actions and the previews all build the published text here, so
what is counted is exactly what is sent.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import AbstractContextManager, ExitStack, contextmanager
from dataclasses import dataclass, field
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from django.utils.translation import gettext as _

from greenroom.networks import rules
from greenroom.networks.base import MediaItem
from greenroom.networks.text import validate_text
from greenroom.publishing import options, sentences
from greenroom.publishing.models import Variant

UTM_KEYS = ("utm_source", "utm_medium", "utm_campaign", "utm_term", "utm_content")

# The media app registers how asset ids become files (see `register_media_resolver`).
MediaResolver = Callable[[Variant], Sequence[MediaItem]]
_media_resolver: MediaResolver | None = None


def register_media_resolver(resolver: MediaResolver | None) -> None:
    """Called by the media app at start-up: turns a variant's asset ids into rendered files."""
    global _media_resolver
    _media_resolver = resolver


def media_items(variant: Variant) -> list[MediaItem]:
    """The files to publish with a variant (rendered for its placement by the media app)."""
    if not variant.media:
        return []
    if _media_resolver is None:
        from greenroom.networks.base import ConnectorError

        def words() -> str:
            return _(
                "This post has media, but the media library is not installed, so Greenroom "
                "cannot send the files. Remove the media or install the media library."
            )

        raise ConnectorError(words(), permanent=True, code="media_unavailable", words=words)
    return list(_media_resolver(variant))


# --- Policy checks -------------------------------------------------------------------------------
#
# Organisations set rules a post must follow (banned terms, disclosures, link domains, personal
# data). The app that owns them (compliance) registers its check at start-up; publishing never
# imports it. Submitting for approval refuses blocking findings, and the engine checks again
# just before sending (`check_policies`), so a rule added after approval still holds.


@dataclass(frozen=True)
class PolicyFinding:
    """One rule a variant breaks: `blocks` stops it, otherwise it is a warning; `message` says
    what was found and why the rule exists, in plain words. `words`, if given, writes `message`
    again in the active language (a notice to someone who reads another language)."""

    rule: str
    message: str
    blocks: bool
    words: Callable[[], str] | None = field(default=None, compare=False, repr=False)

    def in_active_language(self) -> str:
        return self.words() if self.words is not None else self.message


PolicyCheck = Callable[[Variant], Sequence[PolicyFinding]]
# A context in which a check may read what it needs once for many variants (see policy_batch).
PolicyBatch = Callable[[], AbstractContextManager[object]]
_policy_checks: list[PolicyCheck] = []
_policy_batches: list[PolicyBatch] = []


def register_policy_check(check: PolicyCheck, *, batch: PolicyBatch | None = None) -> None:
    """Called by an app at start-up (AppConfig.ready); registering twice is harmless. `batch`,
    if given, is entered by `policy_batch()`."""
    if check not in _policy_checks:
        _policy_checks.append(check)
    if batch is not None and batch not in _policy_batches:
        _policy_batches.append(batch)


@contextmanager
def policy_batch() -> Iterator[None]:
    """Check several variants in this block: each check reads its rules once, not per variant
    (the engine holds it around a claimed chunk). Rules changed meanwhile apply from the next
    block on."""
    with ExitStack() as stack:
        for batch in _policy_batches:
            stack.enter_context(batch())
        yield


def policy_findings(variant: Variant) -> list[PolicyFinding]:
    """Every policy finding on this variant, blocking and warning."""
    return [finding for check in _policy_checks for finding in check(variant)]


@dataclass(frozen=True)
class PolicyReport:
    blocks: list[str]
    warnings: list[str]


def policy_report(variants: Iterable[Variant]) -> PolicyReport:
    """The findings of several variants as messages naming their channel."""
    blocks: list[str] = []
    warnings: list[str] = []
    for variant in variants:
        for finding in policy_findings(variant):
            message = f"{variant.channel}: {finding.message}"
            (blocks if finding.blocks else warnings).append(message)
    return PolicyReport(blocks=blocks, warnings=warnings)


def check_policies(variant: Variant) -> None:
    """Raise a permanent ConnectorError ("policy_blocked") if a rule blocks this variant."""
    blocking = [f for f in policy_findings(variant) if f.blocks]
    if blocking:
        from greenroom.networks.base import ConnectorError

        def words() -> str:
            # Greenroom's sentences in the active language around the rules' names and the
            # organisation's reasons (as written): the author's notice calls it in theirs.
            reasons = " ".join(f.in_active_language() for f in blocking)
            return _(sentences.POLICY_BLOCKS) % {"reasons": reasons}

        raise ConnectorError(words(), permanent=True, code="policy_blocked", words=words)


def link_with_utm(link: str, utm: dict[str, str]) -> str:
    """The link with the variant's UTM parameters added (existing ones of the link win)."""
    if not link:
        return ""
    parts = urlsplit(link)
    query = parse_qsl(parts.query, keep_blank_values=True)
    present = {key for key, _value in query}
    for key in UTM_KEYS:
        value = (utm or {}).get(key, "")
        if value and key not in present:
            query.append((key, value))
    return urlunsplit(parts._replace(query=urlencode(query)))


def variant_link(variant: Variant) -> str:
    return link_with_utm(variant.link or variant.post.link, variant.utm)


def final_text(variant: Variant) -> str:
    """The text as the network will receive it: the variant's text, then its link."""
    text = variant.text
    link = variant_link(variant)
    if link and link not in text:
        text = f"{text.rstrip()}\n\n{link}" if text.strip() else link
    return text


def network_of(variant: Variant) -> str:
    # A sandboxed channel emulates its kind, and is checked against that network's rules.
    return variant.channel.kind


def problems(variant: Variant) -> list[str]:
    """Everything that stops this variant from being published as it is, in plain words."""
    network = network_of(variant)
    try:
        spec = rules.get_spec(network, variant.placement)
    except rules.UnknownNetwork:
        return [
            _("%(channel)s: %(network)s has no placement %(placement)s. Choose another one.")
            % {"channel": variant.channel, "network": network, "placement": variant.placement}
        ]
    found = [
        f"{variant.channel}: {problem}"
        for problem in validate_text(final_text(variant), network, variant.placement)
    ]
    count = len(variant.media)
    if count > spec.media.max_items:
        found.append(
            _(
                "%(channel)s: %(network)s accepts at most %(max)s media items in a %(placement)s; "
                "this one has %(count)s. Remove %(excess)s."
            )
            % {
                "channel": variant.channel,
                "network": spec.network_name,
                "max": spec.media.max_items,
                "placement": spec.display_label,
                "count": count,
                "excess": count - spec.media.max_items,
            }
        )
    if spec.media.min_items and count < spec.media.min_items:
        found.append(
            _(
                "%(channel)s: a %(network)s %(placement)s needs at least %(min)s media items; "
                "this one has %(count)s. Add %(missing)s."
            )
            % {
                "channel": variant.channel,
                "network": spec.network_name,
                "min": spec.media.min_items,
                "placement": spec.display_label,
                "count": count,
                "missing": spec.media.min_items - count,
            }
        )
    if not final_text(variant).strip() and not count:
        found.append(
            _("%(channel)s: the post is empty. Write some text or add media.")
            % {"channel": variant.channel}
        )
    found += first_comment_problems(variant.first_comment, network, variant.placement, variant)
    if variant.options:
        found += options.problems(
            network, variant.placement, variant.options, where=str(variant.channel)
        )
    return found


# --- First comments ------------------------------------------------------------------------------


def first_comment_rule(network: str, placement: str) -> rules.TextRule | None:
    """How a first comment on this placement is counted, or None where there can be none.

    The rule table says where a network's API cannot comment (`[placements.X.first_comment]
    supported = false`, TikTok); elsewhere a placement that carries text (and so a comment
    thread under it) takes a first comment counted like its text. Stories carry no text and
    take none.
    """
    try:
        spec = rules.get_spec(network, placement)
    except rules.UnknownNetwork:
        return None
    if spec.first_comment is not None and not spec.first_comment.supported:
        return None
    return spec.text_rule("text")


def first_comment_problems(text: str, network: str, placement: str, variant: Variant) -> list[str]:
    """What stops this first comment, in plain words (nothing for an empty one)."""
    if not text.strip():
        return []
    try:
        spec = rules.get_spec(network, placement)
    except rules.UnknownNetwork:
        return []  # the placement problem is reported on its own
    if first_comment_rule(network, placement) is None:
        if spec.first_comment is not None and not spec.first_comment.supported:
            return [
                _(
                    "%(channel)s: %(network)s does not let apps post comments, so Greenroom "
                    "cannot post a first comment there. Remove it, or put the text in the "
                    "post itself."
                )
                % {"channel": variant.channel, "network": spec.network_name}
            ]
        return [
            _(
                "%(channel)s: a %(network)s %(placement)s has no comments, so a first comment "
                "cannot be posted. Remove it or choose another placement."
            )
            % {
                "channel": variant.channel,
                "network": spec.network_name,
                "placement": spec.display_label,
            }
        ]
    return [
        _("%(channel)s, first comment: %(problem)s")
        % {"channel": variant.channel, "problem": problem}
        for problem in validate_text(text, network, placement)
    ]


def placements_for(network: str) -> list[tuple[str, str]]:
    """(key, label) of every placement the rule table knows for a network."""
    try:
        spec = rules.get_network(network)
    except rules.UnknownNetwork:
        return []
    return [(key, placement.display_label) for key, placement in spec.placements.items()]
