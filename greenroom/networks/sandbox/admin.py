"""Operators can look at the sandbox network's state (never at token hashes or secrets)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.contrib import admin

from greenroom.networks.sandbox.models import (
    SandboxAccount,
    SandboxFailureSettings,
    SandboxItem,
    SandboxPost,
    SandboxWebhookDelivery,
)

# ModelAdmin is generic only in the stubs (no django_stubs_ext monkeypatch at run time).
if TYPE_CHECKING:
    ModelAdmin = admin.ModelAdmin[Any]
else:
    ModelAdmin = admin.ModelAdmin


@admin.register(SandboxAccount)
class SandboxAccountAdmin(ModelAdmin):
    list_display = ("handle", "network", "external_id", "timezone", "access_token_expires_at")
    search_fields = ("handle", "external_id")
    fields = (
        "external_id",
        "handle",
        "network",
        "display_name",
        "timezone",
        "korean_share",
        "topics",
        "webhook_url",
        "access_token_expires_at",
        "refresh_token_expires_at",
        "created_at",
    )
    readonly_fields = (
        "external_id",
        "access_token_expires_at",
        "refresh_token_expires_at",
        "created_at",
    )


@admin.register(SandboxPost)
class SandboxPostAdmin(ModelAdmin):
    list_display = ("external_id", "account", "placement", "created_at", "deleted_at", "likes")
    list_filter = ("account__network",)
    search_fields = ("external_id", "idempotency_key")


@admin.register(SandboxItem)
class SandboxItemAdmin(ModelAdmin):
    list_display = ("external_id", "account", "kind", "author_handle", "language", "created_at")
    list_filter = ("kind", "language")
    search_fields = ("external_id", "author_handle")


@admin.register(SandboxFailureSettings)
class SandboxFailureSettingsAdmin(ModelAdmin):
    list_display = ("__str__", "latency_ms", "error_rate", "rate_limit_per_minute", "timeout_rate")


@admin.register(SandboxWebhookDelivery)
class SandboxWebhookDeliveryAdmin(ModelAdmin):
    list_display = ("delivery_id", "item", "attempts", "last_status", "delivered_at")
    list_filter = ("last_status",)
