"""Security headers on every response, and a strict Content-Security-Policy.

Scripts run only from our own static files: no inline <script>, no inline event handlers, no
eval. Style sheets come from our own files too (`style-src-elem 'self'`); only inline `style`
*attributes* are allowed (`style-src-attr 'unsafe-inline'`), because several pages size bars and
previews from data (a rendition's aspect ratio, an upload's progress, a campaign's colour) and an
attribute cannot run code. Django's SecurityMiddleware already sends X-Content-Type-Options,
Referrer-Policy, Cross-Origin-Opener-Policy and, on HTTPS, Strict-Transport-Security;
XFrameOptionsMiddleware sends X-Frame-Options for browsers that predate frame-ancestors.
"""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "style-src-elem 'self'",
        "style-src-attr 'unsafe-inline'",
        # Bootstrap draws its icons (select arrows, close buttons) as data: SVGs.
        "img-src 'self' data:",
        "font-src 'self'",
        "connect-src 'self'",
        "media-src 'self'",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)

# Features no Greenroom page uses: a page (or something injected into it) cannot ask for them.
PERMISSIONS_POLICY = ", ".join(
    f"{feature}=()"
    for feature in (
        "accelerometer",
        "camera",
        "geolocation",
        "gyroscope",
        "magnetometer",
        "microphone",
        "payment",
        "usb",
    )
)


class SecurityHeadersMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        # A view with a reason to differ (none today) sets its own policy first.
        response.headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
        response.headers.setdefault("Permissions-Policy", PERMISSIONS_POLICY)
        response.headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        return response
