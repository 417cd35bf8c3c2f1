"""Serve the sandbox (and Greenroom's webhook receiver) inside this process, still over HTTP.

The demo seed runs before the web server starts and tests run inside one database transaction;
both need the connector and the webhooks to reach Greenroom without a socket. httpx's
WSGITransport calls the real WSGI application (middleware, views, signatures) in this thread, so
it sees the same database connection and transaction.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import httpx
from django.core.signals import request_finished, request_started
from django.db import close_old_connections

from greenroom.networks.sandbox import connector, webhooks


class _InProcessTransport(httpx.WSGITransport):
    """A WSGI transport that keeps Django from closing this thread's connection per request.

    Django closes "old" connections around each request; inside a transaction that would abort
    it (on PostgreSQL the test's connection is closed outright). The handlers are disconnected
    around each request, not once for the whole block: Django's test client reconnects them
    after every request it makes, which happens between two sandbox calls in most tests. Only
    what was disconnected is reconnected, so nested uses stay correct.
    """

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        reconnect = [
            signal
            for signal in (request_started, request_finished)
            if signal.disconnect(close_old_connections)
        ]
        try:
            response = super().handle_request(request)
            # Django sends request_finished when the body is closed: read it all in here.
            response.read()
            return response
        finally:
            for signal in reconnect:
                signal.connect(close_old_connections)


@contextmanager
def in_process(*, inline_webhooks: bool = False) -> Iterator[httpx.WSGITransport]:
    """Route the connector and webhook deliveries through the in-process WSGI application.

    `inline_webhooks` delivers right after commit in this process instead of through Celery.
    """
    from greenroom.wsgi import application

    transport = _InProcessTransport(app=application)
    with connector.use_transport(transport), webhooks.use_transport(transport):
        if inline_webhooks:
            with webhooks.inline_delivery():
                yield transport
        else:
            yield transport
