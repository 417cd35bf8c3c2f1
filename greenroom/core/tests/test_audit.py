from __future__ import annotations

import io

import pytest
from django.core.management import CommandError, call_command
from django.db import connection, transaction

from greenroom.conftest import World
from greenroom.core import actions, audit
from greenroom.core.models import AuditChainHead, AuditEvent


def test_every_action_in_the_world_left_a_verifiable_chain(world: World) -> None:
    report = audit.verify()
    assert report.ok, report.reason
    assert report.checked == AuditEvent.objects.count() > 20


def test_events_copy_the_actor_name_and_request_context(world: World) -> None:
    from greenroom.core import context

    with context.bind(request_id="req42", ip="203.0.113.9"):
        actions.do_create_brand(world.acme, name="Acme Juice", acting_user=world.alice)
    event = AuditEvent.objects.filter(action="brand.created").latest("id")
    assert (event.actor_name, event.request_id, event.ip) == ("Alice", "req42", "203.0.113.9")
    assert event.after["name"] == "Acme Juice"


def test_an_action_that_fails_leaves_no_event(world: World) -> None:
    before = AuditEvent.objects.count()
    with pytest.raises(actions.ActionError):
        actions.do_create_team(
            world.acme, name="Outsiders", members=[world.gina], acting_user=world.alice
        )
    assert AuditEvent.objects.count() == before


def test_events_cannot_be_changed_or_deleted_through_the_orm(world: World) -> None:
    event = AuditEvent.objects.first()
    assert event is not None
    event.action = "nothing.happened"
    with pytest.raises(ValueError, match="append-only"):
        event.save()
    with pytest.raises(ValueError, match="append-only"):
        event.delete()


def test_record_outside_a_transaction_is_refused(db: None) -> None:
    with pytest.raises(RuntimeError, match="inside the action's transaction"):
        # The test itself runs in a transaction, so leave it for this check.
        conn = transaction.get_connection()
        saved = conn.in_atomic_block
        conn.in_atomic_block = False
        try:
            audit.record("x.y", actor=None, organization=None)
        finally:
            conn.in_atomic_block = saved


def _raw_sql(sql: str, params: list[str | int]) -> None:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)


def verify_command() -> str:
    out = io.StringIO()
    call_command("audit", "verify", stdout=out)
    return out.getvalue()


def test_verify_command_reports_an_intact_chain(world: World) -> None:
    assert "Audit chain intact" in verify_command()


def test_verify_names_an_edited_row(world: World) -> None:
    victim = AuditEvent.objects.order_by("id")[5]
    _raw_sql("UPDATE core_auditevent SET actor_name = %s WHERE id = %s", ["Mallory", victim.pk])
    with pytest.raises(CommandError, match=rf"BROKEN at event #{victim.pk}: .*changed"):
        verify_command()


def test_verify_names_the_row_after_a_deleted_one(world: World) -> None:
    rows = list(AuditEvent.objects.order_by("id").values_list("id", flat=True)[:10])
    _raw_sql("DELETE FROM core_auditevent WHERE id = %s", [rows[3]])
    report = audit.verify()
    assert not report.ok
    assert report.broken_at == rows[4]
    assert f"events {rows[3]}..{rows[3]} are missing" in report.reason


def test_verify_notices_the_newest_rows_were_deleted(world: World) -> None:
    newest = AuditEvent.objects.order_by("-id").first()
    assert newest is not None
    _raw_sql("DELETE FROM core_auditevent WHERE id = %s", [newest.pk])
    report = audit.verify()
    assert not report.ok and "newest events" in report.reason


def test_rehashing_an_edited_row_still_breaks_the_next_link(world: World) -> None:
    """An attacker who edits a row and recomputes its hash breaks the following row's link."""
    victim = AuditEvent.objects.order_by("id")[2]
    victim.actor_name = "Mallory"
    new_hash = audit.compute_hash(victim)
    _raw_sql(
        "UPDATE core_auditevent SET actor_name = %s, hash = %s WHERE id = %s",
        ["Mallory", new_hash, victim.pk],
    )
    report = audit.verify()
    assert not report.ok
    assert report.broken_at == AuditEvent.objects.filter(id__gt=victim.pk).order_by("id")[0].pk


def test_chain_head_tracks_the_newest_event(world: World) -> None:
    head = AuditChainHead.objects.get(pk=1)
    newest = AuditEvent.objects.order_by("-id").first()
    assert newest is not None
    assert (head.last_event_id, head.last_hash) == (newest.pk, newest.hash)


def test_sign_ins_and_failures_are_filed_under_the_persons_organisation(world: World) -> None:
    from django.test import Client

    from greenroom.conftest import PASSWORD

    client = Client()
    assert not client.login(username="paul", password="wrong password")
    assert client.login(username="paul", password=PASSWORD)
    acme_events = AuditEvent.objects.restrict(world.otto, "view_audit")
    failed = acme_events.get(action="auth.login_failed")
    assert failed.actor is None and failed.target_id == str(world.paul.pk)
    assert acme_events.filter(action="auth.login", actor=world.paul).exists()
    # Globex's auditors see nothing of Acme's people signing in.
    assert not AuditEvent.objects.filter(
        organization=world.globex, action__startswith="auth."
    ).exists()


def test_record_many_chains_each_event_like_record(world: World) -> None:
    with transaction.atomic():
        audit.record("single.before", actor=world.alice, organization=world.acme)
        events = audit.record_many(
            [
                audit.Entry("batch.one", world.acme, target=world.coffee_x, after={"n": 1}),
                audit.Entry("batch.two", world.acme, target=world.tea_bluesky, before={"n": 1}),
            ],
            actor=world.alice,
        )
        audit.record("single.after", actor=None, organization=world.acme)
    assert [e.action for e in events] == ["batch.one", "batch.two"]
    stored = list(AuditEvent.objects.filter(action__startswith="batch.").order_by("pk"))
    assert [(e.actor_name, e.target_id) for e in stored] == [
        ("Alice", str(world.coffee_x.pk)),
        ("Alice", str(world.tea_bluesky.pk)),
    ]
    after = AuditEvent.objects.get(action="single.after")
    assert after.prev_hash == stored[-1].hash
    assert AuditChainHead.objects.get(pk=1).last_event_id == after.pk
    assert audit.verify().ok
