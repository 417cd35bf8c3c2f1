"""Composing: create a post for some channels, edit it and its variants while it is a draft."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from greenroom.core import audit
from greenroom.core.models import Brand, Channel, ChannelStatus, Organization, User
from greenroom.publishing import content, options
from greenroom.publishing.models import (
    Campaign,
    Post,
    Variant,
    VariantState,
)

from .common import (
    UNSET,
    ActionError,
    ContentProblems,
    PublishingAction,
    Unset,
    refresh_post_state,
    require_on_channels,
    variant_snapshot,
)

POST_FIELDS = ("text", "link", "campaign", "brand", "sponsored")
# A desired time a little in the past is a slow form, not a mistake.
PAST_GRACE = timedelta(minutes=1)
_COLOUR = re.compile(r"^#[0-9a-fA-F]{6}$")


@dataclass(frozen=True)
class VariantInput:
    """One channel of a post and what to set on it; fields left UNSET keep their value
    (a new variant: inherits the post's text and link, placement "feed")."""

    channel: Channel
    placement: str | Unset = UNSET
    # None: follow the post's master text again; a string: this channel's own text.
    text: str | Unset | None = UNSET
    first_comment: str | Unset = UNSET
    link: str | Unset = UNSET
    utm: Mapping[str, str] | Unset = UNSET
    alt_texts: Sequence[str] | Unset = UNSET
    media: Sequence[int] | Unset = UNSET
    # Network options (greenroom.publishing.options), replacing the variant's own.
    options: Mapping[str, Any] | Unset = UNSET
    publish_at: datetime | Unset | None = UNSET


def _check_time(publish_at: datetime | None) -> None:
    if publish_at is None:
        return
    if timezone.is_naive(publish_at):
        raise ActionError(_("Give the time with its time zone."))
    if publish_at < timezone.now() - PAST_GRACE:
        raise ActionError(
            _("%(time)s has already passed. Choose a later time, or publish now.")
            % {"time": timezone.localtime(publish_at).strftime("%Y-%m-%d %H:%M %Z")}
        )


def _check_channels(org: Organization, channels: Sequence[Channel]) -> None:
    for channel in channels:
        if channel.organization_id != org.pk:
            raise ActionError(
                _("%(channel)s is not a channel of %(org)s.") % {"channel": channel, "org": org}
            )
        if channel.status == ChannelStatus.ARCHIVED:
            raise ActionError(
                _("%(channel)s is archived; posts cannot go to it.") % {"channel": channel}
            )
    seen: set[int] = set()
    for channel in channels:
        if channel.pk in seen:
            raise ActionError(_("%(channel)s is listed twice.") % {"channel": channel})
        seen.add(channel.pk)


def _check_campaign(org: Organization, campaign: Campaign | None) -> None:
    if campaign is not None and campaign.organization_id != org.pk:
        raise ActionError(_("That campaign belongs to another organisation."))


def _check_brand(org: Organization, brand: Brand | None) -> None:
    if brand is not None and brand.organization_id != org.pk:
        raise ActionError(_("That brand belongs to another organisation."))


def _apply(variant: Variant, change: VariantInput, post: Post) -> None:
    """Copy the set fields of `change` onto `variant` (unsaved)."""
    if not isinstance(change.placement, Unset):
        variant.placement = change.placement
    if change.text is None:
        variant.text, variant.text_overridden = post.text, False
    elif not isinstance(change.text, Unset):
        # Typing the master text again is not an override: it keeps following the master.
        variant.text = change.text
        variant.text_overridden = change.text != post.text
    if not isinstance(change.first_comment, Unset):
        variant.first_comment = change.first_comment
    if not isinstance(change.link, Unset):
        variant.link = change.link
    if not isinstance(change.utm, Unset):
        unknown = set(change.utm) - set(content.UTM_KEYS)
        if unknown:
            raise ActionError(
                _("Unknown UTM parameters: %(names)s. Use %(known)s.")
                % {"names": ", ".join(sorted(unknown)), "known": ", ".join(content.UTM_KEYS)}
            )
        variant.utm = {k: str(v) for k, v in change.utm.items() if v}
    if not isinstance(change.media, Unset):
        variant.media = [int(m) for m in change.media]
    if not isinstance(change.alt_texts, Unset):
        variant.alt_texts = [str(a) for a in change.alt_texts]
    if not isinstance(change.options, Unset):
        # Checked with the rest of the content (content.problems) before anything is saved.
        variant.options = options.tidy(change.options)
    if len(variant.alt_texts) > len(variant.media):
        raise ActionError(
            _("%(channel)s has %(alts)s alt texts for %(media)s media items.")
            % {
                "channel": variant.channel,
                "alts": len(variant.alt_texts),
                "media": len(variant.media),
            }
        )
    if not isinstance(change.publish_at, Unset):
        _check_time(change.publish_at)
        variant.publish_at = change.publish_at
        variant.next_attempt_at = change.publish_at


def _validate(variants: Sequence[Variant]) -> None:
    found: list[str] = []
    for variant in variants:
        if variant.state == VariantState.CANCELLED:
            continue
        found += content.problems(variant)
    if found:
        raise ContentProblems(found)


def _as_input(item: Channel | VariantInput) -> VariantInput:
    return item if isinstance(item, VariantInput) else VariantInput(channel=item)


@transaction.atomic
def do_create_post(
    org: Organization,
    *,
    text: str,
    channels: Sequence[Channel | VariantInput],
    brand: Brand | None = None,
    link: str = "",
    campaign: Campaign | None = None,
    publish_at: datetime | None = None,
    sponsored: bool = False,
    acting_user: User,
) -> Post:
    """Compose a post once for several channels: a draft variant per channel.

    Each variant inherits the text and link until it is edited. The text is checked against each
    channel's network and placement (the rule table); problems are a ContentProblems error.
    `publish_at` is the desired time, applied when the post is approved.
    """
    inputs = [_as_input(item) for item in channels]
    channel_list = [i.channel for i in inputs]
    if not channel_list:
        raise ActionError(_("Choose at least one channel to post to."))
    _check_channels(org, channel_list)
    require_on_channels(acting_user, "draft", channel_list, _("draft posts"))
    _check_campaign(org, campaign)
    _check_brand(org, brand)
    _check_time(publish_at)
    if brand is None:
        brands = {c.brand_id for c in channel_list}
        if len(brands) == 1:
            brand = channel_list[0].brand
    now = timezone.now()
    post = Post.objects.create(
        organization=org,
        brand=brand,
        author=acting_user,
        text=text,
        link=link,
        campaign=campaign,
        sponsored=sponsored,
        created_at=now,
        updated_at=now,
    )
    variants = []
    for change in inputs:
        variant = Variant(
            post=post,
            channel=change.channel,
            text=text,
            publish_at=publish_at,
            next_attempt_at=publish_at,
            created_at=now,
            updated_at=now,
        )
        _apply(variant, change, post)
        variants.append(variant)
    _validate(variants)
    for variant in variants:
        variant.save()
    audit.record(
        PublishingAction.POST_CREATED,
        actor=acting_user,
        organization=org,
        target=post,
        after={
            **audit.snapshot(post, POST_FIELDS),
            "variants": [variant_snapshot(v) for v in variants],
        },
    )
    refresh_post_state(post.pk)
    post.refresh_from_db()
    return post


def _editable(post: Post) -> None:
    live = [s for s in post.variants.values_list("state", flat=True) if s != "cancelled"]
    if any(s != VariantState.DRAFT for s in live):
        raise ActionError(
            _(
                "This post is no longer a draft (it is %(state)s). Withdraw it to draft first; "
                "it will then need approval again."
            )
            % {"state": post.get_state_display().lower()}
        )


@transaction.atomic
def do_edit_post(
    post: Post,
    *,
    text: str | Unset = UNSET,
    link: str | Unset = UNSET,
    campaign: Campaign | Unset | None = UNSET,
    brand: Brand | Unset | None = UNSET,
    publish_at: datetime | Unset | None = UNSET,
    sponsored: bool | Unset = UNSET,
    variants: Sequence[VariantInput] = (),
    remove_channels: Sequence[Channel] = (),
    acting_user: User,
) -> Post:
    """Edit a draft: the master text (variants that were not edited follow it), its link,
    campaign and time, and per channel its variant; add channels by listing new ones and drop
    channels with `remove_channels`. Everything is checked again against the rule table."""
    post = Post.objects.select_for_update().get(pk=post.pk)
    org = post.organization
    _editable(post)
    existing = {v.channel_id: v for v in post.variants.select_related("channel", "channel__brand")}
    touched = [i.channel for i in variants] + list(remove_channels)
    _check_channels(org, [c for c in touched if c.pk not in existing])
    require_on_channels(
        acting_user,
        "draft",
        [*[existing[c].channel for c in existing], *[c for c in touched if c.pk not in existing]],
        _("edit this post"),
    )
    before = {
        **audit.snapshot(post, POST_FIELDS),
        "variants": [variant_snapshot(v) for v in existing.values()],
    }
    if not isinstance(campaign, Unset):
        _check_campaign(org, campaign)
        post.campaign = campaign
    if not isinstance(brand, Unset):
        _check_brand(org, brand)
        post.brand = brand
    if not isinstance(link, Unset):
        post.link = link
    if not isinstance(sponsored, Unset):
        post.sponsored = sponsored
    if not isinstance(text, Unset):
        post.text = text
        for variant in existing.values():
            if not variant.text_overridden:
                variant.text = text
    if not isinstance(publish_at, Unset):
        _check_time(publish_at)
        for variant in existing.values():
            variant.publish_at = publish_at
            variant.next_attempt_at = publish_at
    removed = []
    for channel in remove_channels:
        gone = existing.pop(channel.pk, None)
        if gone is None:
            raise ActionError(_("This post does not go to %(channel)s.") % {"channel": channel})
        removed.append(gone)
    now = timezone.now()
    added: list[Variant] = []
    for change in variants:
        found = existing.get(change.channel.pk)
        if found is None:
            first = next(iter(existing.values()), None)
            found = Variant(
                post=post,
                channel=change.channel,
                text=post.text,
                publish_at=first.publish_at if first else None,
                next_attempt_at=first.publish_at if first else None,
                created_at=now,
            )
            existing[change.channel.pk] = found
            added.append(found)
        _apply(found, change, post)
    if not existing:
        raise ActionError(_("A post needs at least one channel; cancel it instead."))
    _validate(list(existing.values()))
    post.updated_at = now
    post.save()
    for variant in removed:
        variant.delete()
    for variant in existing.values():
        variant.updated_at = now
        variant.save()
    audit.record(
        PublishingAction.POST_EDITED,
        actor=acting_user,
        organization=org,
        target=post,
        before=before,
        after={
            **audit.snapshot(post, POST_FIELDS),
            "variants": [variant_snapshot(v) for v in existing.values()],
            "added": [v.channel_id for v in added],
            "removed": [v.channel_id for v in removed],
        },
    )
    refresh_post_state(post.pk)
    post.refresh_from_db()
    return post


def do_edit_variant(variant: Variant, *, acting_user: User, **changes: Any) -> Variant:
    """Edit one channel's variant of a draft (fields as in VariantInput; text=None re-inherits)."""
    do_edit_post(
        variant.post,
        variants=[VariantInput(channel=variant.channel, **changes)],
        acting_user=acting_user,
    )
    variant.refresh_from_db()
    return variant


def check_colour(colour: str) -> str:
    if not _COLOUR.match(colour):
        raise ActionError(_("A colour is written like #2f6f4f."))
    return colour.lower()
