"""Posts, their per-channel variants, approvals, publishing pauses and the engine's bookkeeping.

A `Post` is what a person composes once; a `Variant` is that post on one channel, with its own
text (inherited from the post until edited), placement, schedule and state. The engine
(engine.py) moves variants through their states with conditional UPDATEs; a post's state is
derived from its variants (`derive_post_state`) and stored so lists can filter on it.

Who sees what (docs/architecture/publishing.md, "Access"):
- a Variant belongs to its channel: `restrict(user, perm)` is the channel's permission;
- a Post is visible to whoever holds the permission on any of its channels; a post that has no
  channel yet is visible to its author and to people holding the permission over its brand;
- campaigns, approval policies and pauses are organisation-wide things.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any, ClassVar

from django.conf import settings
from django.db import models
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone as tz
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from greenroom.core.restrict import Access, RestrictedManager, RestrictedQuerySet

if TYPE_CHECKING:
    from greenroom.core.models import User


# --- States --------------------------------------------------------------------------------------


class VariantState(models.TextChoices):
    DRAFT = "draft", _("Draft")
    IN_APPROVAL = "in_approval", _("In approval")
    APPROVED = "approved", _("Approved")
    SCHEDULED = "scheduled", _("Scheduled")
    PUBLISHING = "publishing", pgettext_lazy("state", "Publishing")
    PUBLISHED = "published", _("Published")
    FAILED = "failed", _("Failed")
    NEEDS_NEW_TIME = "needs_new_time", _("Needs a new time")
    CANCELLED = "cancelled", _("Cancelled")


class FirstCommentState(models.TextChoices):
    """Where a variant's first comment is (greenroom/publishing/first_comments.py). It never
    changes the variant's own state: the post is published whatever happens to its comment."""

    NONE = "", _("Not due")  # no first comment, or the post is not published yet
    PENDING = "pending", _("Waiting to be posted")
    SENDING = "sending", _("Being posted")
    SENT = "sent", _("Posted")
    FAILED = "failed", _("Failed")


class PostState(models.TextChoices):
    DRAFT = "draft", _("Draft")
    IN_APPROVAL = "in_approval", _("In approval")
    CHANGES_REQUESTED = "changes_requested", _("Changes requested")
    APPROVED = "approved", _("Approved")
    SCHEDULED = "scheduled", _("Scheduled")
    PUBLISHING = "publishing", pgettext_lazy("state", "Publishing")
    PUBLISHED = "published", _("Published")
    PARTIALLY_PUBLISHED = "partially_published", _("Partially published")
    FAILED = "failed", _("Failed")
    NEEDS_NEW_TIME = "needs_new_time", _("Needs a new time")
    CANCELLED = "cancelled", _("Cancelled")


# Variants in these states can still change; the others are settled or in the engine's hands.
EDITABLE_STATES = frozenset({VariantState.DRAFT})
SETTLED_STATES = frozenset({VariantState.PUBLISHED, VariantState.CANCELLED})


def derive_post_state(variant_states: Iterable[str], *, changes_requested: bool) -> PostState:
    """A post's state from its variants' states (see docs/architecture/publishing.md).

    Honest about mixed outcomes: some channels published and others failed is "partially
    published", never "published".
    """
    every = list(variant_states)
    live = {s for s in every if s != VariantState.CANCELLED}
    if not every:
        return PostState.CHANGES_REQUESTED if changes_requested else PostState.DRAFT
    if not live:
        return PostState.CANCELLED
    if live == {VariantState.PUBLISHED}:
        return PostState.PUBLISHED
    if VariantState.PUBLISHED in live:
        if live & {VariantState.SCHEDULED, VariantState.PUBLISHING}:
            return PostState.PUBLISHING
        return PostState.PARTIALLY_PUBLISHED
    if VariantState.PUBLISHING in live:
        return PostState.PUBLISHING
    if VariantState.FAILED in live:
        return PostState.FAILED
    if VariantState.NEEDS_NEW_TIME in live:
        return PostState.NEEDS_NEW_TIME
    if VariantState.SCHEDULED in live:
        return PostState.SCHEDULED
    if VariantState.IN_APPROVAL in live:
        return PostState.IN_APPROVAL
    if VariantState.DRAFT in live:
        return PostState.CHANGES_REQUESTED if changes_requested else PostState.DRAFT
    return PostState.APPROVED


# --- Campaigns -----------------------------------------------------------------------------------


class Campaign(models.Model):
    """A named group of posts (a launch, a season) with a colour for the calendar."""

    restrict_org = "organization"
    restrict_channel: ClassVar[str | None] = None

    organization = models.ForeignKey(
        "core.Organization", on_delete=models.CASCADE, related_name="campaigns"
    )
    name = models.CharField(_("name"), max_length=200)
    # A CSS hex colour (#RRGGBB), validated by the action.
    colour = models.CharField(_("colour"), max_length=7, default="#2f6f4f")
    created_at = models.DateTimeField(default=tz.now)

    objects = RestrictedManager["Campaign"]()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["organization", "name"], name="campaign_unique_name")
        ]
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


# --- Posts and variants --------------------------------------------------------------------------


class PostQuerySet(RestrictedQuerySet["Post"]):
    def restrict(self, user: User | Any, perm: str = "view") -> PostQuerySet:
        """Posts with a variant on a channel where `user` holds `perm`; channel-less drafts for
        their author and for people holding `perm` over the post's brand."""
        access = Access.of(user)
        through_channels = Variant.objects.restrict(user, perm).values("post_id")
        brand_scope = Q(pk__in=[])
        for scope in access.scopes:
            if perm not in scope.perms:
                continue
            if scope.brand_ids is None:
                brand_scope |= Q(organization_id=scope.org_id)
            else:
                brand_scope |= Q(organization_id=scope.org_id, brand_id__in=scope.brand_ids)
        author_scope = Q(pk__in=[])
        if getattr(user, "pk", None) is not None:
            author_scope = Q(author_id=user.pk, organization_id__in=access.org_ids("view"))
        channel_less = ~Exists(Variant.objects.filter(post_id=OuterRef("pk")))
        return self.filter(
            Q(pk__in=through_channels) | (channel_less & (brand_scope | author_scope))
        )


class PostManager(RestrictedManager["Post"]):
    def get_queryset(self) -> PostQuerySet:
        return PostQuerySet(self.model, using=self._db)

    def restrict(self, user: User | Any, perm: str = "view") -> PostQuerySet:
        return self.get_queryset().restrict(user, perm)


class Post(models.Model):
    """What a person composes once: the master text, its channels (variants) and approvals."""

    restrict_org = "organization"
    # Documentation only: Post overrides restrict() (any of its channels, see PostQuerySet).
    restrict_channel: ClassVar[str | None] = "variants__channel"

    organization = models.ForeignKey(
        "core.Organization", on_delete=models.CASCADE, related_name="posts"
    )
    # The brand the post speaks for; null when its channels span several brands.
    brand = models.ForeignKey(
        "core.Brand", null=True, blank=True, on_delete=models.PROTECT, related_name="posts"
    )
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="posts"
    )
    text = models.TextField(_("text"), blank=True)
    # The master link; variants inherit it (with their own UTM parameters) unless they set one.
    link = models.URLField(_("link"), max_length=2000, blank=True)
    campaign = models.ForeignKey(
        Campaign, null=True, blank=True, on_delete=models.SET_NULL, related_name="posts"
    )
    # Paid for or advertising: publishing policies may then require a disclosure (#ad, #광고).
    sponsored = models.BooleanField(_("sponsored"), default=False)
    state = models.CharField(
        _("state"), max_length=32, choices=PostState.choices, default=PostState.DRAFT
    )
    # Set when an approver requests changes; cleared on the next submission.
    changes_requested = models.BooleanField(default=False)
    # Each submission for approval opens a new round; decisions of earlier rounds stay as history.
    approval_round = models.PositiveIntegerField(default=0)
    submitted_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=tz.now)
    updated_at = models.DateTimeField(default=tz.now)

    objects = PostManager()

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["organization", "state"])]

    def __str__(self) -> str:
        first_line = (self.text.strip().splitlines() or [""])[0]
        snippet = first_line[:60] + ("…" if len(first_line) > 60 else "")
        return snippet or f"Post #{self.pk}"


def new_idempotency_key() -> str:
    # Stable for the variant's whole life: every resend of the same variant carries it.
    return f"gr-{uuid.uuid4().hex}"


class Variant(models.Model):
    """One post on one channel: its own text, placement, schedule and publishing state."""

    restrict_org = "channel__organization"
    restrict_channel: ClassVar[str | None] = "channel"

    post = models.ForeignKey(Post, on_delete=models.CASCADE, related_name="variants")
    channel = models.ForeignKey("core.Channel", on_delete=models.PROTECT, related_name="variants")
    # A placement key of the channel's network in the rule table (feed, reels, story ...).
    placement = models.CharField(_("placement"), max_length=32, default="feed")
    text = models.TextField(_("text"), blank=True)
    # False: `text` follows the post's master text; True: edited for this channel.
    text_overridden = models.BooleanField(default=False)
    first_comment = models.TextField(_("first comment"), blank=True)
    link = models.URLField(_("link"), max_length=2000, blank=True)
    # utm_source, utm_medium, utm_campaign ... added to the link when it is published.
    utm = models.JSONField(default=dict, blank=True)
    # One alt text per media item, in the same order as `media`.
    alt_texts = models.JSONField(default=list, blank=True)
    # Media asset ids (greenroom.media), in order. Not a foreign key: the media app owns assets.
    media = models.JSONField(default=list, blank=True)
    # What this post asks of its network beyond text and media (YouTube's privacy, TikTok's
    # privacy level ...): keys of greenroom.publishing.options, copied into OutgoingPost.extra.
    options = models.JSONField(_("network options"), default=dict, blank=True)
    state = models.CharField(
        _("state"), max_length=32, choices=VariantState.choices, default=VariantState.DRAFT
    )
    publish_at = models.DateTimeField(_("publish at"), null=True, blank=True)
    idempotency_key = models.CharField(max_length=64, unique=True, default=new_idempotency_key)
    # The engine's lease: who holds the variant while publishing, and until when.
    lease_token = models.CharField(max_length=64, blank=True)
    lease_expires_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    # True when an earlier attempt may have reached the network: ask find_published first.
    outcome_unknown = models.BooleanField(default=False)
    external_id = models.CharField(_("external id"), max_length=200, blank=True)
    external_url = models.URLField(_("link on the network"), max_length=2000, blank=True)
    # What went wrong, in words a person reads, and the network's own code.
    last_error = models.TextField(_("error"), blank=True)
    error_code = models.CharField(_("network error code"), max_length=100, blank=True)
    published_at = models.DateTimeField(_("published at"), null=True, blank=True)
    # The first comment, posted under the published post by greenroom.publishing.first_comments.
    first_comment_state = models.CharField(
        _("first comment"),
        max_length=16,
        choices=FirstCommentState.choices,
        default=FirstCommentState.NONE,
        blank=True,
    )
    first_comment_attempts = models.PositiveIntegerField(default=0)
    # Pending: not before this time. Sending: the claim's expiry (past it, its worker is gone).
    first_comment_next_attempt_at = models.DateTimeField(null=True, blank=True)
    first_comment_external_id = models.CharField(max_length=200, blank=True)
    first_comment_url = models.URLField(max_length=2000, blank=True)
    # What went wrong with the first comment, in words a person reads, and the network's code.
    first_comment_error = models.TextField(blank=True)
    first_comment_error_code = models.CharField(max_length=100, blank=True)
    first_comment_sent_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=tz.now)
    updated_at = models.DateTimeField(default=tz.now)

    objects = RestrictedManager["Variant"]()

    class Meta:
        ordering = ["post_id", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["post", "channel"], name="variant_one_per_channel")
        ]
        indexes = [
            # The claim: WHERE state='scheduled' AND publish_at<=now AND next_attempt_at<=now.
            models.Index(fields=["state", "next_attempt_at"], name="variant_due"),
            # The reconciler: WHERE state='publishing' AND lease_expires_at<now.
            models.Index(fields=["state", "lease_expires_at"], name="variant_lease"),
            models.Index(fields=["publish_at"], name="variant_publish_at"),
            # The first-comment sweep: WHERE first_comment_state IN (...) AND ..._at < now.
            models.Index(
                fields=["first_comment_state", "first_comment_next_attempt_at"],
                name="variant_first_comment_due",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.post} on {self.channel}"


class AttemptOutcome(models.TextChoices):
    PUBLISHED = "published", _("Published")
    FOUND = "found", _("Found already published")
    RETRY = "retry", _("Will retry")
    UNKNOWN = "unknown", _("Outcome unknown")
    FAILED = "failed", _("Failed")
    PAUSED = "paused", _("Held by a pause")
    LEASE_LOST = "lease_lost", _("Taken over by another worker")


class PublishAttempt(models.Model):
    """One try of the engine at one variant: when, by which worker, and how it ended."""

    restrict_org = "variant__channel__organization"
    restrict_channel: ClassVar[str | None] = "variant__channel"

    variant = models.ForeignKey(Variant, on_delete=models.CASCADE, related_name="attempts_log")
    number = models.PositiveIntegerField(default=1)
    started_at = models.DateTimeField(default=tz.now)
    finished_at = models.DateTimeField(null=True, blank=True)
    outcome = models.CharField(max_length=16, choices=AttemptOutcome.choices, blank=True)
    error = models.TextField(blank=True)
    error_code = models.CharField(max_length=100, blank=True)
    worker = models.CharField(max_length=200, blank=True)

    objects = RestrictedManager["PublishAttempt"]()

    class Meta:
        ordering = ["started_at", "pk"]

    def __str__(self) -> str:
        return f"attempt {self.number} of variant {self.variant_id}: {self.outcome or 'running'}"


# --- Approvals -----------------------------------------------------------------------------------


class ApprovalPolicy(models.Model):
    """Who must approve posts for a brand or for one channel, in ordered steps.

    A channel's own policy wins over its brand's. A channel with neither needs no approver when
    the author may publish there, and one approver with the approve permission otherwise.
    """

    restrict_org = "organization"
    restrict_channel: ClassVar[str | None] = None

    organization = models.ForeignKey(
        "core.Organization", on_delete=models.CASCADE, related_name="approval_policies"
    )
    name = models.CharField(_("name"), max_length=200)
    brand = models.ForeignKey(
        "core.Brand", null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    channel = models.ForeignKey(
        "core.Channel", null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(default=tz.now)

    objects = RestrictedManager["ApprovalPolicy"]()

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(brand__isnull=False, channel__isnull=True)
                | Q(brand__isnull=True, channel__isnull=False),
                name="approval_policy_one_scope",
            )
        ]
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class ApprovalStep(models.Model):
    """One step of a policy: a team or named people, of whom `min_approvals` must approve."""

    restrict_org = "policy__organization"
    restrict_channel: ClassVar[str | None] = None

    policy = models.ForeignKey(ApprovalPolicy, on_delete=models.CASCADE, related_name="steps")
    order = models.PositiveIntegerField(default=0)
    name = models.CharField(_("name"), max_length=200)
    team = models.ForeignKey(
        "core.Team", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    approvers = models.ManyToManyField(settings.AUTH_USER_MODEL, blank=True, related_name="+")
    min_approvals = models.PositiveIntegerField(default=1)
    # How long the step's approvers have once it is their turn (none: until the post's time).
    respond_within = models.DurationField(_("respond within"), null=True, blank=True)

    objects = RestrictedManager["ApprovalStep"]()

    class Meta:
        ordering = ["policy_id", "order", "pk"]

    def __str__(self) -> str:
        return f"{self.policy}: {self.name}"


class Decision(models.TextChoices):
    APPROVE = "approve", _("Approved")
    REQUEST_CHANGES = "request_changes", _("Requested changes")


class ApprovalDecision(models.Model):
    """An approver's decision on a post in one approval round, with their comment."""

    restrict_org = "post__organization"
    restrict_channel: ClassVar[str | None] = None

    post = models.ForeignKey(Post, on_delete=models.CASCADE, related_name="decisions")
    # Null: the implicit step ("an approver") of channels without a policy.
    step = models.ForeignKey(
        ApprovalStep, null=True, blank=True, on_delete=models.SET_NULL, related_name="decisions"
    )
    round = models.PositiveIntegerField(default=1)
    approver = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    # Copied so the history survives the person being deleted or renamed.
    approver_name = models.CharField(max_length=200)
    decision = models.CharField(max_length=16, choices=Decision.choices)
    comment = models.TextField(_("comment"), blank=True)
    at = models.DateTimeField(default=tz.now)

    objects = RestrictedManager["ApprovalDecision"]()

    class Meta:
        ordering = ["at", "pk"]

    def __str__(self) -> str:
        return f"{self.approver_name}: {self.get_decision_display()} on post {self.post_id}"


class ApprovalReminder(models.Model):
    """A reminder sent for one step of one approval round, so each is sent once."""

    restrict_org = "post__organization"
    restrict_channel: ClassVar[str | None] = None

    class Kind(models.TextChoices):
        DUE_SOON = "due_soon", _("Due soon")
        OVERDUE = "overdue", _("Overdue")

    post = models.ForeignKey(Post, on_delete=models.CASCADE, related_name="approval_reminders")
    round = models.PositiveIntegerField()
    step_key = models.CharField(max_length=64)
    kind = models.CharField(max_length=16, choices=Kind.choices)
    due_at = models.DateTimeField()
    sent_at = models.DateTimeField(default=tz.now)

    objects = RestrictedManager["ApprovalReminder"]()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["post", "round", "step_key", "kind"], name="approval_reminder_once"
            )
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} reminder for post {self.post_id}, round {self.round}"


# --- Pauses --------------------------------------------------------------------------------------


class PauseScope(models.TextChoices):
    ORGANIZATION = "organization", _("Whole organisation")
    BRAND = "brand", _("Brand")
    REGION = "region", _("Region")
    CHANNEL = "channel", _("Channel")


class PublishingPauseQuerySet(RestrictedQuerySet["PublishingPause"]):
    def active(self, at: Any = None) -> PublishingPauseQuerySet:
        now = at or tz.now()
        return self.filter(lifted_at__isnull=True, starts_at__lte=now).filter(
            Q(ends_at__isnull=True) | Q(ends_at__gt=now)
        )


class PublishingPauseManager(RestrictedManager["PublishingPause"]):
    def get_queryset(self) -> PublishingPauseQuerySet:
        return PublishingPauseQuerySet(self.model, using=self._db)

    def active(self, at: Any = None) -> PublishingPauseQuerySet:
        return self.get_queryset().active(at)


class PublishingPause(models.Model):
    """Hold scheduled publishing for an organisation, a brand, a region or a channel.

    Checked when the engine claims due variants: held variants stay scheduled and wait, visibly,
    until the pause is lifted or its end time passes.
    """

    restrict_org = "organization"
    restrict_channel: ClassVar[str | None] = None

    organization = models.ForeignKey(
        "core.Organization", on_delete=models.CASCADE, related_name="publishing_pauses"
    )
    scope = models.CharField(_("scope"), max_length=16, choices=PauseScope.choices)
    brand = models.ForeignKey(
        "core.Brand", null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    region = models.CharField(_("region"), max_length=64, blank=True)
    channel = models.ForeignKey(
        "core.Channel", null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    reason = models.TextField(_("reason"))
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_by_name = models.CharField(max_length=200)
    starts_at = models.DateTimeField(_("from"), default=tz.now)
    ends_at = models.DateTimeField(_("until"), null=True, blank=True)
    lifted_at = models.DateTimeField(null=True, blank=True)
    lifted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=tz.now)

    objects = PublishingPauseManager()

    class Meta:
        ordering = ["-starts_at", "-pk"]
        indexes = [models.Index(fields=["lifted_at", "ends_at"], name="pause_active")]

    def __str__(self) -> str:
        return f"{self.get_scope_display()}: {self.scope_label}"

    @property
    def scope_label(self) -> str:
        if self.scope == PauseScope.BRAND and self.brand is not None:
            return str(self.brand)
        if self.scope == PauseScope.CHANNEL and self.channel is not None:
            return str(self.channel)
        if self.scope == PauseScope.REGION:
            return self.region
        return str(self.organization)

    def is_active(self, at: Any = None) -> bool:
        now = at or tz.now()
        return (
            self.lifted_at is None
            and self.starts_at <= now
            and (self.ends_at is None or self.ends_at > now)
        )


# --- Notifications -------------------------------------------------------------------------------


class Notification(models.Model):
    """Something a person must know about a post (approval landed too late, a channel failed).

    Shown on the publishing pages until read; also sent through apprise when configured.
    """

    restrict_org = "organization"
    restrict_channel: ClassVar[str | None] = None

    organization = models.ForeignKey(
        "core.Organization", on_delete=models.CASCADE, related_name="+"
    )
    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="publishing_notifications"
    )
    post = models.ForeignKey(
        Post, null=True, blank=True, on_delete=models.CASCADE, related_name="notifications"
    )
    kind = models.CharField(max_length=32)
    message = models.TextField()
    created_at = models.DateTimeField(default=tz.now)
    read_at = models.DateTimeField(null=True, blank=True)

    objects = RestrictedManager["Notification"]()

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["recipient", "read_at"], name="notification_unread")]

    def __str__(self) -> str:
        return f"{self.kind} for {self.recipient_id}"
