"""Bulk import page: upload a CSV, see each row's problems by line, import all or the valid rows."""

from __future__ import annotations

import csv
from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_GET, require_http_methods

from greenroom.core.ids import as_ids
from greenroom.core.models import Organization, User
from greenroom.core.tenancy import require_section
from greenroom.publishing import bulk
from greenroom.publishing.models import Post

from .compose import post_url
from .forms import ImportForm


def _user(request: HttpRequest) -> User:
    user = request.user
    assert isinstance(user, User)  # behind login_required
    return user


@login_required
@require_http_methods(["GET", "POST"])
def import_page(request: HttpRequest) -> HttpResponse:
    """Check a CSV file and import it: everything, or only its valid rows when asked."""
    org = require_section(request, "publishing")
    user = _user(request)
    form = ImportForm(request.POST or None, request.FILES or None, initial={"submit": True})
    context: dict[str, Any] = {
        "org": org,
        "form": form,
        "columns": bulk.COLUMNS,
        "max_rows": bulk.max_rows(),
        "zone": str(timezone.get_current_timezone()),
    }
    if request.method != "POST":
        context["imported"] = _imported(request, org, user)
        return render(request, "composer/import.html", context)
    if not form.is_valid():
        return render(request, "composer/import.html", context, status=400)
    upload = form.cleaned_data["file"]
    data = upload.read(bulk.max_bytes() + 1)
    checked = bulk.check(data, org=org, user=user, zone=timezone.get_current_timezone())
    context["checked"] = checked
    context["filename"] = upload.name
    only_check = request.POST.get("action") == "check"
    if only_check:
        return render(request, "composer/import.html", context)
    try:
        result = bulk.do_import_posts(
            checked,
            org=org,
            valid_rows_only=form.cleaned_data["import_valid_rows"],
            submit=form.cleaned_data["submit"],
            acting_user=user,
        )
    except bulk.ImportRefused as exc:
        context["refused"] = str(exc)
        if exc.errors is not checked.errors and exc.errors != checked.errors:
            context["extra_errors"] = exc.errors
        return render(request, "composer/import.html", context, status=400)
    count = len(result.posts)
    messages.success(
        request,
        ngettext("Imported %(n)s post.", "Imported %(n)s posts.", count) % {"n": count},
    )
    if result.skipped_lines:
        messages.warning(
            request,
            _("Skipped the rows with errors, on lines %(lines)s.")
            % {"lines": ", ".join(map(str, result.skipped_lines))},
        )
    done = ",".join(str(p.pk) for p in result.posts)
    return redirect(reverse("bulk_import:page") + "?" + urlencode({"done": done}))


def _imported(request: HttpRequest, org: Organization, user: User) -> list[tuple[Post, str]]:
    """The posts of the import just done (?done=1,2,3), as far as the person can see them."""
    ids = as_ids(request.GET.get("done", "").split(","))
    if not ids:
        return []
    posts = Post.objects.restrict(user, "view").filter(organization=org, pk__in=ids[:500])
    return [(p, post_url(p)) for p in posts.order_by("pk").distinct()]


@login_required
@require_GET
def template_csv(request: HttpRequest) -> HttpResponse:
    """An example CSV file with every column."""
    require_section(request, "publishing")
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="greenroom-posts.csv"'
    writer = csv.writer(response)
    writer.writerows(bulk.template_rows())
    return response
