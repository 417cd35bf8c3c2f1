"""The sandbox network's own storage: its accounts, posts, inbound items and failure settings.

These tables belong to the emulated network, not to Greenroom: Greenroom reaches them only over
HTTP (greenroom.networks.sandbox.connector), exactly as it reaches a real network.
"""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils import timezone as tz


class SandboxAccount(models.Model):
    """One account on the sandbox network, emulating `network` (x, instagram ...)."""

    external_id = models.CharField(max_length=40, unique=True)
    handle = models.CharField(max_length=200)
    network = models.CharField(max_length=32)
    display_name = models.CharField(max_length=200, blank=True)
    # The audience: where it lives (drives the day/night rhythm of the traffic generator), how much
    # of it writes in Korean, and what it talks about.
    timezone = models.CharField(max_length=64, default="UTC")
    korean_share = models.FloatField(default=0.3)
    topics = models.JSONField(default=list, blank=True)
    # Only hashes of the tokens are kept, as a real network would.
    access_token_hash = models.CharField(max_length=64, unique=True)
    access_token_expires_at = models.DateTimeField()
    refresh_token_hash = models.CharField(max_length=64, unique=True)
    refresh_token_expires_at = models.DateTimeField()
    webhook_url = models.CharField(max_length=500, blank=True)
    # Sealed with the vault keys; empty means settings.SANDBOX_WEBHOOK_SECRET signs the webhooks.
    webhook_secret_sealed = models.BinaryField(blank=True, default=b"")
    created_at = models.DateTimeField(default=tz.now)

    def __str__(self) -> str:
        return f"{self.handle} (sandbox {self.network})"


class SandboxPost(models.Model):
    """A post (or a reply to an inbound item) the account published."""

    account = models.ForeignKey(SandboxAccount, on_delete=models.CASCADE, related_name="posts")
    external_id = models.CharField(max_length=40, unique=True)
    # Empty: sent without a key (nothing to deduplicate against).
    idempotency_key = models.CharField(max_length=200, blank=True)
    text = models.TextField(blank=True)
    placement = models.CharField(max_length=32, default="feed")
    media = models.JSONField(default=list, blank=True)
    # Set when this answers a comment, mention or DM (its si_ id), or is the account's own
    # comment under one of its posts (the post's sp_ id).
    in_reply_to = models.CharField(max_length=40, blank=True)
    created_at = models.DateTimeField(default=tz.now)
    deleted_at = models.DateTimeField(null=True, blank=True)
    likes = models.PositiveIntegerField(default=0)
    reposts = models.PositiveIntegerField(default=0)
    replies = models.PositiveIntegerField(default=0)
    impressions = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["account", "idempotency_key"],
                condition=~Q(idempotency_key=""),
                name="sandbox_post_unique_idempotency_key",
            )
        ]
        indexes = [models.Index(fields=["account", "created_at"])]

    def __str__(self) -> str:
        return self.external_id


class SandboxItemKind(models.TextChoices):
    COMMENT = "comment"
    MENTION = "mention"
    DM = "dm"


class SandboxItem(models.Model):
    """A comment, mention or DM written by someone on the network to the account."""

    account = models.ForeignKey(SandboxAccount, on_delete=models.CASCADE, related_name="items")
    external_id = models.CharField(max_length=40, unique=True)
    kind = models.CharField(max_length=16, choices=SandboxItemKind.choices)
    author_handle = models.CharField(max_length=200)
    author_name = models.CharField(max_length=200, blank=True)
    text = models.TextField()
    language = models.CharField(max_length=8, blank=True)
    in_reply_to = models.CharField(max_length=40, blank=True)
    thread_id = models.CharField(max_length=80, blank=True)
    created_at = models.DateTimeField(default=tz.now)
    hidden_at = models.DateTimeField(null=True, blank=True)
    deleted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        # The primary key is the inbox cursor: items of one account are inserted under a lock on
        # the account row, so their ids grow in commit order.
        indexes = [models.Index(fields=["account", "id"])]

    def __str__(self) -> str:
        return self.external_id


class SandboxFailureSettings(models.Model):
    """How badly the sandbox behaves: one global row and optional per-account rows.

    A null field inherits: account row -> global row -> settings.SANDBOX_* defaults.
    """

    is_global = models.BooleanField(default=False)
    account = models.OneToOneField(
        SandboxAccount, null=True, blank=True, on_delete=models.CASCADE, related_name="failures"
    )
    latency_ms = models.PositiveIntegerField(null=True, blank=True)
    error_rate = models.FloatField(null=True, blank=True)
    rate_limit_per_minute = models.PositiveIntegerField(null=True, blank=True)
    retry_after_s = models.PositiveIntegerField(null=True, blank=True)
    # Share of writes that commit and then hang for timeout_s (the client sees a timeout).
    timeout_rate = models.FloatField(null=True, blank=True)
    timeout_s = models.FloatField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["is_global"],
                condition=Q(is_global=True),
                name="sandbox_one_global_failures",
            ),
            models.CheckConstraint(
                condition=Q(is_global=True, account__isnull=True)
                | Q(is_global=False, account__isnull=False),
                name="sandbox_failures_scope",
            ),
        ]

    def __str__(self) -> str:
        return "global" if self.is_global else f"account {self.account_id}"


class SandboxRateWindow(models.Model):
    """Requests one account made in one minute, for the per-account rate limit."""

    account = models.ForeignKey(SandboxAccount, on_delete=models.CASCADE, related_name="+")
    window_start = models.DateTimeField()
    count = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["account", "window_start"], name="sandbox_rate_window")
        ]

    def __str__(self) -> str:
        return f"{self.account_id} @ {self.window_start:%H:%M}: {self.count}"


class SandboxWebhookDelivery(models.Model):
    """One webhook delivery of one item; retries keep the delivery id."""

    item = models.ForeignKey(SandboxItem, on_delete=models.CASCADE, related_name="deliveries")
    delivery_id = models.CharField(max_length=40, unique=True)
    attempts = models.PositiveIntegerField(default=0)
    last_status = models.PositiveIntegerField(null=True, blank=True)
    last_error = models.CharField(max_length=300, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=tz.now)

    def __str__(self) -> str:
        return self.delivery_id
