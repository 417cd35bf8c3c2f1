"""Forms of the media library pages: upload, focal point, alt text, filters."""

from __future__ import annotations

from typing import Any

from django import forms
from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _

from greenroom.core.models import Brand
from greenroom.media.actions import ALT_TEXT_MAX, UploadScope
from greenroom.media.models import MediaKind

SHARED = ""


class UploadForm(forms.Form):
    file = forms.FileField(
        label=_("Image or video"),
        help_text=_(
            "JPEG, PNG, GIF, WebP, TIFF or HEIC images; MP4, MOV or WebM videos. Greenroom checks "
            "what the file really is, whatever its name says."
        ),
        allow_empty_file=True,  # so an empty file gets our message, not Django's
    )
    brand = forms.ChoiceField(label=_("Library"), required=False)
    alt_text = forms.CharField(
        label=_("Alt text"),
        required=False,
        max_length=ALT_TEXT_MAX,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("What the picture shows, for people who use a screen reader."),
    )

    def __init__(self, *args: Any, scope: UploadScope, brands: QuerySet[Brand], **kwargs: Any):
        super().__init__(*args, **kwargs)
        choices: list[tuple[str, str]] = []
        if scope.shared:
            choices.append((SHARED, str(_("Shared by every brand"))))
        self._brands = {str(b.pk): b for b in brands if b.pk in scope.brand_ids}
        choices += [(key, brand.name) for key, brand in self._brands.items()]
        field = self.fields["brand"]
        assert isinstance(field, forms.ChoiceField)
        field.choices = choices
        field.required = not scope.shared

    def clean_brand(self) -> Brand | None:
        value = self.cleaned_data.get("brand") or SHARED
        return None if value == SHARED else self._brands.get(value)


class FocalPointForm(forms.Form):
    x = forms.FloatField(
        label=_("Across (0 = left edge, 1 = right edge)"), min_value=0, max_value=1
    )
    y = forms.FloatField(label=_("Down (0 = top edge, 1 = bottom edge)"), min_value=0, max_value=1)


class AltTextForm(forms.Form):
    alt_text = forms.CharField(
        label=_("Alt text"),
        required=False,
        max_length=ALT_TEXT_MAX,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("Sent with every post that uses this file, where the network supports it."),
    )


class LibraryFilterForm(forms.Form):
    kind = forms.ChoiceField(
        label=_("Kind"), required=False, choices=[("", _("Images and videos")), *MediaKind.choices]
    )
    brand = forms.ChoiceField(label=_("Library"), required=False)

    def __init__(self, *args: Any, brands: QuerySet[Brand], **kwargs: Any):
        super().__init__(*args, **kwargs)
        field = self.fields["brand"]
        assert isinstance(field, forms.ChoiceField)
        field.choices = [
            ("", _("Every library")),
            ("shared", _("Shared by every brand")),
            *[(str(b.pk), b.name) for b in brands],
        ]
