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


@contextmanager
def in_process(*, inline_webhooks: bool = False) -> Iterator[httpx.WSGITransport]:
    """Route the connector and webhook deliveries through the in-process WSGI application.

    `inline_webhooks` delivers right after commit in this process instead of through Celery.
    """
    from greenroom.wsgi import application

    transport = httpx.WSGITransport(app=application)
    # Django closes "old" connections around each request; inside a transaction that would
    # abort it. Django's test client disconnects the same handlers for the same reason.
    # Only what this call disconnected is reconnected, so nested uses stay correct.
    reconnect = [
        signal
        for signal in (request_started, request_finished)
        if signal.disconnect(close_old_connections)
    ]
    try:
        with connector.use_transport(transport), webhooks.use_transport(transport):
            if inline_webhooks:
                with webhooks.inline_delivery():
                    yield transport
            else:
                yield transport
    finally:
        for signal in reconnect:
            signal.connect(close_old_connections)
