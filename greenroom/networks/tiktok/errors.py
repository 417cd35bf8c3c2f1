"""TikTok API errors in words a social media manager understands, with what to do.

TikTok answers {"data": ..., "error": {"code", "message", "log_id"}} with code "ok" on success.
Sources:
- Content Posting API reference, error codes of video/init, content/init and status/fetch
  (spam_risk_too_many_posts, unaudited_client_can_only_post_to_private_accounts,
  url_ownership_unverified, privacy_level_option_mismatch, rate_limit_exceeded ...):
  https://developers.tiktok.com/doc/content-posting-api-reference-direct-post
- Post status fail_reason values (file_format_check_failed, duration_check_failed,
  frame_rate_check_failed, picture_size_check_failed, video_pull_failed, photo_pull_failed,
  spam_risk_*): https://developers.tiktok.com/doc/content-posting-api-reference-get-video-status
- Rate limits (6 init requests a minute per user token, in the rule table):
  https://developers.tiktok.com/doc/tiktok-api-v2-rate-limit
"""

from __future__ import annotations

from typing import Any

import httpx
from django.utils.translation import gettext as _

from greenroom.networks import network_api as api
from greenroom.networks.base import ConnectorError
from greenroom.networks.rules import PlacementSpec

TOKEN_CODES = frozenset({"access_token_invalid", "invalid_token"})
DAY_S = 24 * 3600.0


def error_of(body: dict[str, Any]) -> tuple[str, str]:
    error = body.get("error")
    if not isinstance(error, dict):
        return "", ""
    return str(error.get("code") or ""), str(error.get("message") or "")


def _window(spec: PlacementSpec | None) -> float:
    """The rule table's window for TikTok's posting requests (seconds)."""
    windows = [q.window_seconds for q in (spec.quotas if spec else ()) if q.counts == "requests"]
    return float(min(windows)) if windows else 60.0


def to_connector_error(response: httpx.Response, spec: PlacementSpec | None) -> ConnectorError:
    """One TikTok error answer as a ConnectorError (a refused token comes back with code
    "reconnect_needed"; the caller refreshes once, then flags the channel)."""
    code, detail = error_of(api.json_of(response))
    status = response.status_code
    code = code or f"http_{status}"

    def fail(message: str, *, permanent: bool = True, retry: float | None = None) -> ConnectorError:
        return ConnectorError(message, permanent=permanent, retry_after=retry, code=code)

    if code in TOKEN_CODES or (status == 401 and code != "scope_not_authorized"):
        return ConnectorError(detail, permanent=True, code="reconnect_needed")
    if code == "scope_not_authorized":
        return fail(
            _(
                "TikTok: the account did not allow Greenroom to post (%(detail)s). Its owner "
                "should reconnect the channel and allow every permission asked for."
            )
            % {"detail": detail or code}
        )
    if code == "rate_limit_exceeded" or status == 429:
        return fail(
            _(
                "TikTok is limiting how fast Greenroom may post for this account. Greenroom "
                "will retry."
            ),
            permanent=False,
            retry=api.retry_after(response.headers.get("Retry-After")) or _window(spec),
        )
    if code == "spam_risk_too_many_posts":
        return fail(
            _(
                "TikTok: this account has reached its daily number of posts through the API. "
                "Greenroom will try again in 24 hours."
            ),
            permanent=False,
            retry=DAY_S,
        )
    if code == "reached_active_user_cap":
        return fail(
            _(
                "TikTok: Greenroom's TikTok app has reached its daily number of posting users. "
                "Greenroom will try again in 24 hours; ask TikTok to raise the app's quota."
            ),
            permanent=False,
            retry=DAY_S,
        )
    if code == "unaudited_client_can_only_post_to_private_accounts":
        return fail(
            _(
                "TikTok has not audited Greenroom's TikTok app yet, and until it does, posts "
                "can only be private ('Only me'). Choose that privacy, or have an admin submit "
                "the app for TikTok's audit."
            )
        )
    if code == "url_ownership_unverified":
        return fail(
            _(
                "TikTok only fetches media from domains verified in the TikTok app's settings. "
                "Verify the domain of PUBLIC_MEDIA_URL with TikTok, then publish again."
            )
        )
    if code == "privacy_level_option_mismatch":
        return fail(
            _(
                "TikTok: this account does not offer the chosen privacy level. Choose one of "
                "the account's own options and publish again."
            )
        )
    if code in ("spam_risk_user_banned_from_posting", "spam_risk"):
        return fail(
            _(
                "TikTok will not let this account post right now (%(detail)s). Check the account "
                "in the TikTok app."
            )
            % {"detail": detail or code}
        )
    if status >= 500 or code == "internal_error":
        return fail(
            _("TikTok had a temporary problem. Greenroom will retry."),
            permanent=False,
            retry=api.retry_after(response.headers.get("Retry-After")),
        )
    return fail(_("TikTok refused the request: %(detail)s") % {"detail": detail or code})


def failure_error(
    reason: str, *, max_duration: int | None, spec: PlacementSpec | None
) -> ConnectorError:
    """A post TikTok accepted but then failed (status/fetch's fail_reason), in plain words."""
    video = spec.video if spec else None
    messages = {
        "file_format_check_failed": _(
            "TikTok could not read the video's format. Use an MP4 (H.264), WebM or MOV file."
        ),
        "duration_check_failed": _(
            "TikTok refused the video's length: this account may post videos of up to "
            "%(limit)s seconds. Trim it."
        )
        % {"limit": max_duration or (video.max_duration_seconds if video else "?")},
        "frame_rate_check_failed": _(
            "TikTok refused the video's frame rate: it takes %(low)s to %(high)s frames a second."
        )
        % {
            "low": (video.min_fps if video else None) or "?",
            "high": (video.max_fps if video else None) or "?",
        },
        "picture_size_check_failed": _(
            "TikTok refused the picture size. Use the rendition the rule table recommends."
        ),
        "video_pull_failed": _(
            "TikTok could not download the video from Greenroom. Check that PUBLIC_MEDIA_URL is "
            "reachable from the internet."
        ),
        "photo_pull_failed": _(
            "TikTok could not download the photos from Greenroom. Check that PUBLIC_MEDIA_URL is "
            "reachable from the internet and its domain is verified with TikTok."
        ),
        "publish_cancelled": _("The post was cancelled on TikTok."),
        "auth_removed": _("The account removed Greenroom's access on TikTok. Reconnect it."),
    }
    temporary = reason in ("internal", "video_pull_failed", "photo_pull_failed")
    message = messages.get(reason) or _("TikTok could not publish the post (%(reason)s).") % {
        "reason": reason or _("no reason given")
    }
    return ConnectorError(
        message,
        permanent=not temporary,
        retry_after=60.0 if temporary else None,
        code=reason or "publish_failed",
    )
