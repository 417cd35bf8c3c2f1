"""The channel inventory and its gaps, built for any number of channels in a constant number of
queries: channels with their people, token and recovery details in one; native admins in one;
last published post and last inbox message per channel in one each; the organisation's members
in one; its settings in one. Gaps are then judged in Python.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.db.models import Max, QuerySet
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from greenroom.core.models import Channel, ChannelStatus, Membership, Organization
from greenroom.governance.actions.custody import settings_of
from greenroom.governance.models import GovernanceSettings, NativeAdmin
from greenroom.inbox.models import Conversation
from greenroom.publishing.models import Variant, VariantState

# Free mail services: an account recovered through one of these is recovered through a person.
CONSUMER_MAIL_DOMAINS = frozenset(
    {
        "gmail.com",
        "googlemail.com",
        "yahoo.com",
        "yahoo.co.kr",
        "yahoo.co.jp",
        "ymail.com",
        "hotmail.com",
        "outlook.com",
        "live.com",
        "msn.com",
        "icloud.com",
        "me.com",
        "mac.com",
        "aol.com",
        "proton.me",
        "protonmail.com",
        "gmx.com",
        "gmx.net",
        "gmx.de",
        "web.de",
        "mail.com",
        "yandex.ru",
        "mail.ru",
        "qq.com",
        "163.com",
        "naver.com",
        "daum.net",
        "hanmail.net",
        "kakao.com",
        "nate.com",
    }
)


class GapKind:
    NO_OWNER = "no_owner"
    NO_BACKUP = "no_backup"
    OWNER_LEFT = "owner_left"
    BACKUP_LEFT = "backup_left"
    NO_NATIVE_ADMINS = "no_native_admins"
    SINGLE_NATIVE_ADMIN = "single_native_admin"
    PERSONAL_RECOVERY_EMAIL = "personal_recovery_email"
    TOKEN_EXPIRING = "token_expiring"
    INACTIVE = "inactive"


GAP_LABELS: dict[str, Any] = {
    GapKind.NO_OWNER: _("No owner"),
    GapKind.NO_BACKUP: _("No backup"),
    GapKind.OWNER_LEFT: _("Owner has left"),
    GapKind.BACKUP_LEFT: _("Backup has left"),
    GapKind.NO_NATIVE_ADMINS: _("Native admins not recorded"),
    GapKind.SINGLE_NATIVE_ADMIN: _("A single native admin"),
    GapKind.PERSONAL_RECOVERY_EMAIL: _("Personal recovery email"),
    GapKind.TOKEN_EXPIRING: _("Token expiring"),
    GapKind.INACTIVE: _("No activity"),
}
GAP_FIXES: dict[str, Any] = {
    GapKind.NO_OWNER: _("Choose an owner"),
    GapKind.NO_BACKUP: _("Choose a backup"),
    GapKind.OWNER_LEFT: _("Choose a new owner"),
    GapKind.BACKUP_LEFT: _("Choose a new backup"),
    GapKind.NO_NATIVE_ADMINS: _("Record the native admins"),
    GapKind.SINGLE_NATIVE_ADMIN: _("Add a second native admin"),
    GapKind.PERSONAL_RECOVERY_EMAIL: _("Use a shared recovery address"),
    GapKind.TOKEN_EXPIRING: _("Reconnect the channel"),
    GapKind.INACTIVE: _("Publish, or archive the channel"),
}
# Where on the channel's page each gap is fixed.
GAP_ANCHORS = {
    GapKind.NO_OWNER: "people",
    GapKind.NO_BACKUP: "people",
    GapKind.OWNER_LEFT: "people",
    GapKind.BACKUP_LEFT: "people",
    GapKind.NO_NATIVE_ADMINS: "native-admins",
    GapKind.SINGLE_NATIVE_ADMIN: "native-admins",
    GapKind.PERSONAL_RECOVERY_EMAIL: "recovery",
    GapKind.TOKEN_EXPIRING: "token",
    GapKind.INACTIVE: "people",
}
GAP_ORDER = list(GAP_LABELS)


@dataclass(frozen=True)
class Gap:
    kind: str
    channel_id: int

    @property
    def label(self) -> str:
        return str(GAP_LABELS[self.kind])

    @property
    def fix_label(self) -> str:
        return str(GAP_FIXES[self.kind])

    @property
    def fix_url(self) -> str:
        return reverse("channel_detail", args=[self.channel_id]) + "#" + GAP_ANCHORS[self.kind]


class MailKind:
    NONE = "none"
    SHARED = "shared"
    PERSONAL = "personal"
    OUTSIDE = "outside"


@dataclass(frozen=True)
class MailVerdict:
    kind: str
    reason: Any

    @property
    def is_personal(self) -> bool:
        return self.kind in (MailKind.PERSONAL, MailKind.OUTSIDE)


def classify_recovery_email(
    email: str, org_domains: frozenset[str], people: frozenset[str]
) -> MailVerdict:
    """Whether a recovery address is a shared mailbox of the organisation or someone's own.

    Personal: a free mail service, or the address of one of the organisation's people. Outside:
    another organisation's domain. Shared: the organisation's domain, not a person's address.
    """
    address = email.strip().lower()
    if not address:
        return MailVerdict(MailKind.NONE, _("No recovery email recorded"))
    domain = address.rpartition("@")[2]
    if domain in CONSUMER_MAIL_DOMAINS:
        return MailVerdict(MailKind.PERSONAL, _("a personal mail service"))
    if address in people:
        return MailVerdict(MailKind.PERSONAL, _("a person's own address"))
    if org_domains and domain not in org_domains:
        return MailVerdict(MailKind.OUTSIDE, _("outside the organisation's mail domains"))
    return MailVerdict(MailKind.SHARED, _("a shared address of the organisation"))


@dataclass
class InventoryRow:
    channel: Channel
    native_admins: list[NativeAdmin]
    recovery_email: MailVerdict
    token_state: str  # none, ok, soon, expired
    token_expires: datetime | None
    last_published: datetime | None
    last_message: datetime | None
    owner_left: bool
    backup_left: bool
    gaps: list[Gap] = field(default_factory=list)

    @property
    def uncovered(self) -> bool:
        return self.channel.owner_id is None or self.channel.backup_id is None

    @property
    def last_activity(self) -> datetime | None:
        moments = [m for m in (self.last_published, self.last_message) if m is not None]
        return max(moments) if moments else None

    @property
    def recovery(self) -> Any:
        return getattr(self.channel, "recovery", None)

    def has(self, kind: str) -> bool:
        return any(g.kind == kind for g in self.gaps)

    def __getitem__(self, key: str) -> Any:
        # Rows were dicts before the inventory moved here; keep `row["channel"]` working.
        return getattr(self, key)


@dataclass
class Inventory:
    rows: list[InventoryRow]
    settings: GovernanceSettings
    org_domains: frozenset[str]

    def gap_counts(self) -> dict[str, int]:
        counts = Counter(g.kind for row in self.rows for g in row.gaps)
        return {kind: counts.get(kind, 0) for kind in GAP_ORDER}

    def with_gaps(self) -> list[InventoryRow]:
        return [row for row in self.rows if row.gaps]


def inventory_channels(queryset: QuerySet[Channel]) -> QuerySet[Channel]:
    """The channel query every inventory reads: people, token expiry and recovery in one go.
    Never loads vault ciphertext, although nothing would show it."""
    return queryset.select_related(
        "brand",
        "owner",
        "backup",
        "credentials",
        "recovery",
        "recovery__recovery_email_controller",
        "recovery__recovery_phone_controller",
        "recovery__two_factor_holder",
    ).defer("credentials__ciphertext")


def build(org: Organization, channels: QuerySet[Channel], now: datetime | None = None) -> Inventory:
    """Rows for `channels` (already restricted by the caller) with their gaps."""
    now = now or timezone.now()
    listed = list(inventory_channels(channels))
    ids = [c.pk for c in listed]
    settings = settings_of(org)
    admins: dict[int, list[NativeAdmin]] = {pk: [] for pk in ids}
    published: dict[int, datetime] = {}
    messages: dict[int, datetime] = {}
    if ids:
        for admin in NativeAdmin.objects.filter(
            organization=org, removed_at__isnull=True
        ).select_related("user"):
            if admin.channel_id in admins:
                admins[admin.channel_id].append(admin)
        published = dict(
            Variant.objects.filter(
                channel__organization=org, state=VariantState.PUBLISHED, published_at__isnull=False
            )
            .values("channel_id")
            .annotate(last=Max("published_at"))
            .values_list("channel_id", "last")
        )
        messages = dict(
            Conversation.objects.filter(organization=org)
            .values("channel_id")
            .annotate(last=Max("last_message_at"))
            .values_list("channel_id", "last")
        )
    members = list(
        Membership.objects.filter(organization=org).values_list(
            "user_id", "is_active", "user__is_active", "user__email"
        )
    )
    active = {uid for uid, m_active, u_active, _e in members if m_active and u_active}
    people = frozenset(email.lower() for *_rest, email in members if email)
    domains = frozenset(d.lower() for d in settings.mail_domains) or frozenset(
        e.rpartition("@")[2] for e in people if e.rpartition("@")[2] not in CONSUMER_MAIL_DOMAINS
    )
    soon = now + timedelta(days=settings.token_warning_days)
    quiet_since = now - timedelta(days=settings.inactive_days)
    rows = []
    for channel in listed:
        expires = channel.credentials.expires_at if channel.credentials else None
        token_state = (
            "none"
            if channel.credentials is None
            else "expired"
            if expires is not None and expires <= now
            else "soon"
            if expires is not None and expires <= soon
            else "ok"
        )
        recovery = getattr(channel, "recovery", None)
        row = InventoryRow(
            channel=channel,
            native_admins=admins.get(channel.pk, []),
            recovery_email=classify_recovery_email(
                recovery.recovery_email if recovery is not None else "", domains, people
            ),
            token_state=token_state,
            token_expires=expires,
            last_published=published.get(channel.pk),
            last_message=messages.get(channel.pk),
            owner_left=channel.owner_id is not None and channel.owner_id not in active,
            backup_left=channel.backup_id is not None and channel.backup_id not in active,
        )
        row.gaps = _gaps(row, soon, quiet_since)
        rows.append(row)
    return Inventory(rows=rows, settings=settings, org_domains=domains)


def _gaps(row: InventoryRow, soon: datetime, quiet_since: datetime) -> list[Gap]:
    channel = row.channel
    if channel.status == ChannelStatus.ARCHIVED:
        return []
    found = []
    if channel.owner_id is None:
        found.append(GapKind.NO_OWNER)
    elif row.owner_left:
        found.append(GapKind.OWNER_LEFT)
    if channel.backup_id is None:
        found.append(GapKind.NO_BACKUP)
    elif row.backup_left:
        found.append(GapKind.BACKUP_LEFT)
    if not row.native_admins:
        found.append(GapKind.NO_NATIVE_ADMINS)
    elif len(row.native_admins) == 1:
        found.append(GapKind.SINGLE_NATIVE_ADMIN)
    if row.recovery_email.is_personal:
        found.append(GapKind.PERSONAL_RECOVERY_EMAIL)
    if row.token_state in ("soon", "expired"):
        found.append(GapKind.TOKEN_EXPIRING)
    last = row.last_activity or channel.created_at
    if last < quiet_since:
        found.append(GapKind.INACTIVE)
    return [Gap(kind, channel.pk) for kind in found]
