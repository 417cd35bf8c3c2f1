"""The Greenroom HTTP API: everything the UI can do, a script can do.

Mounted at /api (greenroom/urls.py); OpenAPI at /api/openapi.json, interactive docs at /api/docs.
Each resource has its router module here; they read through `restrict()` and write through the
actions in greenroom/core/actions.py, exactly like the pages do.
"""

from __future__ import annotations

from django.http import Http404, HttpRequest, HttpResponse
from ninja import NinjaAPI
from ninja.errors import AuthenticationError
from ninja.operation import Operation
from typing_extensions import override

from greenroom.core.actions import ActionError

from . import (
    audit_events,
    brands,
    channels,
    compliance,
    composer,
    governance,
    grants,
    inbox,
    media,
    memberships,
    organizations,
    people,
    publishing,
    teams,
    tokens,
)
from .auth import TOKEN_PAGE, AuthFailed, BrowserSession, PersonalAccessToken

DESCRIPTION = f"""
Everything you can do in Greenroom's pages, a script can do here.

**Authentication.** Create a personal access token at [{TOKEN_PAGE}]({TOKEN_PAGE}) and send it
as `Authorization: Bearer grn_…`. A token belongs to one organisation and acts as you there, with
your role's permissions. Its `read` scope allows GET requests and its `write` scope every other
method. Signed in to Greenroom in this browser, you can also try requests from this page: they
run in your current organisation.

**Errors** are JSON, `{{"detail": "what went wrong and what to do"}}`:

- **401**: no valid credential (missing, unknown, revoked or expired token).
- **403**: your role or the token's scope does not allow the operation: a list or create your
  role cannot use, or a change to an object you can see but not change. Also every request of
  a token whose organisation requires two-factor authentication while its person has not set
  it up: the message names the page to set it up, after which the token works again.
- **404**: no such object in your organisation, or one your role does not let you see; the two
  look the same on purpose.
- **400**: the request is understood but cannot be carried out; the message says why.
- **422**: a field is missing or invalid; `detail` lists each one.

**Lists** take `limit` (1-200, default 50) and `offset`, and return `items` with the `total`
that match.

**Times** are ISO 8601 with an offset; a time sent without one is read as UTC.
"""


class GreenroomAPI(NinjaAPI):
    @override
    def get_openapi_operation_id(self, operation: Operation) -> str:
        # Client generators turn operation ids into method names: list_channels, not
        # greenroom_api_channels_list_channels. The names are unique across routers.
        return operation.view_func.__name__


api = GreenroomAPI(
    title="Greenroom API",
    version="1",
    description=DESCRIPTION,
    docs_url="/docs",
    auth=[PersonalAccessToken(), BrowserSession()],
)

for module in (
    organizations,
    brands,
    channels,
    grants,
    people,
    memberships,
    teams,
    audit_events,
    tokens,
    media,
    inbox,
    publishing,
    composer,
    governance,
    compliance,
):
    api.add_router("", module.router)


@api.exception_handler(ActionError)
def action_error(request: HttpRequest, exc: ActionError) -> HttpResponse:
    return api.create_response(request, {"detail": str(exc)}, status=400)


@api.exception_handler(AuthFailed)
def auth_failed(request: HttpRequest, exc: AuthFailed) -> HttpResponse:
    response = api.create_response(request, {"detail": exc.message}, status=401)
    response["WWW-Authenticate"] = 'Bearer error="invalid_token"'
    return response


@api.exception_handler(AuthenticationError)
def not_authenticated(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
    response = api.create_response(
        request,
        {
            "detail": "Authentication required: send `Authorization: Bearer <token>` with a "
            f"personal access token (create one at {TOKEN_PAGE}), or sign in."
        },
        status=401,
    )
    response["WWW-Authenticate"] = "Bearer"
    return response


@api.exception_handler(Http404)
def not_found(request: HttpRequest, exc: Http404) -> HttpResponse:
    # Our 404 messages name only what was asked for, never whether it exists elsewhere.
    return api.create_response(request, {"detail": str(exc) or "Not found."}, status=404)
