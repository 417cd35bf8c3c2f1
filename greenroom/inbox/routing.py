"""Routing rules: which rules match a new conversation, and what they decide together.

Precedence, in words users read on the rules page: rules run top to bottom (by position). For
team, assignee, priority and auto-reply the first matching rule that sets one wins; tags from
every matching rule are added; if any matching rule requires approval, replies need approval
(and if any such rule wants four eyes, an approver's own replies wait too, for a colleague); a
matching rule marked "stop" ends the evaluation.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from greenroom.inbox.models import RoutingRule


@dataclass(slots=True)
class Facts:
    """What routing looks at for one conversation."""

    channel_id: int
    brand_id: int
    network: str
    kind: str
    language: str
    sentiment: str
    text: str
    author_is_vip: bool
    author_is_customer: bool


@dataclass
class Decision:
    team_id: int | None = None
    assignee_id: int | None = None
    priority: str = ""
    tags: list[str] = field(default_factory=list)
    auto_reply_id: int | None = None
    require_approval: bool = False
    four_eyes: bool = False
    matched: list[int] = field(default_factory=list)


def keywords_of(rule: RoutingRule) -> list[str]:
    return list(_keywords(rule.keywords))


@functools.lru_cache(maxsize=256)
def _keywords(text: str) -> tuple[str, ...]:
    # Rules are read for every new conversation; their keyword lists rarely change.
    return tuple(k.strip().lower() for k in re.split(r"[,\n]", text) if k.strip())


def matches(rule: RoutingRule, facts: Facts, lowered: str | None = None) -> bool:
    """Whether every condition the rule sets holds (conditions left empty match anything).

    `lowered` is the text in lower case, when the caller has it already."""
    if rule.channel_id is not None and rule.channel_id != facts.channel_id:
        return False
    if rule.brand_id is not None and rule.brand_id != facts.brand_id:
        return False
    for wanted, actual in (
        (rule.network, facts.network),
        (rule.kind, facts.kind),
        (rule.language, facts.language),
        (rule.sentiment, facts.sentiment),
    ):
        if wanted and wanted != actual:
            return False
    if rule.author_is_vip is not None and rule.author_is_vip != facts.author_is_vip:
        return False
    if rule.author_is_customer is not None and rule.author_is_customer != facts.author_is_customer:
        return False
    words = _keywords(rule.keywords)
    if words:
        text = facts.text.lower() if lowered is None else lowered
        return any(word in text for word in words)
    return True


def decide(rules: Iterable[RoutingRule], facts: Facts) -> Decision:
    """Run active rules in order and combine their actions (see the module docstring)."""
    decision = Decision()
    lowered = facts.text.lower()
    for rule in sorted(rules, key=lambda r: (r.position, r.pk or 0)):
        if not rule.is_active or not matches(rule, facts, lowered):
            continue
        decision.matched.append(rule.pk)
        if decision.team_id is None and rule.set_team_id is not None:
            decision.team_id = rule.set_team_id
        if decision.assignee_id is None and rule.set_assignee_id is not None:
            decision.assignee_id = rule.set_assignee_id
        if not decision.priority and rule.set_priority:
            decision.priority = rule.set_priority
        if decision.auto_reply_id is None and rule.auto_reply_id is not None:
            decision.auto_reply_id = rule.auto_reply_id
        for tag in rule.add_tags or []:
            if isinstance(tag, str) and tag and tag not in decision.tags:
                decision.tags.append(tag)
        decision.require_approval = decision.require_approval or rule.require_approval
        decision.four_eyes = decision.four_eyes or (rule.require_approval and rule.four_eyes)
        if rule.stop:
            break
    return decision


_VARIABLE = re.compile(r"\{(\w+)\}")


def fill(template: str, values: dict[str, str]) -> str:
    """A saved reply with its {variables} filled in; unknown ones are left as written."""
    return _VARIABLE.sub(lambda m: values.get(m[1], m[0]), template)
