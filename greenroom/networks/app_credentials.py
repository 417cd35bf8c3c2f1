"""Which app credentials each OAuth network needs, and where an admin registers Greenroom.

An organisation registers its own app in each network's developer console, then enters what the
console gave it on the network apps page. Each value is a vault secret named
`app:<network>:<field>` (see network_api.app_secret_name); the connectors and webhook views read
them by those names, so the field names here must match theirs:

- X: OAuth 2 client id and secret (connect) and the API key secret ("consumer secret"), which
  signs Account Activity webhooks (x/webhooks.py).
- Facebook, Instagram, Threads: the Meta app's id and secret (connect; the secret also signs
  webhooks) and the verify token Meta echoes when the webhook is subscribed (meta/webhooks.py).
- LinkedIn: client id and secret (the secret also signs webhooks, linkedin/webhooks.py).
- YouTube: the Google OAuth client id and secret.
- TikTok: the client key and secret (kept under client_id/client_secret; TikTok's provider sends
  the id as `client_key`).
"""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from django.http import HttpRequest
from django.urls import reverse
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from greenroom.core.models import AuditEvent, Organization, Secret
from greenroom.networks import oauth
from greenroom.networks.network_api import app_secret_name


@dataclass(frozen=True)
class AppField:
    name: str
    label: str | Promise
    # Secret fields are entered in a password input; ids are not secret but are never shown
    # back either (the vault does not tell them apart).
    secret: bool = True


@dataclass(frozen=True)
class NetworkApp:
    kind: str
    fields: tuple[AppField, ...]
    # The URL name (namespace "hooks") of the webhook address, taking the organisation's id.
    webhook: str | None = None


_CLIENT_ID = AppField("client_id", _("Client ID"), secret=False)
_CLIENT_SECRET = AppField("client_secret", _("Client secret"))
_META = (
    AppField("client_id", _("App ID"), secret=False),
    AppField("client_secret", _("App secret")),
    AppField("webhook_verify_token", _("Webhook verify token")),
)

NETWORK_APPS: tuple[NetworkApp, ...] = (
    NetworkApp(
        "x",
        (_CLIENT_ID, _CLIENT_SECRET, AppField("consumer_secret", _("API key secret (webhooks)"))),
        webhook="x",
    ),
    NetworkApp("facebook", _META, webhook="facebook"),
    NetworkApp("instagram", _META, webhook="instagram"),
    NetworkApp("threads", _META, webhook="threads"),
    NetworkApp("linkedin", (_CLIENT_ID, _CLIENT_SECRET), webhook="linkedin"),
    NetworkApp("youtube", (_CLIENT_ID, _CLIENT_SECRET)),
    NetworkApp(
        "tiktok",
        (
            AppField("client_id", _("Client key"), secret=False),
            AppField("client_secret", _("Client secret")),
        ),
    ),
)


def enabled_apps() -> list[NetworkApp]:
    """The apps of the networks this installation enables (settings.GREENROOM_NETWORKS)."""
    enabled = set(settings.GREENROOM_NETWORKS)
    return [app for app in NETWORK_APPS if app.kind in enabled]


def network_app(kind: str) -> NetworkApp | None:
    """An enabled network's app, by kind."""
    return next((app for app in enabled_apps() if app.kind == kind), None)


@dataclass(frozen=True)
class StoredField:
    """What the page may say about one stored value: never the value itself."""

    field: AppField
    stored: bool
    hint: str = ""
    changed_at: object = None
    changed_by: str = ""


@dataclass(frozen=True)
class AppStatus:
    app: NetworkApp
    fields: tuple[StoredField, ...]
    callback_url: str
    webhook_url: str

    @property
    def complete(self) -> bool:
        return all(f.stored for f in self.fields)


def statuses(request: HttpRequest, org: Organization) -> list[AppStatus]:
    """Each network app of `org`: which values are stored, when and by whom, and the addresses
    to register. Reads only names, hints and dates; no value leaves the vault."""
    names = {
        app_secret_name(app.kind, f.name): (app, f) for app in NETWORK_APPS for f in app.fields
    }
    secrets = {
        s.name: s
        for s in Secret.objects.restrict(request.user, "manage_vault")
        .filter(organization=org, name__in=names)
        .only("pk", "name", "hint", "created_at", "rotated_at")
    }
    who: dict[str, str] = {}
    if secrets:
        events = (
            AuditEvent.objects.restrict(request.user, "view_audit")
            .filter(
                organization=org,
                target_type=Secret._meta.label_lower,
                target_id__in=[str(s.pk) for s in secrets.values()],
            )
            .order_by("id")
            .values_list("target_id", "actor_name")
        )
        who = dict(events)  # the latest event per secret wins
    result = []
    for app in enabled_apps():
        fields = []
        for f in app.fields:
            secret = secrets.get(app_secret_name(app.kind, f.name))
            if secret is None:
                fields.append(StoredField(f, stored=False))
                continue
            fields.append(
                StoredField(
                    f,
                    stored=True,
                    hint=secret.hint,
                    changed_at=secret.rotated_at or secret.created_at,
                    changed_by=who.get(str(secret.pk), ""),
                )
            )
        webhook_url = ""
        if app.webhook:
            webhook_url = request.build_absolute_uri(reverse(f"hooks:{app.webhook}", args=[org.pk]))
        result.append(
            AppStatus(
                app=app,
                fields=tuple(fields),
                callback_url=oauth.callback_url(request, app.kind),
                webhook_url=webhook_url,
            )
        )
    return result
