"""Every write to the media library: uploads, focal points, alt text and renditions.

Checking a file (decoding it, probing a video) and making a rendition take from milliseconds to
minutes, so that work happens outside any database transaction; each database change is then
one transaction with its audit event, as everywhere in Greenroom. Progress updates from a
worker (percent done, lease renewals) are bookkeeping of a system job, not actions anyone took,
and are not audited; a rendition's request and its outcome are.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import IO, Any

from django.conf import settings
from django.db import IntegrityError, models, transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from greenroom.core import audit
from greenroom.core.actions import ActionError
from greenroom.core.models import Brand, Channel, Organization, User
from greenroom.core.restrict import Access
from greenroom.media import files, images, sniff, specs
from greenroom.media.models import (
    Fit,
    FocusSource,
    MediaAsset,
    MediaKind,
    Rendition,
    RenditionStatus,
)
from greenroom.media.specs import RenditionRefused, Target

logger = logging.getLogger(__name__)

CHUNK = 1024 * 1024
# A worker owns a rendition this long past its last sign of life (progress renews it).
LEASE = timedelta(minutes=2)
# A waiting rendition nobody has picked up by then is queued again (a lost message).
QUEUE_GRACE = timedelta(minutes=2)
MAX_ATTEMPTS = 3
ALT_TEXT_MAX = 5000

__all__ = [
    "ActionError",
    "MediaAuditAction",
    "RenditionRefused",
    "UploadResult",
    "UploadScope",
    "do_find_focal_point",
    "do_retry_rendition",
    "do_set_alt_text",
    "do_set_focal_point",
    "do_upload_asset",
    "record_progress",
    "render_rendition",
    "rendition_for",
    "requeue_stalled",
    "upload_scope",
]


class MediaAuditAction(models.TextChoices):
    ASSET_UPLOADED = "media.asset_uploaded"
    FOCAL_POINT_SET = "media.focal_point_set"
    ALT_TEXT_SET = "media.alt_text_set"
    RENDITION_REQUESTED = "media.rendition_requested"
    RENDITION_FAILED = "media.rendition_failed"
    RENDITION_RETRIED = "media.rendition_retried"


ASSET_FIELDS = (
    "filename",
    "kind",
    "mime_type",
    "width",
    "height",
    "duration_s",
    "bytes",
    "sha256",
    "brand",
)


# --- Who may upload ----------------------------------------------------------------------------


@dataclass(frozen=True)
class UploadScope:
    """Where a person may put new assets: the shared library, and which brands' libraries."""

    shared: bool
    brand_ids: frozenset[int]

    @property
    def any(self) -> bool:
        return self.shared or bool(self.brand_ids)

    def allows(self, brand: Brand | None) -> bool:
        return self.shared if brand is None else brand.pk in self.brand_ids


def upload_scope(user: User | Any, org: Organization) -> UploadScope:
    """Uploading needs `draft`: over the whole organisation for the shared library, on a brand
    (by role or by a grant on one of its channels) for that brand's library."""
    access = Access.of(user)
    shared = False
    brand_ids: set[int] = set()
    for scope in access.scopes:
        if scope.org_id != org.pk or "draft" not in scope.perms:
            continue
        if scope.brand_ids is None:
            shared = True
        else:
            brand_ids |= scope.brand_ids
    granted = access.channel_grants.get("draft")
    if granted:
        brand_ids |= set(
            Channel.objects.filter(pk__in=granted, organization=org).values_list(
                "brand_id", flat=True
            )
        )
    if shared:
        brand_ids |= set(Brand.objects.filter(organization=org).values_list("pk", flat=True))
    return UploadScope(shared=shared, brand_ids=frozenset(brand_ids))


# --- Upload ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class UploadResult:
    asset: MediaAsset
    # The same file was already in this library: nothing new was stored.
    duplicate: bool


def _chunks(source: IO[bytes] | Path) -> Iterator[bytes]:
    if isinstance(source, Path):
        with source.open("rb") as handle:
            yield from iter(lambda: handle.read(CHUNK), b"")
        return
    chunks = getattr(source, "chunks", None)
    if callable(chunks):  # Django's UploadedFile
        yield from chunks(CHUNK)
        return
    yield from iter(lambda: source.read(CHUNK), b"")


def _spool(source: IO[bytes] | Path, into: Path) -> tuple[str, int]:
    """Copy the upload to `into`, hashing it, and stop as soon as it is over every limit."""
    digest = hashlib.sha256()
    size = 0
    ceiling = max(settings.MEDIA_MAX_IMAGE_BYTES, settings.MEDIA_MAX_VIDEO_BYTES)
    with into.open("wb") as out:
        for chunk in _chunks(source):
            size += len(chunk)
            if size > ceiling:
                sniff.check_size(size, None)
            digest.update(chunk)
            out.write(chunk)
    return digest.hexdigest(), size


def _clean_filename(name: str) -> str:
    # Only shown, never used as a path: keep the last component, printable, bounded.
    base = name.replace("\\", "/").rsplit("/", 1)[-1]
    base = "".join(ch for ch in base if ch.isprintable()).strip()
    return base[:255] or "upload"


def _existing(org: Organization, brand: Brand | None, sha256: str) -> MediaAsset | None:
    return MediaAsset.objects.filter(organization=org, brand=brand, sha256=sha256).first()


def do_upload_asset(
    org: Organization,
    *,
    file: IO[bytes] | Path,
    filename: str,
    brand: Brand | None = None,
    alt_text: str = "",
    acting_user: User | None,
) -> UploadResult:
    """Check an uploaded file from its content and add it to the library.

    The type comes from the file's bytes (magic numbers, then libvips or ffmpeg decoding it),
    never from `filename`. Refusals (empty, too large, not an image or video, damaged or
    truncated, a decompression bomb) raise MediaRefused with the reason in plain words, and
    leave nothing stored. The same file uploaded again to the same library returns the asset
    already there (`duplicate=True`).
    """
    if brand is not None and brand.organization_id != org.pk:
        raise ActionError(_("The brand belongs to another organisation."))
    if acting_user is not None and not upload_scope(acting_user, org).allows(brand):
        raise ActionError(
            _("You may not add files to %(library)s: that needs the draft permission there.")
            % {"library": brand.name if brand else _("the shared library")}
        )
    if len(alt_text) > ALT_TEXT_MAX:
        raise ActionError(_("Alt text is limited to %(n)s characters.") % {"n": ALT_TEXT_MAX})
    size = getattr(file, "size", None)
    if isinstance(size, int):
        sniff.check_size(size, None)
    spooled = files.scratch(".upload")
    poster = files.scratch(".jpg")
    try:
        sha256, size = _spool(file, spooled)
        found = sniff.inspect(spooled, thumbnail_to=poster)
        focus = (0.5, 0.5, FocusSource.CENTRE)
        if settings.MEDIA_DEFAULT_FOCUS == FocusSource.ATTENTION:
            try:
                x, y = images.attention_point(spooled if found.kind == MediaKind.IMAGE else poster)
                focus = (x, y, FocusSource.ATTENTION)
            except images.ImageError:
                logger.warning("attention heuristic failed; the focal point stays centred")
        return _store(
            org,
            brand=brand,
            found=found,
            sha256=sha256,
            size=size,
            spooled=spooled,
            poster=poster,
            filename=_clean_filename(filename),
            alt_text=alt_text.strip(),
            focus=focus,
            acting_user=acting_user,
        )
    finally:
        spooled.unlink(missing_ok=True)
        poster.unlink(missing_ok=True)


def _store(
    org: Organization,
    *,
    brand: Brand | None,
    found: sniff.Inspection,
    sha256: str,
    size: int,
    spooled: Path,
    poster: Path,
    filename: str,
    alt_text: str,
    focus: tuple[float, float, str],
    acting_user: User | None,
) -> UploadResult:
    original = files.original_name(org.pk, sha256, found.extension)
    placed: list[Path] = []
    try:
        with transaction.atomic():
            existing = _existing(org, brand, sha256)
            if existing is not None:
                return UploadResult(existing, duplicate=True)
            if not files.exists(original):
                placed.append(files.move_into_place(spooled, original))
            asset = MediaAsset.objects.create(
                organization=org,
                brand=brand,
                uploaded_by=acting_user,
                original=original,
                filename=filename,
                kind=found.kind,
                mime_type=found.mime_type,
                width=found.width,
                height=found.height,
                duration_s=found.duration_s,
                fps=found.fps,
                has_audio=found.has_audio,
                has_alpha=found.has_alpha,
                codec=found.codec,
                bytes=size,
                sha256=sha256,
                focal_x=focus[0],
                focal_y=focus[1],
                focal_source=focus[2],
                alt_text=alt_text,
            )
            thumbnail = files.thumbnail_name(org.pk, asset.pk)
            placed.append(files.move_into_place(poster, thumbnail))
            asset.thumbnail.name = thumbnail
            asset.save(update_fields=["thumbnail"])
            audit.record(
                MediaAuditAction.ASSET_UPLOADED,
                actor=acting_user,
                organization=org,
                target=asset,
                after=audit.snapshot(asset, ASSET_FIELDS),
            )
            return UploadResult(asset, duplicate=False)
    except IntegrityError:
        # The same file arrived twice at once and the other upload won: use its asset.
        _forget(placed)
        existing = _existing(org, brand, sha256)
        if existing is None:
            raise
        return UploadResult(existing, duplicate=True)
    except BaseException:
        _forget(placed)
        raise


def _forget(placed: list[Path]) -> None:
    """Remove files an upload that did not commit put in place, unless another asset uses them."""
    base = files.root().resolve()
    for path in placed:
        name = str(path.relative_to(base))
        if not MediaAsset.objects.filter(Q(original=name) | Q(thumbnail=name)).exists():
            path.unlink(missing_ok=True)


# --- Focal point and alt text -------------------------------------------------------------------


@transaction.atomic
def do_set_focal_point(
    asset: MediaAsset,
    *,
    x: float,
    y: float,
    source: str = FocusSource.PERSON,
    acting_user: User | None,
) -> MediaAsset:
    """Set where crops centre (fractions of the width and height, 0..1 from the top left).

    Renditions made before keep their files; the next request for a placement makes a new one
    around the new point.
    """
    if not (0 <= x <= 1 and 0 <= y <= 1):
        raise ActionError(
            _("A focal point is two numbers from 0 to 1 (left to right, top to bottom).")
        )
    before = audit.snapshot(asset, ("focal_x", "focal_y", "focal_source"))
    asset.focal_x, asset.focal_y, asset.focal_source = round(x, 4), round(y, 4), source
    asset.save(update_fields=["focal_x", "focal_y", "focal_source"])
    audit.record(
        MediaAuditAction.FOCAL_POINT_SET,
        actor=acting_user,
        organization=asset.organization,
        target=asset,
        before=before,
        after=audit.snapshot(asset, ("focal_x", "focal_y", "focal_source")),
    )
    return asset


def do_find_focal_point(asset: MediaAsset, *, acting_user: User | None) -> MediaAsset:
    """Put the focal point where libvips' attention heuristic finds the subject."""
    source = files.absolute(asset.thumbnail.name if asset.is_video else asset.original.name)
    try:
        x, y = images.attention_point(source)
    except images.ImageError as exc:
        raise ActionError(
            _("Greenroom could not look at this picture (%(reason)s).") % {"reason": str(exc)}
        ) from None
    return do_set_focal_point(
        asset, x=x, y=y, source=FocusSource.ATTENTION, acting_user=acting_user
    )


@transaction.atomic
def do_set_alt_text(asset: MediaAsset, *, alt_text: str, acting_user: User | None) -> MediaAsset:
    """Describe the image or video for people who cannot see it (screen readers)."""
    alt_text = alt_text.strip()
    if len(alt_text) > ALT_TEXT_MAX:
        raise ActionError(_("Alt text is limited to %(n)s characters.") % {"n": ALT_TEXT_MAX})
    before = {"alt_text": asset.alt_text}
    asset.alt_text = alt_text
    asset.save(update_fields=["alt_text"])
    audit.record(
        MediaAuditAction.ALT_TEXT_SET,
        actor=acting_user,
        organization=asset.organization,
        target=asset,
        before=before,
        after={"alt_text": alt_text},
    )
    return asset


# --- Renditions ---------------------------------------------------------------------------------


def rendition_for(
    asset: MediaAsset,
    network: str,
    placement: str = "feed",
    *,
    size: str | None = None,
    fit: str = Fit.CROP,
    acting_user: User | None = None,
    background: bool | None = None,
) -> Rendition:
    """The rendition of `asset` for one placement of the rule table: ready, on its way, or failed
    with the reason in plain words.

    The same asset and spec (size, format, focal point, the rule values involved) always give
    the same Rendition and file, made once. A new one is made at once for images and by a worker
    for video (`background` overrides that). `size` picks one of the placement's recommended
    sizes (default: the one closest to the asset's shape). Raises RenditionRefused when the
    placement cannot take this kind of media at all. Callers check that the person may see the
    asset (`MediaAsset.objects.restrict(user, "view")`); the publishing engine calls it as the
    system (`acting_user=None`).
    """
    target = specs.target_for(asset, network, placement, size=size, fit=fit)
    rendition = Rendition.objects.filter(asset=asset, spec_key=target.key).first()
    created = False
    if rendition is None:
        rendition, created = _create_rendition(asset, target, acting_user)
    elif rendition.status == RenditionStatus.READY and not files.exists(rendition.file.name):
        rendition = _reset(rendition, _("the file was missing from storage"))
        created = True
    waiting = rendition.status == RenditionStatus.PENDING and rendition.lease_until is None
    if rendition.status in (RenditionStatus.PENDING, RenditionStatus.PROCESSING) and (
        created or waiting or _overdue(rendition)
    ):
        rendition = _dispatch(rendition, background)
    return rendition


def _overdue(rendition: Rendition) -> bool:
    return rendition.lease_until is not None and rendition.lease_until < timezone.now()


def _create_rendition(
    asset: MediaAsset, target: Target, acting_user: User | None
) -> tuple[Rendition, bool]:
    now = timezone.now()
    failed = bool(target.problem)
    try:
        with transaction.atomic():
            rendition = Rendition.objects.create(
                asset=asset,
                network=target.network,
                placement=target.placement,
                spec_key=target.key,
                target_width=target.width,
                target_height=target.height,
                format=target.format,
                mime_type=target.mime_type,
                fit=target.fit,
                rules_version=target.rules_version,
                params=target.params(),
                status=RenditionStatus.FAILED if failed else RenditionStatus.PENDING,
                error=target.problem,
                note="\n".join(target.notes),
                requested_by=acting_user,
                finished_at=now if failed else None,
            )
            audit.record(
                MediaAuditAction.RENDITION_REQUESTED,
                actor=acting_user,
                organization=asset.organization,
                target=rendition,
                after={
                    "asset": asset.pk,
                    "network": target.network,
                    "placement": target.placement,
                    "size": f"{target.width}x{target.height}",
                    "format": target.format,
                    "rules_version": target.rules_version,
                    "status": rendition.status,
                    "error": target.problem,
                },
            )
    except IntegrityError:
        # Someone asked for the same rendition at the same moment; theirs is ours.
        return Rendition.objects.get(asset=asset, spec_key=target.key), False
    return rendition, True


def _dispatch(rendition: Rendition, background: bool | None) -> Rendition:
    in_background = (
        background
        if background is not None
        else rendition.asset.is_video or not settings.MEDIA_RENDER_IMAGES_INLINE
    )
    if not in_background:
        if _claim(rendition.pk):
            rendition.status = RenditionStatus.PROCESSING
            return _render_claimed(rendition)
        rendition.refresh_from_db()
        return rendition
    # Whoever does not pick it up by then is assumed lost, and requeue_stalled sends it again.
    requeue_at = timezone.now() + QUEUE_GRACE
    Rendition.objects.filter(pk=rendition.pk, status=RenditionStatus.PENDING).update(
        lease_until=requeue_at
    )
    rendition.lease_until = requeue_at
    pk = rendition.pk
    transaction.on_commit(lambda: _send(pk))
    return rendition


def _send(rendition_id: int) -> None:
    from greenroom.media import tasks

    try:
        tasks.render.delay(rendition_id)
    except Exception:
        # The row is the source of truth: requeue_stalled sends it again when the broker is back.
        logger.exception("could not queue rendition %s", rendition_id)


def _claim(rendition_id: int) -> bool:
    """Take a waiting rendition, or one whose worker stopped renewing its lease: one UPDATE."""
    now = timezone.now()
    taken = Rendition.objects.filter(
        Q(status=RenditionStatus.PENDING)
        | Q(status=RenditionStatus.PROCESSING, lease_until__lt=now),
        pk=rendition_id,
    ).update(
        status=RenditionStatus.PROCESSING,
        lease_until=now + LEASE,
        started_at=now,
        progress=0,
        attempts=F("attempts") + 1,
    )
    return taken == 1


def record_progress(rendition_id: int, percent: int) -> None:
    """A worker's progress (0-100) on a rendition it holds; renews its lease. Not audited."""
    Rendition.objects.filter(pk=rendition_id, status=RenditionStatus.PROCESSING).update(
        progress=max(0, min(100, percent)), lease_until=timezone.now() + LEASE
    )


def render_rendition(rendition_id: int) -> Rendition | None:
    """Make a rendition's file if nobody else is making it; record ready or failed.

    Called by the Celery task, or inline for images. Safe to call twice: only the caller that
    claims the row does the work.
    """
    if not _claim(rendition_id):
        return Rendition.objects.filter(pk=rendition_id).first()
    rendition = Rendition.objects.select_related("asset", "asset__organization").get(
        pk=rendition_id
    )
    return _render_claimed(rendition)


def _render_claimed(rendition: Rendition) -> Rendition:
    from greenroom.media import render

    problem = rendition.params.get("problem")
    if problem:
        return _fail(rendition, str(problem))
    rendition_id = rendition.pk
    scratch = files.scratch(f".{rendition.format}")
    try:
        output = render.make(
            rendition, scratch, lambda percent: record_progress(rendition_id, percent)
        )
        made = scratch.stat().st_size
        max_bytes = rendition.params.get("max_bytes")
        if isinstance(max_bytes, int) and made > max_bytes:
            return _fail(
                rendition,
                _(
                    "The result is %(size)s bytes and %(where)s takes at most %(limit)s. Use a "
                    "shorter clip, or export the original at a lower bitrate."
                )
                % {
                    "size": f"{made:,}",
                    "where": _placement_name(rendition),
                    "limit": f"{max_bytes:,}",
                },
            )
        return _finish(rendition, scratch, made, output)
    except render.RenderFailed as exc:
        return _fail(rendition, str(exc))
    except Exception:
        logger.exception("rendition %s failed", rendition_id)
        return _fail(
            rendition,
            _(
                "Greenroom could not make this rendition because of an unexpected error. Try "
                "again; if it fails again, tell your administrator (rendition %(id)s)."
            )
            % {"id": rendition_id},
        )
    finally:
        scratch.unlink(missing_ok=True)


def _placement_name(rendition: Rendition) -> str:
    try:
        spec = specs.placement_spec(rendition.network, rendition.placement)
    except ActionError:
        return f"{rendition.network} {rendition.placement}"
    return f"{spec.network_name} {spec.label}"


def _finish(rendition: Rendition, scratch: Path, size: int, output: Any) -> Rendition:
    """Move the file into place and mark the row ready (if this worker still holds it).

    Not audited: the request (who asked) and any failure are; a system job ending as expected
    is recorded on the row itself (finished_at), like its progress.
    """
    asset = rendition.asset
    name = files.rendition_name(
        asset.organization_id,
        asset.pk,
        rendition.network,
        rendition.placement,
        rendition.spec_key,
        rendition.format,
    )
    files.move_into_place(scratch, name)
    values = {
        "status": RenditionStatus.READY,
        "file": name,
        "bytes": size,
        "width": output.width,
        "height": output.height,
        "duration_s": output.duration_s,
        "fps": output.fps,
        "progress": 100,
        "note": "\n".join(part for part in (rendition.note, output.note) if part),
        "error": "",
        "lease_until": None,
        "finished_at": timezone.now(),
    }
    done = Rendition.objects.filter(pk=rendition.pk, status=RenditionStatus.PROCESSING).update(
        **values
    )
    if not done:  # another worker took it over after our lease ran out; theirs is the truth
        rendition.refresh_from_db()
        return rendition
    for field, value in values.items():
        setattr(rendition, field, value)
    return rendition


@transaction.atomic
def _fail(rendition: Rendition, message: str) -> Rendition:
    Rendition.objects.filter(pk=rendition.pk).exclude(status=RenditionStatus.READY).update(
        status=RenditionStatus.FAILED,
        error=message,
        lease_until=None,
        finished_at=timezone.now(),
    )
    rendition.refresh_from_db()
    audit.record(
        MediaAuditAction.RENDITION_FAILED,
        actor=None,
        organization=rendition.asset.organization,
        target=rendition,
        after={"error": message},
    )
    return rendition


@transaction.atomic
def _reset(rendition: Rendition, why: str) -> Rendition:
    Rendition.objects.filter(pk=rendition.pk).update(
        status=RenditionStatus.PENDING,
        progress=0,
        error="",
        attempts=0,
        lease_until=None,
        started_at=None,
        finished_at=None,
    )
    rendition.refresh_from_db()
    audit.record(
        MediaAuditAction.RENDITION_RETRIED,
        actor=None,
        organization=rendition.asset.organization,
        target=rendition,
        after={"why": why},
    )
    return rendition


def do_retry_rendition(
    rendition: Rendition, *, acting_user: User | None, background: bool | None = None
) -> Rendition:
    """Try a failed rendition again (after a worker crash or a fixed original)."""
    if rendition.status != RenditionStatus.FAILED:
        raise ActionError(_("Only a failed rendition can be tried again."))
    if rendition.params.get("problem"):
        raise ActionError(
            _("This rendition cannot work with this file: %(why)s") % {"why": rendition.error}
        )
    with transaction.atomic():
        Rendition.objects.filter(pk=rendition.pk, status=RenditionStatus.FAILED).update(
            status=RenditionStatus.PENDING,
            progress=0,
            error="",
            attempts=0,
            lease_until=None,
            started_at=None,
            finished_at=None,
        )
        rendition.refresh_from_db()
        audit.record(
            MediaAuditAction.RENDITION_RETRIED,
            actor=acting_user,
            organization=rendition.asset.organization,
            target=rendition,
            after={"network": rendition.network, "placement": rendition.placement},
        )
    return _dispatch(rendition, background)


def requeue_stalled() -> int:
    """Send again the renditions whose message or worker was lost (beat runs this each minute).

    A rendition whose worker stopped MAX_ATTEMPTS times fails with a message instead of being
    tried forever.
    """
    now = timezone.now()
    stalled = list(
        Rendition.objects.filter(
            status__in=[RenditionStatus.PENDING, RenditionStatus.PROCESSING], lease_until__lt=now
        ).select_related("asset", "asset__organization")[:200]
    )
    sent = 0
    for rendition in stalled:
        if rendition.status == RenditionStatus.PROCESSING and rendition.attempts >= MAX_ATTEMPTS:
            _fail(
                rendition,
                _(
                    "The worker making this rendition stopped %(n)s times. Try again; if it keeps "
                    "failing, the original may be too long or too large for this server."
                )
                % {"n": rendition.attempts},
            )
            continue
        Rendition.objects.filter(pk=rendition.pk, status=RenditionStatus.PENDING).update(
            lease_until=now + QUEUE_GRACE
        )
        _send(rendition.pk)
        sent += 1
    return sent
