"""YouTube Data API errors in words a social media manager understands, with what to do.

Google answers {"error": {"code", "message", "errors": [{"domain", "reason", "message"}]}}.
Sources:
- Errors: https://developers.google.com/youtube/v3/docs/errors (quotaExceeded 403, forbidden,
  youtubeSignupRequired, rateLimitExceeded ...), and each method's own list (videos.insert:
  uploadLimitExceeded, invalidTitle ...; comments: commentsDisabled ...).
- Quota: https://developers.google.com/youtube/v3/getting-started#quota (the daily quota resets at
  midnight Pacific Time).
- uploadLimitExceeded ("try again in 24 hours"): YouTube Data API revision history.
Limits quoted in messages come from the rule table, never from here.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
from django.utils import timezone
from django.utils.translation import gettext as _

from greenroom.networks import network_api as api
from greenroom.networks.base import ConnectorError
from greenroom.networks.rules import PlacementSpec

PACIFIC = ZoneInfo("America/Los_Angeles")
TOKEN_REASONS = frozenset({"authError", "invalidCredentials", "unauthorized"})
THROTTLE_REASONS = frozenset({"rateLimitExceeded", "userRateLimitExceeded"})
# Without a hint from Google, wait this long after a throttled call.
DEFAULT_THROTTLE_S = 60.0


def reason_of(response: httpx.Response) -> tuple[str, str]:
    """(reason, message) of a Google API error answer."""
    error = api.json_of(response).get("error")
    if not isinstance(error, dict):
        return "", ""
    details: list[Any] = error.get("errors") or []
    first = details[0] if details and isinstance(details[0], dict) else {}
    return str(first.get("reason") or error.get("status") or ""), str(error.get("message") or "")


def seconds_to_pacific_midnight() -> float:
    """YouTube's daily quota resets at midnight Pacific Time."""
    now = timezone.now().astimezone(PACIFIC)
    midnight = datetime(now.year, now.month, now.day, tzinfo=PACIFIC) + timedelta(days=1)
    return max(60.0, (midnight - now).total_seconds())


def to_connector_error(response: httpx.Response, spec: PlacementSpec | None) -> ConnectorError:
    """One YouTube error answer as a ConnectorError with a message in plain words.

    A refused token comes back with code "reconnect_needed"; the caller refreshes once, then
    flags the channel."""
    status = response.status_code
    reason, detail = reason_of(response)
    detail = detail[:300]
    code = reason or f"http_{status}"

    def fail(message: str, *, permanent: bool = True, retry: float | None = None) -> ConnectorError:
        return ConnectorError(message, permanent=permanent, retry_after=retry, code=code)

    if reason == "youtubeSignupRequired":
        return fail(
            _(
                "YouTube: the Google account that connected has no YouTube channel. Create the "
                "channel on YouTube, then connect again."
            )
        )
    if status == 401 or reason in TOKEN_REASONS:
        return ConnectorError(detail, permanent=True, code="reconnect_needed")
    if reason in ("quotaExceeded", "dailyLimitExceeded"):
        return fail(
            _(
                "YouTube: Greenroom's Google Cloud project has used today's YouTube API quota. "
                "Google resets it at midnight Pacific Time; Greenroom will retry then. Ask Google "
                "for more quota if this happens often."
            ),
            permanent=False,
            retry=seconds_to_pacific_midnight(),
        )
    if reason == "uploadLimitExceeded":
        return fail(
            _(
                "YouTube: this channel has reached the number of videos it may upload in 24 "
                "hours. Greenroom will try again in 24 hours."
            ),
            permanent=False,
            retry=24 * 3600.0,
        )
    if status == 429 or reason in THROTTLE_REASONS:
        return fail(
            _("YouTube is limiting how fast Greenroom may call it. Greenroom will retry."),
            permanent=False,
            retry=api.retry_after(response.headers.get("Retry-After")) or DEFAULT_THROTTLE_S,
        )
    if status >= 500 or reason in ("backendError", "internalError"):
        return fail(
            _("YouTube had a temporary problem. Greenroom will retry."),
            permanent=False,
            retry=api.retry_after(response.headers.get("Retry-After")),
        )
    if reason == "invalidTitle":
        limit = spec.title.limit if spec and spec.title else "?"
        return fail(
            _(
                "YouTube refused the title: it must not be empty, be at most %(limit)s "
                "characters and contain no < or >. Edit the title."
            )
            % {"limit": limit}
        )
    if reason == "invalidDescription":
        limit = spec.text.limit if spec and spec.text else "?"
        return fail(
            _(
                "YouTube refused the description: at most %(limit)s bytes (a Korean syllable "
                "takes 3) and no < or >. Shorten it."
            )
            % {"limit": limit}
        )
    if reason == "invalidTags":
        limit = spec.tags.limit if spec and spec.tags else "?"
        return fail(
            _("YouTube refused the tags: together they may be %(limit)s characters. Remove some.")
            % {"limit": limit}
        )
    if reason == "commentsDisabled":
        return fail(_("YouTube: comments are turned off on this video."))
    if reason in ("forbidden", "insufficientPermissions") or status == 403:
        return fail(
            _(
                "YouTube does not allow this connection to do that (%(detail)s). The channel's "
                "owner should reconnect it and allow every permission asked for."
            )
            % {"detail": detail or code}
        )
    if status == 404:
        return fail(
            _("YouTube cannot find this any more (%(detail)s); it may have been deleted.")
            % {"detail": detail or code}
        )
    return fail(_("YouTube refused the request: %(detail)s") % {"detail": detail or code})
