"""The composer (/publishing/compose/), the calendar (/publishing/calendar/) and bulk import
(/publishing/import/).

Reads go through `restrict()` inside the current organisation (out of scope is a 404); writes
go through greenroom.publishing.actions (and this package's actions for channel groups).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db import transaction
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from greenroom.core.actions import ActionError
from greenroom.core.ids import as_id, as_ids
from greenroom.core.models import Channel, Organization, User
from greenroom.core.tenancy import require_section
from greenroom.media.models import MediaAsset
from greenroom.networks import rules
from greenroom.publishing import actions
from greenroom.publishing.actions import ContentProblems
from greenroom.publishing.models import Campaign, Post, PostState, VariantState

from . import compose
from .actions import do_delete_channel_group, do_save_channel_group
from .compose import Draft, Measured, MediaPreview, NextStep, VariantDraft
from .forms import ChannelGroupForm, ComposeForm
from .models import ChannelGroup

# How many of the newest library files the composer offers.
MEDIA_CHOICES = 48


def _user(request: HttpRequest) -> User:
    user = request.user
    assert isinstance(user, User)  # behind login_required
    return user


def _campaigns(org: Organization, user: User) -> QuerySet[Campaign]:
    return Campaign.objects.restrict(user, "view_org").filter(organization=org)


def _assets(org: Organization, user: User) -> list[MediaAsset]:
    return list(
        MediaAsset.objects.restrict(user, "view")
        .filter(organization=org)
        .select_related("brand")
        .order_by("-created_at", "-pk")[:MEDIA_CHOICES]
    )


def _assets_with(org: Organization, user: User, wanted: list[int]) -> list[MediaAsset]:
    """The offered assets plus any older one the post already uses (if still visible)."""
    offered = _assets(org, user)
    have = {a.pk for a in offered}
    missing = [pk for pk in wanted if pk not in have]
    if missing:
        offered += list(
            MediaAsset.objects.restrict(user, "view").filter(organization=org, pk__in=missing)
        )
    return offered


def _groups(org: Organization, user: User, channels: list[Channel]) -> list[dict[str, Any]]:
    """Saved groups, each with the ids of its channels this person may draft on."""
    mine = {c.pk for c in channels}
    groups = []
    for group in (
        ChannelGroup.objects.restrict(user, "view_org")
        .filter(organization=org)
        .prefetch_related("channels")
    ):
        ids = [c.pk for c in group.channels.all() if c.pk in mine]
        groups.append({"group": group, "ids": " ".join(map(str, ids)), "count": len(ids)})
    return groups


@dataclass
class VariantCard:
    """One channel's variant as the composer shows it."""

    draft: VariantDraft
    text: str
    measured: Measured
    placements: list[tuple[str, str]]
    media: list[MediaPreview]
    zone: Any
    state: str = ""
    options: list[compose.OptionField] = field(default_factory=list)

    @property
    def channel(self) -> Channel:
        return self.draft.channel

    @property
    def prefix(self) -> str:
        return f"v{self.draft.channel.pk}-"

    @property
    def state_label(self) -> str:
        """The channel's state when it is past draft (shown on the card)."""
        if not self.state or self.state == VariantState.DRAFT:
            return ""
        return str(VariantState(self.state).label)

    @property
    def full_screen(self) -> bool:
        return self.zone is not None or self.measured.placement.key in ("stories", "story", "reels")


def _cards(
    draft: Draft, assets: list[MediaAsset], user: User, *, make: bool, post: Post | None
) -> list[VariantCard]:
    by_id = {a.pk: a for a in assets}
    chosen = [by_id[pk] for pk in draft.media if pk in by_id]
    states = {}
    if post is not None:
        states = dict(post.variants.values_list("channel_id", "state"))
    cards = []
    for variant in draft.variants:
        channel = variant.channel
        text = draft.text_of(variant)
        measured = compose.measure(
            channel,
            placement=variant.placement,
            text=text,
            link=draft.link,
            utm=draft.utm(channel.kind),
            media=draft.media,
            first_comment=variant.first_comment,
            sponsored=draft.sponsored,
            network_options=variant.options,
        )
        cards.append(
            VariantCard(
                draft=variant,
                text=text,
                measured=measured,
                placements=compose.placements_of(channel),
                media=compose.media_previews(
                    chosen,
                    draft.alt_texts,
                    channel.kind,
                    measured.placement.key,
                    user=user,
                    make=make,
                ),
                zone=compose.safe_zone(channel.kind, measured.placement.key),
                state=states.get(channel.pk, ""),
                options=compose.option_fields(channel, measured.placement.key, variant.options),
            )
        )
    return cards


def _picker(channels: list[Channel]) -> dict[str, list[tuple[str, str]]]:
    """The ways to pick channels: by brand, region and network (each with the ids it picks)."""
    brands: dict[str, tuple[str, list[int]]] = {}
    regions: dict[str, list[int]] = {}
    networks: dict[str, list[int]] = {}
    for c in channels:
        brands.setdefault(str(c.brand_id), (c.brand.name, []))[1].append(c.pk)
        if c.region:
            regions.setdefault(c.region, []).append(c.pk)
        networks.setdefault(c.kind, []).append(c.pk)

    def ids(values: list[int]) -> str:
        return " ".join(map(str, values))

    def network_label(kind: str) -> str:
        try:
            return rules.get_network(kind).name
        except rules.UnknownNetwork:
            return kind

    return {
        "brands": [(name, ids(pks)) for name, pks in sorted(brands.values())],
        "regions": [(region, ids(pks)) for region, pks in sorted(regions.items())],
        "networks": [(network_label(k), ids(pks)) for k, pks in sorted(networks.items())],
    }


def _context(
    request: HttpRequest,
    org: Organization,
    form: ComposeForm,
    draft: Draft,
    *,
    post: Post | None,
    make: bool,
    problems: list[str] | None = None,
) -> dict[str, Any]:
    user = _user(request)
    cards = _cards(draft, form.asset_list, user, make=make, post=post)
    step: NextStep | None = None
    if draft.variants:
        step = compose.next_step(user, draft.channels, draft.publish_at)
    chosen_ids = {v.channel.pk for v in draft.variants}
    media_ids = set(draft.media)
    alt_by_asset = dict(zip(draft.media, draft.alt_texts, strict=False))
    return {
        "org": org,
        "form": form,
        "draft": draft,
        "post": post,
        "cards": cards,
        "step": step,
        "problems": problems or [],
        "channels": form.channel_list,
        "chosen_ids": chosen_ids,
        "picker": _picker(form.channel_list),
        "groups": _groups(org, user, form.channel_list),
        "group_form": ChannelGroupForm(),
        "assets": [
            {
                "asset": a,
                "chosen": a.pk in media_ids,
                "alt": alt_by_asset.get(a.pk, a.alt_text),
            }
            for a in form.asset_list
        ],
        "panel_url": reverse("composer:panel"),
        "count_url": reverse("composer:count"),
        "blocking": any(card.measured.problems for card in cards),
    }


def _form(
    request: HttpRequest, org: Organization, data: Any = None, *, wanted_media: list[int]
) -> ComposeForm:
    user = _user(request)
    return ComposeForm(
        data,
        channels=list(compose.draftable_channels(user, org)),
        campaigns=_campaigns(org, user),
        assets=_assets_with(org, user, wanted_media),
        initial={"add_utm": True, "utm_medium": compose.DEFAULT_UTM_MEDIUM},
    )


def _posted_media(request: HttpRequest) -> list[int]:
    return as_ids(request.POST.getlist("assets"))


def _editable_post(request: HttpRequest, org: Organization, pk: int) -> Post:
    post: Post = get_object_or_404(
        Post.objects.restrict(_user(request), "draft").filter(organization=org).distinct(),
        pk=pk,
    )
    return post


def _is_draft(post: Post) -> bool:
    live = [s for s in post.variants.values_list("state", flat=True) if s != "cancelled"]
    return all(s == VariantState.DRAFT for s in live)


@login_required
@require_http_methods(["GET", "POST"])
def compose_post(request: HttpRequest) -> HttpResponse:
    """Compose a new post: channels, master text, a variant per channel, media and time."""
    org = require_section(request, "publishing")
    return _compose(request, org, post=None)


@login_required
@require_http_methods(["GET", "POST"])
def edit_post(request: HttpRequest, pk: int) -> HttpResponse:
    """Edit a draft in the composer (a post past draft shows where it is instead)."""
    org = require_section(request, "publishing")
    post = _editable_post(request, org, pk)
    if not _is_draft(post):
        messages.info(
            request,
            _(
                "This post is %(state)s, so it can no longer be edited here. Withdraw it to "
                "draft on its page to change it."
            )
            % {"state": post.get_state_display().lower()},
        )
        return redirect(compose.post_url(post))
    return _compose(request, org, post=post)


def _compose(request: HttpRequest, org: Organization, *, post: Post | None) -> HttpResponse:
    if request.method != "POST":
        draft = compose.draft_of(post) if post is not None else _initial_draft(request, org)
        form = _form(request, org, wanted_media=draft.media)
        form.initial.update(_initial_fields(draft))
        context = _context(request, org, form, draft, post=post, make=False)
        return render(request, "composer/compose.html", context)

    form = _form(request, org, request.POST, wanted_media=_posted_media(request))
    if not form.is_valid():
        draft = Draft()
        context = _context(request, org, form, draft, post=post, make=False)
        return render(request, "composer/compose.html", context, status=400)
    draft = form.draft(request.POST)
    action = request.POST.get("action", "refresh")
    if action.startswith("reset-"):
        # Without JavaScript, "use the master text" is a submit button.
        wanted = action.removeprefix("reset-")
        for variant in draft.variants:
            if str(variant.channel.pk) == wanted:
                variant.overridden, variant.text = False, draft.text
        action = "refresh"
    if action in ("draft", "submit"):
        try:
            # Saving and sending succeed or fail together: a refused submission must not leave
            # a new draft behind that the next try would duplicate.
            with transaction.atomic():
                saved = _save(request, org, draft, post)
                if action == "submit":
                    return _submit(request, saved, draft)
        except ContentProblems as exc:
            context = _context(
                request, org, form, draft, post=post, make=True, problems=exc.problems
            )
            return render(request, "composer/compose.html", context, status=400)
        except ActionError as exc:
            context = _context(request, org, form, draft, post=post, make=True, problems=[str(exc)])
            return render(request, "composer/compose.html", context, status=400)
        messages.success(request, _("Draft saved."))
        return redirect("composer:edit", pk=saved.pk)
    context = _context(request, org, form, draft, post=post, make=True)
    return render(request, "composer/compose.html", context)


def _initial_draft(request: HttpRequest, org: Organization) -> Draft:
    """A new post, with channels picked in the link (?channel=1&channel=2 or ?group=3)."""
    user = _user(request)
    channels = {c.pk: c for c in compose.draftable_channels(user, org)}
    wanted = as_ids(request.GET.getlist("channel"))
    group_id = as_id(request.GET.get("group", ""))
    if group_id is not None:
        group = (
            ChannelGroup.objects.restrict(user, "view_org")
            .filter(organization=org, pk=group_id)
            .first()
        )
        if group is not None:
            wanted += list(group.channels.values_list("pk", flat=True))
    return Draft(
        variants=[
            VariantDraft(channel=channels[pk]) for pk in dict.fromkeys(wanted) if pk in channels
        ]
    )


def _initial_fields(draft: Draft) -> dict[str, Any]:
    return {
        "text": draft.text,
        "link": draft.link,
        "campaign": draft.campaign_id,
        "publish_at": timezone.localtime(draft.publish_at) if draft.publish_at else None,
        "sponsored": draft.sponsored,
        "add_utm": draft.add_utm,
        "utm_medium": draft.utm_medium,
        "utm_campaign": draft.utm_campaign,
        "channels": [v.channel.pk for v in draft.variants],
        "assets": draft.media,
    }


def _save(request: HttpRequest, org: Organization, draft: Draft, post: Post | None) -> Post:
    user = _user(request)
    campaign = (
        Campaign.objects.filter(organization=org, pk=draft.campaign_id).first()
        if draft.campaign_id
        else None
    )
    if post is None:
        return actions.do_create_post(
            org,
            text=draft.text,
            link=draft.link,
            campaign=campaign,
            publish_at=draft.publish_at,
            sponsored=draft.sponsored,
            channels=draft.inputs(),
            acting_user=user,
        )
    chosen = {c.pk for c in draft.channels}
    gone = [
        v.channel for v in post.variants.select_related("channel") if v.channel_id not in chosen
    ]
    return actions.do_edit_post(
        post,
        text=draft.text,
        link=draft.link,
        campaign=campaign,
        publish_at=draft.publish_at,
        sponsored=draft.sponsored,
        variants=draft.inputs(),
        remove_channels=gone,
        acting_user=user,
    )


def _submit(request: HttpRequest, post: Post, draft: Draft) -> HttpResponse:
    """Submit the saved draft, then publish now where nothing else stands in the way."""
    user = _user(request)
    step = compose.next_step(user, draft.channels, draft.publish_at)
    post = actions.do_submit_for_approval(post, acting_user=user)
    if post.state == PostState.IN_APPROVAL:
        messages.success(request, _("Sent for approval. Approvers have been told."))
    elif post.state == PostState.SCHEDULED and draft.publish_at is not None:
        messages.success(
            request,
            _("Scheduled for %(time)s on %(n)s channels.")
            % {
                "time": date_format(timezone.localtime(draft.publish_at), "Y-m-d H:i"),
                "n": len(draft.variants),
            },
        )
    elif post.state == PostState.APPROVED and step.kind == "publish_now":
        actions.do_publish_now(post, acting_user=user)
        messages.success(request, _("Publishing now. Each channel's result shows on this page."))
    else:
        messages.info(
            request,
            _("Submitted: the post is %(state)s.") % {"state": post.get_state_display().lower()},
        )
    return redirect(compose.post_url(post))


@login_required
@require_POST
def panel(request: HttpRequest) -> HttpResponse:
    """The variants, previews and the main button for the form as it stands (htmx)."""
    org = require_section(request, "publishing")
    post = None
    post_id = as_id(request.POST.get("post", ""))
    if post_id is not None:
        post = _editable_post(request, org, post_id)
    form = _form(request, org, request.POST, wanted_media=_posted_media(request))
    draft = form.draft(request.POST) if form.is_valid() else Draft()
    context = _context(request, org, form, draft, post=post, make=True)
    return render(request, "composer/_panel.html", context)


@login_required
@require_http_methods(["GET", "POST"])
def count(request: HttpRequest) -> JsonResponse:
    """How a channel's network counts a text: length, limit, caps, the final text with its link
    and UTM parameters, and every problem in plain words (the composer's live counter).

    Parameters: `channel` (id, a channel you may draft on) or `network`; `placement`; `text`;
    `link`; `utm` ("0" to leave the link alone), `utm_medium`, `utm_campaign`; `media` (ids, for
    the media count); `first_comment`.
    """
    org = require_section(request, "publishing")
    data = request.POST if request.method == "POST" else request.GET
    channel = _count_channel(request, org, data)
    link = (data.get("link") or "").strip()
    utm: dict[str, str] = {}
    if link and data.get("utm", "1") != "0":
        campaign = data.get("utm_campaign") or ""
        campaign_id = as_id(data.get("campaign") or "")
        if not campaign and campaign_id is not None:
            # Like the saved post: an empty utm_campaign is the campaign's name.
            chosen = _campaigns(org, _user(request)).filter(pk=campaign_id).first()
            campaign = compose.campaign_slug(chosen.name) if chosen else ""
        utm = compose.utm_for(channel.kind, medium=data.get("utm_medium") or "", campaign=campaign)
    measured = compose.measure(
        channel,
        placement=data.get("placement") or "feed",
        text=data.get("text") or "",
        link=link,
        utm=utm,
        media=as_ids(data.getlist("media")),
        first_comment=data.get("first_comment") or "",
        sponsored=data.get("sponsored") == "1",
        network_options=compose.options_from_form(channel, data.get("placement") or "feed", data),
    )
    return JsonResponse(measured.as_json(), json_dumps_params={"ensure_ascii": False})


def _count_channel(request: HttpRequest, org: Organization, data: Any) -> Channel:
    if data.get("channel"):
        channel_id = as_id(data.get("channel"))
        if channel_id is None:
            raise Http404("No such channel.")
        found: Channel = get_object_or_404(
            compose.draftable_channels(_user(request), org), pk=channel_id
        )
        return found
    network = data.get("network") or ""
    try:
        spec = rules.get_network(network)
    except rules.UnknownNetwork:
        raise Http404("No such network.") from None
    # Not a saved channel: only its network matters for counting.
    return Channel(organization=org, kind=spec.key, name=spec.name, handle="")


@login_required
@require_POST
def save_group(request: HttpRequest) -> HttpResponse:
    """Save the channels ticked in the composer as a named group."""
    org = require_section(request, "publishing")
    user = _user(request)
    form = ChannelGroupForm(request.POST)
    wanted = as_ids(request.POST.getlist("channels"))
    channels = list(compose.draftable_channels(user, org).filter(pk__in=wanted))
    if not form.is_valid():
        messages.error(request, _("Give the group a name."))
    else:
        try:
            group = do_save_channel_group(
                org, name=form.cleaned_data["group_name"], channels=channels, acting_user=user
            )
            messages.success(
                request,
                _("Saved the group %(name)s with %(n)s channels.")
                % {"name": group.name, "n": len(channels)},
            )
        except ActionError as exc:
            messages.error(request, str(exc))
    query = "&".join(f"channel={c.pk}" for c in channels)
    return redirect(reverse("composer:new") + (f"?{query}" if query else ""))


@login_required
@require_POST
def delete_group(request: HttpRequest, pk: int) -> HttpResponse:
    org = require_section(request, "publishing")
    user = _user(request)
    group = get_object_or_404(
        ChannelGroup.objects.restrict(user, "view_org").filter(organization=org), pk=pk
    )
    try:
        do_delete_channel_group(group, acting_user=user)
        messages.success(request, _("Group deleted."))
    except ActionError as exc:
        messages.error(request, str(exc))
    return redirect("composer:new")
