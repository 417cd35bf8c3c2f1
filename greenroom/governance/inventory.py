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

from greenroom.core.models import (
    Brand,
    Channel,
    ChannelStatus,
    Membership,
    Organization,
    Secret,
    User,
)
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
STATUS_CHIPS: dict[str, str] = {
    ChannelStatus.ACTIVE: "gr-chip-ok",
    ChannelStatus.NEEDS_RECONNECT: "gr-chip-bad",
    ChannelStatus.PAUSED: "gr-chip-warn",
}


@dataclass(frozen=True)
class Gap:
    kind: str
    channel_id: int
    channel_url: str

    @property
    def label(self) -> str:
        return str(GAP_LABELS[self.kind])

    @property
    def fix_label(self) -> str:
        return str(GAP_FIXES[self.kind])

    @property
    def fix_url(self) -> str:
        return f"{self.channel_url}#{GAP_ANCHORS[self.kind]}"


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
    url: str = ""
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

    @property
    def status_chip(self) -> str:
        return STATUS_CHIPS.get(self.channel.status, "gr-chip-muted")

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


PLACEHOLDER = 987654321
PERSON_FIELDS = ("id", "username", "display_name", "first_name", "last_name", "email", "is_active")


def build(org: Organization, channels: QuerySet[Channel], now: datetime | None = None) -> Inventory:
    """Rows for `channels` (already restricted by the caller) with their gaps.

    People, brands and token expiries are loaded once each and shared between rows, so a person
    who owns 40 channels is one object, not 40 copies from a join.
    """
    now = now or timezone.now()
    listed = list(channels.select_related("recovery").order_by("brand__name", "kind", "handle"))
    ids = [c.pk for c in listed]
    settings = settings_of(org)
    admins: dict[int, list[NativeAdmin]] = {pk: [] for pk in ids}
    published: dict[int, datetime] = {}
    messages: dict[int, datetime] = {}
    expiries: dict[int, datetime | None] = {}
    brands = {b.pk: b for b in Brand.objects.filter(organization=org)}
    if ids:
        for admin in NativeAdmin.objects.filter(organization=org, removed_at__isnull=True):
            if admin.channel_id in admins:
                admins[admin.channel_id].append(admin)
        expiries = dict(Secret.objects.filter(organization=org).values_list("pk", "expires_at"))
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
    wanted: set[int] = set()
    for channel in listed:
        wanted.update((channel.owner_id or 0, channel.backup_id or 0))
        recovery = getattr(channel, "recovery", None)
        if recovery is not None:
            wanted.update(
                (
                    recovery.recovery_email_controller_id or 0,
                    recovery.recovery_phone_controller_id or 0,
                    recovery.two_factor_holder_id or 0,
                )
            )
    wanted.update(a.user_id or 0 for found in admins.values() for a in found)
    wanted.discard(0)
    users = {u.pk: u for u in User.objects.filter(pk__in=wanted).only(*PERSON_FIELDS)}
    soon = now + timedelta(days=settings.token_warning_days)
    quiet_since = now - timedelta(days=settings.inactive_days)
    # One reverse() for every row's link (and its gaps' links), not one per link.
    url_of = reverse("channel_detail", args=[PLACEHOLDER]).replace(str(PLACEHOLDER), "{}")
    rows = []
    for channel in listed:
        # Share the loaded objects instead of one copy per channel from a join.
        channel.brand = brands[channel.brand_id]
        channel.owner = users.get(channel.owner_id or 0)
        channel.backup = users.get(channel.backup_id or 0)
        recovery = getattr(channel, "recovery", None)
        if recovery is not None:
            recovery.recovery_email_controller = users.get(
                recovery.recovery_email_controller_id or 0
            )
            recovery.recovery_phone_controller = users.get(
                recovery.recovery_phone_controller_id or 0
            )
            recovery.two_factor_holder = users.get(recovery.two_factor_holder_id or 0)
        for admin in admins.get(channel.pk, []):
            admin.user = users.get(admin.user_id or 0)
        expires = expiries.get(channel.credentials_id) if channel.credentials_id else None
        token_state = (
            "none"
            if channel.credentials_id is None
            else "expired"
            if expires is not None and expires <= now
            else "soon"
            if expires is not None and expires <= soon
            else "ok"
        )
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
            url=url_of.format(channel.pk),
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
    return [Gap(kind, channel.pk, row.url) for kind in found]
