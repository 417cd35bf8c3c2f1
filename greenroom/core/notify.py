"""Notifications out through apprise (Slack, Teams, Telegram, e-mail, webhooks ...), for every
app: the inbox's SLA escalations and the publishing notices use this one module.

A target is an apprise URL with a label. URLs may hold tokens: they come from the vault or the
environment, and only labels are logged, audited or shown. Where a person hears about things
(their own apprise URL) is kept by the inbox's agent profile; it registers the lookup at
start-up (`register_person_targets`), so core never imports an app.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from greenroom.core.models import User

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Target:
    # What logs, audit rows and pages may show: never the URL (it holds tokens).
    label: str
    url: str


PersonTargets = Callable[[User, int], list[Target]]
_person_targets: PersonTargets | None = None


def register_person_targets(lookup: PersonTargets | None) -> None:
    """Called at start-up by the app that keeps people's apprise URLs (the inbox)."""
    global _person_targets
    _person_targets = lookup


def person_targets(person: User, organization_id: int) -> list[Target]:
    """Where this person hears about things in this organisation (empty: nowhere set)."""
    if _person_targets is None:
        return []
    return _person_targets(person, organization_id)


def understood(url: str) -> bool:
    """Whether apprise knows how to send to this URL (checked before one is stored)."""
    import apprise

    return bool(apprise.Apprise().add(url))


def send(title: str, body: str, targets: Sequence[Target]) -> list[str]:
    """Send one message to each target; returns the labels of those that accepted it.

    Never raises for a target: a URL apprise does not understand, a refusal or a crash in a
    plugin is logged (by label and error type) and the next target is tried.
    """
    import apprise

    delivered: list[str] = []
    for target in targets:
        try:
            sender = apprise.Apprise()
            if not sender.add(target.url):
                logger.warning("notification target not understood: %s", target.label)
                continue
            # Bodies are plain text (they quote people's notes and posts): said so, apprise
            # escapes them for HTML targets (an e-mail) instead of passing them through as HTML.
            if sender.notify(title=title, body=body, body_format=apprise.NotifyFormat.TEXT):
                delivered.append(target.label)
            else:
                logger.warning("notification not delivered to %s", target.label)
        except Exception as exc:
            # The exception's text may quote the URL (and its token): name its type only.
            logger.warning("notification to %s failed: %s", target.label, type(exc).__name__)
    return delivered
