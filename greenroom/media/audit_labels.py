"""The media library's audit actions in words (found by CoreConfig.ready())."""

from django.utils.translation import gettext_lazy as _

from greenroom.core.audit import name_actions

name_actions(
    {
        "media.asset_uploaded": _("Media uploaded"),
        "media.focal_point_set": _("Media focal point set"),
        "media.alt_text_set": _("Media alt text set"),
        "media.rendition_requested": _("Rendition requested"),
        "media.rendition_failed": _("Rendition failed"),
        "media.rendition_retried": _("Rendition retried"),
    }
)
