"""Bluesky's (XRPC) errors in plain words, with its rate-limit headers turned into retry_after."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx
from atproto_client import exceptions as atp
from atproto_client.models.common import XrpcError
from django.utils.translation import gettext as _

from greenroom.networks.base import ConnectorError, OutcomeUnknown

# XRPC error names (the `error` field) that mean the login itself is gone.
AUTH_ERRORS = frozenset(
    {"ExpiredToken", "InvalidToken", "AuthenticationRequired", "AuthMissing", "InvalidAuth"}
)


def xrpc_error(exc: BaseException) -> tuple[int | None, str, str]:
    """(HTTP status, XRPC error name, message) of an SDK error."""
    response = getattr(exc, "response", None)
    if response is None:
        return None, "", ""
    content = response.content
    if isinstance(content, XrpcError):
        return response.status_code, content.error or "", content.message or ""
    return response.status_code, "", ""


# Raised by the SDK itself when the stored session cannot be used at all.
LOCAL_AUTH_ERRORS = frozenset(
    {"LoginRequiredError", "TokenDecodeError", "TokenExpiredSignatureError", "TokenInvalidError"}
)


def is_auth_error(exc: BaseException) -> bool:
    if type(exc).__name__ in LOCAL_AUTH_ERRORS:
        return True
    status, name, _message = xrpc_error(exc)
    return (
        isinstance(exc, atp.UnauthorizedError)
        or name in AUTH_ERRORS
        or (status == 400 and name == "ExpiredToken")
    )


def retry_after(exc: BaseException) -> float | None:
    """Seconds to wait, from Retry-After or the ratelimit-reset header Bluesky's PDS sends."""
    response = getattr(exc, "response", None)
    if response is None:
        return None
    headers = {k.lower(): v for k, v in response.headers.items()}
    value = headers.get("retry-after")
    if value is not None:
        try:
            return max(0.0, float(value))
        except ValueError:
            pass
    reset = headers.get("ratelimit-reset")
    if reset is not None:
        try:
            return max(0.0, int(reset) - datetime.now(UTC).timestamp())
        except ValueError:
            return None
    return None


def connector_error(exc: BaseException, *, during: str, write: bool) -> ConnectorError:
    """Turn an SDK exception into a ConnectorError a social media manager can act on."""
    if isinstance(exc, ConnectorError):
        return exc
    cause = exc.__cause__
    if isinstance(exc, atp.NetworkError) and getattr(exc, "response", None) is None:
        if isinstance(cause, httpx.ConnectError | httpx.ConnectTimeout | httpx.PoolTimeout):
            return ConnectorError(
                _("Could not reach Bluesky while %(during)s. Greenroom will try again.")
                % {"during": during},
                code="unreachable",
            )
        if write:
            return OutcomeUnknown(
                _(
                    "Bluesky did not answer in time while %(during)s; it may or may not have "
                    "been done. Greenroom checks before trying again."
                )
                % {"during": during},
                code="outcome_unknown",
            )
        return ConnectorError(
            _("Bluesky did not answer while %(during)s. Greenroom will try again.")
            % {"during": during},
            code="no_answer",
        )
    status, name, message = xrpc_error(exc)
    detail = message or name or (str(status) if status else type(exc).__name__)
    if isinstance(exc, atp.RateLimitExceededError) or status == 429:
        return ConnectorError(
            _("Bluesky is rate limiting this account while %(during)s. Greenroom will wait.")
            % {"during": during},
            retry_after=retry_after(exc),
            code="RateLimitExceeded",
        )
    if name == "AccountTakedown":
        return ConnectorError(
            _("Bluesky has taken this account down. Contact Bluesky's moderation team."),
            permanent=True,
            code=name,
        )
    if name in ("AccountDeactivated", "AccountSuspended"):
        return ConnectorError(
            _("The Bluesky account is deactivated or suspended (%(detail)s).") % {"detail": detail},
            permanent=True,
            code=name,
        )
    if is_auth_error(exc):
        return ConnectorError(
            _(
                "Bluesky no longer accepts this channel's app password (%(detail)s). Create a "
                "new app password in Bluesky's settings and connect the channel again."
            )
            % {"detail": detail},
            permanent=True,
            # The code the publishing engine and the poller read as "ask the owner to reconnect".
            code="reconnect_needed",
        )
    if name == "BlobTooLarge" or status == 413:
        return ConnectorError(
            _("Bluesky refused a file as too large (%(detail)s). Use a smaller rendition.")
            % {"detail": detail},
            permanent=True,
            code=name or "BlobTooLarge",
        )
    if name in ("RecordNotFound", "NotFound") or status == 404:
        return ConnectorError(
            _("Bluesky could not find it while %(during)s: it may have been deleted.")
            % {"during": during},
            permanent=True,
            code=name or "NotFound",
        )
    if status is not None and (status >= 500 or status in (408, 409)):
        return ConnectorError(
            _(
                "Bluesky had a temporary problem while %(during)s (%(detail)s). Greenroom will "
                "try again."
            )
            % {"during": during, "detail": detail},
            retry_after=retry_after(exc),
            code=name or f"http_{status}",
        )
    if name == "InvalidRequest" or status == 400:
        return ConnectorError(
            _("Bluesky refused the request while %(during)s: %(detail)s.")
            % {"during": during, "detail": detail},
            permanent=True,
            code=name or "InvalidRequest",
        )
    return ConnectorError(
        _("Bluesky answered with an error while %(during)s (%(detail)s).")
        % {"during": during, "detail": detail},
        permanent=status is not None and 400 <= status < 500,
        code=name or (f"http_{status}" if status else type(exc).__name__),
    )
