"""Media assets (an uploaded image or video) and their renditions (one per placement's spec).

Assets belong to an organisation and, optionally, to one of its brands. Who reaches them:
everyone in the organisation sees the shared (brand-less) assets; a person whose role covers only
some brands sees those brands' assets as well; changing an asset needs `draft` on its brand, and
on the whole organisation for a shared one (see `MediaQuerySet.restrict`).
"""

from __future__ import annotations

from typing import Any, ClassVar

from django.db import models
from django.db.models import Q
from django.utils import timezone as tz
from django.utils.translation import gettext_lazy as _

from greenroom.core.models import Brand, Channel, Organization, User
from greenroom.core.permissions import ALL_CHANNEL, ORG_WIDE, is_known
from greenroom.core.restrict import Access, RestrictedManager, RestrictedQuerySet


class MediaKind(models.TextChoices):
    IMAGE = "image", _("Image")
    VIDEO = "video", _("Video")


class FocusSource(models.TextChoices):
    CENTRE = "centre", _("Centre")
    ATTENTION = "attention", _("Found automatically")
    PERSON = "person", _("Set by a person")


class Fit(models.TextChoices):
    """How a picture is made to fit a placement's shape."""

    CROP = "crop", _("Crop around the focal point")
    PAD = "pad", _("Show all of it, with bars")


class RenditionStatus(models.TextChoices):
    PENDING = "pending", _("Waiting")
    PROCESSING = "processing", _("Being made")
    READY = "ready", _("Ready")
    FAILED = "failed", _("Failed")


def brand_scoped_q(user: Any, perm: str, *, org_path: str, brand_path: str) -> Q:
    """Rows of an organisation that may carry a brand, for a person's roles and grants.

    A role over the whole organisation reaches every row. A role limited to some brands reaches
    those brands' rows, and the shared rows (no brand) only to look at them: changing a shared
    row needs the permission over the whole organisation. A channel grant counts as that
    permission on the channel's brand.
    """
    if not is_known(perm):
        raise ValueError(f"unknown permission {perm!r}")
    access = Access.of(user)
    shared = Q(**{f"{brand_path}__isnull": True})
    q = Q(pk__in=[])
    for scope in access.scopes:
        if perm not in scope.perms:
            continue
        in_org = Q(**{org_path: scope.org_id})
        if perm in ORG_WIDE or scope.brand_ids is None:
            q |= in_org
        else:
            brands = Q(**{f"{brand_path}__in": scope.brand_ids})
            q |= in_org & (brands | shared) if perm == "view" else in_org & brands
    if perm in ALL_CHANNEL and access.channel_grants.get(perm):
        granted = set(
            Channel.objects.filter(pk__in=access.channel_grants[perm]).values_list(
                "organization_id", "brand_id"
            )
        )
        for org_id, brand_id in granted:
            brand = Q(**{brand_path: brand_id})
            q |= Q(**{org_path: org_id}) & ((brand | shared) if perm == "view" else brand)
    return q


class MediaQuerySet(RestrictedQuerySet[Any]):
    def restrict(self, user: User | Any, perm: str = "view") -> MediaQuerySet:
        model: Any = self.model
        return self.filter(
            brand_scoped_q(user, perm, org_path=model.restrict_org, brand_path=model.restrict_brand)
        )


class MediaManager(RestrictedManager[Any]):
    def get_queryset(self) -> MediaQuerySet:
        return MediaQuerySet(self.model, using=self._db)

    def restrict(self, user: User | Any, perm: str = "view") -> MediaQuerySet:
        return self.get_queryset().restrict(user, perm)


class MediaAsset(models.Model):
    """One uploaded image or video, checked from its content, with its focal point and alt text."""

    restrict_org = "organization"
    restrict_channel: ClassVar[str | None] = None
    restrict_brand = "brand"

    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="media_assets"
    )
    # None: shared by every brand of the organisation.
    brand = models.ForeignKey(
        Brand, null=True, blank=True, on_delete=models.PROTECT, related_name="media_assets"
    )
    uploaded_by = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # Stored once per organisation and content: MEDIA_ROOT/<org>/originals/<sha256>.<ext>.
    original = models.FileField(max_length=500)
    # The name it had on the uploader's computer; shown, never used as a path.
    filename = models.CharField(_("file name"), max_length=255)
    kind = models.CharField(_("kind"), max_length=8, choices=MediaKind.choices)
    # Read from the content (magic bytes, libvips, ffmpeg), never from the name.
    mime_type = models.CharField(_("type"), max_length=64)
    width = models.PositiveIntegerField()
    height = models.PositiveIntegerField()
    duration_s = models.FloatField(null=True, blank=True)
    fps = models.FloatField(null=True, blank=True)
    has_audio = models.BooleanField(null=True, blank=True)
    # Transparency decides whether a PNG stays a PNG where the placement allows both.
    has_alpha = models.BooleanField(default=False)
    codec = models.CharField(max_length=32, blank=True)
    bytes = models.BigIntegerField()
    sha256 = models.CharField(max_length=64)
    # Where crops centre, as fractions of width and height (0,0 is the top left corner).
    focal_x = models.FloatField(default=0.5)
    focal_y = models.FloatField(default=0.5)
    focal_source = models.CharField(
        max_length=16, choices=FocusSource.choices, default=FocusSource.CENTRE
    )
    alt_text = models.TextField(_("alt text"), blank=True)
    thumbnail = models.FileField(max_length=500, blank=True)
    created_at = models.DateTimeField(default=tz.now)

    objects = MediaManager()

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["organization", "-created_at"])]
        constraints = [
            # The same file uploaded twice to the same library is the same asset.
            models.UniqueConstraint(
                fields=["organization", "sha256"],
                condition=Q(brand__isnull=True),
                name="media_asset_unique_shared_content",
            ),
            models.UniqueConstraint(
                fields=["organization", "brand", "sha256"],
                condition=Q(brand__isnull=False),
                name="media_asset_unique_brand_content",
            ),
            models.CheckConstraint(
                condition=Q(focal_x__gte=0, focal_x__lte=1, focal_y__gte=0, focal_y__lte=1),
                name="media_asset_focal_point_inside",
            ),
        ]

    def __str__(self) -> str:
        return self.filename

    @property
    def aspect(self) -> float:
        return self.width / self.height

    @property
    def is_video(self) -> bool:
        return self.kind == MediaKind.VIDEO


class Rendition(models.Model):
    """An asset made to fit one placement: its size, shape, format, frame rate and duration.

    `spec_key` is a hash of everything the output depends on (target size, format, focal point,
    the rule values it satisfies, Greenroom's pipeline version), so the same request reuses the
    same file and a changed rule or focal point makes a new rendition.
    """

    restrict_org = "asset__organization"
    restrict_channel: ClassVar[str | None] = None
    restrict_brand = "asset__brand"

    asset = models.ForeignKey(MediaAsset, on_delete=models.CASCADE, related_name="renditions")
    network = models.CharField(max_length=32)
    placement = models.CharField(max_length=32)
    spec_key = models.CharField(max_length=64)
    target_width = models.PositiveIntegerField()
    target_height = models.PositiveIntegerField()
    format = models.CharField(max_length=8)
    mime_type = models.CharField(max_length=64)
    fit = models.CharField(max_length=8, choices=Fit.choices, default=Fit.CROP)
    # The rule-table version and the parameters this rendition was made with.
    rules_version = models.PositiveIntegerField()
    params = models.JSONField(default=dict)
    file = models.FileField(max_length=500, blank=True)
    bytes = models.BigIntegerField(null=True, blank=True)
    # What was made; smaller than the target only when the network's byte limit forced it.
    width = models.PositiveIntegerField(null=True, blank=True)
    height = models.PositiveIntegerField(null=True, blank=True)
    duration_s = models.FloatField(null=True, blank=True)
    fps = models.FloatField(null=True, blank=True)
    status = models.CharField(
        max_length=16, choices=RenditionStatus.choices, default=RenditionStatus.PENDING
    )
    progress = models.PositiveSmallIntegerField(default=0)
    # In plain words: what went wrong and what to do.
    error = models.TextField(blank=True)
    # What was changed to satisfy the rules ("trimmed from 95 s to 90 s"), in plain words.
    note = models.TextField(blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    # A worker owns a processing rendition until then; past it, another may take it over.
    lease_until = models.DateTimeField(null=True, blank=True)
    requested_by = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=tz.now)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    objects = MediaManager()

    class Meta:
        ordering = ["network", "placement", "-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["asset", "spec_key"], name="rendition_unique_spec"),
            models.CheckConstraint(condition=Q(progress__lte=100), name="rendition_progress"),
        ]
        indexes = [models.Index(fields=["status", "lease_until"])]

    def __str__(self) -> str:
        return f"{self.asset} for {self.network} {self.placement} ({self.size_label})"

    @property
    def size_label(self) -> str:
        return f"{self.target_width}×{self.target_height}"

    @property
    def is_done(self) -> bool:
        return self.status in (RenditionStatus.READY, RenditionStatus.FAILED)
