"""The Graph API client shared by Facebook Pages, Instagram and Threads.

httpx, one request at a time, the access token in the Authorization header (never in a URL, so
it cannot reach an access log). Errors become ConnectorError through `errors`; a token Meta no
longer accepts flags the channel for reconnection. Containers (Instagram, Threads) and videos
are polled until Meta has processed them: `sleep` is module level so tests need not wait.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import httpx
from django.conf import settings
from django.utils.translation import gettext as _

from greenroom.networks import network_api as api
from greenroom.networks.base import ConnectorError
from greenroom.networks.meta import errors
from greenroom.networks.rules import PlacementSpec

sleep: Callable[[float], None] = time.sleep


def graph_version() -> str:
    return str(getattr(settings, "META_GRAPH_VERSION", "v23.0"))


def facebook_base() -> str:
    return f"https://graph.facebook.com/{graph_version()}"


THREADS_BASE = "https://graph.threads.net/v1.0"

# How often and how long to wait for Meta to process a container (about 5 minutes).
POLL_INTERVAL_S = 5.0
POLL_ATTEMPTS = 60


class Graph:
    """Graph API calls for one channel."""

    def __init__(
        self,
        base_url: str,
        tokens: api.ChannelTokens,
        network_name: str,
        spec: PlacementSpec | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.tokens = tokens
        self.network_name = network_name
        self.spec = spec

    def call(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, str] | None = None,
        data: dict[str, str] | None = None,
        write: bool = False,
        timeout: float | None = None,
    ) -> dict[str, Any]:
        """One Graph call; `timeout` (seconds) shortens the wait for a read that must not hold
        up its caller long (a profile looked up while a webhook waits for its answer)."""
        token = self.tokens.access_token()
        url = path if path.startswith("https://") else f"{self.base_url}/{path.lstrip('/')}"
        with api.client() as http:
            if timeout is not None:
                http.timeout = httpx.Timeout(timeout)
            request = http.build_request(
                method,
                url,
                params=params,
                data=data,
                headers={"Authorization": f"Bearer {token}"},
            )
            response = api.send(http, request, write=write, network_name=self.network_name)
        if response.is_success:
            return api.json_of(response)
        error = errors.to_connector_error(response, self.network_name, self.spec)
        if error.code == "reconnect_needed":
            raise self.tokens.reconnect_error(error.message or _("the token is no longer valid"))
        raise error

    def wait_until_ready(
        self, object_id: str, *, fields: str, state_of: Callable[[dict[str, Any]], str]
    ) -> dict[str, Any]:
        """Poll a container or video until Meta has processed it.

        `state_of` reads the object's state as one of FINISHED, IN_PROGRESS, ERROR, EXPIRED
        (and PUBLISHED)."""
        for _attempt in range(POLL_ATTEMPTS):
            data = self.call("GET", object_id, params={"fields": fields})
            state = state_of(data).upper()
            if state in ("FINISHED", "PUBLISHED", "READY"):
                return data
            if state == "ERROR":
                detail = str(data.get("status") or data.get("error_message") or "")
                raise ConnectorError(
                    _(
                        "%(network)s could not process the media (%(detail)s). Check its format "
                        "against the rule table and publish again."
                    )
                    % {"network": self.network_name, "detail": detail or _("no reason given")},
                    permanent=True,
                    code="media_processing_failed",
                )
            if state == "EXPIRED":
                raise ConnectorError(
                    _(
                        "%(network)s let the upload expire before it was published. "
                        "Greenroom will retry."
                    )
                    % {"network": self.network_name},
                    code="container_expired",
                )
            sleep(POLL_INTERVAL_S)
        raise ConnectorError(
            _("%(network)s is still processing the media. Greenroom will check again later.")
            % {"network": self.network_name},
            retry_after=60.0,
            code="still_processing",
        )
