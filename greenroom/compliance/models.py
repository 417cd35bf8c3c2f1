"""Compliance: access reviews, policy rules checked before publishing, guidelines with versions
and acknowledgements, training records, and what a channel requires before its publish and
engage permissions take effect (docs/architecture/compliance.md).
"""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar

from django.db import models
from django.db.models import Q
from django.utils import timezone as tz
from django.utils.translation import gettext_lazy as _

from greenroom.core.models import Brand, Channel, ChannelGrant, Membership, Organization, User
from greenroom.core.permissions import ChannelPerm
from greenroom.core.restrict import RestrictedManager

DEFAULT_REVIEW_DAYS = 14
DEFAULT_REMIND_DAYS = 3

# --- Access reviews ------------------------------------------------------------------------------


class ComplianceSettings(models.Model):
    """Per organisation: whether access reviews start by themselves every quarter, and their
    pace."""

    restrict_org = "organization"
    restrict_channel: ClassVar[str | None] = None

    organization = models.OneToOneField(
        Organization, on_delete=models.CASCADE, related_name="compliance_settings"
    )
    quarterly_reviews = models.BooleanField(
        _("start an access review every quarter"), default=False
    )
    review_days = models.PositiveIntegerField(
        _("days reviewers have to decide"), default=DEFAULT_REVIEW_DAYS
    )
    remind_days = models.PositiveIntegerField(
        _("remind reviewers this many days before the deadline"), default=DEFAULT_REMIND_DAYS
    )
    # When the beat starts the next quarterly review (None: not scheduled).
    next_review_at = models.DateTimeField(_("next review starts"), null=True, blank=True)
    updated_at = models.DateTimeField(default=tz.now)

    objects = RestrictedManager["ComplianceSettings"]()

    def __str__(self) -> str:
        return f"compliance settings of {self.organization}"


class ReviewStatus(models.TextChoices):
    OPEN = "open", _("Open")
    CLOSED = "closed", _("Closed")


class AccessReview(models.Model):
    """A campaign: every membership and channel grant of an organisation, as it was when the
    campaign started, certified or revoked by each person's reviewer before a deadline."""

    restrict_org = "organization"
    restrict_channel: ClassVar[str | None] = None

    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="access_reviews"
    )
    name = models.CharField(_("name"), max_length=200)
    # None: started by the quarterly schedule.
    started_by = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    started_at = models.DateTimeField(default=tz.now)
    deadline = models.DateTimeField(_("deadline"))
    status = models.CharField(
        max_length=16, choices=ReviewStatus.choices, default=ReviewStatus.OPEN
    )
    closed_at = models.DateTimeField(null=True, blank=True)

    objects = RestrictedManager["AccessReview"]()

    class Meta:
        ordering = ["-started_at", "-pk"]
        indexes = [models.Index(fields=["status", "deadline"])]

    def __str__(self) -> str:
        return self.name


class ItemKind(models.TextChoices):
    MEMBERSHIP = "membership", _("Role")
    GRANT = "grant", _("Channel permission")


class ItemDecision(models.TextChoices):
    PENDING = "pending", _("Waiting for a decision")
    CERTIFIED = "certified", _("Certified")
    REVOKED = "revoked", _("Revoked")
    # The deadline passed without a decision: Greenroom revoked it.
    EXPIRED = "expired", _("Revoked at the deadline")
    # The deadline passed, but revoking was impossible (the organisation's last owner).
    NOT_REVOKED = "not_revoked", _("Could not be revoked")


DECIDED = frozenset(
    {ItemDecision.CERTIFIED, ItemDecision.REVOKED, ItemDecision.EXPIRED, ItemDecision.NOT_REVOKED}
)


class AccessReviewItem(models.Model):
    """One piece of access of one person, as it was when the review started."""

    restrict_org = "review__organization"
    restrict_channel: ClassVar[str | None] = None

    review = models.ForeignKey(AccessReview, on_delete=models.CASCADE, related_name="items")
    kind = models.CharField(max_length=16, choices=ItemKind.choices)
    person = models.ForeignKey(
        User, null=True, on_delete=models.SET_NULL, related_name="access_review_items"
    )
    # Names are copied so the record stays readable after people or channels are gone.
    person_name = models.CharField(max_length=200)
    membership = models.ForeignKey(
        Membership, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    grant = models.ForeignKey(
        ChannelGrant, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # The access as it was: a role with its brands (empty: every brand), or a permission on a
    # channel.
    role = models.CharField(max_length=32, blank=True)
    brand_names = models.JSONField(default=list, blank=True)
    channel = models.ForeignKey(
        Channel, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    channel_name = models.CharField(max_length=300, blank=True)
    permission = models.CharField(max_length=16, choices=ChannelPerm.choices, blank=True)
    reviewer = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    decision = models.CharField(
        max_length=16, choices=ItemDecision.choices, default=ItemDecision.PENDING
    )
    decided_by = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    decided_by_name = models.CharField(max_length=200, blank=True)
    decided_at = models.DateTimeField(null=True, blank=True)
    note = models.TextField(blank=True)

    objects = RestrictedManager["AccessReviewItem"]()

    class Meta:
        ordering = ["person_name", "kind", "channel_name", "permission", "pk"]
        indexes = [
            models.Index(fields=["review", "reviewer", "decision"]),
            models.Index(fields=["review", "decision"]),
        ]

    def __str__(self) -> str:
        return f"{self.person_name}: {self.access_label()}"

    def access_label(self) -> str:
        """The access in words: "Publisher (Acme Coffee)" or "publish on Coffee (x)"."""
        if self.kind == ItemKind.MEMBERSHIP:
            from greenroom.core.permissions import Role

            role = str(Role(self.role).label) if self.role in Role.values else self.role
            scope = ", ".join(self.brand_names) if self.brand_names else str(_("every brand"))
            return f"{role} ({scope})"
        perm = (
            str(ChannelPerm(self.permission).label)
            if self.permission in ChannelPerm.values
            else self.permission
        )
        return f"{perm}: {self.channel_name}"


class ReviewReminder(models.Model):
    """A reviewer was reminded of a review's deadline (once per review)."""

    review = models.ForeignKey(AccessReview, on_delete=models.CASCADE, related_name="reminders")
    reviewer = models.ForeignKey(User, on_delete=models.CASCADE, related_name="+")
    sent_at = models.DateTimeField(default=tz.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["review", "reviewer"], name="review_reminder_once")
        ]

    def __str__(self) -> str:
        return f"reminder of {self.review} to {self.reviewer_id}"


# --- Policy rules --------------------------------------------------------------------------------


class RuleKind(models.TextChoices):
    BANNED_TERMS = "banned_terms", _("Banned terms")
    DISCLOSURE = "disclosure", _("Required disclosure on sponsored posts")
    DOMAIN_ALLOW = "domain_allow", _("Links only to these domains")
    DOMAIN_BLOCK = "domain_block", _("No links to these domains")
    PERSONAL_DATA = "personal_data", _("No personal data")


class RuleEffect(models.TextChoices):
    BLOCK = "block", _("Block")
    WARN = "warn", _("Warn")


class PersonalData(models.TextChoices):
    PHONE = "phone", _("Phone numbers")
    EMAIL = "email", _("E-mail addresses")
    RRN = "rrn", _("Korean resident registration numbers")


class PolicyRule(models.Model):
    """A rule a post must follow, for a whole organisation, one brand or one region."""

    restrict_org = "organization"
    restrict_channel: ClassVar[str | None] = None

    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="policy_rules"
    )
    name = models.CharField(_("name"), max_length=200)
    kind = models.CharField(_("kind"), max_length=32, choices=RuleKind.choices)
    action = models.CharField(
        _("when broken"), max_length=8, choices=RuleEffect.choices, default=RuleEffect.BLOCK
    )
    # Empty brand and region: every channel of the organisation.
    brand = models.ForeignKey(
        Brand, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    region = models.CharField(_("region"), max_length=64, blank=True)
    # Banned terms, accepted disclosures (#ad, #광고) or domains, depending on the kind.
    terms = models.JSONField(default=list, blank=True)
    # Personal data kinds to look for (PersonalData values).
    data_kinds = models.JSONField(default=list, blank=True)
    # Why the rule exists, in words the author reads when the rule stops them.
    reason = models.TextField(_("why"), blank=True)
    is_active = models.BooleanField(default=True)
    created_by = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=tz.now)
    updated_at = models.DateTimeField(default=tz.now)

    objects = RestrictedManager["PolicyRule"]()

    class Meta:
        ordering = ["name", "pk"]
        indexes = [models.Index(fields=["organization", "is_active"])]

    def __str__(self) -> str:
        return self.name


# --- Guidelines and training ---------------------------------------------------------------------


class Guideline(models.Model):
    """A guideline document; its text lives in versions, the newest being `current_version`."""

    restrict_org = "organization"
    restrict_channel: ClassVar[str | None] = None

    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="guidelines"
    )
    title = models.CharField(_("title"), max_length=200)
    current_version = models.ForeignKey(
        "GuidelineVersion", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(default=tz.now)

    objects = RestrictedManager["Guideline"]()

    class Meta:
        ordering = ["title", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["organization", "title"], name="guideline_unique_title")
        ]

    def __str__(self) -> str:
        return self.title


class GuidelineVersion(models.Model):
    restrict_org = "guideline__organization"
    restrict_channel: ClassVar[str | None] = None

    guideline = models.ForeignKey(Guideline, on_delete=models.CASCADE, related_name="versions")
    number = models.PositiveIntegerField()
    # Plain text (a little markdown at most); always shown escaped.
    body = models.TextField(_("text"))
    changes = models.TextField(_("what changed"), blank=True)
    published_by = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    published_at = models.DateTimeField(default=tz.now)

    objects = RestrictedManager["GuidelineVersion"]()

    class Meta:
        ordering = ["guideline_id", "-number"]
        constraints = [
            models.UniqueConstraint(fields=["guideline", "number"], name="guideline_version_unique")
        ]

    def __str__(self) -> str:
        return f"{self.guideline} v{self.number}"


class Acknowledgement(models.Model):
    """A person read and accepted one version of a guideline."""

    restrict_org = "version__guideline__organization"
    restrict_channel: ClassVar[str | None] = None

    version = models.ForeignKey(
        GuidelineVersion, on_delete=models.CASCADE, related_name="acknowledgements"
    )
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="acknowledgements")
    acknowledged_at = models.DateTimeField(default=tz.now)

    objects = RestrictedManager["Acknowledgement"]()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["version", "user"], name="acknowledgement_once")
        ]

    def __str__(self) -> str:
        return f"{self.user} acknowledged {self.version}"


class TrainingCourse(models.Model):
    restrict_org = "organization"
    restrict_channel: ClassVar[str | None] = None

    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="training_courses"
    )
    name = models.CharField(_("course"), max_length=200)
    description = models.TextField(_("description"), blank=True)
    created_at = models.DateTimeField(default=tz.now)

    objects = RestrictedManager["TrainingCourse"]()

    class Meta:
        ordering = ["name", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["organization", "name"], name="course_unique_name")
        ]

    def __str__(self) -> str:
        return self.name


class TrainingRecord(models.Model):
    """A person completed a course; valid from `completed_at` until `expires_at` (if any)."""

    restrict_org = "course__organization"
    restrict_channel: ClassVar[str | None] = None

    course = models.ForeignKey(TrainingCourse, on_delete=models.CASCADE, related_name="records")
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="training_records")
    completed_at = models.DateTimeField(_("completed at"))
    expires_at = models.DateTimeField(_("expires at"), null=True, blank=True)
    evidence = models.TextField(_("evidence"), blank=True)
    recorded_by = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=tz.now)

    objects = RestrictedManager["TrainingRecord"]()

    class Meta:
        ordering = ["-completed_at", "-pk"]
        indexes = [models.Index(fields=["user", "course"])]

    def __str__(self) -> str:
        return f"{self.user} completed {self.course}"

    def is_valid(self, at: datetime | None = None) -> bool:
        now = at or tz.now()
        return self.completed_at <= now and (self.expires_at is None or self.expires_at > now)


class RequirementScope(models.TextChoices):
    PUBLISH_AND_ENGAGE = "publish_engage", _("Publishing and engaging")
    PUBLISH = "publish", _("Publishing")
    ENGAGE = "engage", _("Engaging")


SCOPE_PERMS: dict[str, tuple[str, ...]] = {
    RequirementScope.PUBLISH_AND_ENGAGE: ("publish", "engage"),
    RequirementScope.PUBLISH: ("publish",),
    RequirementScope.ENGAGE: ("engage",),
}


class ChannelRequirement(models.Model):
    """Before a person's publish or engage permission on a channel takes effect, they must have
    acknowledged a guideline's current version, or hold a valid record of a course."""

    restrict_org = "channel__organization"
    restrict_channel: ClassVar[str | None] = "channel"

    channel = models.ForeignKey(Channel, on_delete=models.CASCADE, related_name="requirements")
    guideline = models.ForeignKey(
        Guideline, null=True, blank=True, on_delete=models.CASCADE, related_name="requirements"
    )
    course = models.ForeignKey(
        TrainingCourse,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="requirements",
    )
    applies_to = models.CharField(
        _("holds back"),
        max_length=16,
        choices=RequirementScope.choices,
        default=RequirementScope.PUBLISH_AND_ENGAGE,
    )
    created_by = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=tz.now)

    objects = RestrictedManager["ChannelRequirement"]()

    class Meta:
        ordering = ["channel_id", "pk"]
        constraints = [
            models.CheckConstraint(
                condition=(
                    Q(guideline__isnull=False, course__isnull=True)
                    | Q(guideline__isnull=True, course__isnull=False)
                ),
                name="requirement_guideline_or_course",
            ),
            models.UniqueConstraint(
                fields=["channel", "guideline"],
                condition=Q(guideline__isnull=False),
                name="requirement_unique_guideline",
            ),
            models.UniqueConstraint(
                fields=["channel", "course"],
                condition=Q(course__isnull=False),
                name="requirement_unique_course",
            ),
        ]

    def __str__(self) -> str:
        what = self.guideline or self.course
        return f"{self.channel} requires {what}"

    @property
    def perms(self) -> tuple[str, ...]:
        return SCOPE_PERMS.get(self.applies_to, ("publish", "engage"))
