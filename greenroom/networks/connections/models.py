"""How Greenroom is connected to a channel's account on a real network, and where its inbox
polling stands. Shared by every network connector (the tokens themselves live in the vault)."""

from __future__ import annotations

from typing import ClassVar

from django.db import models
from django.utils import timezone as tz
from django.utils.translation import gettext_lazy as _

from greenroom.core.restrict import RestrictedManager


class ChannelConnection(models.Model):
    """One channel's link to its network account: the server, the account, the granted scopes,
    and the inbox cursor for networks that Greenroom polls (Bluesky, Mastodon)."""

    restrict_org = "organization"
    restrict_channel: ClassVar[str | None] = "channel"

    organization = models.ForeignKey(
        "core.Organization", on_delete=models.CASCADE, related_name="+"
    )
    channel = models.OneToOneField(
        "core.Channel", on_delete=models.CASCADE, related_name="connection"
    )
    # The PDS of a Bluesky account, the Mastodon instance, or the API base of other networks.
    service_url = models.URLField(_("server"), max_length=300, blank=True)
    # The network's id of the account (a DID on Bluesky, an account id on Mastodon).
    account_id = models.CharField(_("account id"), max_length=300, blank=True)
    scopes = models.JSONField(_("scopes"), default=list, blank=True)
    connected_at = models.DateTimeField(_("connected"), default=tz.now)

    # Inbox polling: the network's cursor after the last item stored, when the last poll ran,
    # and what went wrong with it (plain words, shown on the channel page).
    inbox_cursor = models.CharField(max_length=500, blank=True)
    polled_at = models.DateTimeField(_("last checked"), null=True, blank=True)
    poll_error = models.TextField(_("last problem"), blank=True)
    poll_failures = models.PositiveIntegerField(default=0)
    # A worker polling this channel holds it until then (another worker skips it meanwhile).
    poll_lease_until = models.DateTimeField(null=True, blank=True)

    objects = RestrictedManager["ChannelConnection"]()

    def __str__(self) -> str:
        return f"connection of channel {self.channel_id}"


class PublishAttempt(models.Model):
    """A post Greenroom is sending to a network that cannot keep our idempotency key with the
    post (Mastodon honours the key only for an hour): the fingerprint of what was sent lets
    `find_published` recognise the post later. Written just before the request goes out."""

    restrict_org = "channel__organization"
    restrict_channel: ClassVar[str | None] = "channel"

    channel = models.ForeignKey("core.Channel", on_delete=models.CASCADE, related_name="+")
    idempotency_key = models.CharField(max_length=200)
    # SHA-256 of the text (and content warning) exactly as sent.
    fingerprint = models.CharField(max_length=64)
    started_at = models.DateTimeField(default=tz.now)

    objects = RestrictedManager["PublishAttempt"]()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["channel", "idempotency_key"], name="publish_attempt_unique_key"
            )
        ]

    def __str__(self) -> str:
        return f"attempt {self.idempotency_key} on channel {self.channel_id}"
