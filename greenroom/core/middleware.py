from __future__ import annotations

import zoneinfo
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from django.utils import timezone, translation

from greenroom.core import context

REQUEST_ID_HEADER = "X-Request-ID"


def client_ip(request: HttpRequest) -> str | None:
    # Behind a reverse proxy, set the proxy to overwrite REMOTE_ADDR (docs/deploy.md).
    return request.META.get("REMOTE_ADDR") or None


class RequestContextMiddleware:
    """Give every request an id (kept from a trusted proxy's header if present) and bind it
    with the client address for audit rows and log lines."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        incoming = request.headers.get(REQUEST_ID_HEADER, "")
        request_id = incoming if incoming.isalnum() and len(incoming) <= 64 else None
        with context.bind(request_id=request_id, ip=client_ip(request)) as ctx:
            response = self.get_response(request)
        response[REQUEST_ID_HEADER] = ctx.request_id
        return response


class UserPreferencesMiddleware:
    """Show times in the user's zone and the UI in their saved language."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            try:
                timezone.activate(zoneinfo.ZoneInfo(user.timezone))
            except (zoneinfo.ZoneInfoNotFoundError, ValueError):
                timezone.deactivate()
            if user.language:
                translation.activate(user.language)
                request.LANGUAGE_CODE = user.language
        else:
            timezone.deactivate()
        return self.get_response(request)
