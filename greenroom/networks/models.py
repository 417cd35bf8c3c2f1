"""Greenroom's landing table for what networks send: every comment, mention and DM arrives here
first (by webhook or by polling), raw and exactly once per channel, before the inbox reads it."""

from __future__ import annotations

from typing import ClassVar

from django.db import models
from django.utils import timezone as tz
from django.utils.translation import gettext_lazy as _

from greenroom.core.restrict import RestrictedManager


class InboundSource(models.TextChoices):
    WEBHOOK = "webhook", _("Webhook")
    POLL = "poll", _("Polling")


class Delivered(models.Model):
    """What a network delivered for a channel, as Greenroom keeps it before the inbox reads it
    (the payload is untrusted content)."""

    restrict_org = "organization"
    restrict_channel: ClassVar[str | None] = "channel"

    # No index of its own: each table's indexes lead with the organisation or the channel, and
    # every index here is written once per message landed.
    organization = models.ForeignKey(
        "core.Organization", on_delete=models.CASCADE, related_name="+", db_index=False
    )
    external_id = models.CharField(_("external id"), max_length=200)
    kind = models.CharField(_("kind"), max_length=16)
    # The item exactly as the network sent it (`payloads.stored_payload`); the inbox parses it,
    # nothing renders it raw.
    payload = models.JSONField(default=dict)
    source = models.CharField(max_length=16, choices=InboundSource.choices)
    # The network's delivery id, when it gives one (kept to trace replays).
    delivery_id = models.CharField(max_length=64, blank=True)
    received_at = models.DateTimeField(default=tz.now)

    class Meta:
        abstract = True


class InboundEvent(Delivered):
    """One comment, mention or DM as the network delivered it."""

    channel = models.ForeignKey(
        "core.Channel", on_delete=models.CASCADE, related_name="inbound_events", db_index=False
    )
    # Set by the inbox once it has turned the event into a message.
    processed_at = models.DateTimeField(null=True, blank=True)

    objects = RestrictedManager["InboundEvent"]()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["channel", "external_id"], name="inbound_event_unique_per_channel"
            )
        ]
        indexes = [
            # Only pending events are looked up by it (processed_at IS NULL, oldest first), so
            # only they are in it: marking a batch processed takes its events out instead of
            # moving them, and the index stays as small as the backlog.
            models.Index(
                fields=["id"],
                condition=models.Q(processed_at__isnull=True),
                name="inbound_event_pending",
            ),
            models.Index(fields=["organization", "-received_at"], name="inbound_event_org_recent"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.external_id} on channel {self.channel_id}"


class HeldInbound(Delivered):
    """An item a webhook delivered without something the network tells only when asked (a DM
    sender's name, the text of an Instagram @mention), whose lookup could not be made in the
    time the webhook has (Meta unreachable, throttling, too many at once). It is kept here,
    committed before the webhook is answered, and landed as an `InboundEvent` once a worker has
    asked again (`networks/held.py`), or as it came after the last try: the inbox then threads
    and routes it with its text and its author, and nothing is lost on the way."""

    channel = models.ForeignKey(
        "core.Channel", on_delete=models.CASCADE, related_name="held_inbound", db_index=False
    )
    # Lookups tried after the webhook's own; the next is due at `retry_at` (a worker that takes
    # the item moves it on first, so a worker killed while asking leaves it due again later).
    attempts = models.PositiveSmallIntegerField(default=0)
    retry_at = models.DateTimeField(default=tz.now)

    objects = RestrictedManager["HeldInbound"]()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["channel", "external_id"], name="held_inbound_unique_per_channel"
            )
        ]
        indexes = [models.Index(fields=["retry_at"], name="held_inbound_due")]

    def __str__(self) -> str:
        return f"held {self.kind} {self.external_id} on channel {self.channel_id}"
