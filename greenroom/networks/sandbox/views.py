"""The sandbox network's HTTP API (/sandbox/api/v1/), its admin API (/sandbox/admin/) and a
public page per post. See docs/architecture/sandbox.md.

Every API request goes through `api_endpoint`: latency, Bearer authentication, the per-account
rate limit, random 5xx, then the handler; writes may then "hang" after committing. No endpoint
uses sessions or cookies, and none needs a CSRF token: clients authenticate with headers.
"""

from __future__ import annotations

import functools
import hmac
import json
import random
import time
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt

from greenroom.networks.sandbox import failures, service
from greenroom.networks.sandbox.models import SandboxAccount, SandboxPost
from greenroom.networks.sandbox.service import ApiError

Handler = Callable[..., HttpResponse]


def error_response(exc: ApiError) -> JsonResponse:
    response = JsonResponse(
        {"error": {"code": exc.code, "message": exc.message}}, status=exc.status
    )
    for key, value in exc.headers.items():
        response[key] = value
    return response


def _json_body(request: HttpRequest) -> dict[str, Any]:
    if not request.body:
        return {}
    try:
        data = json.loads(request.body)
    except (ValueError, UnicodeDecodeError):
        raise ApiError(400, "invalid_json", _("The request body is not valid JSON.")) from None
    if not isinstance(data, dict):
        raise ApiError(400, "invalid_json", _("The request body must be a JSON object."))
    return data


def _enabled() -> None:
    if not settings.SANDBOX_ENABLED:
        raise Http404


def api_endpoint(*methods: str, write: bool = False) -> Callable[[Handler], Handler]:
    """Wrap a handler `(request, account, **kwargs)` with the sandbox's behaviour."""

    def decorator(handler: Handler) -> Handler:
        @csrf_exempt
        @functools.wraps(handler)
        def view(request: HttpRequest, **kwargs: Any) -> HttpResponse:
            _enabled()
            if request.method not in methods:
                response = error_response(
                    ApiError(405, "method_not_allowed", _("Use %(m)s.") % {"m": ", ".join(methods)})
                )
                response["Allow"] = ", ".join(methods)
                return response
            hang = 0.0
            try:
                account = service.authenticate(request.headers.get("Authorization"))
                behaviour = failures.effective(account)
                if behaviour.latency_ms:
                    time.sleep(behaviour.latency_ms / 1000)
                failures.count_request(account, behaviour)
                if failures.should_fail(behaviour):
                    status = random.choice((500, 503))
                    raise ApiError(
                        status,
                        "internal_error" if status == 500 else "unavailable",
                        _("The network had a temporary problem. Try again shortly."),
                    )
                if write and request.method != "GET" and failures.should_hang(behaviour):
                    hang = behaviour.timeout_s
                answer = handler(request, account, **kwargs)
            except ApiError as exc:
                return error_response(exc)
            if hang:
                # Sleep after the write committed, so the client gives up without knowing that
                # the post exists: the publishing engine's find_published path exists for this.
                time.sleep(hang)
            return answer

        return view

    return decorator


def _post_url(request: HttpRequest, post: SandboxPost) -> str:
    if post.in_reply_to.startswith("sp_"):
        # The account's comment under its own post is shown on that post's page.
        parent = reverse("sandbox:post_page", args=[post.in_reply_to])
        return request.build_absolute_uri(f"{parent}#{post.external_id}")
    return request.build_absolute_uri(reverse("sandbox:post_page", args=[post.external_id]))


def _post_response(request: HttpRequest, post: SandboxPost, status: int = 200) -> JsonResponse:
    return JsonResponse(service.post_json(post, _post_url(request, post)), status=status)


def _idempotency_key(request: HttpRequest) -> str | None:
    return request.headers.get("Idempotency-Key")


@api_endpoint("GET")
def me(request: HttpRequest, account: SandboxAccount) -> HttpResponse:
    return JsonResponse(
        {
            "id": account.external_id,
            "handle": account.handle,
            "network": account.network,
            "name": account.display_name,
            "token_expires_at": account.access_token_expires_at.isoformat(),
        }
    )


@api_endpoint("GET", "POST", write=True)
def posts(request: HttpRequest, account: SandboxAccount) -> HttpResponse:
    if request.method == "GET":
        key = request.GET.get("idempotency_key", "")
        if not key:
            raise ApiError(
                400, "missing_parameter", _("Look posts up with ?idempotency_key=<key>.")
            )
        post = account.posts.filter(idempotency_key=key).first()
        if post is None:
            raise ApiError(404, "not_found", _("No post was created with this idempotency key."))
        return _post_response(request, post)
    data = _json_body(request)
    text = data.get("text", "")
    placement = data.get("placement", "feed")
    if not isinstance(text, str) or not isinstance(placement, str):
        raise ApiError(400, "invalid_request", _("'text' and 'placement' must be strings."))
    post, created = service.create_post(
        account,
        text=text,
        placement=placement,
        media=data.get("media"),
        idempotency_key=_idempotency_key(request),
    )
    return _post_response(request, post, status=201 if created else 200)


@api_endpoint("GET", "DELETE")
def post_detail(request: HttpRequest, account: SandboxAccount, post_id: str) -> HttpResponse:
    if request.method == "DELETE":
        post = service.delete_post(account, post_id)
    else:
        post = service.get_post(account, post_id)
    return _post_response(request, post)


@api_endpoint("POST", write=True)
def post_comments(request: HttpRequest, account: SandboxAccount, post_id: str) -> HttpResponse:
    data = _json_body(request)
    text = data.get("text", "")
    if not isinstance(text, str):
        raise ApiError(400, "invalid_request", _("'text' must be a string."))
    comment, created = service.comment_on_post(
        account, post_id, text=text, idempotency_key=_idempotency_key(request)
    )
    return _post_response(request, comment, status=201 if created else 200)


@api_endpoint("GET")
def inbox(request: HttpRequest, account: SandboxAccount) -> HttpResponse:
    try:
        limit = int(request.GET.get("limit", "100"))
    except ValueError:
        raise ApiError(400, "invalid_parameter", _("'limit' must be a number.")) from None
    items, cursor, more = service.list_items(account, request.GET.get("since") or None, limit)
    return JsonResponse(
        {
            "items": [service.item_json(item, account) for item in items],
            "cursor": cursor,
            "has_more": more,
        }
    )


@api_endpoint("POST", write=True)
def item_replies(request: HttpRequest, account: SandboxAccount, item_id: str) -> HttpResponse:
    data = _json_body(request)
    text = data.get("text", "")
    if not isinstance(text, str):
        raise ApiError(400, "invalid_request", _("'text' must be a string."))
    post, created = service.reply_to_item(
        account, item_id, text=text, idempotency_key=_idempotency_key(request)
    )
    return _post_response(request, post, status=201 if created else 200)


@api_endpoint("POST")
def item_hide(request: HttpRequest, account: SandboxAccount, item_id: str) -> HttpResponse:
    item = service.hide_item(account, item_id)
    return JsonResponse(service.item_json(item, account))


@api_endpoint("DELETE")
def item_detail(request: HttpRequest, account: SandboxAccount, item_id: str) -> HttpResponse:
    item = service.delete_item(account, item_id)
    return JsonResponse(service.item_json(item, account))


@api_endpoint("GET")
def metrics(request: HttpRequest, account: SandboxAccount) -> HttpResponse:
    ids = [i for i in request.GET.get("ids", "").split(",") if i][: service.MAX_PAGE]
    found = account.posts.filter(external_id__in=ids)
    return JsonResponse({"metrics": [service.metrics_json(post) for post in found]})


@csrf_exempt
def oauth_token(request: HttpRequest) -> HttpResponse:
    """OAuth 2 refresh: grant_type=refresh_token (form or JSON body)."""
    _enabled()
    if request.method != "POST":
        return error_response(ApiError(405, "method_not_allowed", _("Use POST.")))
    try:
        if request.content_type == "application/json":
            data = _json_body(request)
        else:
            data = request.POST.dict()
        if data.get("grant_type") != "refresh_token" or not isinstance(
            data.get("refresh_token"), str
        ):
            raise ApiError(
                400,
                "unsupported_grant_type",
                _("Send grant_type=refresh_token and the refresh_token."),
            )
        issued = service.refresh(data["refresh_token"])
    except ApiError as exc:
        return error_response(exc)
    return JsonResponse(
        {
            "access_token": issued.access_token,
            "refresh_token": issued.refresh_token,
            "token_type": "Bearer",
            "expires_at": issued.expires_at.isoformat(),
            "expires_in": int(issued.expires_at.timestamp() - time.time()),
        },
        headers={"Cache-Control": "no-store"},
    )


# --- Admin API: for tests, the demo and operators; authenticated with SANDBOX_ADMIN_KEY -----------


def admin_endpoint(*methods: str) -> Callable[[Handler], Handler]:
    def decorator(handler: Handler) -> Handler:
        @csrf_exempt
        @functools.wraps(handler)
        def view(request: HttpRequest, **kwargs: Any) -> HttpResponse:
            _enabled()
            given = request.headers.get("X-Sandbox-Admin-Key", "")
            if not given or not hmac.compare_digest(given, str(settings.SANDBOX_ADMIN_KEY)):
                return error_response(
                    ApiError(401, "admin_key_required", _("Send X-Sandbox-Admin-Key."))
                )
            if request.method not in methods:
                return error_response(
                    ApiError(405, "method_not_allowed", _("Use %(m)s.") % {"m": ", ".join(methods)})
                )
            try:
                return handler(request, **kwargs)
            except ApiError as exc:
                return error_response(exc)

        return view

    return decorator


def _account(account_id: str) -> SandboxAccount:
    account = SandboxAccount.objects.filter(external_id=account_id).first()
    if account is None:
        raise ApiError(404, "not_found", _("There is no such sandbox account."))
    return account


@admin_endpoint("POST")
def admin_accounts(request: HttpRequest) -> HttpResponse:
    data = _json_body(request)
    handle, network = data.get("handle"), data.get("network")
    if not isinstance(handle, str) or not handle or not isinstance(network, str):
        raise ApiError(400, "invalid_request", _("Give the account's 'handle' and 'network'."))
    from datetime import timedelta

    from greenroom.networks import rules

    if network not in rules.network_names():
        raise ApiError(400, "unknown_network", _("Unknown network %(n)s.") % {"n": network})
    ttl = data.get("token_ttl_s", int(service.DEFAULT_ACCESS_TTL.total_seconds()))
    if not isinstance(ttl, int) or ttl < 0:
        raise ApiError(400, "invalid_request", _("'token_ttl_s' must be a whole number."))
    account, issued = service.create_account(
        handle=handle,
        network=network,
        display_name=str(data.get("name", "")),
        webhook_url=str(data.get("webhook_url", "")),
        timezone_name=str(data.get("timezone", "UTC")),
        token_ttl=timedelta(seconds=ttl),
    )
    return JsonResponse(
        {
            "id": account.external_id,
            "handle": account.handle,
            "network": account.network,
            "access_token": issued.access_token,
            "refresh_token": issued.refresh_token,
            "expires_at": issued.expires_at.isoformat(),
        },
        status=201,
        headers={"Cache-Control": "no-store"},
    )


@admin_endpoint("POST")
def admin_account_items(request: HttpRequest, account_id: str) -> HttpResponse:
    """Someone on the network writes to the account (the traffic generator's door)."""
    account = _account(account_id)
    data = _json_body(request)
    values = {
        key: data.get(key, "")
        for key in (
            "kind",
            "text",
            "author_handle",
            "author_name",
            "language",
            "in_reply_to",
            "thread_id",
        )
    }
    if not all(isinstance(v, str) for v in values.values()):
        raise ApiError(400, "invalid_request", _("Item fields must be strings."))
    item = service.create_item(account, **values)
    return JsonResponse(service.item_json(item, account), status=201)


@admin_endpoint("POST")
def admin_expire_token(request: HttpRequest, account_id: str) -> HttpResponse:
    service.expire_access_token(_account(account_id))
    return JsonResponse({"expired": True})


@admin_endpoint("GET", "PUT", "PATCH")
def admin_failures(request: HttpRequest, account_id: str | None = None) -> HttpResponse:
    """Read or change failure settings: globally, or for one account (null fields inherit)."""
    account = _account(account_id) if account_id else None
    if request.method in ("PUT", "PATCH"):
        failures.update(account, _json_body(request))
    from greenroom.networks.sandbox.models import SandboxFailureSettings

    row = (
        SandboxFailureSettings.objects.filter(account=account).first()
        if account is not None
        else SandboxFailureSettings.objects.filter(is_global=True).first()
    )
    return JsonResponse(
        {
            "scope": account.external_id if account is not None else "global",
            "settings": failures.row_json(row),
            "effective": failures.as_json(failures.effective(account)),
        }
    )


# --- Public page ---------------------------------------------------------------------------------


def post_page(request: HttpRequest, post_id: str) -> HttpResponse:
    """What a visitor of the sandbox network sees at a post's URL (content escaped)."""
    _enabled()
    post = get_object_or_404(SandboxPost.objects.select_related("account"), external_id=post_id)
    if post.deleted_at is not None:
        raise Http404
    comments = post.account.items.filter(
        in_reply_to=post.external_id, hidden_at__isnull=True, deleted_at__isnull=True
    )
    own_comments = post.account.posts.filter(in_reply_to=post.external_id, deleted_at__isnull=True)
    return render(
        request,
        "sandbox/post.html",
        {
            "post": post,
            "account": post.account,
            "handle": "@" + post.account.handle.lstrip("@"),
            "own_comments": own_comments.order_by("pk")[:50],
            "comments": comments.order_by("pk")[:200],
        },
    )
