"""Meta Graph API errors (Facebook Pages, Instagram, Threads) in words a social media manager
understands, with what to do.

Codes from Meta's documentation: Graph API "Handling errors"
(https://developers.facebook.com/docs/graph-api/guides/error-handling), Instagram "Error codes"
(https://developers.facebook.com/docs/instagram-platform/instagram-graph-api/reference/error-codes),
and rate limiting (https://developers.facebook.com/docs/graph-api/overview/rate-limiting).
Limits quoted in messages come from the rule table, never from here.
"""

from __future__ import annotations

import json
import re
from typing import Any

import httpx
from django.utils.translation import gettext as _

from greenroom.networks import network_api as api
from greenroom.networks.base import ConnectorError
from greenroom.networks.rules import PlacementSpec

# Throttling: 4 app, 17 user, 32 page, 613 custom; 80001-80014 business use case (BUC) limits.
RATE_LIMIT_CODES = frozenset({4, 17, 32, 613, *range(80001, 80015)})
# Without an estimate from the network, wait this long (Meta's windows are a rolling hour).
DEFAULT_THROTTLE_S = 15 * 60


def error_body(response: httpx.Response) -> dict[str, Any]:
    error = api.json_of(response).get("error")
    return error if isinstance(error, dict) else {}


def throttle_seconds(response: httpx.Response) -> float | None:
    """Meta's own estimate of when access comes back, from X-Business-Use-Case-Usage (minutes)
    or Retry-After; None when it gives none."""
    hint = api.retry_after(response.headers.get("Retry-After"))
    for header in ("X-Business-Use-Case-Usage", "X-Ad-Account-Usage"):
        raw = response.headers.get(header)
        if not raw:
            continue
        try:
            usage = json.loads(raw)
        except ValueError:
            continue
        entries = usage.values() if isinstance(usage, dict) else []
        for rows in entries:
            for row in rows if isinstance(rows, list) else [rows]:
                minutes = row.get("estimated_time_to_regain_access") if isinstance(row, dict) else 0
                if isinstance(minutes, int | float) and minutes > 0:
                    hint = max(hint or 0.0, float(minutes) * 60)
    return hint


def near_app_limit(response: httpx.Response, threshold: int = 95) -> float | None:
    """X-App-Usage reports percentages of the app's hourly allowance; back off near 100."""
    raw = response.headers.get("X-App-Usage")
    try:
        usage = json.loads(raw) if raw else {}
    except ValueError:
        return None
    if not isinstance(usage, dict):
        return None
    peak = max((v for v in usage.values() if isinstance(v, int | float)), default=0)
    return float(DEFAULT_THROTTLE_S) if peak >= threshold else None


def _ratio_range(spec: PlacementSpec | None) -> str:
    media = spec.media if spec else None
    if media and media.min_aspect and media.max_aspect:
        return f"{media.min_aspect} to {media.max_aspect}"
    video = spec.video if spec else None
    if video and video.min_aspect and video.max_aspect:
        return f"{video.min_aspect} to {video.max_aspect}"
    return _("the shapes it accepts")


# Instagram's error_user_msg names the shape it refused: "aspect ratio ('2', '1')".
_SHAPE = re.compile(r"\(\s*'?(\d+(?:\.\d+)?)'?\s*,\s*'?(\d+(?:\.\d+)?)'?\s*\)")


def _mb(value: int | None) -> str:
    return f"{value / 1_000_000:g} MB" if value else "?"


def to_connector_error(
    response: httpx.Response, network_name: str, spec: PlacementSpec | None
) -> ConnectorError:
    """One Graph API error response as a ConnectorError with a message in plain words.

    Token errors (code 190) are returned with code "reconnect_needed"; the client flags the
    channel."""
    error = error_body(response)
    code = int(error.get("code") or 0) if str(error.get("code") or "").isdigit() else 0
    sub = error.get("error_subcode")
    subcode = int(sub) if isinstance(sub, int) or (isinstance(sub, str) and sub.isdigit()) else 0
    raw_message = str(error.get("error_user_msg") or error.get("message") or "")
    code_text = f"{code}/{subcode}" if subcode else str(code or response.status_code)
    name = {"network": network_name}

    def fail(message: str, *, permanent: bool = True, retry: float | None = None) -> ConnectorError:
        return ConnectorError(message, permanent=permanent, retry_after=retry, code=code_text)

    if code == 190 or response.status_code == 401:
        return ConnectorError(raw_message, permanent=True, code="reconnect_needed")
    if code in RATE_LIMIT_CODES or response.status_code == 429 or subcode == 2207042:
        if subcode == 2207042:
            message = _(
                "%(network)s: this account has reached its daily limit of posts published "
                "through the API. Greenroom will publish it when the limit resets."
            )
        else:
            message = _(
                "%(network)s is limiting how fast Greenroom may call it. Greenroom will retry."
            )
        return fail(
            message % name,
            permanent=False,
            retry=throttle_seconds(response) or DEFAULT_THROTTLE_S,
        )
    if code == 10 or 200 <= code <= 299:
        return fail(
            _(
                "%(network)s: the connection lacks a permission this needs (%(detail)s). The "
                "channel's owner should reconnect it and allow every permission asked for."
            )
            % {**name, "detail": raw_message or code_text}
        )
    if code == 36003 or subcode == 2207009:
        shape = _SHAPE.search(raw_message)
        ratio_range = _ratio_range(spec)
        narrowest = ratio_range.split(" to ")[0]
        if shape:
            return fail(
                _(
                    "%(network)s: aspect ratio %(ratio)s is outside %(range)s - "
                    "pick the %(pick)s rendition."
                )
                % {
                    **name,
                    "ratio": f"{shape[1]}:{shape[2]}",
                    "range": ratio_range,
                    "pick": narrowest,
                }
            )
        return fail(
            _(
                "%(network)s: the media's aspect ratio is outside %(range)s - "
                "pick the %(pick)s rendition."
            )
            % {**name, "range": ratio_range, "pick": narrowest}
        )
    if code == 36000 or subcode == 2207004:
        limit = spec.media.max_image_bytes if spec else None
        return fail(
            _("%(network)s: the image is larger than %(limit)s - use a smaller rendition.")
            % {**name, "limit": _mb(limit)}
        )
    if code in (36001, 36004) or subcode in (2207005, 2207026):
        return fail(
            _(
                "%(network)s does not accept this media's format or encoding (%(detail)s). Use a "
                "JPEG image or an H.264 MP4 video."
            )
            % {**name, "detail": raw_message or code_text}
        )
    if subcode == 2207010 or code == 2207010:
        limit = spec.text.limit if spec and spec.text else None
        return fail(
            _("%(network)s: the caption is longer than %(limit)s characters - shorten it.")
            % {**name, "limit": limit or "?"}
        )
    if code == 9004 or subcode in (2207003, 2207020, 2207052):
        return fail(
            _(
                "%(network)s could not download the media from Greenroom. Check that "
                "PUBLIC_MEDIA_URL points at an address the internet can reach; Greenroom will "
                "retry."
            )
            % name,
            permanent=False,
            retry=60.0,
        )
    if code == 9007 or subcode in (2207027, 2207008):
        return fail(
            _("%(network)s is still processing the media. Greenroom will try again shortly.")
            % name,
            permanent=False,
            retry=30.0,
        )
    if code == 506:
        return fail(
            _("%(network)s refused a post identical to one just published on this account.") % name
        )
    if code == 368:
        return fail(
            _(
                "%(network)s blocked this for going against its policies (%(detail)s). Review the "
                "content; repeated blocks can restrict the account."
            )
            % {**name, "detail": raw_message or code_text}
        )
    if code in (1, 2) or error.get("is_transient") or response.status_code >= 500:
        return fail(
            _("%(network)s had a temporary problem. Greenroom will retry.") % name,
            permanent=False,
            retry=api.retry_after(response.headers.get("Retry-After")),
        )
    return fail(
        _("%(network)s refused the request: %(detail)s")
        % {**name, "detail": raw_message or _("error %(code)s") % {"code": code_text}}
    )
