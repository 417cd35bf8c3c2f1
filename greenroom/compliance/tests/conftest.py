"""Compliance test helpers: the publishing tests' sandbox-connected world, and rules, guidelines
and reviews made through the actions."""

from __future__ import annotations

from collections.abc import Iterable

from greenroom.compliance import actions
from greenroom.compliance.models import PolicyRule
from greenroom.conftest import World
from greenroom.core.models import Brand

# The sandbox network and the publishing world connected to it (fixtures).
from greenroom.publishing.tests.conftest import pub, sandbox, traffic  # noqa: F401


def rule(
    world: World,
    kind: str,
    terms: Iterable[str] = (),
    *,
    action: str = "block",
    name: str = "",
    brand: Brand | None = None,
    region: str = "",
    data_kinds: Iterable[str] = (),
    reason: str = "",
) -> PolicyRule:
    return actions.do_save_policy_rule(
        world.acme,
        name=name or f"{kind} rule",
        kind=kind,
        action=action,
        brand=brand,
        region=region,
        terms=list(terms),
        data_kinds=list(data_kinds),
        reason=reason,
        acting_user=world.alice,
    )
