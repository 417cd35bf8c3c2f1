"""The community inbox: conversations, messages, replies, assignment, tags, saved replies,
SLA policies and routing rules.

Reading conversations needs `view` on their channel; working them (reply, note, assign, tag,
close) needs `engage`; approving a held reply needs `approve`. Saved replies, SLA policies and
routing rules are read by anyone in the organisation and changed by people with manage_org.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal, TypeVar

from django.db.models import F, Model, QuerySet
from django.http import HttpRequest
from django.utils import timezone
from ninja import Field, Query, Router, Schema, Status
from pydantic import AfterValidator, StringConstraints

from greenroom.core.actions import ActionError
from greenroom.core.models import Brand, Channel, Team
from greenroom.inbox import actions, queues
from greenroom.inbox.models import (
    BusinessHours,
    Conversation,
    ConversationKind,
    ConversationStatus,
    Message,
    Priority,
    RoutingRule,
    SavedReply,
    Sentiment,
    SlaPolicy,
)

from .access import get_or_404, optional_member, require, require_on, visible
from .auth import Caller, caller_of
from .paging import paginate
from .schemas import (
    BrandRef,
    Name,
    ObjectId,
    Page,
    PageQuery,
    PersonRef,
    ShortText,
    TimezoneName,
    clean_text,
    errors,
)

router = Router(tags=["Inbox"])

M = TypeVar("M", bound=Model)

LongText = Annotated[
    str, StringConstraints(min_length=1, max_length=20_000), AfterValidator(clean_text)
]
Tag = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=40),
    AfterValidator(clean_text),
]
Minutes = Annotated[int, Field(ge=1, le=60 * 24 * 365)]


class ChannelRef(Schema):
    id: int
    name: str
    kind: str


class ContactOut(Schema):
    id: int
    network: str
    handle: str
    name: str
    is_vip: bool
    is_customer: bool


class ConversationOut(Schema):
    id: int
    channel: ChannelRef
    brand: BrandRef
    kind: ConversationKind
    status: ConversationStatus
    post_external_id: str = Field(description="The network's id of the post a comment answers.")
    contact: ContactOut | None
    assignee: PersonRef | None
    team_id: int | None
    priority: Priority
    tags: list[str]
    language: str
    sentiment: str
    is_spam: bool
    is_abusive: bool
    requires_approval: bool
    preview: str
    first_response_due_at: datetime | None
    next_response_due_at: datetime | None
    resolution_due_at: datetime | None
    sla_due_at: datetime | None = Field(description="The earliest running SLA clock.")
    sla_breached: bool
    first_response_at: datetime | None
    messages_in: int
    messages_out: int
    created_at: datetime
    last_message_at: datetime
    closed_at: datetime | None


class MessageOut(Schema):
    id: int
    conversation_id: int
    direction: str = Field(description="in (received), out (our reply) or note (internal).")
    status: str
    external_id: str
    in_reply_to: str
    author_handle: str
    author_name: str
    text: str = Field(description="As written; untrusted when it came from a network.")
    attachments: list[Any]
    language: str
    sentiment: str
    is_spam: bool
    is_abusive: bool
    hidden_at: datetime | None
    deleted_at: datetime | None = Field(
        None, description="When we deleted it on the network (the text is kept here)."
    )
    sent_at: datetime
    handle_seconds: float | None
    error: str


class ConversationQuery(PageQuery):
    queue: Literal["all", "mine", "unassigned", "breaching", "snoozed", "closed"] = "all"
    channel: ObjectId | None = None
    brand: ObjectId | None = None
    network: ShortText | None = None
    tag: Tag | None = None


class ReplyIn(Schema):
    text: LongText
    handle_seconds: float | None = Field(
        None, ge=0, le=86_400, description="Seconds spent writing it (for the staffing model)."
    )


class NoteIn(Schema):
    text: LongText


class AssignIn(Schema):
    assignee_id: ObjectId | None = Field(description="A member's id; null to unassign.")


class TagsIn(Schema):
    add: list[Tag] = Field([], max_length=50)
    remove: list[Tag] = Field([], max_length=50)


class SavedReplyOut(Schema):
    id: int
    title: str
    body: str
    brand_id: int | None
    language: str


class SavedReplyIn(Schema):
    title: Name
    body: LongText
    brand_id: ObjectId | None = None
    language: ShortText = ""


class SlaPolicyOut(Schema):
    id: int
    name: str
    brand_id: int | None
    channel_id: int | None
    priority: str
    kind: str
    first_response_minutes: int
    next_response_minutes: int | None
    resolution_minutes: int | None
    business_hours_id: int | None
    warn_at_share: float
    is_active: bool


class SlaPolicyIn(Schema):
    name: Name
    brand_id: ObjectId | None = None
    channel_id: ObjectId | None = None
    priority: Priority | Literal[""] = ""
    kind: ConversationKind | Literal[""] = ""
    first_response_minutes: Minutes = 24 * 60
    next_response_minutes: Minutes | None = None
    resolution_minutes: Minutes | None = None
    warn_at_share: float = Field(0.75, gt=0, le=1)
    business_hours_id: ObjectId | None = Field(None, description="None: around the clock.")
    is_active: bool = True


class BusinessHoursOut(Schema):
    id: int
    name: str
    timezone: str = Field(description="Empty: each channel's own time zone.")
    weekly: list[list[list[str]]] = Field(
        description='Seven lists, Monday first, of ["HH:MM", "HH:MM"] opening intervals.'
    )
    holidays: list[str]


HourText = Annotated[str, StringConstraints(pattern=r"^([01]\d|2[0-4]):[0-5]\d$")]


class BusinessHoursIn(Schema):
    name: Name
    timezone: Literal[""] | TimezoneName = ""
    weekly: list[list[Annotated[list[HourText], Field(min_length=2, max_length=2)]]] = Field(
        min_length=7, max_length=7
    )
    holidays: list[Annotated[str, StringConstraints(pattern=r"^\d{4}-\d{2}-\d{2}$")]] = Field(
        [], max_length=400
    )


class RuleOut(Schema):
    id: int
    name: str
    position: int
    is_active: bool
    channel_id: int | None
    brand_id: int | None
    network: str
    kind: str
    language: str
    sentiment: str
    keywords: str
    author_is_vip: bool | None
    author_is_customer: bool | None
    set_team_id: int | None
    set_assignee_id: int | None
    set_priority: str
    add_tags: list[str]
    auto_reply_id: int | None
    require_approval: bool
    stop: bool


class RuleIn(Schema):
    name: Name
    position: int = Field(100, ge=0, le=1_000_000)
    is_active: bool = True
    channel_id: ObjectId | None = None
    brand_id: ObjectId | None = None
    network: ShortText = ""
    kind: ConversationKind | Literal[""] = ""
    language: ShortText = ""
    sentiment: Sentiment | Literal[""] = ""
    keywords: Annotated[str, StringConstraints(max_length=2000), AfterValidator(clean_text)] = ""
    author_is_vip: bool | None = None
    author_is_customer: bool | None = None
    set_team_id: ObjectId | None = None
    set_assignee_id: ObjectId | None = None
    set_priority: Priority | Literal[""] = ""
    add_tags: list[Tag] = Field([], max_length=20)
    auto_reply_id: ObjectId | None = None
    require_approval: bool = False
    stop: bool = False


def _conversations(caller: Caller, perm: str = "view") -> Any:
    return visible(Conversation.objects, caller, perm).select_related(
        "channel", "brand", "contact", "assignee"
    )


def _conversation(request: HttpRequest, conversation_id: int, perm: str) -> Conversation:
    """A conversation the caller can see; a 403 when they see it but lack `perm` on it."""
    caller = caller_of(request)
    conversation: Conversation = get_or_404(_conversations(caller), conversation_id, "conversation")
    require_on(visible(Conversation.objects, caller, perm), conversation, perm, "conversation")
    return conversation


@router.get(
    "/inbox/conversations",
    response={200: Page[ConversationOut], **errors(401, 403, 422)},
    summary="List conversations",
    description="Conversations on channels you can see, soonest SLA clock first; `queue` picks "
    "mine, unassigned, breaching (past the warning share), snoozed, closed or all open (open "
    "and pending: snoozed conversations are set aside until their time or the customer's next "
    "message).",
)
def list_conversations(request: HttpRequest, query: Query[ConversationQuery]) -> dict[str, Any]:
    caller = caller_of(request)
    rows = queues.in_queue(_conversations(caller), query.queue, caller.user, timezone.now())
    if query.channel is not None:
        rows = rows.filter(channel_id=query.channel)
    if query.brand is not None:
        rows = rows.filter(brand_id=query.brand)
    if query.network:
        rows = rows.filter(network=query.network)
    if query.tag:
        rows = rows.filter(tags__has_element=query.tag)
    return paginate(rows.order_by(F("sla_due_at").asc(nulls_last=True), "-pk"), query)


@router.get(
    "/inbox/conversations/{conversation_id}",
    response={200: ConversationOut, **errors(401, 403, 404)},
    summary="Get a conversation",
)
def get_conversation(request: HttpRequest, conversation_id: ObjectId) -> Conversation:
    return _conversation(request, conversation_id, "view")


@router.get(
    "/inbox/conversations/{conversation_id}/messages",
    response={200: Page[MessageOut], **errors(401, 403, 404, 422)},
    summary="List a conversation's messages",
    description="Oldest first: what people wrote, our replies and internal notes.",
)
def list_messages(
    request: HttpRequest, conversation_id: ObjectId, query: Query[PageQuery]
) -> dict[str, Any]:
    conversation = _conversation(request, conversation_id, "view")
    return paginate(conversation.messages.order_by("sent_at", "pk"), query)


@router.post(
    "/inbox/conversations/{conversation_id}/reply",
    response={201: MessageOut, **errors(400, 401, 403, 404, 422)},
    summary="Reply",
    description="Sends through the channel's connector after the request (status `sending`, "
    "then `sent`), or waits for approval when a routing rule requires it. Needs engage.",
)
def reply_to_conversation(
    request: HttpRequest, conversation_id: ObjectId, body: ReplyIn
) -> Status[Message]:
    conversation = _conversation(request, conversation_id, "engage")
    message = actions.do_reply(
        conversation,
        body.text,
        acting_user=caller_of(request).user,
        handle_seconds=body.handle_seconds,
    )
    return Status(201, message)


@router.post(
    "/inbox/conversations/{conversation_id}/notes",
    response={201: MessageOut, **errors(400, 401, 403, 404, 422)},
    summary="Add an internal note",
)
def add_conversation_note(
    request: HttpRequest, conversation_id: ObjectId, body: NoteIn
) -> Status[Message]:
    conversation = _conversation(request, conversation_id, "engage")
    note = actions.do_add_note(conversation, body.text, acting_user=caller_of(request).user)
    return Status(201, note)


@router.post(
    "/inbox/conversations/{conversation_id}/assign",
    response={200: ConversationOut, **errors(400, 401, 403, 404, 422)},
    summary="Assign a conversation",
)
def assign_conversation(
    request: HttpRequest, conversation_id: ObjectId, body: AssignIn
) -> Conversation:
    caller = caller_of(request)
    conversation = _conversation(request, conversation_id, "engage")
    person = optional_member(caller, body.assignee_id, "assignee")
    actions.do_assign([conversation], person, acting_user=caller.user)
    return _conversation(request, conversation_id, "view")


@router.post(
    "/inbox/conversations/{conversation_id}/tags",
    response={200: ConversationOut, **errors(400, 401, 403, 404, 422)},
    summary="Add or remove tags",
)
def tag_conversation(request: HttpRequest, conversation_id: ObjectId, body: TagsIn) -> Conversation:
    conversation = _conversation(request, conversation_id, "engage")
    actions.do_tag(
        [conversation], add=body.add, remove=body.remove, acting_user=caller_of(request).user
    )
    return _conversation(request, conversation_id, "view")


@router.post(
    "/inbox/conversations/{conversation_id}/close",
    response={200: ConversationOut, **errors(400, 401, 403, 404)},
    summary="Close a conversation",
    description="Stops its SLA clocks and records its resolution time.",
)
def close_conversation(request: HttpRequest, conversation_id: ObjectId) -> Conversation:
    conversation = _conversation(request, conversation_id, "engage")
    actions.do_close([conversation], acting_user=caller_of(request).user)
    return _conversation(request, conversation_id, "view")


@router.post(
    "/inbox/replies/{message_id}/approve",
    response={200: MessageOut, **errors(400, 401, 403, 404)},
    summary="Approve a reply that waits for approval",
)
def approve_reply(request: HttpRequest, message_id: ObjectId) -> Message:
    caller = caller_of(request)
    message: Message = get_or_404(
        visible(Message.objects, caller, "view").select_related("conversation__organization"),
        message_id,
        "message",
    )
    require_on(visible(Message.objects, caller, "approve"), message, "approve", "reply")
    return actions.do_approve_reply(message, acting_user=caller.user)


@router.post(
    "/inbox/messages/{message_id}/delete",
    response={200: MessageOut, **errors(400, 401, 403, 404)},
    summary="Delete a comment on the network",
    description="Deletes someone's comment on the channel's own post through the connector "
    "after the request, where the network allows it (a refusal shows in `error`). The message "
    "stays here, marked `deleted_at`; the audit log keeps its text. Needs engage.",
)
def delete_message(request: HttpRequest, message_id: ObjectId) -> Message:
    caller = caller_of(request)
    message: Message = get_or_404(
        visible(Message.objects, caller, "view").select_related("conversation__organization"),
        message_id,
        "message",
    )
    require_on(visible(Message.objects, caller, "engage"), message, "engage", "message")
    return actions.do_delete_message(message, acting_user=caller.user)


# --- Configuration ---------------------------------------------------------------------------


def _referenced(queryset: QuerySet[M], caller: Caller, pk: int, noun: str) -> M:
    """An object named in a request body: one the caller can see, or a 400 that says so (the
    same words whether it exists elsewhere or not), like the rest of the API."""
    found = queryset.filter(pk=pk).first()
    if found is None:
        raise ActionError(f"There is no {noun} with id {pk} in {caller.organization}.")
    return found


def _brand(caller: Caller, brand_id: int | None) -> Brand | None:
    if brand_id is None:
        return None
    return _referenced(visible(Brand.objects, caller, "view_org"), caller, brand_id, "brand")


def _channel(caller: Caller, channel_id: int | None) -> Channel | None:
    if channel_id is None:
        return None
    return _referenced(visible(Channel.objects, caller, "view"), caller, channel_id, "channel")


@router.get(
    "/inbox/saved-replies",
    response={200: Page[SavedReplyOut], **errors(401, 403, 422)},
    summary="List saved replies",
)
def list_saved_replies(request: HttpRequest, query: Query[PageQuery]) -> dict[str, Any]:
    rows = visible(SavedReply.objects, caller_of(request), "view_org")
    return paginate(rows.order_by("title", "pk"), query)


@router.post(
    "/inbox/saved-replies",
    response={201: SavedReplyOut, **errors(400, 401, 403, 422)},
    summary="Create a saved reply",
    description="Variables {first_name}, {name}, {handle}, {agent}, {brand}, {channel} are filled "
    "in when it is used. Needs manage_org.",
)
def create_saved_reply(request: HttpRequest, body: SavedReplyIn) -> Status[SavedReply]:
    caller = caller_of(request)
    require(caller, "manage_org")
    saved = actions.do_save_saved_reply(
        caller.organization,
        title=body.title,
        body=body.body,
        brand=_brand(caller, body.brand_id),
        language=body.language,
        acting_user=caller.user,
    )
    return Status(201, saved)


@router.delete(
    "/inbox/saved-replies/{saved_reply_id}",
    response={204: None, **errors(401, 403, 404)},
    summary="Delete a saved reply",
)
def delete_saved_reply(request: HttpRequest, saved_reply_id: ObjectId) -> Status[None]:
    caller = caller_of(request)
    saved: SavedReply = get_or_404(
        visible(SavedReply.objects, caller, "view_org"), saved_reply_id, "saved reply"
    )
    require(caller, "manage_org")
    actions.do_delete_saved_reply(saved, acting_user=caller.user)
    return Status(204, None)


@router.get(
    "/inbox/sla-policies",
    response={200: Page[SlaPolicyOut], **errors(401, 403, 422)},
    summary="List SLA policies",
)
def list_sla_policies(request: HttpRequest, query: Query[PageQuery]) -> dict[str, Any]:
    rows = visible(SlaPolicy.objects, caller_of(request), "view_org")
    return paginate(rows.order_by("name", "pk"), query)


@router.post(
    "/inbox/sla-policies",
    response={201: SlaPolicyOut, **errors(400, 401, 403, 422)},
    summary="Create an SLA policy",
    description="The most specific active policy matching a conversation applies (channel, then "
    "brand, then priority, then kind). Needs manage_org.",
)
def create_sla_policy(request: HttpRequest, body: SlaPolicyIn) -> Status[SlaPolicy]:
    caller = caller_of(request)
    require(caller, "manage_org")
    policy = actions.do_save_sla_policy(
        caller.organization,
        name=body.name,
        brand=_brand(caller, body.brand_id),
        channel=_channel(caller, body.channel_id),
        priority=body.priority,
        kind=body.kind,
        first_response_minutes=body.first_response_minutes,
        next_response_minutes=body.next_response_minutes,
        resolution_minutes=body.resolution_minutes,
        warn_at_share=body.warn_at_share,
        business_hours=(
            _referenced(
                visible(BusinessHours.objects, caller, "view_org"),
                caller,
                body.business_hours_id,
                "business hours",
            )
            if body.business_hours_id is not None
            else None
        ),
        is_active=body.is_active,
        acting_user=caller.user,
    )
    return Status(201, policy)


@router.delete(
    "/inbox/sla-policies/{policy_id}",
    response={204: None, **errors(401, 403, 404)},
    summary="Delete an SLA policy",
)
def delete_sla_policy(request: HttpRequest, policy_id: ObjectId) -> Status[None]:
    caller = caller_of(request)
    policy: SlaPolicy = get_or_404(
        visible(SlaPolicy.objects, caller, "view_org"), policy_id, "SLA policy"
    )
    require(caller, "manage_org")
    actions.do_delete_sla_policy(policy, acting_user=caller.user)
    return Status(204, None)


@router.get(
    "/inbox/business-hours",
    response={200: Page[BusinessHoursOut], **errors(401, 403, 422)},
    summary="List business hours",
)
def list_business_hours(request: HttpRequest, query: Query[PageQuery]) -> dict[str, Any]:
    rows = visible(BusinessHours.objects, caller_of(request), "view_org")
    return paginate(rows.order_by("name", "pk"), query)


@router.post(
    "/inbox/business-hours",
    response={201: BusinessHoursOut, **errors(400, 401, 403, 422)},
    summary="Create business hours",
    description="Opening hours for SLA policies: seven days of intervals and holidays, in a time "
    "zone or (empty) each channel's own. Needs manage_org.",
)
def create_business_hours(request: HttpRequest, body: BusinessHoursIn) -> Status[BusinessHours]:
    caller = caller_of(request)
    require(caller, "manage_org")
    hours = actions.do_save_business_hours(
        caller.organization,
        name=body.name,
        weekly=body.weekly,
        holidays=body.holidays,
        timezone_name=body.timezone,
        acting_user=caller.user,
    )
    return Status(201, hours)


@router.get(
    "/inbox/rules",
    response={200: Page[RuleOut], **errors(401, 403, 422)},
    summary="List routing rules",
    description="In the order they run.",
)
def list_rules(request: HttpRequest, query: Query[PageQuery]) -> dict[str, Any]:
    rows = visible(RoutingRule.objects, caller_of(request), "view_org")
    return paginate(rows.order_by("position", "pk"), query)


@router.post(
    "/inbox/rules",
    response={201: RuleOut, **errors(400, 401, 403, 422)},
    summary="Create a routing rule",
    description="Rules run by position. For team, assignee, priority and auto-reply the first "
    "matching rule that sets one wins; tags add up; any match that requires approval requires "
    "it; `stop` ends the evaluation. Needs manage_org.",
)
def create_rule(request: HttpRequest, body: RuleIn) -> Status[RoutingRule]:
    caller = caller_of(request)
    require(caller, "manage_org")
    team = None
    if body.set_team_id is not None:
        team = _referenced(
            visible(Team.objects, caller, "view_org"), caller, body.set_team_id, "team"
        )
    auto_reply = None
    if body.auto_reply_id is not None:
        auto_reply = _referenced(
            visible(SavedReply.objects, caller, "view_org"),
            caller,
            body.auto_reply_id,
            "saved reply",
        )
    rule = actions.do_save_routing_rule(
        caller.organization,
        name=body.name,
        position=body.position,
        is_active=body.is_active,
        channel=_channel(caller, body.channel_id),
        brand=_brand(caller, body.brand_id),
        network=body.network,
        kind=body.kind,
        language=body.language,
        sentiment=body.sentiment,
        keywords=body.keywords,
        author_is_vip=body.author_is_vip,
        author_is_customer=body.author_is_customer,
        set_team=team,
        set_assignee=optional_member(caller, body.set_assignee_id, "assignee"),
        set_priority=body.set_priority,
        add_tags=body.add_tags,
        auto_reply=auto_reply,
        require_approval=body.require_approval,
        stop=body.stop,
        acting_user=caller.user,
    )
    return Status(201, rule)


@router.delete(
    "/inbox/rules/{rule_id}",
    response={204: None, **errors(401, 403, 404)},
    summary="Delete a routing rule",
)
def delete_rule(request: HttpRequest, rule_id: ObjectId) -> Status[None]:
    caller = caller_of(request)
    rule: RoutingRule = get_or_404(
        visible(RoutingRule.objects, caller, "view_org"), rule_id, "routing rule"
    )
    require(caller, "manage_org")
    actions.do_delete_routing_rule(rule, acting_user=caller.user)
    return Status(204, None)
