"""The media library pages: the grid with uploads, an asset with its focal point and renditions,
a rendition's preview (with the safe zones of Stories and Reels), and the files themselves.

Reads go through `restrict()` inside the current organisation, so another tenant's asset, or a
brand's asset outside a person's brands, is a 404. Writes go through media.actions. Files are
served by these views (never from a public /media/ URL) so the same rules guard them.
"""

from __future__ import annotations

import mimetypes
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from greenroom.core.actions import ActionError
from greenroom.core.models import Brand, Channel, Organization
from greenroom.core.tenancy import require_section
from greenroom.media import actions, files, specs
from greenroom.media.forms import AltTextForm, FocalPointForm, LibraryFilterForm, UploadForm
from greenroom.media.models import (
    FocusSource,
    MediaAsset,
    MediaKind,
    MediaQuerySet,
    Rendition,
    RenditionStatus,
)
from greenroom.media.sniff import check_size, human_bytes
from greenroom.networks.rules import PlacementSpec

PAGE_SIZE = 36
# Polling interval of a rendition that is being made (htmx `every`).
POLL = "1s"


def _assets(request: HttpRequest, org: Organization, perm: str = "view") -> MediaQuerySet:
    return (
        MediaAsset.objects.restrict(request.user, perm)
        .filter(organization=org)
        .select_related("brand", "uploaded_by")
    )


def _asset(request: HttpRequest, pk: int, perm: str = "view") -> tuple[Organization, MediaAsset]:
    org = require_section(request, "publishing")
    asset: MediaAsset = get_object_or_404(_assets(request, org, perm), pk=pk)
    return org, asset


def _rendition(request: HttpRequest, pk: int) -> tuple[Organization, Rendition]:
    org = require_section(request, "publishing")
    rendition: Rendition = get_object_or_404(
        Rendition.objects.restrict(request.user, "view")
        .filter(asset__organization=org)
        .select_related("asset"),
        pk=pk,
    )
    return org, rendition


def _brands(org: Organization) -> Any:
    return Brand.objects.filter(organization=org).order_by("name")


@login_required
def library(request: HttpRequest) -> HttpResponse:
    """The grid of assets, with filters and, for people who may add files, the upload form."""
    org = require_section(request, "publishing")
    scope = actions.upload_scope(request.user, org)
    upload_form = None
    if scope.any:
        upload_form = UploadForm(scope=scope, brands=_brands(org))
    if request.method == "POST":
        if not scope.any:
            raise Http404("No such page.")
        too_big = _refuse_before_reading(request)
        if too_big:
            messages.error(request, too_big)
            return redirect("media:library")
        upload_form = UploadForm(request.POST, request.FILES, scope=scope, brands=_brands(org))
        done = _upload(request, org, upload_form)
        if done is not None:
            return redirect("media:asset", pk=done.pk)
    assets = _assets(request, org)
    # Only the libraries this person can see something in.
    seen = _brands(org).filter(pk__in=assets.exclude(brand=None).values("brand_id"))
    filters = LibraryFilterForm(request.GET or None, brands=seen)
    if filters.is_valid():
        if filters.cleaned_data["kind"]:
            assets = assets.filter(kind=filters.cleaned_data["kind"])
        brand = filters.cleaned_data["brand"]
        if brand == "shared":
            assets = assets.filter(brand__isnull=True)
        elif brand:
            assets = assets.filter(brand_id=int(brand))
    page = Paginator(assets.order_by("-created_at", "-pk"), PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    return render(
        request,
        "media/library.html",
        {
            "org": org,
            "page": page,
            "filters": filters,
            "form": upload_form,
            "limits": {
                "image": human_bytes(settings.MEDIA_MAX_IMAGE_BYTES),
                "video": human_bytes(settings.MEDIA_MAX_VIDEO_BYTES),
            },
        },
        status=400 if upload_form is not None and upload_form.errors else 200,
    )


def _refuse_before_reading(request: HttpRequest) -> str:
    """A body larger than any file we take is refused before it is read onto the disk."""
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return ""
    # Room for the form's other fields and the multipart boundaries.
    ceiling = max(settings.MEDIA_MAX_IMAGE_BYTES, settings.MEDIA_MAX_VIDEO_BYTES) + 1_000_000
    if length <= ceiling:
        return ""
    try:
        check_size(length, None)
    except ActionError as exc:
        return str(exc)
    return ""


def _upload(request: HttpRequest, org: Organization, form: UploadForm) -> MediaAsset | None:
    if not form.is_valid():
        return None
    upload = form.cleaned_data["file"]
    try:
        result = actions.do_upload_asset(
            org,
            file=upload,
            filename=upload.name or "upload",
            brand=form.cleaned_data["brand"],
            alt_text=form.cleaned_data["alt_text"],
            acting_user=request.user,  # type: ignore[arg-type]
        )
    except ActionError as exc:
        form.add_error("file", str(exc))
        return None
    if result.duplicate:
        messages.info(request, _("This file is already in the library; here it is."))
    else:
        messages.success(request, _("Added to the library."))
    return result.asset


@dataclass
class PlacementRow:
    spec: PlacementSpec
    target: specs.Target
    rendition: Rendition | None

    @property
    def key(self) -> str:
        return f"{self.spec.network}-{self.spec.key}"


def _networks_of(request: HttpRequest, org: Organization) -> list[str]:
    kinds = (
        Channel.objects.restrict(request.user, "view")
        .filter(organization=org)
        .values_list("kind", flat=True)
        .distinct()
    )
    return sorted(set(kinds))


def placement_rows(asset: MediaAsset, networks: list[str] | None) -> list[PlacementRow]:
    """Every placement that takes this asset, with the rendition made for it (if any)."""
    rows = []
    targets = []
    for spec in specs.placements_for(asset.kind, networks):
        try:
            target = specs.target_for(asset, spec.network, spec.key)
        except ActionError:
            continue
        targets.append((spec, target))
    made = {
        r.spec_key: r for r in asset.renditions.filter(spec_key__in=[t.key for _spec, t in targets])
    }
    for spec, target in targets:
        rows.append(PlacementRow(spec=spec, target=target, rendition=made.get(target.key)))
    return rows


@login_required
@require_GET
def asset_detail(request: HttpRequest, pk: int) -> HttpResponse:
    org, asset = _asset(request, pk)
    can_edit = _assets(request, org, "draft").filter(pk=asset.pk).exists()
    own = _networks_of(request, org)
    show_all = request.GET.get("all") == "1" or not own
    rows = placement_rows(asset, None if show_all else own)
    return render(
        request,
        "media/asset.html",
        {
            "org": org,
            "asset": asset,
            "rows": rows,
            "show_all": show_all,
            "own_networks": own,
            "can_edit": can_edit,
            "focal_form": FocalPointForm(initial={"x": asset.focal_x, "y": asset.focal_y}),
            "alt_form": AltTextForm(initial={"alt_text": asset.alt_text}),
            "focus_sources": FocusSource,
            "poll": POLL,
        },
    )


@login_required
@require_POST
def asset_focal_point(request: HttpRequest, pk: int) -> HttpResponse:
    _org, asset = _asset(request, pk, "draft")
    user: Any = request.user
    what = request.POST.get("what", "set")
    try:
        if what == "find":
            actions.do_find_focal_point(asset, acting_user=user)
            messages.success(request, _("Focal point set where Greenroom found the subject."))
        elif what == "centre":
            actions.do_set_focal_point(
                asset, x=0.5, y=0.5, source=FocusSource.CENTRE, acting_user=user
            )
            messages.success(request, _("Focal point back in the centre."))
        else:
            form = FocalPointForm(request.POST)
            if not form.is_valid():
                messages.error(request, _("A focal point is two numbers from 0 to 1."))
                return redirect("media:asset", pk=asset.pk)
            actions.do_set_focal_point(
                asset, x=form.cleaned_data["x"], y=form.cleaned_data["y"], acting_user=user
            )
            messages.success(request, _("Focal point saved. New renditions are cropped around it."))
    except ActionError as exc:
        messages.error(request, str(exc))
    return redirect("media:asset", pk=asset.pk)


@login_required
@require_POST
def asset_alt_text(request: HttpRequest, pk: int) -> HttpResponse:
    _org, asset = _asset(request, pk, "draft")
    form = AltTextForm(request.POST)
    if form.is_valid():
        actions.do_set_alt_text(
            asset,
            alt_text=form.cleaned_data["alt_text"],
            acting_user=request.user,  # type: ignore[arg-type]
        )
        messages.success(request, _("Alt text saved."))
    else:
        messages.error(request, " ".join(str(e) for e in form.errors.get("alt_text", [])))
    return redirect("media:asset", pk=asset.pk)


@login_required
@require_POST
def make_renditions(request: HttpRequest, pk: int) -> HttpResponse:
    """Make the rendition for one placement (`placement` = "network/key"), or for every one
    shown (`placement` = "all")."""
    org, asset = _asset(request, pk)
    wanted = request.POST.get("placement", "")
    if wanted == "all":
        own = _networks_of(request, org)
        show_all = request.POST.get("all") == "1" or not own
        pairs = [
            (s.network, s.key) for s in specs.placements_for(asset.kind, None if show_all else own)
        ]
    else:
        network, _sep, key = wanted.partition("/")
        pairs = [(network, key)]
    made = None
    for network, key in pairs:
        try:
            made = actions.rendition_for(
                asset,
                network,
                key,
                acting_user=request.user,  # type: ignore[arg-type]
            )
        except ActionError as exc:
            messages.error(request, str(exc))
    if request.htmx and made is not None and len(pairs) == 1:  # type: ignore[attr-defined]
        return _row_response(request, asset, made)
    return redirect(reverse("media:asset", kwargs={"pk": asset.pk}) + _keep_all(request))


def _keep_all(request: HttpRequest) -> str:
    return "?all=1" if request.POST.get("all") == "1" else ""


def _row_response(request: HttpRequest, asset: MediaAsset, rendition: Rendition) -> HttpResponse:
    spec = specs.placement_spec(rendition.network, rendition.placement)
    try:
        target = specs.target_for(asset, rendition.network, rendition.placement)
    except ActionError:
        raise Http404("No such placement.") from None
    current = rendition if rendition.spec_key == target.key else None
    row = PlacementRow(spec=spec, target=target, rendition=current)
    return render(request, "media/_rendition_row.html", {"row": row, "asset": asset, "poll": POLL})


@login_required
@require_GET
def rendition_row(request: HttpRequest, pk: int) -> HttpResponse:
    """One placement's row on the asset page; htmx polls it while the rendition is being made."""
    _org, rendition = _rendition(request, pk)
    return _row_response(request, rendition.asset, rendition)


@login_required
@require_POST
def retry_rendition(request: HttpRequest, pk: int) -> HttpResponse:
    _org, rendition = _rendition(request, pk)
    try:
        rendition = actions.do_retry_rendition(
            rendition,
            acting_user=request.user,  # type: ignore[arg-type]
        )
    except ActionError as exc:
        messages.error(request, str(exc))
    if request.htmx:  # type: ignore[attr-defined]
        return _row_response(request, rendition.asset, rendition)
    return redirect("media:asset", pk=rendition.asset_id)


@login_required
@require_GET
def rendition_preview(request: HttpRequest, pk: int) -> HttpResponse:
    """The rendition as the placement shows it, with the parts the network's UI covers."""
    org, rendition = _rendition(request, pk)
    spec = specs.placement_spec(rendition.network, rendition.placement)
    return render(
        request,
        "media/preview.html",
        {
            "org": org,
            "rendition": rendition,
            "asset": rendition.asset,
            "spec": spec,
            "zone": specs.safe_zone(rendition.network, rendition.placement),
            "poll": POLL,
        },
    )


def serve_file(name: str | None, content_type: str, filename: str | None = None) -> FileResponse:
    if not files.exists(name):
        raise Http404("The file is missing.")
    response = FileResponse(
        files.absolute(name).open("rb"),
        content_type=content_type,
        as_attachment=filename is not None,
        filename=filename or "",
    )
    # The bytes are whatever the person uploaded: never let a browser run them as a page.
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    response["Cache-Control"] = "private, max-age=3600"
    return response


@login_required
@require_GET
def asset_original(request: HttpRequest, pk: int) -> FileResponse:
    _org, asset = _asset(request, pk)
    download = asset.filename if request.GET.get("download") else None
    return serve_file(asset.original.name, asset.mime_type, download)


@login_required
@require_GET
def asset_thumbnail(request: HttpRequest, pk: int) -> FileResponse:
    _org, asset = _asset(request, pk)
    return serve_file(asset.thumbnail.name, "image/jpeg")


@login_required
@require_GET
def rendition_file(request: HttpRequest, pk: int) -> FileResponse:
    _org, rendition = _rendition(request, pk)
    if rendition.status != RenditionStatus.READY:
        raise Http404("This rendition is not ready.")
    download = None
    if request.GET.get("download"):
        stem = rendition.asset.filename.rsplit(".", 1)[0]
        extension = mimetypes.guess_extension(rendition.mime_type) or ""
        download = f"{stem}-{rendition.network}-{rendition.placement}{extension}"
    return serve_file(rendition.file.name, rendition.mime_type, download)


__all__ = [
    "MediaKind",
    "asset_alt_text",
    "asset_detail",
    "asset_focal_point",
    "asset_original",
    "asset_thumbnail",
    "library",
    "make_renditions",
    "rendition_file",
    "rendition_preview",
    "rendition_row",
    "retry_rendition",
]
