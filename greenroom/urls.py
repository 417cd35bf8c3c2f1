from __future__ import annotations

from django.contrib import admin
from django.urls import include, path

from greenroom.accounts.forms import AdminAuthenticationForm
from greenroom.api.api import api
from greenroom.core import views as core_views
from greenroom.governance import urls as governance_urls
from greenroom.publishing.composer import urls as composer_urls

# The operators' admin signs people in too: it refuses throttled sign-ins the same way.
admin.site.login_form = AdminAuthenticationForm

urlpatterns = [
    # Before anything else under publishing/: the media library is its own app.
    path("publishing/media/", include("greenroom.media.urls")),
    path("publishing/compose/", include(composer_urls.compose_patterns)),
    path("publishing/calendar/", include(composer_urls.calendar_patterns)),
    path("publishing/import/", include(composer_urls.import_patterns)),
    # Sign-in with its second factor and single sign-on; its /login/ replaces core's.
    path("", include("greenroom.accounts.urls")),
    path("", include(governance_urls.shell_patterns)),
    path("governance/compliance/", include("greenroom.compliance.urls")),
    path("governance/", include("greenroom.governance.urls")),
    path("", include("greenroom.core.urls")),
    path("scim/v2/", include("greenroom.governance.scim.urls")),
    path("networks/", include("greenroom.networks.urls")),
    path("networks/bluesky/", include("greenroom.networks.bluesky.urls")),
    path("networks/mastodon/", include("greenroom.networks.mastodon.urls")),
    path("sandbox/", include("greenroom.networks.sandbox.urls")),
    path("hooks/", include("greenroom.networks.hook_urls")),
    path("api/", api.urls),
    path("settings/tokens/", include("greenroom.api.urls")),
    path("i18n/", include("django.conf.urls.i18n")),
    path("healthz", core_views.healthz, name="healthz"),
    path("ops/admin/", admin.site.urls),
]
