from __future__ import annotations

from django.contrib import admin
from django.urls import include, path

from greenroom.api.api import api
from greenroom.core import views as core_views
from greenroom.core.auth_views import ThrottledAdminAuthenticationForm

# The operators' admin signs people in too: it refuses throttled sign-ins the same way.
admin.site.login_form = ThrottledAdminAuthenticationForm

urlpatterns = [
    path("", include("greenroom.core.urls")),
    path("networks/", include("greenroom.networks.urls")),
    path("sandbox/", include("greenroom.networks.sandbox.urls")),
    path("hooks/", include("greenroom.networks.hook_urls")),
    path("api/", api.urls),
    path("settings/tokens/", include("greenroom.api.urls")),
    path("i18n/", include("django.conf.urls.i18n")),
    path("healthz", core_views.healthz, name="healthz"),
    path("ops/admin/", admin.site.urls),
]
