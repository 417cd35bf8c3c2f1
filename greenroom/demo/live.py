"""Live demo traffic: the sandbox's audience writing to every connected sandbox channel."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from django.utils import timezone
from django.utils.translation import gettext as _

from greenroom.core.models import Channel
from greenroom.networks.sandbox import traffic
from greenroom.networks.sandbox.inprocess import in_process
from greenroom.networks.sandbox.models import SandboxAccount


class DemoError(Exception):
    """Something the person running the command can fix; the message says how."""


@dataclass(frozen=True)
class Target:
    channel: Channel
    account: SandboxAccount


def targets(channel_id: int | None = None) -> list[Target]:
    """Sandbox channels connected to a sandbox account (one channel when `channel_id` is set)."""
    channels = Channel.objects.filter(sandboxed=True).exclude(external_id="").order_by("pk")
    if channel_id is not None:
        channels = channels.filter(pk=channel_id)
    accounts = {
        a.external_id: a
        for a in SandboxAccount.objects.filter(external_id__in=[c.external_id for c in channels])
    }
    found = [Target(c, accounts[c.external_id]) for c in channels if c.external_id in accounts]
    if not found:
        if channel_id is not None:
            raise DemoError(
                _(
                    "Channel %(id)s is not a sandbox channel connected to the sandbox network. "
                    "List channels with `greenroom shell` or pick one on the Governance page."
                )
                % {"id": channel_id}
            )
        raise DemoError(_("No sandbox channel is connected yet. Run `greenroom demo seed` first."))
    return found


@contextmanager
def delivery(inline: bool) -> Iterator[None]:
    """Inline: deliver webhooks in this process (no worker needed); else through Celery."""
    with ExitStack() as stack:
        if inline:
            stack.enter_context(in_process(inline_webhooks=True))
        yield


def emit_now(
    planned: Sequence[traffic.PlannedMessage], names: dict[int, str], out: Callable[[str], None]
) -> int:
    """Emit planned messages (none later than now), printing one line each."""
    now = timezone.now()
    for message in planned:
        # Messages from a plan of the past land now; their order and gaps stay.
        traffic.emit([replace(message, at=min(message.at, now))])
        preview = message.text if len(message.text) <= 60 else message.text[:59] + "…"
        out(
            f"{message.at:%H:%M:%S} {names.get(message.account_id, '?'):<28} "
            f"{message.kind:<7} {message.language} {preview}"
        )
    return len(planned)


def run(
    plan_minute: Callable[[datetime], list[traffic.PlannedMessage]],
    names: dict[int, str],
    *,
    minutes: float | None,
    once: bool,
    out: Callable[[str], None],
    sleep: Callable[[float], None] = time.sleep,
) -> int:
    """Plan one minute at a time and emit each message at its moment, until `minutes` pass.

    `once`: emit one minute's worth (the minute that just passed) immediately and stop.
    """
    if once:
        return emit_now(plan_minute(timezone.now() - timedelta(minutes=1)), names, out)
    end = None if minutes is None else timezone.now() + timedelta(minutes=minutes)
    total = 0
    while end is None or timezone.now() < end:
        start = timezone.now()
        for message in plan_minute(start):
            wait = (message.at - timezone.now()).total_seconds()
            if wait > 0:
                sleep(wait)
            if end is not None and timezone.now() >= end:
                break
            total += emit_now([message], names, out)
        rest = (start + timedelta(minutes=1) - timezone.now()).total_seconds()
        if rest > 0 and (end is None or timezone.now() < end):
            sleep(rest)
    return total
