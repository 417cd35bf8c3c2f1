"""Mastodon's errors in plain words, with its X-RateLimit-* headers turned into retry_after."""

from __future__ import annotations

import time

import requests
from django.utils.translation import gettext as _
from mastodon import Mastodon
from mastodon import errors as m

from greenroom.networks.base import ConnectorError, OutcomeUnknown


def _detail(exc: m.MastodonAPIError) -> tuple[int | None, str]:
    """(HTTP status, the server's own message) of a Mastodon.py API error."""
    args = exc.args
    status = args[1] if len(args) > 1 and isinstance(args[1], int) else None
    message = str(args[3]) if len(args) > 3 and args[3] else ""
    return status, message


def _not_sent(exc: BaseException) -> bool:
    """Whether a network error happened before the request reached the server."""
    cause = exc.__context__
    if isinstance(cause, requests.exceptions.ConnectTimeout):
        return True
    text = str(cause or exc)
    return "Failed to establish a new connection" in text or "Name or service not known" in text


def connector_error(
    exc: BaseException, *, during: str, write: bool, api: Mastodon | None = None
) -> ConnectorError:
    """Turn a Mastodon.py exception into a ConnectorError a social media manager can act on."""
    if isinstance(exc, ConnectorError):
        return exc
    if isinstance(exc, m.MastodonRatelimitError):
        reset = getattr(api, "ratelimit_reset", None) if api is not None else None
        wait = max(0.0, float(reset) - time.time()) if reset else None
        return ConnectorError(
            _("Mastodon is rate limiting this account while %(during)s. Greenroom will wait.")
            % {"during": during},
            retry_after=wait,
            code="rate_limited",
        )
    if isinstance(exc, m.MastodonNetworkError):
        if _not_sent(exc):
            return ConnectorError(
                _("Could not reach the Mastodon server while %(during)s. Greenroom will retry.")
                % {"during": during},
                code="unreachable",
            )
        if write:
            return OutcomeUnknown(
                _(
                    "The Mastodon server did not answer in time while %(during)s; it may or may "
                    "not have been done. Greenroom checks before trying again."
                )
                % {"during": during},
                code="outcome_unknown",
            )
        return ConnectorError(
            _("The Mastodon server did not answer while %(during)s. Greenroom will retry.")
            % {"during": during},
            code="no_answer",
        )
    if isinstance(exc, m.MastodonUnauthorizedError):
        return ConnectorError(
            _(
                "The Mastodon server no longer accepts this channel's access (it was revoked or "
                "the app was removed). Connect the channel again."
            ),
            permanent=True,
            # The code the publishing engine and the poller read as "ask the owner to reconnect".
            code="reconnect_needed",
        )
    if isinstance(exc, m.MastodonServerError):
        status, message = _detail(exc)
        return ConnectorError(
            _("The Mastodon server had a temporary problem while %(during)s (%(detail)s).")
            % {"during": during, "detail": message or status},
            code=f"http_{status}",
        )
    if isinstance(exc, m.MastodonNotFoundError):
        return ConnectorError(
            _("Mastodon could not find it while %(during)s: it may have been deleted.")
            % {"during": during},
            permanent=True,
            code="not_found",
        )
    if isinstance(exc, m.MastodonAPIError):
        status, message = _detail(exc)
        if status == 403:
            return ConnectorError(
                _(
                    "The Mastodon server does not allow this (%(detail)s). The account may be "
                    "suspended or the app may lack the scope: connect the channel again."
                )
                % {"detail": message or status},
                permanent=True,
                code="forbidden",
            )
        if status == 422:
            return ConnectorError(
                _("Mastodon refused it while %(during)s: %(detail)s")
                % {"during": during, "detail": message or _("invalid request")},
                permanent=True,
                code="unprocessable",
            )
        if status == 413:
            return ConnectorError(
                _("The Mastodon server refused a file as too large. Use a smaller rendition."),
                permanent=True,
                code="too_large",
            )
        return ConnectorError(
            _("Mastodon answered with an error while %(during)s (%(detail)s).")
            % {"during": during, "detail": message or status},
            permanent=status is not None and 400 <= status < 500,
            code=f"http_{status}",
        )
    if isinstance(exc, m.MastodonFileNotFoundError | FileNotFoundError):
        return ConnectorError(
            _("A media file is missing. Upload it again."), permanent=True, code="media_missing"
        )
    return ConnectorError(
        _("Mastodon failed while %(during)s (%(error)s).")
        % {"during": during, "error": type(exc).__name__},
        code=type(exc).__name__,
    )
