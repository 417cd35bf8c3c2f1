"""Media: upload images and videos, set their focal point and alt text, get renditions.

Reads go through the media library's `restrict()` (a brand's assets only for people of that
brand; shared assets for everyone in the organisation); writes through greenroom.media.actions,
exactly like the pages.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from django.http import FileResponse, HttpRequest
from ninja import Field, File, Form, Query, Router, Schema, Status
from ninja.errors import HttpError
from ninja.files import UploadedFile
from pydantic import AfterValidator, StringConstraints

from greenroom.core.actions import ActionError
from greenroom.core.models import Brand
from greenroom.core.tenancy import SECTIONS_BY_KEY, channel_perms
from greenroom.media import actions
from greenroom.media.actions import ALT_TEXT_MAX
from greenroom.media.models import (
    Fit,
    FocusSource,
    MediaAsset,
    MediaKind,
    MediaQuerySet,
    Rendition,
    RenditionStatus,
)
from greenroom.media.views import serve_file

from .access import get_or_404, require_on, visible
from .auth import Caller, caller_of
from .paging import paginate
from .schemas import BrandRef, ObjectId, Page, PageQuery, PersonRef, ShortText, clean_text, errors

router = Router(tags=["Media"])

AltText = Annotated[
    str,
    StringConstraints(strip_whitespace=True, max_length=ALT_TEXT_MAX),
    AfterValidator(clean_text),
]
Fraction = Annotated[float, Field(ge=0, le=1)]


class AssetOut(Schema):
    id: int
    brand: BrandRef | None = Field(description="None: shared by every brand.")
    kind: MediaKind
    mime_type: str = Field(description="Read from the file's content, not its name.")
    filename: str
    width: int
    height: int
    duration_s: float | None
    fps: float | None
    has_audio: bool | None
    bytes: int
    sha256: str
    focal_x: float = Field(description="Where crops centre, 0 (left) to 1 (right).")
    focal_y: float = Field(description="Where crops centre, 0 (top) to 1 (bottom).")
    focal_source: FocusSource
    alt_text: str
    uploaded_by: PersonRef | None
    created_at: datetime
    original_url: str
    thumbnail_url: str

    @staticmethod
    def resolve_original_url(obj: MediaAsset) -> str:
        return f"/api/media/assets/{obj.pk}/original"

    @staticmethod
    def resolve_thumbnail_url(obj: MediaAsset) -> str:
        return f"/publishing/media/{obj.pk}/thumbnail.jpg"


class RenditionOut(Schema):
    id: int
    asset_id: int
    network: str
    placement: str
    status: RenditionStatus
    progress: int = Field(description="Percent done while the rendition is being made.")
    error: str = Field(description="Why it failed and what to do, in plain words.")
    note: str = Field(description="What was changed to satisfy the rules (trimmed, enlarged).")
    target_width: int
    target_height: int
    width: int | None
    height: int | None
    format: str
    mime_type: str
    fit: Fit
    bytes: int | None
    duration_s: float | None
    fps: float | None
    rules_version: int = Field(description="The rule-table version it was made against.")
    created_at: datetime
    finished_at: datetime | None
    file_url: str | None = Field(description="Where to download it, once ready.")

    @staticmethod
    def resolve_file_url(obj: Rendition) -> str | None:
        if obj.status != RenditionStatus.READY:
            return None
        return f"/api/media/renditions/{obj.pk}/file"


class AssetQuery(PageQuery):
    kind: MediaKind | None = None
    brand: ObjectId | None = Field(None, description="Only this brand's library (brand id).")
    shared: bool | None = Field(None, description="true: only the shared library.")


class UploadIn(Schema):
    brand_id: ObjectId | None = Field(
        None, description="The brand's library; without it, the shared library."
    )
    alt_text: AltText = ""


class AssetUpdate(Schema):
    """Only the fields sent are changed."""

    focal_x: Fraction | None = None
    focal_y: Fraction | None = None
    find_focal_point: bool = Field(
        False, description="Let Greenroom find the subject (libvips' attention heuristic)."
    )
    alt_text: AltText | None = None


class RenditionRequest(Schema):
    network: ShortText = Field(description="A network of the rule table, e.g. instagram.")
    placement: ShortText = Field("feed", description="e.g. feed, stories, reels, carousel.")
    size: ShortText | None = Field(
        None, description="One of the placement's recommended sizes, e.g. 1080x1350."
    )
    fit: Fit = Fit.CROP


def _assets(caller: Caller, perm: str = "view") -> MediaQuerySet:
    return visible(MediaAsset.objects, caller, perm).select_related(  # type: ignore[return-value]
        "brand", "uploaded_by"
    )


def _renditions(caller: Caller) -> Any:
    return visible(Rendition.objects, caller, "view")


def _require_publishing(request: HttpRequest, caller: Caller) -> None:
    """Making renditions is publishing work: draft, publish or approve, as for the pages."""
    if not SECTIONS_BY_KEY["publishing"].perms & channel_perms(request, caller.organization):
        raise HttpError(
            403,
            f"Your role in {caller.organization} does not allow this: it needs “Draft”, "
            "“Publish” or “Approve” on some channel.",
        )


@router.get(
    "/media/assets",
    response={200: Page[AssetOut], **errors(401, 403, 422)},
    summary="List media assets",
    description="Images and videos you can see: the shared library, and the libraries of "
    "the brands your role covers. Newest first.",
)
def list_media_assets(request: HttpRequest, query: Query[AssetQuery]) -> dict[str, Any]:
    assets = _assets(caller_of(request))
    if query.kind is not None:
        assets = assets.filter(kind=query.kind)
    if query.brand is not None:
        assets = assets.filter(brand_id=query.brand)
    if query.shared is not None:
        assets = assets.filter(brand__isnull=query.shared)
    return paginate(assets.order_by("-created_at", "-pk"), query)


@router.get(
    "/media/assets/{asset_id}",
    response={200: AssetOut, **errors(401, 403, 404)},
    summary="Get a media asset",
)
def get_media_asset(request: HttpRequest, asset_id: ObjectId) -> MediaAsset:
    asset: MediaAsset = get_or_404(_assets(caller_of(request)), asset_id, "media asset")
    return asset


@router.post(
    "/media/assets",
    response={200: AssetOut, 201: AssetOut, **errors(400, 401, 403, 422)},
    summary="Upload a media asset",
    description="Multipart form: `file`, and optionally `brand_id` (the brand's library; "
    "without it the shared library) and `alt_text`. The type is read from the content, not "
    "the name; damaged, disguised, empty, oversized and decompression-bomb files are refused "
    "with a 400 that says why. Needs draft (on the brand, or over the whole organisation for "
    "the shared library). The same file uploaded again answers 200 with the asset already there.",
)
def upload_media_asset(
    request: HttpRequest, file: File[UploadedFile], form: Form[UploadIn]
) -> Status[MediaAsset]:
    caller = caller_of(request)
    brand_id, alt_text = form.brand_id, form.alt_text
    scope = actions.upload_scope(caller.user, caller.organization)
    if not scope.any:
        raise HttpError(
            403,
            f"Your role in {caller.organization} does not allow uploading media: it needs "
            "“Draft” (draft) on some channel.",
        )
    brand = None
    if brand_id is not None:
        brand = Brand.objects.filter(organization=caller.organization, pk=brand_id).first()
        if brand is None:
            raise ActionError(f"Brand {brand_id} is not a brand of {caller.organization}.")
    if not scope.allows(brand):
        raise HttpError(
            403,
            "You may not add files to "
            + (f"{brand.name}'s library" if brand else "the shared library")
            + ": that needs “Draft” (draft) there. Send the brand_id of one of your brands.",
        )
    result = actions.do_upload_asset(
        caller.organization,
        file=file,
        filename=file.name or "upload",
        brand=brand,
        alt_text=alt_text,
        acting_user=caller.user,
    )
    asset: MediaAsset = get_or_404(_assets(caller), result.asset.pk, "media asset")
    return Status(200 if result.duplicate else 201, asset)


@router.patch(
    "/media/assets/{asset_id}",
    response={200: AssetOut, **errors(400, 401, 403, 404, 422)},
    summary="Change a media asset",
    description="Sets the focal point (focal_x and focal_y together, or find_focal_point) "
    "and the alt text. Needs draft on the asset's brand (on the whole organisation for a "
    "shared asset). Renditions made before keep their files; new ones use the new point.",
)
def update_media_asset(request: HttpRequest, asset_id: ObjectId, body: AssetUpdate) -> MediaAsset:
    caller = caller_of(request)
    asset: MediaAsset = get_or_404(_assets(caller), asset_id, "media asset")
    require_on(_assets(caller, "draft"), asset, "draft", "media asset")
    sent = body.model_dump(exclude_unset=True)
    if ("focal_x" in sent) != ("focal_y" in sent):
        raise ActionError("Send focal_x and focal_y together.")
    if sent.get("focal_x") is not None and sent.get("focal_y") is not None:
        actions.do_set_focal_point(
            asset, x=sent["focal_x"], y=sent["focal_y"], acting_user=caller.user
        )
    elif body.find_focal_point:
        actions.do_find_focal_point(asset, acting_user=caller.user)
    if sent.get("alt_text") is not None:
        actions.do_set_alt_text(asset, alt_text=sent["alt_text"], acting_user=caller.user)
    updated: MediaAsset = get_or_404(_assets(caller), asset_id, "media asset")
    return updated


@router.get(
    "/media/assets/{asset_id}/original",
    response={200: None, **errors(401, 403, 404)},
    summary="Download a media asset's original",
)
def download_media_original(request: HttpRequest, asset_id: ObjectId) -> FileResponse:
    asset: MediaAsset = get_or_404(_assets(caller_of(request)), asset_id, "media asset")
    return serve_file(asset.original.name, asset.mime_type, asset.filename)


@router.get(
    "/media/assets/{asset_id}/renditions",
    response={200: list[RenditionOut], **errors(401, 403, 404)},
    summary="List a media asset's renditions",
    description="Every rendition made so far, including those made for an earlier focal point "
    "or rule-table version.",
)
def list_media_renditions(request: HttpRequest, asset_id: ObjectId) -> list[Rendition]:
    caller = caller_of(request)
    asset: MediaAsset = get_or_404(_assets(caller), asset_id, "media asset")
    return list(_renditions(caller).filter(asset=asset).order_by("network", "placement", "-pk"))


@router.post(
    "/media/assets/{asset_id}/renditions",
    response={200: RenditionOut, 202: RenditionOut, **errors(400, 401, 403, 404, 422)},
    summary="Get or make a rendition",
    description="The rendition of the asset for one placement of the rule table: the same "
    "request returns the same rendition. 200 when it is ready (or failed: `error` says why and "
    "what to do); 202 while it is being made (video): poll GET /media/renditions/{id}. A 400 "
    "when the placement cannot take this kind of file at all.",
)
def request_media_rendition(
    request: HttpRequest, asset_id: ObjectId, body: RenditionRequest
) -> Status[Rendition]:
    caller = caller_of(request)
    asset: MediaAsset = get_or_404(_assets(caller), asset_id, "media asset")
    _require_publishing(request, caller)
    rendition = actions.rendition_for(
        asset,
        body.network,
        body.placement,
        size=body.size,
        fit=body.fit,
        acting_user=caller.user,
    )
    return Status(200 if rendition.is_done else 202, rendition)


@router.get(
    "/media/renditions/{rendition_id}",
    response={200: RenditionOut, **errors(401, 403, 404)},
    summary="Get a rendition",
)
def get_media_rendition(request: HttpRequest, rendition_id: ObjectId) -> Rendition:
    rendition: Rendition = get_or_404(_renditions(caller_of(request)), rendition_id, "rendition")
    return rendition


@router.post(
    "/media/renditions/{rendition_id}/retry",
    response={200: RenditionOut, 202: RenditionOut, **errors(400, 401, 403, 404)},
    summary="Try a failed rendition again",
)
def retry_media_rendition(request: HttpRequest, rendition_id: ObjectId) -> Status[Rendition]:
    caller = caller_of(request)
    rendition: Rendition = get_or_404(_renditions(caller), rendition_id, "rendition")
    _require_publishing(request, caller)
    rendition = actions.do_retry_rendition(rendition, acting_user=caller.user)
    return Status(200 if rendition.is_done else 202, rendition)


@router.get(
    "/media/renditions/{rendition_id}/file",
    response={200: None, **errors(401, 403, 404)},
    summary="Download a rendition",
)
def download_media_rendition(request: HttpRequest, rendition_id: ObjectId) -> FileResponse:
    rendition: Rendition = get_or_404(_renditions(caller_of(request)), rendition_id, "rendition")
    if rendition.status != RenditionStatus.READY:
        raise HttpError(404, f"Rendition {rendition_id} is not ready ({rendition.status}).")
    return serve_file(rendition.file.name, rendition.mime_type, None)
