"""The one gate: `Model.objects.restrict(user, perm)`.

Each restricted model names how its rows reach an organisation (`restrict_org`) and, when they
belong to a channel, how they reach it (`restrict_channel`; "" for Channel itself). Out of scope
means absent: views use get_object_or_404 on the restricted queryset, so another tenant's object
is a 404 and its existence does not leak.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from django.db import models
from django.db.models import Q

from greenroom.core.permissions import ALL_CHANNEL, ORG_WIDE, ROLE_PERMS, is_known

if TYPE_CHECKING:
    from greenroom.core.models import User

_M = TypeVar("_M", bound=models.Model)


@dataclass(frozen=True)
class Scope:
    """What one membership lets a user reach."""

    org_id: int
    perms: frozenset[str]
    brand_ids: frozenset[int] | None  # None: every brand of the organisation


# Other apps may hold back channel permissions that roles and grants give (compliance: publish and
# engage on a channel whose required guideline or training a person lacks). A hook takes the user
# and the ids of their active organisations and returns {perm: channel ids withheld}; core never
# imports those apps, they register here when they load. Each hook runs once per Access.
Withholder = Callable[[Any, set[int]], dict[str, set[int]]]
_withholders: list[Withholder] = []


def register_withholder(hook: Withholder) -> None:
    """Called by an app at start-up (AppConfig.ready); registering twice is harmless."""
    if hook not in _withholders:
        _withholders.append(hook)


@dataclass
class Access:
    """Everything a user may reach, loaded once per user object (two queries, plus one per
    registered withholder)."""

    scopes: list[Scope] = field(default_factory=list)
    channel_grants: dict[str, set[int]] = field(default_factory=dict)
    # Channel permissions held back on some channels whatever the role or grant says.
    withheld: dict[str, set[int]] = field(default_factory=dict)

    @classmethod
    def of(cls, user: Any) -> Access:
        cached = getattr(user, "_greenroom_access", None)
        if cached is not None:
            return cached  # type: ignore[no-any-return]
        access = cls()
        if user is not None and user.is_authenticated and user.is_active:
            from greenroom.core.models import ChannelGrant, Membership

            memberships = Membership.objects.filter(user=user, is_active=True).prefetch_related(
                "brands"
            )
            for m in memberships:
                brands = frozenset(b.pk for b in m.brands.all())
                access.scopes.append(
                    Scope(
                        org_id=m.organization_id, perms=ROLE_PERMS[m.role], brand_ids=brands or None
                    )
                )
            active_orgs = {s.org_id for s in access.scopes}
            for grant in ChannelGrant.objects.filter(
                user=user, channel__organization_id__in=active_orgs
            ).values("channel_id", "permission"):
                access.channel_grants.setdefault(grant["permission"], set()).add(
                    grant["channel_id"]
                )
            if active_orgs:
                for hook in _withholders:
                    for perm, ids in hook(user, active_orgs).items():
                        if ids:
                            access.withheld.setdefault(perm, set()).update(ids)
        if user is not None:
            user._greenroom_access = access
        return access

    def org_ids(self, perm: str) -> set[int]:
        return {s.org_id for s in self.scopes if perm in s.perms}

    def has_org_perm(self, org_id: int, perm: str) -> bool:
        return org_id in self.org_ids(perm)

    def q(self, perm: str, org_path: str, channel_path: str | None) -> Q:
        if not is_known(perm):
            raise ValueError(f"unknown permission {perm!r}")
        q = Q(pk__in=[])
        for scope in self.scopes:
            if perm not in scope.perms:
                continue
            if channel_path is None or perm in ORG_WIDE or scope.brand_ids is None:
                q |= Q(**{org_path: scope.org_id})
            else:
                brand_path = f"{channel_path}__brand_id__in" if channel_path else "brand_id__in"
                q |= Q(**{org_path: scope.org_id, brand_path: scope.brand_ids})
        if channel_path is not None and perm in ALL_CHANNEL:
            channel_id = f"{channel_path}_id__in" if channel_path else "pk__in"
            granted = self.channel_grants.get(perm)
            if granted:
                q |= Q(**{channel_id: granted})
            withheld = self.withheld.get(perm)
            if withheld:
                q &= ~Q(**{channel_id: withheld})
        return q


def forget_access(user: Any) -> None:
    """Drop the cached access of a user object after its memberships or grants changed."""
    if hasattr(user, "_greenroom_access"):
        del user._greenroom_access


class RestrictedQuerySet(models.QuerySet[_M], Generic[_M]):
    def restrict(self, user: User | Any, perm: str = "view") -> RestrictedQuerySet[_M]:
        model: Any = self.model
        access = Access.of(user)
        return self.filter(access.q(perm, model.restrict_org, model.restrict_channel))


class RestrictedManager(models.Manager[_M], Generic[_M]):
    def get_queryset(self) -> RestrictedQuerySet[_M]:
        return RestrictedQuerySet(self.model, using=self._db)

    def restrict(self, user: User | Any, perm: str = "view") -> RestrictedQuerySet[_M]:
        return self.get_queryset().restrict(user, perm)
