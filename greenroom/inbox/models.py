"""The community inbox: people, conversations and their messages, SLA policies, routing rules,
saved replies, agents' availability and the numbers the staffing model reads."""

from __future__ import annotations

from typing import ClassVar

from django.db import models
from django.db.models import Q
from django.utils import timezone as tz
from django.utils.translation import gettext_lazy as _

from greenroom.core.models import TIMEZONE_CHOICES
from greenroom.core.restrict import RestrictedManager


class ConversationKind(models.TextChoices):
    COMMENT = "comment", _("Comment thread")
    MENTION = "mention", _("Mention")
    DM = "dm", _("Direct message")


class ConversationStatus(models.TextChoices):
    OPEN = "open", _("Open")
    PENDING = "pending", _("Pending")
    SNOOZED = "snoozed", _("Snoozed")
    CLOSED = "closed", _("Closed")


class Priority(models.TextChoices):
    LOW = "low", _("Low")
    NORMAL = "normal", _("Normal")
    HIGH = "high", _("High")
    URGENT = "urgent", _("Urgent")


PRIORITY_RANK = {Priority.LOW: 0, Priority.NORMAL: 1, Priority.HIGH: 2, Priority.URGENT: 3}


class Sentiment(models.TextChoices):
    POSITIVE = "positive", _("Positive")
    NEUTRAL = "neutral", _("Neutral")
    NEGATIVE = "negative", _("Negative")


class Contact(models.Model):
    """One person on one network, known by their handle; their conversations on every channel
    of the organisation on that network form their history."""

    restrict_org = "organization"
    restrict_channel: ClassVar[str | None] = None

    # The unique (organization, network, handle) index serves lookups by organization.
    organization = models.ForeignKey(
        "core.Organization", on_delete=models.CASCADE, related_name="+", db_index=False
    )
    network = models.CharField(_("network"), max_length=32)
    handle = models.CharField(_("handle"), max_length=200)
    name = models.CharField(_("name"), max_length=200, blank=True)
    is_vip = models.BooleanField(_("VIP"), default=False)
    is_customer = models.BooleanField(_("known customer"), default=False)
    notes = models.TextField(_("notes"), blank=True)
    first_seen_at = models.DateTimeField(default=tz.now)
    last_seen_at = models.DateTimeField(default=tz.now)
    messages_in = models.PositiveIntegerField(default=0)

    objects = RestrictedManager["Contact"]()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "network", "handle"], name="inbox_contact_unique_handle"
            )
        ]

    def __str__(self) -> str:
        return f"{self.name or self.handle} ({self.network})"


class BusinessHours(models.Model):
    """When the team answers: opening intervals per weekday and holidays, in a time zone (empty:
    the channel's zone)."""

    restrict_org = "organization"
    restrict_channel: ClassVar[str | None] = None

    organization = models.ForeignKey(
        "core.Organization", on_delete=models.CASCADE, related_name="+"
    )
    name = models.CharField(_("name"), max_length=200)
    timezone = models.CharField(_("time zone"), max_length=64, blank=True, choices=TIMEZONE_CHOICES)
    # Seven lists (Monday first) of ["HH:MM", "HH:MM"] opening intervals.
    weekly = models.JSONField(default=list)
    # ISO dates ("2026-12-25") when the team does not answer.
    holidays = models.JSONField(default=list, blank=True)
    # Optional names of those dates ({"2026-12-25": "Christmas Day"}), for people reading them.
    holiday_names = models.JSONField(default=dict, blank=True)

    objects = RestrictedManager["BusinessHours"]()

    def __str__(self) -> str:
        return self.name


class SlaPolicy(models.Model):
    """Response targets. The most specific active policy that matches a conversation applies
    (channel beats brand; priority and kind add specificity); none matching: 24 h, 24/7."""

    restrict_org = "organization"
    restrict_channel: ClassVar[str | None] = None

    organization = models.ForeignKey(
        "core.Organization", on_delete=models.CASCADE, related_name="+"
    )
    name = models.CharField(_("name"), max_length=200)
    brand = models.ForeignKey(
        "core.Brand", null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    channel = models.ForeignKey(
        "core.Channel", null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    priority = models.CharField(max_length=16, blank=True, choices=Priority.choices)
    kind = models.CharField(max_length=16, blank=True, choices=ConversationKind.choices)
    first_response_minutes = models.PositiveIntegerField(default=24 * 60)
    next_response_minutes = models.PositiveIntegerField(null=True, blank=True)
    resolution_minutes = models.PositiveIntegerField(null=True, blank=True)
    business_hours = models.ForeignKey(
        BusinessHours, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    warn_at_share = models.FloatField(default=0.75)
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(default=tz.now)

    objects = RestrictedManager["SlaPolicy"]()

    def __str__(self) -> str:
        return self.name


class SavedReply(models.Model):
    """A reply template; {first_name}, {name}, {handle}, {agent}, {brand}, {channel} are filled
    in when it is used."""

    restrict_org = "organization"
    restrict_channel: ClassVar[str | None] = None

    organization = models.ForeignKey(
        "core.Organization", on_delete=models.CASCADE, related_name="+"
    )
    brand = models.ForeignKey(
        "core.Brand", null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    title = models.CharField(_("title"), max_length=200)
    body = models.TextField(_("text"))
    language = models.CharField(_("language"), max_length=8, blank=True)
    # Off: kept (rules may name it), but not offered to agents nor sent as an automatic reply.
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(default=tz.now)

    objects = RestrictedManager["SavedReply"]()

    class Meta:
        ordering = ["title"]

    def __str__(self) -> str:
        return self.title


class RoutingRule(models.Model):
    """Conditions (all given ones must match) and actions. Rules run in `position` order; for
    team, assignee, priority and auto-reply the first matching rule that sets one wins; tags add
    up; any match that requires approval requires it; `stop` ends the evaluation."""

    restrict_org = "organization"
    restrict_channel: ClassVar[str | None] = None

    organization = models.ForeignKey(
        "core.Organization", on_delete=models.CASCADE, related_name="+"
    )
    name = models.CharField(_("name"), max_length=200)
    position = models.PositiveIntegerField(default=100)
    is_active = models.BooleanField(default=True)
    # Conditions; empty means "any".
    channel = models.ForeignKey(
        "core.Channel", null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    brand = models.ForeignKey(
        "core.Brand", null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    network = models.CharField(max_length=32, blank=True)
    kind = models.CharField(max_length=16, blank=True, choices=ConversationKind.choices)
    language = models.CharField(max_length=8, blank=True)
    sentiment = models.CharField(max_length=16, blank=True, choices=Sentiment.choices)
    # Any of these words or phrases (one per line or comma-separated), case-insensitive.
    keywords = models.TextField(blank=True)
    author_is_vip = models.BooleanField(null=True, blank=True)
    author_is_customer = models.BooleanField(null=True, blank=True)
    # Actions.
    set_team = models.ForeignKey(
        "core.Team", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    set_assignee = models.ForeignKey(
        "core.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    set_priority = models.CharField(max_length=16, blank=True, choices=Priority.choices)
    add_tags = models.JSONField(default=list, blank=True)
    auto_reply = models.ForeignKey(
        SavedReply, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    require_approval = models.BooleanField(default=False)
    # With require_approval: approvers' own replies wait too, and nobody approves their own.
    four_eyes = models.BooleanField(_("nobody approves their own reply"), default=False)
    stop = models.BooleanField(_("stop after this rule"), default=False)
    created_at = models.DateTimeField(default=tz.now)

    objects = RestrictedManager["RoutingRule"]()

    class Meta:
        ordering = ["position", "pk"]

    def __str__(self) -> str:
        return self.name


class AgentStatus(models.TextChoices):
    ON_SHIFT = "on_shift", _("On shift")
    AWAY = "away", _("Away")


class AgentProfile(models.Model):
    """An agent's availability and how many open conversations they take at once."""

    restrict_org = "organization"
    restrict_channel: ClassVar[str | None] = None

    organization = models.ForeignKey(
        "core.Organization", on_delete=models.CASCADE, related_name="+"
    )
    user = models.ForeignKey("core.User", on_delete=models.CASCADE, related_name="+")
    status = models.CharField(max_length=16, choices=AgentStatus.choices, default="on_shift")
    capacity = models.PositiveIntegerField(default=20)
    # Round robin: the agent assigned longest ago goes next.
    last_assigned_at = models.DateTimeField(null=True, blank=True)
    # An apprise URL for escalations to this person, kept in the vault under this name.
    notify_secret = models.ForeignKey(
        "core.Secret", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    objects = RestrictedManager["AgentProfile"]()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["organization", "user"], name="inbox_agent_unique")
        ]

    def __str__(self) -> str:
        return f"{self.user} ({self.status})"


class Conversation(models.Model):
    """A comment thread, a mention (and its replies) or a direct-message thread with one person."""

    restrict_org = "organization"
    restrict_channel: ClassVar[str | None] = "channel"

    # Every index is written on each new conversation (one per message or so): organization,
    # channel and contact lead the composite indexes below, so they have none of their own.
    organization = models.ForeignKey(
        "core.Organization", on_delete=models.CASCADE, related_name="+", db_index=False
    )
    channel = models.ForeignKey(
        "core.Channel", on_delete=models.CASCADE, related_name="+", db_index=False
    )
    # Copied from the channel so queues filter without a join.
    brand = models.ForeignKey("core.Brand", on_delete=models.CASCADE, related_name="+")
    network = models.CharField(max_length=32)
    kind = models.CharField(max_length=16, choices=ConversationKind.choices)
    # "c:<root id>", "m:<root id>" or "dm:<thread>": unique per channel.
    thread_key = models.CharField(max_length=250)
    # The published post a comment thread answers (the network's id of it).
    post_external_id = models.CharField(max_length=200, blank=True)
    contact = models.ForeignKey(
        Contact,
        null=True,
        on_delete=models.SET_NULL,
        related_name="conversations",
        db_index=False,
    )
    status = models.CharField(
        max_length=16, choices=ConversationStatus.choices, default=ConversationStatus.OPEN
    )
    snoozed_until = models.DateTimeField(null=True, blank=True)
    assignee = models.ForeignKey(
        "core.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    team = models.ForeignKey(
        "core.Team", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    priority = models.CharField(max_length=16, choices=Priority.choices, default=Priority.NORMAL)
    tags = models.JSONField(default=list, blank=True)
    language = models.CharField(max_length=8, blank=True)
    sentiment = models.CharField(max_length=16, choices=Sentiment.choices, blank=True)
    is_spam = models.BooleanField(default=False)
    is_abusive = models.BooleanField(default=False)
    requires_approval = models.BooleanField(default=False)
    # Every reply waits, an approver's too, for someone other than its author.
    four_eyes = models.BooleanField(default=False)
    preview = models.CharField(max_length=200, blank=True)
    # SLA clocks: each due/warn pair is set while that clock runs, null once it stopped.
    sla_policy = models.ForeignKey(
        SlaPolicy, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    first_response_due_at = models.DateTimeField(null=True, blank=True)
    next_response_due_at = models.DateTimeField(null=True, blank=True)
    resolution_due_at = models.DateTimeField(null=True, blank=True)
    # The earliest running clock and its warning time, for the queues.
    sla_due_at = models.DateTimeField(null=True, blank=True)
    sla_warn_at = models.DateTimeField(null=True, blank=True)
    sla_breached = models.BooleanField(default=False)
    created_at = models.DateTimeField(default=tz.now)
    last_message_at = models.DateTimeField(default=tz.now)
    # The first inbound message still unanswered (starts the response clocks).
    waiting_since = models.DateTimeField(null=True, blank=True)
    first_response_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    messages_in = models.PositiveIntegerField(default=0)
    messages_out = models.PositiveIntegerField(default=0)

    objects = RestrictedManager["Conversation"]()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["channel", "thread_key"], name="inbox_conversation_unique_thread"
            )
        ]
        indexes = [
            # The queues read the earliest due first: closed conversations have no due time,
            # so these indexes serve "unassigned", "mine" and "all open" in index order.
            models.Index(
                fields=["organization", "assignee", "sla_due_at"], name="inbox_conv_queue"
            ),
            models.Index(fields=["organization", "sla_due_at"], name="inbox_conv_due"),
            models.Index(fields=["organization", "status", "sla_warn_at"], name="inbox_conv_warn"),
            models.Index(fields=["contact", "-last_message_at"], name="inbox_conv_contact"),
            # Only snoozed conversations are in it, so new ones never write it.
            models.Index(
                fields=["snoozed_until"],
                condition=Q(status="snoozed"),
                name="inbox_conv_snoozed_until",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} #{self.pk}"


class Direction(models.TextChoices):
    INBOUND = "in", _("Received")
    OUTBOUND = "out", _("Sent")
    NOTE = "note", _("Internal note")


class DeliveryStatus(models.TextChoices):
    RECEIVED = "received", _("Received")
    AWAITING_APPROVAL = "awaiting_approval", _("Waiting for approval")
    SENDING = "sending", _("Sending")
    SENT = "sent", _("Sent")
    FAILED = "failed", _("Failed")
    REJECTED = "rejected", _("Rejected")


class Message(models.Model):
    """One message in a conversation: what someone wrote to us, what we answered, or an internal
    note. `text` and `raw` are untrusted when they came from a network."""

    restrict_org = "organization"
    restrict_channel: ClassVar[str | None] = "channel"

    # Indexes are kept to what queries use (every index is written on each of many inserts):
    # organization, channel and conversation lead composite indexes below.
    organization = models.ForeignKey(
        "core.Organization", on_delete=models.CASCADE, related_name="+", db_index=False
    )
    channel = models.ForeignKey(
        "core.Channel", on_delete=models.CASCADE, related_name="+", db_index=False
    )
    conversation = models.ForeignKey(
        Conversation, on_delete=models.CASCADE, related_name="messages", db_index=False
    )
    direction = models.CharField(max_length=8, choices=Direction.choices)
    status = models.CharField(
        max_length=24, choices=DeliveryStatus.choices, default=DeliveryStatus.RECEIVED
    )
    # The network's id; empty for notes and replies not yet sent.
    external_id = models.CharField(max_length=200, blank=True)
    in_reply_to = models.CharField(max_length=200, blank=True)
    contact = models.ForeignKey(
        Contact, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", db_index=False
    )
    author = models.ForeignKey(
        "core.User",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        db_index=False,
    )
    author_handle = models.CharField(max_length=200, blank=True)
    author_name = models.CharField(max_length=200, blank=True)
    text = models.TextField(blank=True)
    attachments = models.JSONField(default=list, blank=True)
    raw = models.JSONField(default=dict, blank=True)
    language = models.CharField(max_length=8, blank=True)
    sentiment = models.CharField(max_length=16, choices=Sentiment.choices, blank=True)
    sentiment_score = models.FloatField(null=True, blank=True)
    is_spam = models.BooleanField(default=False)
    is_abusive = models.BooleanField(default=False)
    hidden_at = models.DateTimeField(null=True, blank=True)
    # Deleted on the network by us: the row (and its text) stays for the record.
    deleted_at = models.DateTimeField(null=True, blank=True)
    # When the network says it was written, and when it reached us.
    sent_at = models.DateTimeField(default=tz.now)
    created_at = models.DateTimeField(default=tz.now)
    # For replies: seconds the agent spent writing it, who approved it, why it failed.
    handle_seconds = models.FloatField(null=True, blank=True)
    approved_by = models.ForeignKey(
        "core.User",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        db_index=False,
    )
    error = models.CharField(max_length=500, blank=True)
    # People @mentioned in an internal note.
    mentions = models.JSONField(default=list, blank=True)

    objects = RestrictedManager["Message"]()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["channel", "external_id"],
                condition=~Q(external_id=""),
                name="inbox_message_unique_external_id",
            )
        ]
        indexes = [
            models.Index(fields=["conversation", "sent_at"], name="inbox_msg_thread"),
            models.Index(fields=["channel", "in_reply_to"], name="inbox_msg_parent"),
            # Replies waiting for approval (the approvals page, the queue's badge); inbound
            # messages never enter it.
            models.Index(
                fields=["organization"],
                condition=Q(status="awaiting_approval"),
                name="inbox_msg_awaiting",
            ),
            # Replies on their way to the network (the stuck-reply sweep, every minute); a
            # reply leaves it when the network confirms or refuses.
            models.Index(
                fields=["created_at"],
                condition=Q(status="sending"),
                name="inbox_msg_sending",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_direction_display()} {self.external_id or self.pk}"

    @property
    def attachment_links(self) -> list[dict[str, str]]:
        """The photos and videos the message carries, as links to open on the network: their
        type, web address and description. Only http(s) addresses: a payload is hostile, and a
        javascript: or data: address is left out."""
        shown = []
        for found in self.attachments if isinstance(self.attachments, list) else []:
            if not isinstance(found, dict):
                continue
            url = str(found.get("url") or found.get("preview_url") or "")
            if not url.startswith(("https://", "http://")):
                continue
            shown.append(
                {
                    "type": str(found.get("type") or ""),
                    "url": url,
                    "alt": str(found.get("alt") or found.get("alt_text") or "")[:300],
                }
            )
        return shown


class UnreadableEvent(models.Model):
    """An inbound event the inbox could not read (kept so it is not retried forever)."""

    event = models.OneToOneField(
        "networks.InboundEvent", on_delete=models.CASCADE, related_name="+"
    )
    error = models.CharField(max_length=500)
    created_at = models.DateTimeField(default=tz.now)

    def __str__(self) -> str:
        return f"event {self.event_id}: {self.error}"


class SlaClock(models.TextChoices):
    FIRST_RESPONSE = "first_response", _("First response")
    NEXT_RESPONSE = "next_response", _("Next response")
    RESOLUTION = "resolution", _("Resolution")


class SlaLevel(models.TextChoices):
    WARNING = "warning", _("Warning")
    BREACH = "breach", _("Breach")


class SlaEvent(models.Model):
    """A warning or breach of one clock, recorded once per due time (so it escalates once)."""

    restrict_org = "organization"
    restrict_channel: ClassVar[str | None] = "conversation__channel"

    organization = models.ForeignKey(
        "core.Organization", on_delete=models.CASCADE, related_name="+"
    )
    conversation = models.ForeignKey(
        Conversation, on_delete=models.CASCADE, related_name="sla_events"
    )
    clock = models.CharField(max_length=24, choices=SlaClock.choices)
    level = models.CharField(max_length=16, choices=SlaLevel.choices)
    due_at = models.DateTimeField()
    created_at = models.DateTimeField(default=tz.now)
    notified = models.JSONField(default=list, blank=True)

    objects = RestrictedManager["SlaEvent"]()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["conversation", "clock", "level", "due_at"], name="inbox_sla_event_once"
            )
        ]

    def __str__(self) -> str:
        return f"{self.clock} {self.level} on {self.conversation_id}"


class ActivityKind(models.TextChoices):
    MESSAGE_IN = "message_in", _("Message received")
    MESSAGE_OUT = "message_out", _("Reply sent")
    FIRST_RESPONSE = "first_response", _("First response")
    RESPONSE = "response", _("Response")
    HANDLE = "handle", _("Handle time")
    RESOLUTION = "resolution", _("Resolution")
    BREACH = "breach", _("SLA breach")


class InboxActivity(models.Model):
    """One measured event, for analytics and the staffing model (arrival rates, response,
    handle and resolution times, breaches), with its hour of the week in the channel's zone.

    Append-only. `seconds` is the measured duration (response, handle or resolution time);
    arrivals and replies carry none.
    """

    restrict_org = "organization"
    restrict_channel: ClassVar[str | None] = "channel"

    # organization and channel lead the composite indexes below; brand and agent are read
    # through aggregates over those.
    organization = models.ForeignKey(
        "core.Organization", on_delete=models.CASCADE, related_name="+", db_index=False
    )
    channel = models.ForeignKey(
        "core.Channel", on_delete=models.CASCADE, related_name="+", db_index=False
    )
    brand = models.ForeignKey(
        "core.Brand", on_delete=models.CASCADE, related_name="+", db_index=False
    )
    conversation = models.ForeignKey(
        Conversation, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    agent = models.ForeignKey(
        "core.User",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        db_index=False,
    )
    kind = models.CharField(max_length=24, choices=ActivityKind.choices)
    at = models.DateTimeField()
    # 0 = Monday 00:00-01:00 ... 167 = Sunday 23:00-24:00, in the channel's time zone.
    hour_of_week = models.PositiveSmallIntegerField()
    seconds = models.FloatField(null=True, blank=True)
    # Business-hours seconds for response and resolution times (what the SLA counts).
    business_seconds = models.FloatField(null=True, blank=True)

    objects = RestrictedManager["InboxActivity"]()

    class Meta:
        indexes = [
            models.Index(fields=["organization", "kind", "at"], name="inbox_activity_kind"),
            models.Index(fields=["channel", "at"], name="inbox_activity_channel"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} at {self.at:%Y-%m-%d %H:%M}"
