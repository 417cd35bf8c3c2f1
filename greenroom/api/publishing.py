"""Publishing: posts and their per-channel variants, approvals, scheduling, the calendar window
and the publishing pause.

Reads go through `restrict()` (a post is visible to whoever may view one of its channels);
writes through greenroom.publishing.actions, exactly like the pages. A refusal by role or
channel permission on something you can see is a 403; anything you cannot see is a 404.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import Annotated, Any, TypeVar

from django.db.models import Min, Prefetch, Q
from django.http import HttpRequest
from ninja import Field, Query, Router, Schema, Status
from ninja.errors import HttpError
from pydantic import AfterValidator, StringConstraints

from greenroom.core.actions import ActionError
from greenroom.core.models import Brand, Channel, Membership, Team, User
from greenroom.core.restrict import Access
from greenroom.publishing import actions, engine
from greenroom.publishing.actions import UNSET, VariantInput
from greenroom.publishing.models import (
    ApprovalPolicy,
    ApprovalStep,
    Campaign,
    FirstCommentState,
    PauseScope,
    Post,
    PostQuerySet,
    PostState,
    PublishingPause,
    Variant,
    VariantState,
)

from .access import get_or_404, visible
from .auth import Caller, caller_of
from .paging import paginate
from .schemas import (
    MAX_IDS,
    BrandRef,
    Name,
    ObjectId,
    Page,
    PageQuery,
    PersonRef,
    ShortText,
    Text200,
    UtcDatetime,
    clean_text,
    errors,
)

router = Router(tags=["Publishing"])

R = TypeVar("R")

PostText = Annotated[str, StringConstraints(max_length=20_000), AfterValidator(clean_text)]
Url = Annotated[
    str, StringConstraints(strip_whitespace=True, max_length=2000), AfterValidator(clean_text)
]
Comment = Annotated[str, StringConstraints(max_length=5000), AfterValidator(clean_text)]
Colour = Annotated[str, StringConstraints(pattern=r"^#[0-9a-fA-F]{6}$")]


# --- Shapes --------------------------------------------------------------------------------------


class ChannelRef(Schema):
    id: int
    name: str
    kind: str = Field(description="The network whose rules apply: x, instagram, bluesky, …")


class CampaignOut(Schema):
    id: int
    name: str
    colour: str


class PauseOut(Schema):
    id: int
    scope: PauseScope
    brand: BrandRef | None
    region: str
    channel: ChannelRef | None
    reason: str
    paused_by: str = Field(description="Who paused publishing (name as it was then).")
    starts_at: datetime
    ends_at: datetime | None = Field(description="None: until someone lifts it.")
    lifted_at: datetime | None
    active: bool

    @staticmethod
    def resolve_paused_by(obj: PublishingPause) -> str:
        return obj.created_by_name

    @staticmethod
    def resolve_active(obj: PublishingPause) -> bool:
        return obj.is_active()


class HeldBy(Schema):
    pause_id: int
    paused_by: str
    reason: str


# The keys each network's connector reads (greenroom.publishing.options has the full schema).
OPTIONS_HELP = (
    "Network options; replaces the channel's own. YouTube: title, privacy_status (public, "
    "unlisted, private), category_id, made_for_kids, tags. TikTok: privacy_level "
    "(PUBLIC_TO_EVERYONE, MUTUAL_FOLLOW_FRIENDS, FOLLOWER_OF_CREATOR, SELF_ONLY), "
    "disable_comment, disable_duet, disable_stitch, tiktok_mode (direct, inbox), title and "
    "auto_add_music (photo posts). LinkedIn: title. Mastodon: spoiler_text, visibility "
    "(public, unlisted, private, direct), sensitive, language. Bluesky: langs, thread (the "
    "posts after the first). Others: none."
)


class VariantOut(Schema):
    id: int
    channel: ChannelRef
    placement: str
    text: str
    text_overridden: bool = Field(description="False: follows the post's master text.")
    first_comment: str
    link: str
    utm: dict[str, str]
    alt_texts: list[str]
    media: list[int] = Field(description="Media asset ids, in order.")
    options: dict[str, Any] = Field(
        description="Network options sent with the post (YouTube's privacy_status, TikTok's "
        "privacy_level ...); see the `options` field of VariantIn."
    )
    state: VariantState
    publish_at: datetime | None
    next_attempt_at: datetime | None
    attempts: int
    external_id: str
    external_url: str
    last_error: str = Field(description="What went wrong, in plain words.")
    error_code: str = Field(description="The network's own error code.")
    published_at: datetime | None
    first_comment_state: FirstCommentState = Field(
        description="The first comment under the published post: empty until it is due, then "
        "pending, sending, sent or failed. It never changes `state`."
    )
    first_comment_external_id: str
    first_comment_url: str
    first_comment_error: str = Field(description="Why the first comment failed, in plain words.")
    first_comment_error_code: str
    held_by: HeldBy | None = Field(None, description="The pause this channel's post waits for.")


class PostOut(Schema):
    id: int
    brand: BrandRef | None
    author: PersonRef | None
    text: str
    link: str
    campaign: CampaignOut | None
    state: PostState
    approval_round: int
    created_at: datetime
    updated_at: datetime
    variants: list[VariantOut]

    @staticmethod
    def resolve_variants(obj: Post) -> list[dict[str, Any]]:
        pauses = engine.active_pauses()
        out = []
        for variant in obj.variants.all():
            data = VariantOut.model_validate(variant).model_dump()
            if variant.state == VariantState.SCHEDULED:
                pause = engine.pause_holding(variant.channel, pauses)
                if pause is not None:
                    data["held_by"] = {
                        "pause_id": pause.pk,
                        "paused_by": pause.created_by_name,
                        "reason": pause.reason,
                    }
            out.append(data)
        return out


class VariantIn(Schema):
    """A channel of the post; fields left out keep their value (a new channel inherits)."""

    channel_id: ObjectId
    placement: ShortText | None = Field(None, description="A placement of the rule table.")
    text: PostText | None = Field(
        None, description="This channel's own text. Send inherit_text to follow the master."
    )
    inherit_text: bool = False
    first_comment: PostText | None = None
    link: Url | None = None
    utm: dict[ShortText, Text200] | None = None
    alt_texts: list[Text200] | None = Field(None, max_length=20)
    media: list[ObjectId] | None = Field(None, max_length=20)
    options: dict[ShortText, Any] | None = Field(None, description=OPTIONS_HELP)
    publish_at: UtcDatetime | None = None


class PostIn(Schema):
    text: PostText
    channels: list[VariantIn] = Field(min_length=1, max_length=MAX_IDS)
    link: Url = ""
    campaign_id: ObjectId | None = None
    brand_id: ObjectId | None = None
    publish_at: UtcDatetime | None = Field(None, description="Applied when approved.")


class PostUpdate(Schema):
    """Only the fields sent change. A draft only; withdraw a post to draft first."""

    text: PostText | None = None
    link: Url | None = None
    campaign_id: ObjectId | None = None
    publish_at: UtcDatetime | None = None
    variants: list[VariantIn] = Field([], max_length=MAX_IDS)
    remove_channel_ids: list[ObjectId] = Field([], max_length=MAX_IDS)


class VariantUpdate(Schema):
    placement: ShortText | None = None
    text: PostText | None = None
    inherit_text: bool = False
    first_comment: PostText | None = None
    link: Url | None = None
    utm: dict[ShortText, Text200] | None = None
    alt_texts: list[Text200] | None = Field(None, max_length=20)
    media: list[ObjectId] | None = Field(None, max_length=20)
    options: dict[ShortText, Any] | None = Field(None, description=OPTIONS_HELP)


class DecisionIn(Schema):
    comment: Comment = ""


class ScheduleIn(Schema):
    publish_at: UtcDatetime
    channel_ids: list[ObjectId] | None = Field(
        None, max_length=MAX_IDS, description="Only these channels (default: all)."
    )


class ChannelsIn(Schema):
    channel_ids: list[ObjectId] | None = Field(
        None, max_length=MAX_IDS, description="Only these channels (default: all)."
    )


class PauseIn(Schema):
    scope: PauseScope
    reason: Annotated[
        str,
        StringConstraints(strip_whitespace=True, min_length=1, max_length=2000),
        AfterValidator(clean_text),
    ]
    brand_id: ObjectId | None = None
    region: ShortText = ""
    channel_id: ObjectId | None = None
    until: UtcDatetime | None = None


class StepOut(Schema):
    name: str
    team: int | None = Field(None, alias="team_id")
    approvers: list[PersonRef]
    min_approvals: int
    respond_within_hours: float | None

    @staticmethod
    def resolve_approvers(obj: ApprovalStep) -> list[User]:
        return list(obj.approvers.all())

    @staticmethod
    def resolve_respond_within_hours(obj: ApprovalStep) -> float | None:
        return obj.respond_within.total_seconds() / 3600 if obj.respond_within else None


class PolicyOut(Schema):
    id: int
    name: str
    brand: BrandRef | None
    channel: ChannelRef | None
    is_active: bool
    created_at: datetime
    steps: list[StepOut]

    @staticmethod
    def resolve_steps(obj: ApprovalPolicy) -> list[ApprovalStep]:
        return list(obj.steps.all())


class StepIn(Schema):
    name: Text200
    team_id: ObjectId | None = None
    approver_ids: list[ObjectId] = Field(default_factory=list, max_length=MAX_IDS)
    min_approvals: int = Field(1, ge=1, le=50)
    respond_within_hours: float | None = Field(
        None, gt=0, le=24 * 90, description="Empty: until the post's time."
    )


class PolicyIn(Schema):
    name: Text200
    brand_id: ObjectId | None = None
    channel_id: ObjectId | None = None
    steps: list[StepIn] = Field(min_length=1, max_length=10)


class CampaignIn(Schema):
    name: Name
    colour: Colour = "#2f6f4f"


class PostQuery(PageQuery):
    state: PostState | None = None
    brand: ObjectId | None = None
    channel: ObjectId | None = None
    campaign: ObjectId | None = None
    from_: UtcDatetime | None = Field(
        None,
        alias="from",
        description="Calendar window: posts with a channel due (or published) at or after this.",
    )
    to: UtcDatetime | None = Field(None, description="…and before this.")


class PauseQuery(PageQuery):
    active: bool | None = Field(None, description="Only active (true) or past (false) pauses.")


# --- Helpers -------------------------------------------------------------------------------------


@contextmanager
def _refusals() -> Iterator[None]:
    """A permission refusal from an action is a 403 (the object is visible to the caller)."""
    try:
        yield
    except actions.NotAllowed as exc:
        raise HttpError(403, str(exc)) from None


def _posts(caller: Caller, perm: str = "view") -> PostQuerySet:
    return (
        Post.objects.restrict(caller.user, perm)
        .filter(organization=caller.organization)
        .select_related("brand", "author", "campaign")
        .prefetch_related(
            Prefetch(
                "variants",
                queryset=Variant.objects.select_related("channel").order_by("pk"),
            )
        )
    )


def _post(request: HttpRequest, post_id: int) -> tuple[Caller, Post]:
    caller = caller_of(request)
    post: Post = get_or_404(_posts(caller), post_id, "post")
    return caller, post


def _reload(caller: Caller, post: Post) -> Post:
    found: Post = get_or_404(_posts(caller), post.pk, "post")
    return found


def _brand(caller: Caller, brand_id: int) -> Brand:
    """A brand named in a body: one of the caller's organisation, else a 400 that says so."""
    brand = visible(Brand.objects, caller, "view_org").filter(pk=brand_id).first()
    if brand is None:
        raise ActionError(f"Brand {brand_id} is not a brand of {caller.organization}.")
    return brand


def _channel(caller: Caller, channel_id: int) -> Channel:
    channel = visible(Channel.objects, caller, "view").filter(pk=channel_id).first()
    if channel is None:
        raise ActionError(f"Channel {channel_id} is not a channel of {caller.organization}.")
    return channel


def _require_anywhere(caller: Caller, perm: str, doing: str) -> None:
    """A create the caller's role cannot use on any channel is a 403, before the body's channels
    and brands are looked up (they would otherwise answer a 400 about an unseen channel)."""
    if not visible(Channel.objects, caller, perm).exists():
        raise HttpError(
            403,
            f"Your role in {caller.organization} does not allow {doing} on any channel: that "
            f"needs the {perm} permission.",
        )


def _channels(caller: Caller, ids: list[int] | None) -> list[Channel] | None:
    return None if ids is None else [_channel(caller, pk) for pk in ids]


def _campaign(caller: Caller, campaign_id: int | None) -> Campaign | None:
    if campaign_id is None:
        return None
    campaign = visible(Campaign.objects, caller, "view_org").filter(pk=campaign_id).first()
    if campaign is None:
        raise ActionError(f"Campaign {campaign_id} is not a campaign of {caller.organization}.")
    return campaign


def _variant_input(caller: Caller, body: VariantIn) -> VariantInput:
    sent = body.model_dump(exclude_unset=True)
    text: Any = UNSET
    if body.inherit_text:
        text = None
    elif "text" in sent and body.text is not None:
        text = body.text
    return VariantInput(
        channel=_channel(caller, body.channel_id),
        placement=body.placement if body.placement is not None else UNSET,
        text=text,
        first_comment=body.first_comment if body.first_comment is not None else UNSET,
        link=body.link if body.link is not None else UNSET,
        utm=body.utm if body.utm is not None else UNSET,
        alt_texts=body.alt_texts if body.alt_texts is not None else UNSET,
        media=body.media if body.media is not None else UNSET,
        options=body.options if body.options is not None else UNSET,
        publish_at=body.publish_at if "publish_at" in sent else UNSET,
    )


def _do(caller: Caller, post: Post, act: Callable[[], Any]) -> Post:
    with _refusals():
        act()
    return _reload(caller, post)


# --- Posts ---------------------------------------------------------------------------------------


@router.get(
    "/posts",
    response={200: Page[PostOut], **errors(401, 403, 422)},
    summary="List posts",
    description="Posts with a channel you can see, newest first. `from` and `to` give the "
    "calendar window: posts with a channel due or published in it, earliest first.",
)
def list_posts(request: HttpRequest, query: Query[PostQuery]) -> dict[str, Any]:
    caller = caller_of(request)
    posts = _posts(caller)
    if query.state is not None:
        posts = posts.filter(state=query.state)
    if query.brand is not None:
        posts = posts.filter(Q(brand_id=query.brand) | Q(variants__channel__brand_id=query.brand))
    if query.channel is not None:
        posts = posts.filter(variants__channel_id=query.channel)
    if query.campaign is not None:
        posts = posts.filter(campaign_id=query.campaign)
    if query.from_ is not None or query.to is not None:
        when = Q()
        if query.from_ is not None:
            when &= Q(variants__publish_at__gte=query.from_)
        if query.to is not None:
            when &= Q(variants__publish_at__lt=query.to)
        ids = posts.filter(when).values("pk")
        window = _posts(caller).filter(pk__in=ids).annotate(first_at=Min("variants__publish_at"))
        return paginate(window.order_by("first_at", "pk"), query)
    return paginate(posts.distinct().order_by("-created_at", "-pk"), query)


@router.get(
    "/posts/{post_id}",
    response={200: PostOut, **errors(401, 403, 404)},
    summary="Get a post",
    description="With each channel's state, link on the network, error and code, and the "
    "pause it waits for.",
)
def get_post(request: HttpRequest, post_id: ObjectId) -> Post:
    return _post(request, post_id)[1]


@router.post(
    "/posts",
    response={201: PostOut, **errors(400, 401, 403, 422)},
    summary="Create a post",
    description="A draft with a variant per channel, each following the text until edited. "
    "The text is checked against each channel's network and placement; what does not fit is "
    "a 400 that says what and by how much. Needs the draft permission on every channel.",
)
def create_post(request: HttpRequest, body: PostIn) -> Status[Post]:
    caller = caller_of(request)
    _require_anywhere(caller, "draft", "drafting posts")
    brand = _brand(caller, body.brand_id) if body.brand_id is not None else None
    with _refusals():
        post = actions.do_create_post(
            caller.organization,
            text=body.text,
            channels=[_variant_input(caller, v) for v in body.channels],
            link=body.link,
            campaign=_campaign(caller, body.campaign_id),
            brand=brand,
            publish_at=body.publish_at,
            acting_user=caller.user,
        )
    return Status(201, _reload(caller, post))


@router.patch(
    "/posts/{post_id}",
    response={200: PostOut, **errors(400, 401, 403, 404, 422)},
    summary="Edit a draft",
    description="Change the master text (channels not edited follow it), link, campaign, time; "
    "edit, add or remove channels. A post in approval or scheduled must be withdrawn first.",
)
def update_post(request: HttpRequest, post_id: ObjectId, body: PostUpdate) -> Post:
    caller, post = _post(request, post_id)
    sent = body.model_dump(exclude_unset=True)
    changes: dict[str, Any] = {}
    if body.text is not None:
        changes["text"] = body.text
    if body.link is not None:
        changes["link"] = body.link
    if "campaign_id" in sent:
        changes["campaign"] = _campaign(caller, body.campaign_id)
    if "publish_at" in sent:
        changes["publish_at"] = body.publish_at
    return _do(
        caller,
        post,
        lambda: actions.do_edit_post(
            post,
            variants=[_variant_input(caller, v) for v in body.variants],
            remove_channels=[_channel(caller, pk) for pk in body.remove_channel_ids],
            acting_user=caller.user,
            **changes,
        ),
    )


@router.patch(
    "/variants/{variant_id}",
    response={200: PostOut, **errors(400, 401, 403, 404, 422)},
    summary="Edit one channel of a draft",
    description="Its own text (inherit_text: follow the master again), placement, first "
    "comment, link with UTM parameters, media and alt texts. Returns the whole post.",
)
def update_variant(request: HttpRequest, variant_id: ObjectId, body: VariantUpdate) -> Post:
    caller = caller_of(request)
    variant: Variant = get_or_404(
        visible(Variant.objects, caller, "view").select_related("post", "channel"),
        variant_id,
        "variant",
    )
    as_input = VariantIn(channel_id=variant.channel_id, **body.model_dump(exclude_unset=True))
    post = variant.post
    return _do(
        caller,
        post,
        lambda: actions.do_edit_post(
            post, variants=[_variant_input(caller, as_input)], acting_user=caller.user
        ),
    )


@router.post(
    "/posts/{post_id}/submit",
    response={200: PostOut, **errors(400, 401, 403, 404)},
    summary="Submit a draft for approval",
    description="With no approval step to pass (no policy, and you may publish on every "
    "channel) the post is approved at once, and scheduled if it has a time.",
)
def submit_post(request: HttpRequest, post_id: ObjectId) -> Post:
    caller, post = _post(request, post_id)
    return _do(caller, post, lambda: actions.do_submit_for_approval(post, acting_user=caller.user))


@router.post(
    "/posts/{post_id}/approve",
    response={200: PostOut, **errors(400, 401, 403, 404, 422)},
    summary="Approve the current step",
    description="The author never approves their own post (403); steps pass in order, each "
    "with its minimum number of approvers. An approval after the post's time sets its "
    "channels to needs_new_time and tells the author.",
)
def approve_post(request: HttpRequest, post_id: ObjectId, body: DecisionIn) -> Post:
    caller, post = _post(request, post_id)
    return _do(
        caller,
        post,
        lambda: actions.do_approve(post, comment=body.comment, acting_user=caller.user),
    )


@router.post(
    "/posts/{post_id}/request-changes",
    response={200: PostOut, **errors(400, 401, 403, 404, 422)},
    summary="Request changes",
    description="Returns the post to its author as a draft, with your comment (required).",
)
def request_changes(request: HttpRequest, post_id: ObjectId, body: DecisionIn) -> Post:
    caller, post = _post(request, post_id)
    return _do(
        caller,
        post,
        lambda: actions.do_request_changes(post, comment=body.comment, acting_user=caller.user),
    )


@router.post(
    "/posts/{post_id}/withdraw",
    response={200: PostOut, **errors(400, 401, 403, 404)},
    summary="Withdraw to draft",
)
def withdraw_post(request: HttpRequest, post_id: ObjectId) -> Post:
    caller, post = _post(request, post_id)
    return _do(caller, post, lambda: actions.do_withdraw(post, acting_user=caller.user))


@router.post(
    "/posts/{post_id}/schedule",
    response={200: PostOut, **errors(400, 401, 403, 404, 422)},
    summary="Schedule or reschedule",
    description="Approved channels are scheduled for `publish_at`; drafts get the time for "
    "when they are approved. Needs publish on the channels (or being the post's author).",
)
def schedule_post(request: HttpRequest, post_id: ObjectId, body: ScheduleIn) -> Post:
    caller, post = _post(request, post_id)
    channels = _channels(caller, body.channel_ids)
    return _do(
        caller,
        post,
        lambda: actions.do_schedule(
            post, publish_at=body.publish_at, channels=channels, acting_user=caller.user
        ),
    )


@router.post(
    "/posts/{post_id}/publish-now",
    response={200: PostOut, **errors(400, 401, 403, 404, 422)},
    summary="Publish now",
    description="Approved channels go out within seconds; poll the post for each result.",
)
def publish_now(request: HttpRequest, post_id: ObjectId, body: ChannelsIn) -> Post:
    caller, post = _post(request, post_id)
    channels = _channels(caller, body.channel_ids)
    return _do(
        caller,
        post,
        lambda: actions.do_publish_now(post, channels=channels, acting_user=caller.user),
    )


@router.post(
    "/posts/{post_id}/cancel",
    response={200: PostOut, **errors(400, 401, 403, 404, 422)},
    summary="Cancel",
    description="Published channels stay published; a channel being published right now "
    "cannot be stopped (400).",
)
def cancel_post(request: HttpRequest, post_id: ObjectId, body: ChannelsIn) -> Post:
    caller, post = _post(request, post_id)
    channels = _channels(caller, body.channel_ids)
    return _do(
        caller, post, lambda: actions.do_cancel(post, channels=channels, acting_user=caller.user)
    )


@router.post(
    "/variants/{variant_id}/retry",
    response={200: PostOut, **errors(400, 401, 403, 404)},
    summary="Retry a failed channel",
)
def retry_variant(request: HttpRequest, variant_id: ObjectId) -> Post:
    caller = caller_of(request)
    variant: Variant = get_or_404(
        visible(Variant.objects, caller, "view").select_related("post", "channel"),
        variant_id,
        "variant",
    )
    return _do(
        caller,
        variant.post,
        lambda: actions.do_retry_variant(variant, acting_user=caller.user),
    )


@router.post(
    "/variants/{variant_id}/first-comment/retry",
    response={200: PostOut, **errors(400, 401, 403, 404)},
    summary="Retry a failed first comment",
    description="Needs the publish permission on the channel. The same comment to the network: "
    "one that was posted after all is found, not posted twice.",
)
def retry_first_comment(request: HttpRequest, variant_id: ObjectId) -> Post:
    caller = caller_of(request)
    variant: Variant = get_or_404(
        visible(Variant.objects, caller, "view").select_related("post", "channel"),
        variant_id,
        "variant",
    )
    return _do(
        caller,
        variant.post,
        lambda: actions.do_retry_first_comment(variant, acting_user=caller.user),
    )


# --- Campaigns -----------------------------------------------------------------------------------


@router.get(
    "/campaigns",
    response={200: Page[CampaignOut], **errors(401, 403, 422)},
    summary="List campaigns",
)
def list_campaigns(request: HttpRequest, query: Query[PageQuery]) -> dict[str, Any]:
    caller = caller_of(request)
    return paginate(visible(Campaign.objects, caller, "view_org").order_by("name", "pk"), query)


@router.post(
    "/campaigns",
    response={201: CampaignOut, **errors(400, 401, 403, 422)},
    summary="Create a campaign",
    description="Anyone who drafts may add one.",
)
def create_campaign(request: HttpRequest, body: CampaignIn) -> Status[Campaign]:
    caller = caller_of(request)
    with _refusals():
        campaign = actions.do_create_campaign(
            caller.organization, name=body.name, colour=body.colour, acting_user=caller.user
        )
    return Status(201, campaign)


# --- Approval policies ---------------------------------------------------------------------------


def _policies(caller: Caller) -> Any:
    return (
        visible(ApprovalPolicy.objects, caller, "view_org")
        .select_related("brand", "channel")
        .prefetch_related(
            Prefetch(
                "steps",
                queryset=ApprovalStep.objects.order_by("order", "pk").prefetch_related("approvers"),
            )
        )
    )


@router.get(
    "/approval-policies",
    response={200: Page[PolicyOut], **errors(401, 403, 422)},
    summary="List approval policies",
    description="Active policies first, then the switched-off ones (the history).",
)
def list_policies(request: HttpRequest, query: Query[PageQuery]) -> dict[str, Any]:
    caller = caller_of(request)
    return paginate(_policies(caller).order_by("-is_active", "name", "pk"), query)


@router.post(
    "/approval-policies",
    response={201: PolicyOut, **errors(400, 401, 403, 422)},
    summary="Set an approval policy",
    description="For one brand or one channel, in ordered steps; replaces that scope's active "
    "policy (kept, switched off, in the history). Owners and admins only.",
)
def create_policy(request: HttpRequest, body: PolicyIn) -> Status[ApprovalPolicy]:
    caller = caller_of(request)
    org = caller.organization
    if not Access.of(caller.user).has_org_perm(org.pk, "manage_org"):
        raise HttpError(403, f"Only owners and admins of {org} set approval policies.")
    brand = _brand(caller, body.brand_id) if body.brand_id is not None else None
    channel = _channel(caller, body.channel_id) if body.channel_id is not None else None
    members = User.objects.filter(
        pk__in=Membership.objects.filter(organization=org, is_active=True).values("user_id")
    )
    steps = []
    for step in body.steps:
        team = None
        if step.team_id is not None:
            team = visible(Team.objects, caller, "view_org").filter(pk=step.team_id).first()
            if team is None:
                raise ActionError(f"Team {step.team_id} is not a team of {org}.")
        people = list(members.filter(pk__in=step.approver_ids))
        if len(people) != len(set(step.approver_ids)):
            raise ActionError(f"Some approvers of step {step.name} are not members of {org}.")
        steps.append(
            actions.StepInput(
                name=step.name,
                team=team,
                approvers=people,
                min_approvals=step.min_approvals,
                respond_within=timedelta(hours=step.respond_within_hours)
                if step.respond_within_hours
                else None,
            )
        )
    with _refusals():
        policy = actions.do_create_approval_policy(
            org, name=body.name, brand=brand, channel=channel, steps=steps, acting_user=caller.user
        )
    found: ApprovalPolicy = get_or_404(_policies(caller), policy.pk, "approval policy")
    return Status(201, found)


@router.post(
    "/approval-policies/{policy_id}/deactivate",
    response={200: PolicyOut, **errors(400, 401, 403, 404)},
    summary="Switch an approval policy off",
    description="Posts waiting for approval then follow the policies still active.",
)
def deactivate_policy(request: HttpRequest, policy_id: ObjectId) -> ApprovalPolicy:
    caller = caller_of(request)
    policy: ApprovalPolicy = get_or_404(_policies(caller), policy_id, "approval policy")
    with _refusals():
        actions.do_deactivate_approval_policy(policy, acting_user=caller.user)
    found: ApprovalPolicy = get_or_404(_policies(caller), policy_id, "approval policy")
    return found


# --- Pauses --------------------------------------------------------------------------------------


def _pauses(caller: Caller) -> Any:
    return visible(PublishingPause.objects, caller, "view_org").select_related("brand", "channel")


@router.get(
    "/publishing-pauses",
    response={200: Page[PauseOut], **errors(401, 403, 422)},
    summary="List publishing pauses",
)
def list_pauses(request: HttpRequest, query: Query[PauseQuery]) -> dict[str, Any]:
    caller = caller_of(request)
    pauses = _pauses(caller)
    if query.active is not None:
        active = PublishingPause.objects.active().values("pk")
        pauses = pauses.filter(pk__in=active) if query.active else pauses.exclude(pk__in=active)
    return paginate(pauses.order_by("-starts_at", "-pk"), query)


@router.post(
    "/publishing-pauses",
    response={201: PauseOut, **errors(400, 401, 403, 422)},
    summary="Pause publishing",
    description="Hold scheduled publishing for the organisation, a brand, a region or a "
    "channel, with a reason, until lifted (or until `until`). Needs the publish permission "
    "over the whole scope.",
)
def create_pause(request: HttpRequest, body: PauseIn) -> Status[PublishingPause]:
    caller = caller_of(request)
    _require_anywhere(caller, "publish", "pausing publishing")
    brand = _brand(caller, body.brand_id) if body.brand_id is not None else None
    channel = _channel(caller, body.channel_id) if body.channel_id is not None else None
    with _refusals():
        pause = actions.do_pause_publishing(
            caller.organization,
            scope=body.scope,
            reason=body.reason,
            brand=brand,
            region=body.region,
            channel=channel,
            until=body.until,
            acting_user=caller.user,
        )
    return Status(201, pause)


@router.post(
    "/publishing-pauses/{pause_id}/lift",
    response={200: PauseOut, **errors(400, 401, 403, 404)},
    summary="Lift a pause",
    description="Held posts go out at the next dispatch, within seconds.",
)
def lift_pause(request: HttpRequest, pause_id: ObjectId) -> PublishingPause:
    caller = caller_of(request)
    pause: PublishingPause = get_or_404(_pauses(caller), pause_id, "pause")
    with _refusals():
        actions.do_lift_pause(pause, acting_user=caller.user)
    found: PublishingPause = get_or_404(_pauses(caller), pause_id, "pause")
    return found
