from __future__ import annotations

from django.urls import URLPattern, path

from greenroom.networks import oauth, webhook_views
from greenroom.networks.linkedin import webhooks as linkedin_webhooks
from greenroom.networks.meta import webhooks as meta_webhooks
from greenroom.networks.x import webhooks as x_webhooks

app_name = "hooks"
urlpatterns: list[URLPattern] = [
    path("sandbox/<int:channel_id>/", webhook_views.sandbox_hook, name="sandbox"),
    # OAuth 2 connect flow for every network whose connector has an `oauth` provider.
    path("<slug:network>/connect/<int:channel_id>/", oauth.connect_start, name="oauth_start"),
    path("<slug:network>/oauth/callback/", oauth.connect_callback, name="oauth_callback"),
    # Meta (Facebook Pages, Instagram, Threads): one address per organisation and network.
    *(
        path(f"{net}/<int:org_id>/", meta_webhooks.meta_hook, {"network": net}, name=f"{net}")
        for net in meta_webhooks.NETWORKS
    ),
    # X (Account Activity API): CRC challenge on GET, signed deliveries on POST.
    path("x/<int:org_id>/", x_webhooks.x_hook, name="x"),
    # LinkedIn (organization social action notifications): challengeCode on GET, signed POSTs.
    path("linkedin/<int:org_id>/", linkedin_webhooks.linkedin_hook, name="linkedin"),
]
