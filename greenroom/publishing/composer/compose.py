"""What the composer shows and sends: each channel's variant measured the way its network
counts, checked against the rule table, previewed with its media rendition, and turned into
the publishing app's VariantInputs.

Nothing here counts or limits on its own: counting is greenroom.networks.text, limits are the
rule table, the published text is greenroom.publishing.content (so what is counted is exactly
what is sent), and writes are greenroom.publishing.actions.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.db.models import QuerySet
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.formats import date_format, number_format
from django.utils.text import slugify
from django.utils.translation import gettext as _

from greenroom.core.actions import ActionError
from greenroom.core.models import Channel, ChannelStatus, Organization, User
from greenroom.media.models import MediaAsset, Rendition, RenditionStatus
from greenroom.networks import rules
from greenroom.networks.rules import PlacementSpec
from greenroom.networks.text import TextCount, count
from greenroom.publishing import approvals, content, options
from greenroom.publishing.actions import VariantInput
from greenroom.publishing.actions.common import channels_with
from greenroom.publishing.models import ApprovalPolicy, Post, Variant

DEFAULT_UTM_MEDIUM = "social"


# --- Channels ------------------------------------------------------------------------------------


def draftable_channels(user: User, org: Organization) -> QuerySet[Channel]:
    """Channels the person may compose for in this organisation (archived ones never)."""
    return (
        Channel.objects.restrict(user, "draft")
        .filter(organization=org)
        .exclude(status=ChannelStatus.ARCHIVED)
        .select_related("brand")
        .defer("credentials")
        .order_by("brand__name", "kind", "handle")
    )


# --- First comments ------------------------------------------------------------------------------

# The publishing app's own rule: the composer, bulk import and the actions all check the same.
first_comment_rule = content.first_comment_rule


def first_comment_unsupported_reason(network: str, placement: str) -> str:
    """Why this placement takes no first comment, in plain words ("" where it takes one)."""
    if content.first_comment_rule(network, placement) is not None:
        return ""
    try:
        spec = rules.get_spec(network, placement)
    except rules.UnknownNetwork:
        return ""
    if spec.first_comment is not None and not spec.first_comment.supported:
        return _(
            "%(network)s does not let apps post comments, so Greenroom cannot add a first "
            "comment here."
        ) % {"network": spec.network_name}
    return _("A %(network)s %(placement)s has no comments, so it takes no first comment.") % {
        "network": spec.network_name,
        "placement": spec.display_label,
    }


# --- UTM -----------------------------------------------------------------------------------------


def utm_for(network: str, *, medium: str, campaign: str) -> dict[str, str]:
    """The UTM parameters of one channel's link: the source is the network it is posted on."""
    utm = {"utm_source": network, "utm_medium": medium.strip() or DEFAULT_UTM_MEDIUM}
    if campaign.strip():
        utm["utm_campaign"] = campaign.strip()
    return utm


def campaign_slug(name: str) -> str:
    return slugify(name) or name


# --- Measuring one variant -----------------------------------------------------------------------


@dataclass
class Measured:
    """One variant's text as its network counts it, with everything that stops it."""

    network: str
    placement: PlacementSpec
    count: TextCount | None
    text: str
    link: str
    problems: list[str]
    first_comment_supported: bool
    # Why this placement takes no first comment, in plain words ("" where it takes one).
    first_comment_unsupported: str = ""
    first_comment_count: TextCount | None = None
    # Publishing policy findings (banned terms, disclosures ...): checked again on submit.
    policy: list[content.PolicyFinding] = field(default_factory=list)

    @property
    def policy_blocks(self) -> bool:
        return any(f.blocks for f in self.policy)

    @property
    def over(self) -> bool:
        return bool(self.problems)

    def counter_label(self) -> str:
        """ "34 of 280" in the network's own unit (bytes where it counts bytes)."""
        if self.count is None:
            return _("This placement carries no text.")
        return _("%(length)s of %(limit)s") % {
            "length": number_format(self.count.length, force_grouping=True),
            "limit": number_format(self.count.limit, force_grouping=True),
        }

    def caps_label(self) -> str:
        """Hashtags and mentions against their caps, where the network has caps."""
        if self.count is None:
            return ""
        parts = []
        c = self.count
        if c.hashtag_cap is not None:
            parts.append(
                _("%(n)s of %(cap)s hashtags") % {"n": len(c.hashtags), "cap": c.hashtag_cap}
            )
        elif c.hashtags:
            parts.append(_("%(n)s hashtags") % {"n": len(c.hashtags)})
        if c.mention_cap is not None:
            parts.append(
                _("%(n)s of %(cap)s mentions") % {"n": len(c.mentions), "cap": c.mention_cap}
            )
        elif c.mentions:
            parts.append(_("%(n)s mentions") % {"n": len(c.mentions)})
        if c.byte_limit is not None:
            parts.append(_("%(n)s of %(cap)s bytes") % {"n": c.bytes, "cap": c.byte_limit})
        return " · ".join(parts)

    def as_json(self) -> dict[str, Any]:
        c = self.count
        return {
            "network": self.network,
            "network_name": self.placement.network_name,
            "placement": self.placement.key,
            "placement_label": self.placement.display_label,
            "counting": str(c.counting) if c else None,
            "length": c.length if c else 0,
            "limit": c.limit if c else 0,
            "remaining": c.remaining if c else 0,
            "over": bool(c and c.over),
            "graphemes": c.graphemes if c else 0,
            "bytes": c.bytes if c else 0,
            "byte_limit": c.byte_limit if c else None,
            "hashtags": len(c.hashtags) if c else 0,
            "hashtag_cap": c.hashtag_cap if c else None,
            "mentions": len(c.mentions) if c else 0,
            "mention_cap": c.mention_cap if c else None,
            "links": len(c.urls) if c else 0,
            "link_cap": c.link_cap if c else None,
            "text": self.text,
            "link": self.link,
            "problems": self.problems,
            "policy": [{"blocks": f.blocks, "message": f.message} for f in self.policy],
            "first_comment_supported": self.first_comment_supported,
            "first_comment_unsupported": self.first_comment_unsupported,
            "counter_label": self.counter_label(),
            "caps_label": self.caps_label(),
        }


def unsaved_variant(
    channel: Channel,
    *,
    placement: str,
    text: str,
    link: str,
    utm: Mapping[str, str],
    media: Sequence[int] = (),
    sponsored: bool = False,
) -> Variant:
    """The variant as it would be saved (not saved): content.problems and final_text are the
    publishing app's own checks and its own published text."""
    return Variant(
        post=Post(link="", sponsored=sponsored),
        channel=channel,
        placement=placement,
        text=text,
        link=link,
        utm=dict(utm),
        media=list(media),
    )


def problems_of(variant: Variant, first_comment: str = "") -> list[str]:
    """Everything that stops the variant, without counting for a counter (bulk checks)."""
    variant.first_comment = first_comment
    return content.problems(variant)


def measure(
    channel: Channel,
    *,
    placement: str,
    text: str,
    link: str,
    utm: Mapping[str, str],
    media: Sequence[int] = (),
    first_comment: str = "",
    sponsored: bool = False,
    network_options: Mapping[str, Any] | None = None,
) -> Measured:
    """Count and check one channel's variant exactly as the publishing app will check it."""
    network = channel.kind
    try:
        spec = rules.get_spec(network, placement)
    except rules.UnknownNetwork:
        spec = rules.get_spec(network, "feed")
        placement = spec.key
    variant = unsaved_variant(
        channel,
        placement=placement,
        text=text,
        link=link,
        utm=utm,
        media=media,
        sponsored=sponsored,
    )
    variant.first_comment = first_comment
    variant.options = options.tidy(network_options or {})
    final = content.final_text(variant)
    measured: TextCount | None = None
    if spec.text_rule("text") is not None:
        measured = count(final, network, placement)
    rule = first_comment_rule(network, placement)
    comment_count = None
    if rule is not None and first_comment.strip():
        comment_count = count(first_comment, network, placement)
    return Measured(
        network=network,
        placement=spec,
        count=measured,
        text=final,
        link=content.variant_link(variant),
        problems=content.problems(variant),
        first_comment_supported=rule is not None,
        first_comment_unsupported=first_comment_unsupported_reason(network, placement),
        first_comment_count=comment_count,
        policy=content.policy_findings(variant),
    )


# --- What the submit button does -----------------------------------------------------------------


@dataclass(frozen=True)
class NextStep:
    """What happens when the person presses the main button, in their words."""

    kind: str  # "approval", "schedule" or "publish_now"
    label: str
    explanation: str


def needs_approval(user: User, channels: Sequence[Channel]) -> bool:
    """Whether a post to these channels goes to approvers first (publishing.approvals' rule: a
    policy on the channel or its brand, or an author who may not publish there)."""
    if not channels:
        return False
    policies = list(
        ApprovalPolicy.objects.filter(
            organization_id=channels[0].organization_id, is_active=True
        ).order_by("pk")
    )
    if any(approvals.policy_for(c, policies) is not None for c in channels):
        return True
    may_publish = channels_with(user, "publish", channels)
    return any(c.pk not in may_publish for c in channels)


def next_step(user: User, channels: Sequence[Channel], publish_at: datetime | None) -> NextStep:
    if needs_approval(user, channels):
        return NextStep(
            "approval",
            _("Submit for approval"),
            _(
                "Approvers are asked to look at it. Once they approve, it is scheduled for its "
                "time, or waits for someone to schedule it."
            ),
        )
    if publish_at is not None:
        when = date_format(timezone.localtime(publish_at), "Y-m-d H:i")
        return NextStep(
            "schedule",
            _("Schedule for %(time)s") % {"time": when},
            _("No approval is needed: it is published on every channel at that time."),
        )
    return NextStep(
        "publish_now",
        _("Publish now"),
        _("No approval is needed and no time is set: it is published within seconds."),
    )


# --- Media in the preview ------------------------------------------------------------------------


@dataclass
class MediaPreview:
    asset: MediaAsset
    alt_text: str
    rendition: Rendition | None = None
    # Why this placement cannot show it, in plain words.
    problem: str = ""

    @property
    def ready(self) -> bool:
        return self.rendition is not None and self.rendition.status == RenditionStatus.READY

    @property
    def url(self) -> str:
        if self.ready and self.rendition is not None:
            return reverse("media:rendition_file", args=[self.rendition.pk])
        return reverse("media:thumbnail", args=[self.asset.pk])

    @property
    def size_label(self) -> str:
        return self.rendition.size_label if self.rendition is not None else ""


def media_previews(
    assets: Sequence[MediaAsset],
    alt_texts: Sequence[str],
    network: str,
    placement: str,
    *,
    user: User,
    make: bool,
) -> list[MediaPreview]:
    """The rendition of each asset for this placement: made now when `make` (the media app's
    action; images take milliseconds, video is made by a worker), else only looked up."""
    from greenroom.media import actions as media_actions
    from greenroom.media import specs as media_specs

    found = []
    for index, asset in enumerate(assets):
        alt = alt_texts[index] if index < len(alt_texts) else ""
        preview = MediaPreview(asset=asset, alt_text=alt)
        try:
            if make:
                preview.rendition = media_actions.rendition_for(
                    asset, network, placement, acting_user=user
                )
            else:
                target = media_specs.target_for(asset, network, placement)
                preview.rendition = Rendition.objects.filter(
                    asset=asset, spec_key=target.key
                ).first()
        except ActionError as exc:
            preview.problem = str(exc)
        if preview.rendition is not None and preview.rendition.status == RenditionStatus.FAILED:
            preview.problem = preview.rendition.error
        found.append(preview)
    return found


def safe_zone(network: str, placement: str) -> Any:
    from greenroom.media import specs as media_specs

    return media_specs.safe_zone(network, placement)


# --- Network options ----------------------------------------------------------------------------

PART_BREAK = "---"


@dataclass(frozen=True)
class OptionField:
    """One network option as the composer shows it: its input's name and current value."""

    option: options.Option
    name: str
    value: str
    checked: bool = False

    @property
    def kind(self) -> str:
        return str(self.option.kind)


def option_fields(channel: Channel, placement: str, values: Mapping[str, Any]) -> list[OptionField]:
    """The options this channel's network takes on this placement, with their values."""
    fields = []
    for option in options.options_for(channel.kind, placement):
        value = values.get(option.key)
        if option.kind is options.Kind.FLAG:
            shown, checked = "", value is True or (value is None and option.key == "auto_add_music")
        elif option.kind is options.Kind.WORDS and isinstance(value, list):
            shown, checked = ", ".join(map(str, value)), False
        elif option.kind is options.Kind.PARTS and isinstance(value, list):
            shown, checked = f"\n{PART_BREAK}\n".join(map(str, value)), False
        else:
            shown, checked = ("" if value is None else str(value)), False
        fields.append(
            OptionField(
                option=option, name=f"v{channel.pk}-opt-{option.key}", value=shown, checked=checked
            )
        )
    return fields


def options_from_form(channel: Channel, placement: str, data: Mapping[str, Any]) -> dict[str, Any]:
    """The options posted for one channel (`v<id>-opt-<key>`), as the API would send them."""
    found: dict[str, Any] = {}
    for option in options.options_for(channel.kind, placement):
        name = f"v{channel.pk}-opt-{option.key}"
        if option.kind is options.Kind.FLAG:
            # The box is drawn with a marker, so an unticked box says "no" rather than nothing.
            if data.get(name + "-shown") == "1" or name in data:
                found[option.key] = data.get(name) in ("on", "1", "true")
            continue
        raw = str(data.get(name) or "")
        if option.kind is options.Kind.WORDS:
            found[option.key] = [w.strip() for w in raw.split(",") if w.strip()]
        elif option.kind is options.Kind.PARTS:
            parts: list[str] = []
            current: list[str] = []
            for line in raw.splitlines():
                if line.strip() == PART_BREAK:
                    parts.append("\n".join(current).strip())
                    current = []
                else:
                    current.append(line)
            parts.append("\n".join(current).strip())
            found[option.key] = [p for p in parts if p]
        else:
            found[option.key] = raw.strip()
    return options.tidy(found)


# --- From the form to the actions ----------------------------------------------------------------


@dataclass
class VariantDraft:
    """One channel's part of the composer form."""

    channel: Channel
    placement: str = "feed"
    text: str = ""
    overridden: bool = False
    first_comment: str = ""
    # Network options (greenroom.publishing.options) as the form gave them, before checking.
    options: dict[str, Any] = field(default_factory=dict)


@dataclass
class Draft:
    """The whole composer form, parsed."""

    text: str = ""
    link: str = ""
    campaign_id: int | None = None
    campaign_name: str = ""
    publish_at: datetime | None = None
    sponsored: bool = False
    add_utm: bool = True
    utm_medium: str = DEFAULT_UTM_MEDIUM
    utm_campaign: str = ""
    media: list[int] = field(default_factory=list)
    alt_texts: list[str] = field(default_factory=list)
    variants: list[VariantDraft] = field(default_factory=list)

    @property
    def channels(self) -> list[Channel]:
        return [v.channel for v in self.variants]

    def utm(self, network: str) -> dict[str, str]:
        if not self.add_utm or not self.link:
            return {}
        return utm_for(
            network,
            medium=self.utm_medium,
            campaign=self.utm_campaign or campaign_slug(self.campaign_name),
        )

    def text_of(self, variant: VariantDraft) -> str:
        if not carries_text(variant.channel.kind, variant.placement):
            return ""
        return variant.text if variant.overridden else self.text

    def _text_input(self, variant: VariantDraft) -> str | None:
        # A placement without text (Stories) gets none of its own, rather than the post's text
        # that the network would refuse; None follows the post's text.
        if not carries_text(variant.channel.kind, variant.placement):
            return ""
        return variant.text if variant.overridden else None

    def inputs(self) -> list[VariantInput]:
        return [
            VariantInput(
                channel=v.channel,
                placement=v.placement,
                text=self._text_input(v),
                first_comment=v.first_comment,
                options=dict(v.options),
                utm=self.utm(v.channel.kind),
                media=list(self.media),
                alt_texts=list(self.alt_texts[: len(self.media)]),
            )
            for v in self.variants
        ]


def draft_of(post: Post) -> Draft:
    """The composer form of an existing post."""
    variants = list(
        post.variants.exclude(state="cancelled").select_related("channel", "channel__brand")
    )
    first = variants[0] if variants else None
    utm = dict(first.utm) if first is not None else {}
    return Draft(
        text=post.text,
        link=post.link,
        campaign_id=post.campaign_id,
        campaign_name=post.campaign.name if post.campaign else "",
        publish_at=first.publish_at if first is not None else None,
        sponsored=post.sponsored,
        add_utm=bool(utm) or not post.link,
        utm_medium=utm.get("utm_medium", DEFAULT_UTM_MEDIUM),
        utm_campaign=utm.get("utm_campaign", ""),
        media=[int(m) for m in first.media] if first is not None else [],
        alt_texts=[str(a) for a in first.alt_texts] if first is not None else [],
        variants=[
            VariantDraft(
                channel=v.channel,
                placement=v.placement,
                text=v.text,
                overridden=v.text_overridden,
                first_comment=v.first_comment,
                options=dict(v.options),
            )
            for v in variants
        ],
    )


def carries_text(network: str, placement: str) -> bool:
    """Whether the rule table gives this placement any text (Instagram Stories have none)."""
    try:
        return rules.get_spec(network, placement).text_rule("text") is not None
    except rules.UnknownNetwork:
        return True


def placements_of(channel: Channel) -> list[tuple[str, str]]:
    return content.placements_for(channel.kind)


# --- Links to other pages ------------------------------------------------------------------------


def post_url(post: Post | int) -> str:
    """The post's page (the publishing app's); the composer's own page until that exists."""
    pk = post if isinstance(post, int) else post.pk
    for name in ("publishing_post", "publishing:post"):
        try:
            return reverse(name, args=[pk])
        except NoReverseMatch:
            continue
    return reverse("composer:edit", args=[pk])


def group_by_id(items: Iterable[Channel]) -> dict[int, Channel]:
    return {c.pk: c for c in items}
