"""Personal access tokens: list yours, create one (shown once), revoke one."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from ninja import Field, Query, Router, Schema, Status
from pydantic import AfterValidator, StringConstraints

from greenroom.core import actions
from greenroom.core.models import ApiToken, ApiTokenScope
from greenroom.core.restrict import RestrictedQuerySet

from .access import get_or_404, visible
from .auth import Caller, caller_of
from .paging import paginate
from .schemas import ObjectId, Page, PageQuery, UtcDatetime, clean_text, errors

router = Router(tags=["Tokens"])

TokenName = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=100),
    AfterValidator(clean_text),
]


class TokenOut(Schema):
    """A token as it is stored: never its secret part or its hash."""

    id: int
    name: str
    prefix: str = Field(description="The token's first characters, to recognise it.")
    scopes: list[ApiTokenScope]
    created_at: datetime
    expires_at: datetime | None
    last_used_at: datetime | None = Field(description="Updated at most once a minute.")
    revoked_at: datetime | None
    is_usable: bool = Field(description="Neither revoked nor expired.")


class TokenCreated(TokenOut):
    token: str = Field(
        description="The token itself. Shown only in this response: store it now, Greenroom "
        "keeps only its hash."
    )


class TokenIn(Schema):
    name: TokenName
    scopes: list[ApiTokenScope] = Field(
        min_length=1,
        max_length=2,
        description="read: GET requests; write: every other method. Give both for a script "
        "that reads and changes things.",
    )
    expires_at: UtcDatetime | None = Field(None, description="Leave out for no expiry.")


def _tokens(caller: Caller) -> RestrictedQuerySet[ApiToken]:
    # Tokens are personal: even an owner sees only their own.
    return visible(ApiToken.objects, caller, "view_org").filter(user=caller.user)


@router.get(
    "/tokens",
    response={200: Page[TokenOut], **errors(401, 403, 422)},
    summary="List your tokens",
    description="Your personal access tokens for this organisation, newest first, revoked "
    "and expired ones included.",
)
def list_tokens(request: HttpRequest, query: Query[PageQuery]) -> dict[str, Any]:
    return paginate(_tokens(caller_of(request)).order_by("-created_at", "-pk"), query)


@router.get(
    "/tokens/{token_id}",
    response={200: TokenOut, **errors(401, 403, 404)},
    summary="Get one of your tokens",
)
def get_token(request: HttpRequest, token_id: ObjectId) -> ApiToken:
    token: ApiToken = get_or_404(_tokens(caller_of(request)), token_id, "token")
    return token


@router.post(
    "/tokens",
    response={201: TokenCreated, **errors(400, 401, 403, 422)},
    summary="Create a token",
    description="Creates a personal access token for you in this organisation and returns "
    "it once, in the `token` field. A token used to call this can create tokens no broader "
    "than itself: the same scopes or fewer, expiring no later.",
)
def create_token(
    request: HttpRequest, response: HttpResponse, body: TokenIn
) -> Status[TokenCreated]:
    caller = caller_of(request)
    # The only response that ever holds the plaintext: no cache may keep a copy.
    response["Cache-Control"] = "no-store"
    scopes = sorted({str(s) for s in body.scopes})
    if body.expires_at is not None and body.expires_at <= timezone.now():
        raise actions.ActionError("The expiry must be in the future.")
    if caller.token is not None:
        # A leaked token must not be able to mint a longer-lived or broader one.
        if not set(scopes) <= caller.scopes:
            raise actions.ActionError(
                "A token can create tokens with its own scopes only; sign in to create "
                "broader ones."
            )
        limit = caller.token.expires_at
        if limit is not None and (body.expires_at is None or body.expires_at > limit):
            raise actions.ActionError(
                f"This token expires at {limit.isoformat()}; a token it creates must expire "
                "no later (sign in to create longer-lived ones)."
            )
    token, plaintext = actions.do_create_api_token(
        caller.user,
        caller.organization,
        name=body.name,
        scopes=scopes,
        expires_at=body.expires_at,
        acting_user=caller.user,
    )
    out = TokenOut.from_orm(token)
    return Status(201, TokenCreated(**out.model_dump(), token=plaintext))


@router.post(
    "/tokens/{token_id}/revoke",
    response={200: TokenOut, **errors(401, 403, 404)},
    summary="Revoke a token",
    description="The token stops working at once. Revoking it again changes nothing.",
)
def revoke_token(request: HttpRequest, token_id: ObjectId) -> ApiToken:
    caller = caller_of(request)
    token: ApiToken = get_or_404(_tokens(caller), token_id, "token")
    actions.do_revoke_api_token(token, acting_user=caller.user)
    return token
