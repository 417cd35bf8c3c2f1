"""Writes to the networks app's own tables (what networks send us)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.db import transaction
from django.db.models import F, JSONField
from django.db.models.constants import OnConflict
from django.dispatch import Signal
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from greenroom.core import fastjson, vault
from greenroom.core.actions import (
    ActionError,
    do_set_channel_credentials,
    do_store_secret,
    do_update_channel,
)
from greenroom.core.models import Channel, User
from greenroom.networks.base import InboundItem, InboundKind, TokenSet
from greenroom.networks.connections.payloads import stored_payload
from greenroom.networks.models import HeldInbound, InboundEvent, InboundSource

if TYPE_CHECKING:
    from greenroom.networks.sandbox.models import SandboxAccount

# Sent after commit with `channel` and `event_ids` (the rows this call created), so the inbox
# can pick new events up without polling the table.
inbound_stored = Signal()

KINDS = frozenset({InboundKind.COMMENT, InboundKind.MENTION, InboundKind.DM})


@dataclass(frozen=True)
class IngestResult:
    created: int
    duplicates: int


@transaction.atomic
def do_ingest_inbound(
    channel: Channel,
    items: Sequence[InboundItem],
    *,
    source: str,
    delivery_id: str = "",
) -> IngestResult:
    """Store comments, mentions and DMs a network sent for `channel`, each exactly once.

    Idempotent: an item already stored for the channel (a replayed webhook, an overlapping poll)
    counts as a duplicate and changes nothing. Not a user action, so no audit row; the caller
    logs one line per delivery.
    """
    if source not in InboundSource.values:
        raise ValueError(f"unknown inbound source {source!r}")
    unknown = {item.kind for item in items} - KINDS
    if unknown:
        raise ValueError(f"unknown inbound kind(s) {sorted(unknown)}")
    wanted: dict[str, InboundItem] = {}
    for item in items:
        wanted.setdefault(item.external_id, item)
    if not wanted:
        return IngestResult(created=0, duplicates=len(items))
    now = timezone.now()
    created_ids = _insert_ignoring_known(
        [
            (
                channel.organization_id,
                channel.pk,
                external_id,
                item.kind,
                stored_payload(item),
                source,
                delivery_id[:64],
                now,
            )
            for external_id, item in wanted.items()
        ]
    )
    if created_ids is None:
        # The rows this call created carry its own arrival time; replays kept their first one.
        created_ids = list(
            InboundEvent.objects.filter(
                channel=channel, external_id__in=list(wanted), received_at=now
            ).values_list("pk", flat=True)
        )
    if created_ids:
        transaction.on_commit(
            lambda: inbound_stored.send(sender=InboundEvent, channel=channel, event_ids=created_ids)
        )
    return IngestResult(created=len(created_ids), duplicates=len(items) - len(created_ids))


@transaction.atomic
def do_hold_inbound(
    channel: Channel,
    items: Sequence[InboundItem],
    *,
    source: str,
    delivery_id: str = "",
) -> int:
    """Keep items a webhook could not complete in its time (`HeldInbound`) until a worker has
    asked the network again (`networks/held.py`): committed with the delivery, so nothing is
    lost. An item already landed (a replay) or already held is not kept twice. Returns how
    many were newly held; the worker is sent for after the commit."""
    if source not in InboundSource.values:
        raise ValueError(f"unknown inbound source {source!r}")
    wanted: dict[str, InboundItem] = {}
    for item in items:
        wanted.setdefault(item.external_id, item)
    if not wanted:
        return 0
    known = set(
        InboundEvent.objects.filter(channel=channel, external_id__in=list(wanted)).values_list(
            "external_id", flat=True
        )
    ) | set(
        HeldInbound.objects.filter(channel=channel, external_id__in=list(wanted)).values_list(
            "external_id", flat=True
        )
    )
    now = timezone.now()
    rows = [
        HeldInbound(
            organization_id=channel.organization_id,
            channel=channel,
            external_id=external_id,
            kind=item.kind,
            payload=stored_payload(item),
            source=source,
            delivery_id=delivery_id[:64],
            received_at=now,
            retry_at=now,
        )
        for external_id, item in wanted.items()
        if external_id not in known
    ]
    # A concurrent delivery of the same item may have held it meanwhile: kept once.
    HeldInbound.objects.bulk_create(rows, ignore_conflicts=True)
    if rows:
        from greenroom.networks.held import complete_held

        # A broker outage costs only the nudge: the beat takes held items up when they are due.
        transaction.on_commit(lambda: complete_held.delay(), robust=True)
    return len(rows)


def do_lease_held(now: datetime, *, limit: int, lease: timedelta) -> list[HeldInbound]:
    """Up to `limit` held items that are due, leased to the caller: their try counted and their
    next try moved `lease` on, so a worker killed while asking leaves them due again later.
    PostgreSQL: SKIP LOCKED, so workers take different items; SQLite: the transaction is
    IMMEDIATE, so the second worker finds them leased. A system write, not audited."""
    with transaction.atomic():
        due = HeldInbound.objects.filter(retry_at__lte=now).order_by("retry_at", "pk")
        if transaction.get_connection().features.has_select_for_update_skip_locked:
            due = due.select_for_update(skip_locked=True)
        rows = list(due[:limit])
        if rows:
            HeldInbound.objects.filter(pk__in=[row.pk for row in rows]).update(
                retry_at=now + lease, attempts=F("attempts") + 1
            )
            for row in rows:
                row.attempts += 1
    return rows


@transaction.atomic
def do_land_held(
    channel: Channel,
    items: Mapping[tuple[str, str], Sequence[InboundItem]],
    *,
    landed: Sequence[int],
    again: Mapping[int, datetime],
) -> None:
    """Land held items (per (source, delivery id)) through `do_ingest_inbound` and forget the
    held rows `landed`; the rows in `again` wait until their next try. One transaction: an
    item is either still held or landed, never both lost."""
    for (source, delivery_id), batch in items.items():
        do_ingest_inbound(channel, batch, source=source, delivery_id=delivery_id)
    HeldInbound.objects.filter(pk__in=landed).delete()
    for pk, retry_at in again.items():
        HeldInbound.objects.filter(pk=pk).update(retry_at=retry_at)


_LANDING_COLUMNS = (
    "organization_id",
    "channel_id",
    "external_id",
    "kind",
    "payload",
    "source",
    "delivery_id",
    "received_at",
)


def _insert_ignoring_known(rows: list[tuple[Any, ...]]) -> list[int] | None:
    """INSERT the events, skipping those already stored (the unique key per channel): a replay,
    an overlapping poll, or a concurrent delivery of the same item that won the race.

    Returns the ids of the rows inserted, read from RETURNING (a multi-row INSERT per
    `bulk_batch_size` rows); None where the database cannot return them (one executemany,
    the caller looks the new rows up)."""
    connection = transaction.get_connection()
    ops = connection.ops
    by_attname = {f.attname: f for f in InboundEvent._meta.concrete_fields}
    fields = [by_attname[name] for name in _LANDING_COLUMNS]
    payload = InboundEvent._meta.get_field("payload")
    assert isinstance(payload, JSONField)
    if connection.vendor != "postgresql" and payload.encoder is None:
        # All the field's preparation does there (it runs for every event of a delivery).
        encode: Any = fastjson.dumps
    else:

        def encode(value: Any) -> Any:
            return payload.get_db_prep_save(value, connection)

    # A delivery's events share one arrival time: adapted once.
    received = {when: ops.adapt_datetimefield_value(when) for when in {row[7] for row in rows}}
    params = [(*row[:4], encode(row[4]), row[5], row[6], received[row[7]]) for row in rows]
    # Table and column names come from the model, quoted; values are parameters.
    head = "{} {} ({})".format(
        ops.insert_statement(on_conflict=OnConflict.IGNORE),
        ops.quote_name(InboundEvent._meta.db_table),
        ", ".join(ops.quote_name(f.column) for f in fields),
    )
    placeholders = "({})".format(", ".join(["%s"] * len(fields)))
    ignore = ops.on_conflict_suffix_sql(fields, OnConflict.IGNORE, None, None)
    with connection.cursor() as cursor:
        if not connection.features.can_return_rows_from_bulk_insert:
            cursor.executemany(f"{head} VALUES {placeholders} {ignore}", params)
            return None
        returning, _returning_params = ops.return_insert_columns([InboundEvent._meta.pk])
        size = max(1, ops.bulk_batch_size(fields, params))
        created: list[int] = []
        for start in range(0, len(params), size):
            chunk = params[start : start + size]
            values = ", ".join([placeholders] * len(chunk))
            cursor.execute(
                f"{head} VALUES {values} {ignore} {returning}",
                [value for row in chunk for value in row],
            )
            created += [row[0] for row in cursor.fetchall()]
        return created


@transaction.atomic
def do_connect_sandbox_channel(
    channel: Channel,
    *,
    acting_user: User | None,
    token_ttl: timedelta = timedelta(days=60),
    korean_share: float | None = None,
    topics: Sequence[Any] = (),
    webhook_secret: str = "",
) -> SandboxAccount:
    """Connect a sandboxed channel: open its account on the sandbox network, keep the tokens in
    the vault and point the account's webhooks at this channel's receiver.

    This stands in for a real network's OAuth consent screen. `webhook_secret` gives the account
    its own signing secret (kept in the vault too); otherwise SANDBOX_WEBHOOK_SECRET signs.
    """
    from greenroom.networks.sandbox import service as sandbox
    from greenroom.networks.sandbox.connector import encode_tokens, webhook_secret_name

    if not channel.sandboxed:
        raise ActionError(_("%(channel)s is not a sandbox channel.") % {"channel": channel})
    if korean_share is None:
        korean_share = 0.7 if channel.region.upper() in ("KR", "KOREA") else 0.15
    account, issued = sandbox.create_account(
        handle=channel.handle,
        network=channel.kind,
        display_name=channel.name,
        webhook_url=settings.BASE_URL + reverse("hooks:sandbox", args=[channel.pk]),
        webhook_secret=webhook_secret,
        timezone_name=channel.timezone,
        korean_share=korean_share,
        topics=topics,
        token_ttl=token_ttl,
    )
    tokens = TokenSet(
        access_token=issued.access_token,
        refresh_token=issued.refresh_token,
        expires_at=issued.expires_at,
    )
    do_set_channel_credentials(
        channel,
        token=encode_tokens(tokens),
        expires_at=issued.expires_at,
        hint=vault.hint_for(tokens.access_token),
        acting_user=acting_user,
    )
    if webhook_secret:
        do_store_secret(
            channel.organization,
            name=webhook_secret_name(channel),
            value=webhook_secret,
            acting_user=acting_user,
        )
    do_update_channel(channel, external_id=account.external_id, acting_user=acting_user)
    return account
