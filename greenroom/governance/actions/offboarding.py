"""Offboarding in one action: everything Greenroom can take back, taken back in one transaction,
and a checklist of what only a person can do on the networks themselves.

Bulk by design (docs/architecture/governance.md): someone who leaves may hold grants on hundreds
of channels and hundreds of conversations, so each kind of change is one or two statements, and
every object changed still gets its own audit event through `audit.record_many`.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from importlib import import_module
from typing import Any

from django.conf import settings
from django.contrib.auth import SESSION_KEY
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from greenroom.core import audit
from greenroom.core.actions import ActionError, AuditAction, do_deactivate_membership
from greenroom.core.models import (
    ApiToken,
    Channel,
    ChannelGrant,
    Membership,
    Organization,
    Team,
    User,
)
from greenroom.core.permissions import Role
from greenroom.core.restrict import Access, forget_access
from greenroom.governance.models import (
    ChannelRecovery,
    ChecklistItem,
    ChecklistKind,
    NativeAdmin,
    Offboarding,
    OffboardingSource,
    OffboardingStep,
    StepKind,
)
from greenroom.inbox.handover import do_hand_over_conversations
from greenroom.inbox.models import RoutingRule
from greenroom.publishing.actions.handover import do_hand_over_approvals

from .common import GovernanceAction, NotAllowed, check_member, require_org_perm
from .custody import _mark_removed


def revoke_sessions(user: User) -> int | None:
    """Delete every signed-in session of `user` from the session store; their next request is
    signed out. None when the configured session store cannot be searched (cache-only)."""
    engine = import_module(settings.SESSION_ENGINE)
    store_class: Any = engine.SessionStore
    if not hasattr(store_class, "get_model_class"):
        return None
    model = store_class.get_model_class()
    store = store_class()
    wanted = str(user.pk)
    keys = [
        key
        for key, data in model.objects.filter(expire_date__gt=timezone.now())
        .values_list("session_key", "session_data")
        .iterator(chunk_size=2000)
        if str(store.decode(data).get(SESSION_KEY)) == wanted
    ]
    if not keys:
        return 0
    if engine.__name__.endswith("cached_db"):
        for key in keys:  # also drops the cached copy
            store_class(key).delete(key)
    else:
        model.objects.filter(session_key__in=keys).delete()
    return len(keys)


@dataclass(frozen=True)
class _ChannelMove:
    channel: Channel
    owner: int | None
    backup: int | None


def _moves(
    channels: list[Channel], person: User, successor: User | None, active: set[int]
) -> list[_ChannelMove]:
    """Where each of the person's owner and backup roles goes: to the successor; without one,
    an owner's channel goes to its backup if the backup is still a member (so nobody is left in
    charge of it only if it had no such backup either)."""
    moves = []
    to = successor.pk if successor is not None else None
    for channel in channels:
        owner, backup = channel.owner_id, channel.backup_id
        if owner == person.pk:
            owner = to if to is not None else backup if backup in active else None
            if backup in (owner, person.pk):
                backup = None
        if backup == person.pk:
            backup = to if to is not None and to != owner else None
        moves.append(_ChannelMove(channel, owner, backup))
    return moves


def _checklist(org: Organization, offboarding: Offboarding, person: User) -> list[ChecklistItem]:
    """What must be done on the networks themselves, per channel where the person had native
    access: remove their admin seat, change passwords they knew, move the 2FA device and the
    recovery email and phone they controlled."""
    items: list[ChecklistItem] = []
    who = Q(user=person)
    if person.email:
        who |= Q(email__iexact=person.email)
    admins = (
        NativeAdmin.objects.filter(organization=org, removed_at__isnull=True)
        .filter(who)
        .order_by("channel_id", "pk")
    )
    for admin in admins:
        items.append(
            ChecklistItem(
                organization=org,
                offboarding=offboarding,
                channel_id=admin.channel_id,
                native_admin=admin,
                kind=ChecklistKind.REMOVE_NATIVE_ADMIN,
                detail={"role": admin.network_role},
            )
        )
        if admin.knows_password:
            items.append(
                ChecklistItem(
                    organization=org,
                    offboarding=offboarding,
                    channel_id=admin.channel_id,
                    kind=ChecklistKind.ROTATE_PASSWORD,
                )
            )
    recoveries = ChannelRecovery.objects.filter(channel__organization=org).filter(
        Q(recovery_email_controller=person)
        | Q(recovery_phone_controller=person)
        | Q(two_factor_holder=person)
        | Q(recovery_email__iexact=person.email or "-")
    )
    for recovery in recoveries.order_by("channel_id"):
        for held, kind in (
            (
                recovery.two_factor_holder_id == person.pk,
                ChecklistKind.MOVE_TWO_FACTOR,
            ),
            (
                recovery.recovery_email_controller_id == person.pk
                or (bool(person.email) and recovery.recovery_email == person.email.lower()),
                ChecklistKind.CHANGE_RECOVERY_EMAIL,
            ),
            (
                recovery.recovery_phone_controller_id == person.pk,
                ChecklistKind.CHANGE_RECOVERY_PHONE,
            ),
        ):
            if held:
                items.append(
                    ChecklistItem(
                        organization=org,
                        offboarding=offboarding,
                        channel_id=recovery.channel_id,
                        kind=kind,
                    )
                )
    return items


@transaction.atomic
def do_offboard(
    org: Organization,
    person: User,
    *,
    successor: User | None,
    conversations_to: User | None,
    reason: str = "",
    source: str = OffboardingSource.PAGE,
    acting_user: User | None,
) -> Offboarding:
    """Take `person` out of `org` in one action.

    Signs them out everywhere and revokes their API tokens for `org`; hands their open
    conversations to `conversations_to` (None: the unassigned queue) and their pending
    approvals and channel owner/backup roles to `successor`; removes their channel grants, team
    places and membership; deactivates their account when they belong to no other
    organisation; and opens a checklist of native-network tasks. All of it is audited.
    """
    started = time.perf_counter()
    require_org_perm(acting_user, org, "manage_members", _("offboard people"))
    if acting_user is not None and acting_user.pk == person.pk:
        raise NotAllowed(_("You cannot offboard yourself; ask another owner or admin."))
    membership = (
        Membership.objects.select_for_update()
        .select_related("organization", "user")
        .filter(organization=org, user=person, is_active=True)
        .first()
    )
    if membership is None:
        raise ActionError(
            _("%(person)s is not an active member of %(org)s.") % {"person": person, "org": org}
        )
    if (
        membership.role == Role.OWNER
        and not Membership.objects.filter(organization=org, role=Role.OWNER, is_active=True)
        .exclude(pk=membership.pk)
        .exists()
    ):
        raise ActionError(
            _("%(person)s is the only owner of %(org)s: make someone else owner first.")
            % {"person": person, "org": org}
        )
    for other, what in (
        (successor, _("the successor")),
        (conversations_to, _("given conversations")),
    ):
        if other is not None and other.pk == person.pk:
            raise ActionError(_("Choose someone other than the person who is leaving."))
        check_member(org, other, what=str(what))

    offboarding = Offboarding.objects.create(
        organization=org,
        person=person,
        person_name=person.name,
        person_email=person.email,
        role=membership.role,
        successor=successor,
        conversations_to=conversations_to,
        source=source,
        reason=reason.strip(),
        started_by=acting_user,
        started_by_name=acting_user.name if acting_user is not None else "SCIM",
    )
    steps: list[OffboardingStep] = []
    entries: list[audit.Entry] = []

    def step(kind: str, count: int, **detail: Any) -> None:
        steps.append(
            OffboardingStep(
                offboarding=offboarding, position=len(steps), kind=kind, count=count, detail=detail
            )
        )

    # Signed out everywhere: a session is the person's, not the organisation's.
    revoked = revoke_sessions(person)
    step(StepKind.SESSIONS, revoked or 0, searchable=revoked is not None)
    entries.append(
        audit.Entry(
            GovernanceAction.SESSIONS_REVOKED,
            org,
            target=person,
            after={"sessions": revoked, "offboarding": offboarding.pk},
        )
    )

    tokens = list(
        ApiToken.objects.select_for_update().filter(
            organization=org, user=person, revoked_at__isnull=True
        )
    )
    if tokens:
        ApiToken.objects.filter(pk__in=[t.pk for t in tokens]).update(revoked_at=timezone.now())
        entries += [
            audit.Entry(AuditAction.TOKEN_REVOKED, org, target=t, after={"prefix": t.prefix})
            for t in tokens
        ]
    step(StepKind.API_TOKENS, len(tokens), tokens=[t.prefix for t in tokens])

    conversations = do_hand_over_conversations(
        org, person, conversations_to, acting_user=acting_user
    )
    step(
        StepKind.CONVERSATIONS,
        len(conversations.assigned) + len(conversations.to_queue),
        to=conversations_to.pk if conversations_to is not None else None,
        assigned=len(conversations.assigned),
        to_queue=len(conversations.to_queue),
    )

    # Teams (and team leads) the person leaves.
    team_through = Team.members.through
    # PostgreSQL refuses FOR UPDATE with DISTINCT: lock the teams by id instead.
    team_ids = (
        Team.objects.filter(organization=org)
        .filter(Q(members=person) | Q(lead=person))
        .values("pk")
    )
    teams = list(Team.objects.select_for_update().filter(pk__in=team_ids).order_by("pk"))
    if teams:
        before: dict[int, list[int]] = {t.pk: [] for t in teams}
        for team_id, user_id in team_through.objects.filter(team_id__in=list(before)).values_list(
            "team_id", "user_id"
        ):
            before[team_id].append(user_id)
        team_through.objects.filter(team_id__in=list(before), user_id=person.pk).delete()
        Team.objects.filter(pk__in=list(before), lead=person).update(lead=None)
        entries += [
            audit.Entry(
                AuditAction.TEAM_MEMBERS_SET,
                org,
                target=t,
                before={"members": sorted(before[t.pk]), "lead": t.lead_id},
                after={
                    "members": sorted(u for u in before[t.pk] if u != person.pk),
                    "lead": None if t.lead_id == person.pk else t.lead_id,
                },
            )
            for t in teams
        ]
    step(StepKind.TEAMS, len(teams), teams=[t.name for t in teams])

    approvals = do_hand_over_approvals(
        org, person, successor, leaving_teams=[t.pk for t in teams], acting_user=acting_user
    )
    step(
        StepKind.APPROVALS,
        len(approvals.posts_reassigned),
        to=successor.pk if successor is not None else None,
        steps=len(approvals.steps_changed),
        short_steps=[s.step for s in approvals.short_steps],
    )

    channels = list(
        Channel.objects.select_for_update()
        .filter(organization=org)
        .filter(Q(owner=person) | Q(backup=person))
        .order_by("pk")
    )
    active = set(
        Membership.objects.filter(organization=org, is_active=True, user__is_active=True)
        .exclude(user=person)
        .values_list("user_id", flat=True)
    )
    moves = _moves(channels, person, successor, active)
    by_target: dict[tuple[int | None, int | None], list[int]] = {}
    for move in moves:
        by_target.setdefault((move.owner, move.backup), []).append(move.channel.pk)
    for (owner, backup), ids in by_target.items():
        Channel.objects.filter(pk__in=ids).update(owner_id=owner, backup_id=backup)
    entries += [
        audit.Entry(
            AuditAction.CHANNEL_UPDATED,
            org,
            target=m.channel,
            before={"owner": m.channel.owner_id, "backup": m.channel.backup_id},
            after={"owner": m.owner, "backup": m.backup, "offboarding": offboarding.pk},
        )
        for m in moves
    ]
    step(
        StepKind.CHANNELS,
        len(moves),
        owned=sum(1 for c in channels if c.owner_id == person.pk),
        backed_up=sum(1 for c in channels if c.backup_id == person.pk),
        without_owner=sum(1 for m in moves if m.owner is None),
        without_backup=sum(1 for m in moves if m.backup is None),
    )

    grants = list(
        ChannelGrant.objects.select_related("channel", "user").filter(
            channel__organization=org, user=person
        )
    )
    if grants:
        entries += [
            audit.Entry(
                AuditAction.GRANT_REMOVED,
                org,
                target=g,
                before={"channel": g.channel_id, "user": person.pk, "permission": g.permission},
            )
            for g in grants
        ]
        ChannelGrant.objects.filter(pk__in=[g.pk for g in grants]).delete()
    step(StepKind.GRANTS, len(grants), channels=len({g.channel_id for g in grants}))

    audit.record_many(entries, actor=acting_user)
    do_deactivate_membership(membership, acting_user=acting_user)
    step(StepKind.MEMBERSHIP, 1, role=membership.role)

    elsewhere = Membership.objects.filter(user=person, is_active=True).exists()
    if not elsewhere and person.is_active:
        person.is_active = False
        person.save(update_fields=["is_active"])
        audit.record(
            GovernanceAction.ACCOUNT_DEACTIVATED,
            actor=acting_user,
            organization=org,
            target=person,
            after={"offboarding": offboarding.pk},
        )
    step(StepKind.ACCOUNT, 0 if elsewhere else 1, other_organisations=elsewhere)

    items = _checklist(org, offboarding, person)
    for short in approvals.short_steps:
        items.append(
            ChecklistItem(
                organization=org,
                offboarding=offboarding,
                kind=ChecklistKind.FIX_APPROVAL_STEP,
                detail={
                    "step_id": short.step_id,
                    "step": short.step,
                    "policy": short.policy,
                    "possible": short.possible,
                    "needed": short.needed,
                },
            )
        )
    for rule in RoutingRule.objects.filter(organization=org, set_assignee=person, is_active=True):
        items.append(
            ChecklistItem(
                organization=org,
                offboarding=offboarding,
                kind=ChecklistKind.FIX_ROUTING_RULE,
                detail={"rule_id": rule.pk, "rule": rule.name},
            )
        )
    ChecklistItem.objects.bulk_create(items)
    step(StepKind.CHECKLIST, len(items))
    OffboardingStep.objects.bulk_create(steps)

    forget_access(person)
    offboarding.took_ms = round((time.perf_counter() - started) * 1000)
    offboarding.save(update_fields=["took_ms"])
    audit.record(
        GovernanceAction.OFFBOARDED,
        actor=acting_user,
        organization=org,
        target=offboarding,
        after={
            "person": person.pk,
            "successor": successor.pk if successor else None,
            "conversations_to": conversations_to.pk if conversations_to else None,
            "source": source,
            **{s.kind: s.count for s in steps},
        },
    )
    return offboarding


@transaction.atomic
def do_complete_checklist_item(
    item: ChecklistItem, *, note: str = "", acting_user: User | None
) -> ChecklistItem:
    """Tick off a native-network task, with who did it and when. Ticking "remove their admin
    rights" also records that the native admin is gone."""
    # Lock only the item's row: PostgreSQL refuses FOR UPDATE on the nullable side of the join.
    item = (
        ChecklistItem.objects.select_for_update(of=("self",))
        .select_related("channel", "offboarding")
        .get(pk=item.pk)
    )
    org = item.offboarding.organization
    if acting_user is not None:
        may_manage = Access.of(acting_user).has_org_perm(org.pk, "manage_members")
        may_administer = (
            item.channel_id is not None
            and Channel.objects.restrict(acting_user, "administer")
            .filter(pk=item.channel_id)
            .exists()
        )
        if not (may_manage or may_administer):
            raise NotAllowed(
                _("Only owners, admins and the channel's administrators tick off these tasks.")
            )
    if item.done_at is not None:
        raise ActionError(
            _("%(who)s already ticked this off on %(when)s.")
            % {
                "who": item.done_by_name,
                "when": timezone.localtime(item.done_at).strftime("%Y-%m-%d %H:%M"),
            }
        )
    item.done_at = timezone.now()
    item.done_by = acting_user
    item.done_by_name = acting_user.name if acting_user is not None else "system"
    item.note = note.strip()[:500]
    item.save(update_fields=["done_at", "done_by", "done_by_name", "note"])
    entries = [
        audit.Entry(
            GovernanceAction.CHECKLIST_DONE,
            org,
            target=item,
            after={"kind": item.kind, "channel": item.channel_id, "note": item.note},
        )
    ]
    if item.kind == ChecklistKind.REMOVE_NATIVE_ADMIN and item.native_admin_id is not None:
        admin = NativeAdmin.objects.select_for_update().get(pk=item.native_admin_id)
        entries += _mark_removed([admin], acting_user)
    audit.record_many(entries, actor=acting_user)
    return item
