"""Who is calling the API, in which organisation, and with which scopes.

Two ways in: a personal access token (`Authorization: Bearer grn_...`), bound to one organisation
and acting as its person there only; or the signed-in browser session (so /api/docs can be tried),
acting in the session's current organisation with CSRF required for writes. Both produce a
`Caller`; every endpoint reads through `Model.objects.restrict(caller.user, perm)` and the
caller's organisation.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import Q
from django.http import HttpRequest
from django.utils import timezone
from ninja.errors import HttpError
from ninja.security import APIKeyCookie, HttpBearer
from ninja.utils import check_csrf

from greenroom.accounts.actions import token_needs_mfa
from greenroom.core.actions import TOKEN_PREFIX, hash_token
from greenroom.core.models import ApiToken, ApiTokenScope, Membership, Organization, User
from greenroom.core.tenancy import current_org_or_none

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
# last_used_at is advisory ("used in the last minute"); writing it on every request would turn
# every read into a database write.
LAST_USED_GRANULARITY = timedelta(minutes=1)
TOKEN_PAGE = "/settings/tokens/"
MFA_ENROL_PAGE = "/settings/security/mfa/enrol/"


@dataclass(frozen=True)
class Caller:
    user: User
    organization: Organization
    # None: a browser session, which may do whatever its person may do.
    token: ApiToken | None = None

    @property
    def scopes(self) -> frozenset[str]:
        if self.token is None:
            return frozenset(ApiTokenScope.values)
        return frozenset(self.token.scopes)


class AuthFailed(HttpError):
    """A credential was presented and is not valid: a 401 that says why."""

    def __init__(self, message: str) -> None:
        super().__init__(401, message)


def caller_of(request: HttpRequest) -> Caller:
    caller = getattr(request, "auth", None)
    if not isinstance(caller, Caller):  # every operation is authenticated; this is a bug guard
        raise AuthFailed("Authentication required.")
    return caller


def check_scope(request: HttpRequest, caller: Caller) -> None:
    needed = ApiTokenScope.READ if request.method in SAFE_METHODS else ApiTokenScope.WRITE
    if needed in caller.scopes:
        return
    have = " and ".join(sorted(caller.scopes)) or "no"
    raise HttpError(
        403,
        f"This token has the {have} scope only; create a token with the {needed} scope.",
    )


def _format_time(value: datetime) -> str:
    return timezone.localtime(value).strftime("%Y-%m-%d %H:%M %Z")


class PersonalAccessToken(HttpBearer):
    openapi_bearerFormat = "grn_…"
    openapi_description = (
        "A personal access token from Settings → API tokens (" + TOKEN_PAGE + "). Send it as "
        "`Authorization: Bearer grn_…`. A token works in the one organisation it was created "
        "for, with its person's permissions there. The `read` scope allows GET requests; "
        "the `write` scope allows every other method."
    )

    def authenticate(self, request: HttpRequest, token: str) -> Caller:
        token = token.strip()
        if not token.startswith(TOKEN_PREFIX):
            raise AuthFailed(
                f"This is not a Greenroom token (they start with {TOKEN_PREFIX}). "
                f"Create one at {TOKEN_PAGE}."
            )
        row = (
            ApiToken.objects.select_related("user", "organization")
            .filter(token_hash=hash_token(token))
            .first()
        )
        if row is None:
            raise AuthFailed(
                "This token is not valid: check that it was copied whole, "
                f"or create a new one at {TOKEN_PAGE}."
            )
        now = timezone.now()
        if row.revoked_at is not None:
            raise AuthFailed(
                f"This token was revoked on {_format_time(row.revoked_at)}; "
                f"create a new one at {TOKEN_PAGE}."
            )
        if row.expires_at is not None and row.expires_at <= now:
            raise AuthFailed(
                f"This token expired on {_format_time(row.expires_at)}; "
                f"create a new one at {TOKEN_PAGE}."
            )
        user = row.user
        if (
            not user.is_active
            or not Membership.objects.filter(
                organization_id=row.organization_id, user=user, is_active=True
            ).exists()
        ):
            raise AuthFailed(
                f"This token's owner is no longer an active member of {row.organization}."
            )
        if token_needs_mfa(user, row.organization_id):
            # The organisation's MFA rule binds tokens as it binds sessions: a script must not
            # be a way around it. A 403 (the credential is genuine), naming the fix.
            raise HttpError(
                403,
                f"{row.organization} requires two-factor authentication and you have not set it "
                f"up, so your API tokens for {row.organization} are refused. Sign in and set it "
                f"up at {MFA_ENROL_PAGE}; this token then works again.",
            )
        if row.last_used_at is None or now - row.last_used_at >= LAST_USED_GRANULARITY:
            # Conditional, so concurrent requests write it once.
            ApiToken.objects.filter(pk=row.pk).filter(
                Q(last_used_at__isnull=True) | Q(last_used_at__lt=now - LAST_USED_GRANULARITY)
            ).update(last_used_at=now)
            row.last_used_at = now
        caller = Caller(user=user, organization=row.organization, token=row)
        check_scope(request, caller)
        # Code further down (templates, logging) sees who acts.
        request.user = user
        return caller


class BrowserSession(APIKeyCookie):
    openapi_description = (
        "The signed-in Greenroom session, so these pages can be tried from the browser. It "
        "acts in your current organisation; writes need the CSRF token, which this page sends."
    )

    def __init__(self) -> None:
        self.param_name = settings.SESSION_COOKIE_NAME
        super().__init__(csrf=True)

    def _get_key(self, request: HttpRequest) -> str | None:
        # ninja checks CSRF before looking at the session; we look first, so a request without
        # any credentials gets a 401 that says how to authenticate, not a CSRF error.
        return request.COOKIES.get(self.param_name)

    def authenticate(self, request: HttpRequest, key: str | None) -> Caller | None:
        user = getattr(request, "user", None)
        if key is None or user is None or not user.is_authenticated:
            return None
        if request.method not in SAFE_METHODS and check_csrf(request) is not None:
            raise HttpError(
                403,
                "CSRF check failed: send the X-CSRFToken header with the csrftoken cookie's "
                "value, or use a personal access token.",
            )
        # The organisation the pages show (the shell's switcher), so docs and UI agree.
        org = current_org_or_none(request)
        if org is None:
            raise HttpError(
                403, "You belong to no organisation yet; ask an owner or admin to add you."
            )
        return Caller(user=user, organization=org)
