"""The community inbox: conversations, messages, replies, assignment, tags, contacts, agents,
saved replies, SLA policies and routing rules.

Reading conversations needs `view` on their channel; working them (reply, note, assign, team,
priority, tag, snooze, close, reopen; hiding or deleting a comment) needs `engage`; approving a
held reply needs `approve`. A contact is changed by someone who may engage on a channel they wrote
on. Agents' availability is read by people who use the inbox (engage somewhere) or see members;
each person sets their own, people with manage_members anyone's. Saved replies, SLA policies and
routing rules are read by anyone in the organisation and changed by people with manage_org.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal, TypeVar

from django.db.models import F, Model, Q, QuerySet
from django.http import Http404, HttpRequest
from django.utils import timezone
from ninja import Field, Query, Router, Schema, Status
from ninja.errors import HttpError
from pydantic import AfterValidator, StringConstraints, ValidationInfo, field_validator
from pydantic_core import PydanticCustomError

from greenroom.core.actions import ActionError
from greenroom.core.models import Brand, Channel, ChannelGrant, Membership, Team, User
from greenroom.core.permissions import ROLE_PERMS
from greenroom.inbox import actions, handout, metrics, queues
from greenroom.inbox.models import (
    AgentProfile,
    AgentStatus,
    BusinessHours,
    Contact,
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
    UtcDatetime,
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
    # Every reply waits, an approver's too, for someone other than its author.
    four_eyes: bool
    preview: str
    first_response_due_at: datetime | None
    next_response_due_at: datetime | None
    resolution_due_at: datetime | None
    sla_due_at: datetime | None = Field(description="The earliest running SLA clock.")
    sla_breached: bool
    snoozed_until: datetime | None = Field(
        None, description="A snoozed conversation comes back open then (or at the next message)."
    )
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
    sentiment: Literal["positive", "neutral", "negative"] | None = None
    language: ShortText | None = Field(None, description="A language code, e.g. en or ko.")
    q: ShortText | None = Field(
        None,
        description="Words the person wrote in any of the conversation's messages, or in their "
        "handle or name (case is ignored).",
    )


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
    is_active: bool


class SavedReplyIn(Schema):
    title: Name
    body: LongText
    brand_id: ObjectId | None = None
    language: ShortText = ""
    is_active: bool = True


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
    four_eyes: bool
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
    # With require_approval: approvers' own replies wait too, for someone else to approve.
    four_eyes: bool = False
    stop: bool = False


class SnoozeIn(Schema):
    until: UtcDatetime = Field(
        description="When it comes back open (or sooner, at the customer's next message). "
        "Must be in the future; a time without an offset is UTC."
    )


class PriorityIn(Schema):
    priority: Priority


class TeamIn(Schema):
    team_id: ObjectId | None = Field(description="A team's id; null for no team.")


class ContactUpdate(Schema):
    is_vip: bool | None = None
    is_customer: bool | None = Field(None, description="A known customer.")

    @field_validator("is_vip", "is_customer", mode="before")
    @classmethod
    def present(cls, value: Any, info: ValidationInfo) -> Any:
        return _not_null(value, info)


class AgentOut(Schema):
    person: PersonRef
    status: AgentStatus
    capacity: int = Field(description="How many open conversations they take at once.")
    open_conversations: int = Field(
        description="Open and pending conversations assigned to them (what capacity counts)."
    )
    last_assigned_at: datetime | None = Field(description="The round robin's last pick of them.")


class AgentUpdate(Schema):
    status: AgentStatus | None = None
    capacity: int | None = Field(None, ge=0, le=1000)

    @field_validator("status", "capacity", mode="before")
    @classmethod
    def present(cls, value: Any, info: ValidationInfo) -> Any:
        return _not_null(value, info)


def _not_null(value: Any, info: ValidationInfo) -> Any:
    """In a PATCH body, null clears a field that may be empty; for any other field it is an
    error rather than a silent "keep it" (leave the field out for that)."""
    if value is None:
        raise PydanticCustomError(
            "not_null",
            "{field} cannot be null: leave it out to keep it as it is.",
            {"field": info.field_name},
        )
    return value


class SavedReplyUpdate(Schema):
    """Fields left out stay as they are."""

    title: Name | None = None
    body: LongText | None = None
    brand_id: ObjectId | None = Field(None, description="null: every brand.")
    language: ShortText | None = None
    is_active: bool | None = Field(
        None, description="false: kept, but not offered to agents nor sent automatically."
    )

    @field_validator("title", "body", "language", "is_active", mode="before")
    @classmethod
    def present(cls, value: Any, info: ValidationInfo) -> Any:
        return _not_null(value, info)


class SlaPolicyUpdate(Schema):
    """Fields left out stay as they are; null clears the ones that may be empty."""

    name: Name | None = None
    brand_id: ObjectId | None = None
    channel_id: ObjectId | None = None
    priority: Priority | Literal[""] | None = None
    kind: ConversationKind | Literal[""] | None = None
    first_response_minutes: Minutes | None = None
    next_response_minutes: Minutes | None = None
    resolution_minutes: Minutes | None = None
    warn_at_share: float | None = Field(None, gt=0, le=1)
    business_hours_id: ObjectId | None = Field(None, description="null: around the clock.")
    is_active: bool | None = None

    @field_validator(
        "name",
        "priority",
        "kind",
        "first_response_minutes",
        "warn_at_share",
        "is_active",
        mode="before",
    )
    @classmethod
    def present(cls, value: Any, info: ValidationInfo) -> Any:
        return _not_null(value, info)


class RuleUpdate(Schema):
    """Fields left out stay as they are; null clears the ones that may be empty."""

    name: Name | None = None
    position: int | None = Field(None, ge=0, le=1_000_000)
    is_active: bool | None = None
    channel_id: ObjectId | None = None
    brand_id: ObjectId | None = None
    network: ShortText | None = None
    kind: ConversationKind | Literal[""] | None = None
    language: ShortText | None = None
    sentiment: Sentiment | Literal[""] | None = None
    keywords: (
        Annotated[str, StringConstraints(max_length=2000), AfterValidator(clean_text)] | None
    ) = None
    author_is_vip: bool | None = None
    author_is_customer: bool | None = None
    set_team_id: ObjectId | None = None
    set_assignee_id: ObjectId | None = None
    set_priority: Priority | Literal[""] | None = None
    add_tags: list[Tag] | None = Field(None, max_length=20)
    auto_reply_id: ObjectId | None = None
    require_approval: bool | None = None
    four_eyes: bool | None = None
    stop: bool | None = None

    @field_validator(
        "name",
        "position",
        "is_active",
        "network",
        "kind",
        "language",
        "sentiment",
        "keywords",
        "set_priority",
        "add_tags",
        "require_approval",
        "four_eyes",
        "stop",
        mode="before",
    )
    @classmethod
    def present(cls, value: Any, info: ValidationInfo) -> Any:
        return _not_null(value, info)


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


def _message(request: HttpRequest, message_id: int, perm: str, noun: str) -> Message:
    """A message the caller can see; a 403 when they see it but lack `perm` on it."""
    caller = caller_of(request)
    message: Message = get_or_404(
        visible(Message.objects, caller, "view").select_related("conversation__organization"),
        message_id,
        "message",
    )
    require_on(visible(Message.objects, caller, perm), message, perm, noun)
    return message


class NumbersQuery(Schema):
    days: int = Field(30, ge=1, le=366, description="The period: the last this many days.")


class NumbersLine(Schema):
    """One line of the inbox numbers; durations in seconds (null when nothing was measured)."""

    received: int
    replies: int
    first_responses: int
    first_response_median_s: float | None
    first_response_p90_s: float | None
    first_response_business_median_s: float | None
    handle_median_s: float | None
    closed: int
    resolution_median_s: float | None
    breaches: int


class ChannelNumbers(NumbersLine):
    channel: ChannelRef


class AgentNumbers(NumbersLine):
    user_id: int
    name: str


class NumbersOut(Schema):
    days: int
    since: datetime
    until: datetime
    organization: NumbersLine | None
    channels: list[ChannelNumbers]
    agents: list[AgentNumbers]
    arrivals_by_hour_of_week: list[int] = Field(
        description="Messages received in each of the 168 hours of the week (0 = Monday "
        "00:00-01:00), in each channel's own time zone."
    )


@router.get(
    "/inbox/numbers",
    response={200: NumbersOut, **errors(401, 403, 422)},
    summary="The inbox's numbers",
    description="What the channels received and how fast the team answered over the last "
    "`days` days: the organisation's line, each channel's and each agent's (medians, and the "
    "90th percentile of first responses), and arrivals by hour of the week; what the "
    "/inbox/numbers/ page shows. Needs view_analytics.",
)
def inbox_numbers(request: HttpRequest, query: Query[NumbersQuery]) -> dict[str, Any]:
    caller = caller_of(request)
    require(caller, "view_analytics")
    found = metrics.report(caller.user, caller.organization, query.days, timezone.now())
    return {
        "days": found.days,
        "since": found.since,
        "until": found.until,
        "organization": found.total.figures() if found.total else None,
        "channels": [
            {"channel": {"id": c.pk, "name": c.name, "kind": c.kind}, **line.figures()}
            for c, line in found.channels
        ],
        "agents": [{"user_id": u.pk, "name": u.name, **line.figures()} for u, line in found.agents],
        "arrivals_by_hour_of_week": metrics.arrivals_by_hour_of_week(found.rows),
    }


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
    rows = queues.narrowed(
        queues.in_queue(_conversations(caller), query.queue, caller.user, timezone.now()),
        caller.organization.pk,
        brand=query.brand,
        channel=query.channel,
        network=query.network or "",
        tag=query.tag or "",
        sentiment=query.sentiment or "",
        language=query.language or "",
        text=query.q or "",
    )
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
    "/inbox/conversations/{conversation_id}/reopen",
    response={200: ConversationOut, **errors(400, 401, 403, 404)},
    summary="Reopen a closed conversation",
    description="It goes back to the open queues. Reopening one that is open or pending changes "
    "nothing; a snoozed one comes back at its time or the customer's next message.",
)
def reopen_conversation(request: HttpRequest, conversation_id: ObjectId) -> Conversation:
    conversation = _conversation(request, conversation_id, "engage")
    if conversation.status == ConversationStatus.SNOOZED:
        raise ActionError(
            "This conversation is snoozed, not closed: it comes back open at "
            f"{conversation.snoozed_until:%Y-%m-%d %H:%M} UTC or at the customer's next message."
            if conversation.snoozed_until
            else "This conversation is snoozed, not closed."
        )
    actions.do_reopen(conversation, acting_user=caller_of(request).user)
    return _conversation(request, conversation_id, "view")


@router.post(
    "/inbox/conversations/{conversation_id}/snooze",
    response={200: ConversationOut, **errors(400, 401, 403, 404, 422)},
    summary="Snooze a conversation",
    description="Sets it aside (the snoozed queue) until `until`, or until the customer writes "
    "again. Its SLA clocks keep running: the customer is still waiting. A closed conversation "
    "must be reopened first.",
)
def snooze_conversation(
    request: HttpRequest, conversation_id: ObjectId, body: SnoozeIn
) -> Conversation:
    conversation = _conversation(request, conversation_id, "engage")
    if conversation.status == ConversationStatus.CLOSED:
        raise ActionError("This conversation is closed: reopen it before snoozing it.")
    actions.do_snooze([conversation], body.until, acting_user=caller_of(request).user)
    return _conversation(request, conversation_id, "view")


@router.post(
    "/inbox/conversations/{conversation_id}/priority",
    response={200: ConversationOut, **errors(400, 401, 403, 404, 422)},
    summary="Set a conversation's priority",
    description="A different priority may fall under a different SLA policy: running clocks "
    "are timed again.",
)
def set_conversation_priority(
    request: HttpRequest, conversation_id: ObjectId, body: PriorityIn
) -> Conversation:
    conversation = _conversation(request, conversation_id, "engage")
    actions.do_set_priority([conversation], body.priority, acting_user=caller_of(request).user)
    return _conversation(request, conversation_id, "view")


@router.post(
    "/inbox/conversations/{conversation_id}/team",
    response={200: ConversationOut, **errors(400, 401, 403, 404, 422)},
    summary="Set a conversation's team",
    description="A team of your organisation, or null for none. The assignee stays as it is.",
)
def set_conversation_team(
    request: HttpRequest, conversation_id: ObjectId, body: TeamIn
) -> Conversation:
    caller = caller_of(request)
    conversation = _conversation(request, conversation_id, "engage")
    actions.do_set_team([conversation], _team(caller, body.team_id), acting_user=caller.user)
    return _conversation(request, conversation_id, "view")


@router.post(
    "/inbox/replies/{message_id}/approve",
    response={200: MessageOut, **errors(400, 401, 403, 404)},
    summary="Approve a reply that waits for approval",
    description="Needs approve on the channel. Nobody approves their own reply (400).",
)
def approve_reply(request: HttpRequest, message_id: ObjectId) -> Message:
    message = _message(request, message_id, "approve", "reply")
    return actions.do_approve_reply(message, acting_user=caller_of(request).user)


class RejectIn(Schema):
    reason: ShortText = Field("", description="Why not; the reply's author reads it.")


@router.post(
    "/inbox/replies/{message_id}/reject",
    response={200: MessageOut, **errors(400, 401, 403, 404, 422)},
    summary="Reject a reply that waits for approval",
    description="The reply is not sent; its author sees the reason. Needs approve on the channel.",
)
def reject_reply(request: HttpRequest, message_id: ObjectId, body: RejectIn) -> Message:
    message = _message(request, message_id, "approve", "reply")
    return actions.do_reject_reply(message, reason=body.reason, acting_user=caller_of(request).user)


@router.post(
    "/inbox/messages/{message_id}/delete",
    response={200: MessageOut, **errors(400, 401, 403, 404)},
    summary="Delete a comment on the network",
    description="Deletes someone's comment on the channel's own post through the connector "
    "after the request, where the network allows it (a refusal shows in `error`). The message "
    "stays here, marked `deleted_at`; the audit log keeps its text. Needs engage.",
)
def delete_message(request: HttpRequest, message_id: ObjectId) -> Message:
    message = _message(request, message_id, "engage", "message")
    return actions.do_delete_message(message, acting_user=caller_of(request).user)


@router.post(
    "/inbox/messages/{message_id}/hide",
    response={200: MessageOut, **errors(400, 401, 403, 404)},
    summary="Hide a comment on the network",
    description="Hides someone's comment or mention from the public through the connector after "
    "the request (`hidden_at` is set now; if the network refuses, it is cleared again and "
    "`error` says why). Direct messages cannot be hidden. Needs engage.",
)
def hide_message(request: HttpRequest, message_id: ObjectId) -> Message:
    message = _message(request, message_id, "engage", "message")
    return actions.do_hide_message(message, acting_user=caller_of(request).user)


# --- Contacts and agents ---------------------------------------------------------------------


@router.patch(
    "/inbox/contacts/{contact_id}",
    response={200: ContactOut, **errors(400, 401, 403, 404, 422)},
    summary="Mark a contact VIP or a known customer",
    description="Routing rules can match on both. Fields left out stay as they are. Needs "
    "engage on a channel the person wrote on (a contact's id is in each conversation).",
)
def update_contact(request: HttpRequest, contact_id: ObjectId, body: ContactUpdate) -> Contact:
    caller = caller_of(request)
    contact: Contact = get_or_404(
        visible(Contact.objects, caller, "view_org"), contact_id, "contact"
    )
    sent = body.model_dump(exclude_unset=True)
    try:
        if sent:
            actions.do_update_contact(contact, acting_user=caller.user, **sent)
    except actions.NotAllowed:
        raise HttpError(
            403,
            "You may see this contact but not change it: that needs the “Engage” (engage) "
            "permission on a channel they wrote on.",
        ) from None
    return contact


# Roles that answer conversations; people of other roles are agents through an engage grant.
ENGAGING_ROLES = sorted(role for role, perms in ROLE_PERMS.items() if "engage" in perms)


def _agents(caller: Caller) -> QuerySet[User]:
    """Active members of the organisation who may answer somewhere in it."""
    org = caller.organization
    granted = ChannelGrant.objects.filter(channel__organization=org, permission="engage")
    return User.objects.filter(
        pk__in=Membership.objects.filter(organization=org, is_active=True)
        .filter(Q(role__in=ENGAGING_ROLES) | Q(user__in=granted.values("user")))
        .values("user")
    )


def _require_agents_reader(caller: Caller) -> None:
    """People who work the inbox (engage somewhere) or may see the organisation's members."""
    if visible(Channel.objects, caller, "engage").exists():
        return
    require(caller, "view_members")


def _agent_rows(caller: Caller, people: list[User]) -> list[dict[str, Any]]:
    org = caller.organization
    profiles = {
        p.user_id: p
        for p in visible(AgentProfile.objects, caller, "view_org").filter(user__in=people)
    }
    load = handout.open_load(org.pk, people)
    default = AgentProfile(organization=org)
    rows = []
    for person in people:
        profile = profiles.get(person.pk, default)
        rows.append(
            {
                "person": person,
                "status": profile.status,
                "capacity": profile.capacity,
                "open_conversations": load.get(person.pk, 0),
                "last_assigned_at": profile.last_assigned_at,
            }
        )
    return rows


@router.get(
    "/inbox/agents",
    response={200: Page[AgentOut], **errors(401, 403, 422)},
    summary="List agents",
    description="The organisation's members who may answer somewhere in it, with their status "
    "(on shift or away), capacity and open load: what routing's round robin reads. Needs engage "
    "somewhere in the organisation, or view_members.",
)
def list_agents(request: HttpRequest, query: Query[PageQuery]) -> dict[str, Any]:
    caller = caller_of(request)
    _require_agents_reader(caller)
    page = paginate(_agents(caller).order_by("display_name", "username", "pk"), query)
    page["items"] = _agent_rows(caller, page["items"])
    return page


@router.patch(
    "/inbox/agents/{user_id}",
    response={200: AgentOut, **errors(400, 401, 403, 404, 422)},
    summary="Set an agent's availability",
    description="On shift or away, and how many open conversations they take at once. Going on "
    "shift or raising the capacity hands them waiting conversations of their teams. Everyone "
    "who works the inbox sets their own; people with manage_members set anyone's.",
)
def update_agent(request: HttpRequest, user_id: ObjectId, body: AgentUpdate) -> dict[str, Any]:
    caller = caller_of(request)
    person = _agents(caller).filter(pk=user_id).first()
    if person is None:
        raise Http404(f"No agent with id {user_id} in this organisation.")
    if person.pk != caller.user.pk:
        require(caller, "manage_members")
    sent = body.model_dump(exclude_unset=True)
    if sent:
        actions.do_set_agent(
            caller.organization,
            person,
            status=sent.get("status"),
            capacity=sent.get("capacity"),
            acting_user=caller.user,
        )
    return _agent_rows(caller, [person])[0]


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


def _team(caller: Caller, team_id: int | None) -> Team | None:
    if team_id is None:
        return None
    return _referenced(visible(Team.objects, caller, "view_org"), caller, team_id, "team")


def _saved_reply(caller: Caller, saved_id: int | None) -> SavedReply | None:
    if saved_id is None:
        return None
    return _referenced(
        visible(SavedReply.objects, caller, "view_org"), caller, saved_id, "saved reply"
    )


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
        is_active=body.is_active,
        acting_user=caller.user,
    )
    return Status(201, saved)


@router.patch(
    "/inbox/saved-replies/{saved_reply_id}",
    response={200: SavedReplyOut, **errors(400, 401, 403, 404, 422)},
    summary="Change a saved reply",
    description="Fields left out stay as they are; `brand_id` null makes it every brand's. "
    "Needs manage_org.",
)
def update_saved_reply(
    request: HttpRequest, saved_reply_id: ObjectId, body: SavedReplyUpdate
) -> SavedReply:
    caller = caller_of(request)
    saved: SavedReply = get_or_404(
        visible(SavedReply.objects, caller, "view_org"), saved_reply_id, "saved reply"
    )
    require(caller, "manage_org")
    sent = body.model_dump(exclude_unset=True)
    if not sent:
        return saved
    return actions.do_save_saved_reply(
        caller.organization,
        saved=saved,
        title=sent.get("title", saved.title),
        body=sent.get("body", saved.body),
        brand=_brand(caller, sent["brand_id"]) if "brand_id" in sent else saved.brand,
        language=sent.get("language", saved.language),
        is_active=sent.get("is_active"),
        acting_user=caller.user,
    )


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


@router.patch(
    "/inbox/sla-policies/{policy_id}",
    response={200: SlaPolicyOut, **errors(400, 401, 403, 404, 422)},
    summary="Change an SLA policy",
    description="Fields left out stay as they are; null clears a brand, channel, business "
    "hours or optional target. Running clocks keep their due times; new ones use the change. "
    "Needs manage_org.",
)
def update_sla_policy(
    request: HttpRequest, policy_id: ObjectId, body: SlaPolicyUpdate
) -> SlaPolicy:
    caller = caller_of(request)
    policy: SlaPolicy = get_or_404(
        visible(SlaPolicy.objects, caller, "view_org"), policy_id, "SLA policy"
    )
    require(caller, "manage_org")
    sent = body.model_dump(exclude_unset=True)
    changes: dict[str, Any] = {}
    if "brand_id" in sent:
        changes["brand"] = _brand(caller, sent.pop("brand_id"))
    if "channel_id" in sent:
        changes["channel"] = _channel(caller, sent.pop("channel_id"))
    if "business_hours_id" in sent:
        pk = sent.pop("business_hours_id")
        changes["business_hours"] = (
            None
            if pk is None
            else _referenced(
                visible(BusinessHours.objects, caller, "view_org"), caller, pk, "business hours"
            )
        )
    changes.update(sent)
    if not changes:
        return policy
    return actions.do_save_sla_policy(
        caller.organization, policy=policy, acting_user=caller.user, **changes
    )


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


@router.delete(
    "/inbox/business-hours/{hours_id}",
    response={204: None, **errors(401, 403, 404)},
    summary="Delete business hours",
    description="Policies that used them count around the clock from then on; running clocks "
    "keep their due times. Needs manage_org.",
)
def delete_business_hours(request: HttpRequest, hours_id: ObjectId) -> Status[None]:
    caller = caller_of(request)
    hours: BusinessHours = get_or_404(
        visible(BusinessHours.objects, caller, "view_org"), hours_id, "business hours"
    )
    require(caller, "manage_org")
    actions.do_delete_business_hours(hours, acting_user=caller.user)
    return Status(204, None)


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
    "it (with `four_eyes`, an approver's own replies wait too and nobody approves their own); "
    "`stop` ends the evaluation. Needs manage_org.",
)
def create_rule(request: HttpRequest, body: RuleIn) -> Status[RoutingRule]:
    caller = caller_of(request)
    require(caller, "manage_org")
    team = _team(caller, body.set_team_id)
    auto_reply = _saved_reply(caller, body.auto_reply_id)
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
        four_eyes=body.four_eyes,
        stop=body.stop,
        acting_user=caller.user,
    )
    return Status(201, rule)


@router.patch(
    "/inbox/rules/{rule_id}",
    response={200: RuleOut, **errors(400, 401, 403, 404, 422)},
    summary="Change a routing rule",
    description="Fields left out stay as they are; null clears a condition or an outcome that "
    "may be empty (channel, brand, VIP, customer, team, assignee, auto-reply). Messages that "
    "arrive after it are routed by the change. Needs manage_org.",
)
def update_rule(request: HttpRequest, rule_id: ObjectId, body: RuleUpdate) -> RoutingRule:
    caller = caller_of(request)
    rule: RoutingRule = get_or_404(
        visible(RoutingRule.objects, caller, "view_org"), rule_id, "routing rule"
    )
    require(caller, "manage_org")
    sent = body.model_dump(exclude_unset=True)
    changes: dict[str, Any] = {}
    if "channel_id" in sent:
        changes["channel"] = _channel(caller, sent.pop("channel_id"))
    if "brand_id" in sent:
        changes["brand"] = _brand(caller, sent.pop("brand_id"))
    if "set_team_id" in sent:
        changes["set_team"] = _team(caller, sent.pop("set_team_id"))
    if "set_assignee_id" in sent:
        changes["set_assignee"] = optional_member(caller, sent.pop("set_assignee_id"), "assignee")
    if "auto_reply_id" in sent:
        changes["auto_reply"] = _saved_reply(caller, sent.pop("auto_reply_id"))
    changes.update(sent)
    if not changes:
        return rule
    return actions.do_save_routing_rule(
        caller.organization, rule=rule, acting_user=caller.user, **changes
    )


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
