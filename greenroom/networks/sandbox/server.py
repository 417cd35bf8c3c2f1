"""The sandbox network as a server of its own.

    uvicorn greenroom.networks.sandbox.server:application

A real network answers Greenroom from its own machines. Served by Greenroom's web app, the
sandbox's API requests go through everything a person's page view needs (sessions, locale, CSRF,
authentication, preferences, security headers) and, under ASGI, through three hops between the
event loop and threads per request, because that stack mixes sync and async middleware: measured
with the publishing benchmark, about 10 ms of CPU for one create-post call, of which the view
itself is a sixth. That is the network's cost, not Greenroom's, and on one machine it eats the
CPU the workers being measured need.

This application answers the network's API (`/sandbox/api/v1/`) and admin API (`/sandbox/admin/`)
directly: the request is read on the event loop, the same view functions (`views.py`: latency,
authentication, rate limits, failures, the rule table) run on a fixed pool of threads, each
keeping its database connection, and the response is written back. Nothing else differs: the
same URLs, views, models and database. Every other path (the public post pages, /healthz, the
rest of Greenroom) is handed to the full Django application unchanged.
"""

from __future__ import annotations

import asyncio
import io
import logging
import os
from collections.abc import Awaitable, Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "greenroom.settings")
django.setup(set_prefix=False)

from django.core.asgi import get_asgi_application  # noqa: E402
from django.core.handlers.asgi import ASGIRequest  # noqa: E402
from django.db import connections  # noqa: E402
from django.http import Http404, HttpResponse  # noqa: E402
from django.urls import Resolver404, resolve  # noqa: E402

from greenroom.networks.sandbox.service import ApiError  # noqa: E402
from greenroom.networks.sandbox.views import error_response  # noqa: E402

logger = logging.getLogger(__name__)

Scope = dict[str, Any]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[Mapping[str, Any]], Awaitable[None]]

# The network's own paths; everything else goes to the full application.
FAST_PREFIXES = ("/sandbox/api/", "/sandbox/admin/")
# Requests the network serves at once per process. Each thread may sleep through the emulated
# latency (and a commit-then-hang), so this is well above what the CPU could run.
THREADS = int(os.environ.get("SANDBOX_SERVER_THREADS", "128"))
# A body larger than this is refused before it is read in full (the API takes JSON only).
MAX_BODY = 1024 * 1024

_full_app = get_asgi_application()
_pool = ThreadPoolExecutor(max_workers=THREADS, thread_name_prefix="sandbox")


def _error(status: int, code: str, message: str) -> HttpResponse:
    """The network's error shape, as its views answer (views.error_response)."""
    return error_response(ApiError(status, code, message))


def _respond(request: ASGIRequest) -> HttpResponse:
    """Run the view for one request on a pool thread (the thread's connection is reused)."""
    try:
        match = resolve(request.path_info)
        response: HttpResponse = match.func(request, *match.args, **match.kwargs)
    except (Http404, Resolver404):
        response = _error(404, "not_found", "There is nothing at this address.")
    except Exception:
        logger.exception("sandbox request failed: %s %s", request.method, request.path)
        response = _error(500, "internal_error", "The network had a problem.")
    finally:
        for connection in connections.all(initialized_only=True):
            # A connection left in a failed state (or one the database dropped) is closed, so
            # the thread's next request opens a fresh one; a healthy one is kept.
            if connection.errors_occurred and not connection.is_usable():
                connection.close()
    return response


class _Gone(Exception):
    """The client went away before it sent the whole request."""


async def _read_body(receive: Receive) -> bytes | None:
    """The whole request body; None when it is larger than MAX_BODY."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise _Gone
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > MAX_BODY:
            return None
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)


async def _send(send: Send, response: HttpResponse) -> None:
    headers = [(b"content-type", response["Content-Type"].encode("latin-1"))]
    headers += [
        (name.lower().encode("latin-1"), str(value).encode("latin-1"))
        for name, value in response.items()
        if name.lower() not in ("content-type", "content-length")
    ]
    body = response.content
    headers.append((b"content-length", str(len(body)).encode()))
    await send({"type": "http.response.start", "status": response.status_code, "headers": headers})
    await send({"type": "http.response.body", "body": body})


async def application(scope: Scope, receive: Receive, send: Send) -> None:
    if scope["type"] != "http" or not scope["path"].startswith(FAST_PREFIXES):
        await _full_app(scope, receive, send)
        return
    try:
        body = await _read_body(receive)
    except _Gone:
        return
    if body is None:
        await _send(send, _error(413, "body_too_large", "The request body is too large."))
        return
    request = ASGIRequest(scope, io.BytesIO(body))
    response = await asyncio.get_running_loop().run_in_executor(_pool, _respond, request)
    await _send(send, response)
