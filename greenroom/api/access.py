"""Reading through the one gate, inside the caller's organisation.

`visible()` is `restrict(user, perm)` narrowed to the organisation the token (or session) is
bound to: a person who belongs to two organisations reaches only one of them per token.
Objects outside it are a 404 whose message is the same whether the object exists elsewhere
or not at all, so nothing leaks across tenants.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, TypeVar

from django.db import models
from django.http import Http404
from ninja.errors import HttpError

from greenroom.core.actions import ActionError
from greenroom.core.models import Brand, User
from greenroom.core.permissions import ChannelPerm, OrgPerm
from greenroom.core.restrict import Access, RestrictedManager, RestrictedQuerySet

from .auth import Caller

M = TypeVar("M", bound=models.Model)


def visible(manager: RestrictedManager[M], caller: Caller, perm: str) -> RestrictedQuerySet[M]:
    model: Any = manager.model
    return manager.restrict(caller.user, perm).filter(
        **{model.restrict_org: caller.organization.pk}
    )


def get_or_404(queryset: models.QuerySet[M], pk: int, noun: str) -> M:
    obj = queryset.filter(pk=pk).first()
    if obj is None:
        raise Http404(f"No {noun} with id {pk} in this organisation.")
    return obj


def _label(perm: str) -> str:
    for choices in (OrgPerm, ChannelPerm):
        if perm in choices.values:
            return str(choices(perm).label)
    return perm


def require(caller: Caller, perm: str) -> None:
    """An organisation-wide permission, or a 403 naming it (the organisation is no secret)."""
    if not Access.of(caller.user).has_org_perm(caller.organization.pk, perm):
        raise HttpError(
            403,
            f"Your role in {caller.organization} does not allow this: it needs "
            f"“{_label(perm)}” ({perm}).",
        )


def require_on(allowed: models.QuerySet[M], obj: M, perm: str, noun: str) -> None:
    """A permission on an object the caller can already see (`allowed` is the restricted
    queryset for `perm`), or a 403 naming it: the object's existence is no secret to them."""
    if not allowed.filter(pk=obj.pk).exists():
        raise HttpError(
            403,
            f"You may see this {noun} but not change it: that needs the “{_label(perm)}” "
            f"({perm}) permission on it.",
        )


def member(caller: Caller, user_id: int, what: str = "person") -> User:
    """A person referenced in a request body: must be an active member of the organisation."""
    user = User.objects.filter(
        pk=user_id,
        memberships__organization=caller.organization,
        memberships__is_active=True,
    ).first()
    if user is None:
        raise ActionError(f"The {what} (id {user_id}) is not a member of {caller.organization}.")
    return user


def optional_member(caller: Caller, user_id: int | None, what: str = "person") -> User | None:
    return None if user_id is None else member(caller, user_id, what)


def members(caller: Caller, user_ids: Iterable[int]) -> list[User]:
    wanted = list(dict.fromkeys(user_ids))
    found = {
        u.pk: u
        for u in User.objects.filter(
            pk__in=wanted,
            memberships__organization=caller.organization,
            memberships__is_active=True,
        )
    }
    missing = [pk for pk in wanted if pk not in found]
    if missing:
        raise ActionError(
            f"These ids are not members of {caller.organization}: {', '.join(map(str, missing))}."
        )
    return [found[pk] for pk in wanted]


def brands(caller: Caller, brand_ids: Iterable[int]) -> list[Brand]:
    wanted = list(dict.fromkeys(brand_ids))
    found = {b.pk: b for b in visible(Brand.objects, caller, "view_org").filter(pk__in=wanted)}
    missing = [pk for pk in wanted if pk not in found]
    if missing:
        raise ActionError(
            f"These brand ids are not brands of {caller.organization}: "
            f"{', '.join(map(str, missing))}."
        )
    return [found[pk] for pk in wanted]
