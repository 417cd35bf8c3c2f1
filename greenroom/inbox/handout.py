"""Handing out waiting conversations when someone can take them.

Conversations routed to a team while every member was away or full wait unassigned. They are
handed out, through the router's own round robin (`TeamLoad`, below), when an agent comes back
on shift or gets more room (`do_set_agent`), when a slot frees (`do_close`, `do_assign`), and
every minute by the beat sweep (`tasks.hand_out_waiting`). Each assignment is one conditional
UPDATE (`... WHERE assignee IS NULL`), so a conversation is never given twice, and the team's
agent profiles are locked while it runs, so two hand-outs of one team see each other's loads.
These are actions (re-exported by `inbox.actions`): one transaction, audited as assignments by
Greenroom itself.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.db import models, transaction
from django.db.models import Count
from django.utils import timezone

from greenroom.core import audit
from greenroom.core.models import Organization, Team, User
from greenroom.inbox.models import (
    PRIORITY_RANK,
    AgentProfile,
    AgentStatus,
    Conversation,
    ConversationStatus,
)

ASSIGNED = "inbox.assigned"

# Most urgent first, then the oldest.
_RANK_ORDER = models.Case(
    *(models.When(priority=p, then=models.Value(rank)) for p, rank in PRIORITY_RANK.items()),
    default=models.Value(1),
)


def _waiting(organization_id: int, team_id: int, limit: int, exclude: Sequence[int]) -> list[int]:
    """The team's open unassigned conversations, most urgent first, then the oldest."""
    return list(
        Conversation.objects.filter(
            organization_id=organization_id,
            team_id=team_id,
            assignee__isnull=True,
            status=ConversationStatus.OPEN,
        )
        .exclude(pk__in=exclude)
        .annotate(rank=_RANK_ORDER)
        .order_by("-rank", "created_at", "pk")
        .values_list("pk", flat=True)[:limit]
    )


def _hand_out_team(
    organization_id: int, team_id: int, now: datetime, exclude: Sequence[int]
) -> list[tuple[int, int]]:
    # Lock the members' profiles so two hand-outs of one team (two agents back at once) take
    # turns and the second sees the loads the first wrote (PostgreSQL; SQLite serialises writers).
    list(
        AgentProfile.objects.select_for_update()
        .filter(organization_id=organization_id, user__teams=team_id)
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    team = TeamLoad.load_for(team_id, organization_id)
    if team is None:
        return []
    free = 0
    for user in team.members:
        profile = team.profiles.get(user.pk)
        if profile is not None and profile.status != AgentStatus.ON_SHIFT:
            continue
        capacity = profile.capacity if profile is not None else team.capacity
        free += max(0, capacity - team.load.get(user.pk, 0))
    if free == 0:
        return []
    given: list[tuple[int, int]] = []
    for conversation_id in _waiting(organization_id, team_id, free, exclude):
        chosen = team.pick(organization_id, now)
        if chosen is None:
            break
        # Conditional: a conversation someone else took meanwhile is not taken twice.
        taken = Conversation.objects.filter(pk=conversation_id, assignee__isnull=True).update(
            assignee=chosen
        )
        if not taken:
            team.load[chosen.pk] -= 1
            team.full = False
            continue
        given.append((conversation_id, chosen.pk))
    team.save()
    return given


@transaction.atomic
def do_hand_out_waiting(
    organization: Organization,
    *,
    team_ids: Iterable[int] | None = None,
    exclude: Sequence[int] = (),
    now: datetime | None = None,
) -> int:
    """Give the waiting unassigned conversations of these teams (all the organisation's teams
    when None), most urgent then oldest first, to their on-shift members under capacity, round
    robin as the router does. Audited as assignments by Greenroom. Returns how many."""
    moment = now or timezone.now()
    if team_ids is None:
        teams = sorted(
            set(
                Conversation.objects.filter(
                    organization_id=organization.pk,
                    assignee__isnull=True,
                    status=ConversationStatus.OPEN,
                    team__isnull=False,
                ).values_list("team_id", flat=True)
            )
        )
    else:
        teams = sorted(set(team_ids))
    given: list[tuple[int, int]] = []
    for team_id in teams:
        given += _hand_out_team(organization.pk, team_id, moment, exclude)
    if given:
        kinds = dict(
            Conversation.objects.filter(pk__in=[c for c, _u in given]).values_list("pk", "kind")
        )
        audit.record_many(
            [
                audit.Entry(
                    ASSIGNED,
                    organization,
                    Conversation(pk=c, kind=kinds[c], organization_id=organization.pk),
                    before={"assignee": None},
                    after={"assignee": u, "handed_out": True},
                )
                for c, u in given
            ],
            actor=None,
        )
    return len(given)


def teams_of(organization: Organization, user_ids: Iterable[int]) -> list[int]:
    return list(
        Team.objects.filter(organization=organization, members__in=list(user_ids))
        .values_list("pk", flat=True)
        .distinct()
    )


def hand_out_freed(freed: dict[int, set[int]], exclude: Sequence[int] = ()) -> None:
    """Slots freed (by organisation, the people who had them): fill them from their teams'
    waiting conversations. A conversation just put back in the queue stays there (`exclude`)
    until the next sweep, so "unassign" is not undone at once."""
    for org_id, user_ids in freed.items():
        org = Organization.objects.get(pk=org_id)
        do_hand_out_waiting(org, team_ids=teams_of(org, user_ids), exclude=exclude)


def do_hand_out_everywhere(now: datetime | None = None) -> int:
    """The beat sweep: every organisation's waiting conversations that someone can take now
    (shifts that started, capacity freed outside an action, anything a hand-out missed)."""
    org_ids = set(
        Conversation.objects.filter(
            assignee__isnull=True, status=ConversationStatus.OPEN, team__isnull=False
        ).values_list("organization_id", flat=True)
    )
    return sum(
        do_hand_out_waiting(org, now=now) for org in Organization.objects.filter(pk__in=org_ids)
    )


# --- Round robin -------------------------------------------------------------------------------


def open_load(organization_id: int, people: Iterable[User]) -> dict[int, int]:
    """How many conversations each person has assigned that count against their capacity:
    open and pending ones (snoozed ones are set aside, closed ones are done)."""
    return dict(
        Conversation.objects.filter(
            organization_id=organization_id,
            assignee__in=list(people),
            status__in=(ConversationStatus.OPEN, ConversationStatus.PENDING),
        )
        .values_list("assignee")
        .annotate(n=Count("pk"))
        .values_list("assignee", "n")
    )


@dataclass
class TeamLoad:
    """Round-robin state of one team during a batch: read once, kept up to date in memory,
    written back once at the end of the batch (`save`)."""

    members: list[User]
    profiles: dict[int, AgentProfile]
    load: dict[int, int]
    capacity: int
    picked_order: list[int] = field(default_factory=list)
    # Set once every member is away or at capacity (whoever lowers a load clears it).
    full: bool = False

    @classmethod
    def load_for(cls, team_id: int, organization_id: int) -> TeamLoad | None:
        team = Team.objects.filter(pk=team_id, organization_id=organization_id).first()
        if team is None:
            return None
        members = list(team.members.filter(is_active=True).order_by("pk"))
        profiles = {
            p.user_id: p
            for p in AgentProfile.objects.filter(organization_id=organization_id, user__in=members)
        }
        load = open_load(organization_id, members)
        capacity = AgentProfile._meta.get_field("capacity").get_default()
        return cls(members=members, profiles=profiles, load=load, capacity=capacity)

    def pick(self, organization_id: int, now: datetime) -> User | None:
        if self.full:
            return None
        candidates = []
        for user in self.members:
            profile = self.profiles.get(user.pk)
            if profile is not None and profile.status != AgentStatus.ON_SHIFT:
                continue
            capacity = profile.capacity if profile is not None else self.capacity
            if self.load.get(user.pk, 0) >= capacity:
                continue
            last = profile.last_assigned_at if profile is not None else None
            # Never assigned first, then the one assigned longest ago.
            candidates.append((last is not None, last or now, user.pk, user))
        if not candidates:
            # Loads only grow and shifts do not change during a batch: nobody will have room
            # for the rest of it either.
            self.full = True
            return None
        chosen = min(candidates, key=lambda c: c[:3])[3]
        self.load[chosen.pk] = self.load.get(chosen.pk, 0) + 1
        profile = self.profiles.get(chosen.pk)
        if profile is None:
            profile = AgentProfile(organization_id=organization_id, user=chosen)
            self.profiles[chosen.pk] = profile
        # One microsecond apart per pick, so the order of a batch's assignments survives it
        # (the next batch goes on from where this one stopped, as one message at a time would).
        profile.last_assigned_at = now + timedelta(microseconds=len(self.picked_order))
        self.picked_order.append(chosen.pk)
        return chosen

    def save(self) -> None:
        """Write the round-robin times of the agents picked in this batch."""
        for user_id in sorted(set(self.picked_order)):
            profile = self.profiles[user_id]
            if profile._state.adding:
                profile.save()
            else:
                AgentProfile.objects.filter(pk=profile.pk).update(
                    last_assigned_at=profile.last_assigned_at
                )
        self.picked_order.clear()


def pick_agent(team_id: int, organization_id: int, now: datetime) -> User | None:
    """Round robin within a team: on-shift members under their capacity, the one assigned
    longest ago first. None when everyone is away or full (the conversation waits in the
    team's unassigned queue)."""
    team = TeamLoad.load_for(team_id, organization_id)
    if team is None:
        return None
    chosen = team.pick(organization_id, now)
    team.save()
    return chosen
