"""LinkedIn API errors in words a social media manager understands, with what to do.

LinkedIn answers errors as {"status", "serviceErrorCode", "code", "message"} and, for rejected
input, "errorDetails": {"inputErrors": [{"code", "description", "input": ...}]}. Sources:
- Error handling: https://learn.microsoft.com/en-us/linkedin/shared/api-guide/concepts/error-handling
- Rate limits (429; daily limits reset at midnight UTC):
  https://learn.microsoft.com/en-us/linkedin/shared/api-guide/concepts/rate-limits
- Posts API (DUPLICATE_POST, FIELD_LENGTH_TOO_LONG):
  https://learn.microsoft.com/en-us/linkedin/marketing/community-management/shares/posts-api
Limits quoted in messages come from the rule table, never from here.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from django.utils import timezone
from django.utils.translation import gettext as _

from greenroom.networks import network_api as api
from greenroom.networks.base import ConnectorError
from greenroom.networks.rules import PlacementSpec

# 65600 invalid, 65601 revoked by the member, 65602 expired (error-handling guide).
TOKEN_CODES = frozenset({65600, 65601, 65602})
_DUPLICATE_OF = re.compile(r"duplicate of (urn:li:(?:share|ugcPost):\d+)")


def body_of(response: httpx.Response) -> dict[str, Any]:
    return api.json_of(response)


def input_codes(body: dict[str, Any]) -> list[str]:
    details = body.get("errorDetails") or {}
    errors = details.get("inputErrors") if isinstance(details, dict) else None
    return [str(e.get("code") or "") for e in errors or [] if isinstance(e, dict)]


def duplicate_of(response: httpx.Response) -> str | None:
    """The post a DUPLICATE_POST refusal names ("Content is a duplicate of urn:li:share:...")."""
    if response.status_code != 422:
        return None
    body = body_of(response)
    if "DUPLICATE_POST" not in input_codes(body) and "duplicate" not in str(body.get("message")):
        return None
    found = _DUPLICATE_OF.search(str(body.get("message") or ""))
    return found[1] if found else None


def seconds_to_utc_midnight() -> float:
    now = timezone.now().astimezone(UTC)
    midnight = datetime(now.year, now.month, now.day, tzinfo=UTC) + timedelta(days=1)
    return max(60.0, (midnight - now).total_seconds())


def to_connector_error(response: httpx.Response, spec: PlacementSpec | None) -> ConnectorError:
    """One LinkedIn error response as a ConnectorError with a message in plain words.

    A refused token (401) comes back with code "reconnect_needed"; the caller refreshes once,
    then flags the channel."""
    body = body_of(response)
    status = response.status_code
    service_code = body.get("serviceErrorCode")
    codes = input_codes(body)
    detail = str(body.get("message") or "")[:300]
    code = str(body.get("code") or (codes[0] if codes else "") or f"http_{status}")

    if status == 401 or service_code in TOKEN_CODES:
        return ConnectorError(detail, permanent=True, code="reconnect_needed")
    if status == 429:
        # LinkedIn sends no Retry-After; its daily application and member limits reset at
        # midnight UTC, which is the soonest a throttled call can succeed.
        wait = api.retry_after(response.headers.get("Retry-After")) or seconds_to_utc_midnight()
        return ConnectorError(
            _(
                "LinkedIn: Greenroom has used today's allowance of calls for this. LinkedIn "
                "resets it at midnight UTC; Greenroom will retry then."
            ),
            retry_after=wait,
            code="rate_limited",
        )
    if status >= 500:
        return ConnectorError(
            _("LinkedIn had a temporary problem. Greenroom will retry."),
            retry_after=api.retry_after(response.headers.get("Retry-After")),
            code=f"http_{status}",
        )
    if "DUPLICATE_POST" in codes or duplicate_of(response):
        return ConnectorError(
            _(
                "LinkedIn refused a post identical to one this page published recently. Change "
                "the text, or leave it if the earlier post is the one you wanted."
            ),
            permanent=True,
            code="duplicate",
        )
    if "FIELD_LENGTH_TOO_LONG" in codes or "FIELD_LENGTH_TOO_LONG" in detail:
        limit = spec.text.limit if spec and spec.text else None
        return ConnectorError(
            _(
                "LinkedIn: the text is longer than LinkedIn accepts (%(limit)s characters). "
                "Shorten it."
            )
            % {"limit": limit or "?"},
            permanent=True,
            code="FIELD_LENGTH_TOO_LONG",
        )
    if status == 403:
        return ConnectorError(
            _(
                "LinkedIn does not allow this connection to do that (%(detail)s). The person who "
                "connected the channel must be an administrator of the page, and the app needs "
                "LinkedIn's Community Management API; reconnect after checking both."
            )
            % {"detail": detail or code},
            permanent=True,
            code=code,
        )
    if status == 404:
        return ConnectorError(
            _("LinkedIn cannot find this any more (%(detail)s); it may have been deleted.")
            % {"detail": detail or code},
            permanent=True,
            code="not_found",
        )
    return ConnectorError(
        _("LinkedIn refused the request: %(detail)s") % {"detail": detail or code},
        permanent=True,
        code=code,
    )
