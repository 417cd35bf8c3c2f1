"""`greenroom bench offboard`: offboarding one person in one action, and the channel inventory.

An organisation of 500 people and 300 channels (sandboxed, four brands) in a throwaway SQLite
database. The person offboarded holds a grant on all 300 channels, owns 40 of them (backing up
20 more), has 200 open conversations, is the named approver of the step 30 posts wait on, is a
recorded native admin on 40 channels, holds two API tokens and is signed in; the other 499 people
have sessions too, so revoking sessions searches a realistic store.

Measured:
- offboard_s: `do_offboard` end to end (median of 5 runs, each rolled back; then one committed
  run whose result is checked): every step, with an audit event per object changed.
- the raw baseline in the same run: the bare SQL statements the same changes need (UPDATE the
  conversations, channels and tokens, DELETE the grants, sessions and team places, swap the
  approver), with no audit, in one transaction; the ratio is what the action costs beyond them.
- inventory_page_queries / inventory_page_ms: GET /governance/ with all 300 channels (each with
  owner, backup, token, two native admins, recovery details, activity) through the full
  middleware stack, in-process; median of 10 after a warm-up. The same page narrowed to fewer
  channels (a search) must take the same number of queries.
- CPU time (process time) beside each wall-clock time, and the load average: the machines are
  shared, and wall-clock time grows with whatever else runs; CPU time is what the work costs.

Targets: offboard_s <= 1; the inventory page in a constant number of queries and <= 300 ms.
"""

from __future__ import annotations

import os
import re
import time
from datetime import timedelta
from typing import Any

from bench.common import median, report, setup_django

PEOPLE = 500
CHANNELS = 300
OWNED = 40
BACKED_UP = 20
CONVERSATIONS = 200
PENDING = 30
NATIVE = 40
REPEAT = 5


def build() -> dict[str, Any]:
    from django.contrib.auth.hashers import make_password
    from django.contrib.sessions.backends.db import SessionStore
    from django.utils import timezone

    from greenroom.core import actions as core
    from greenroom.core.models import Membership, User
    from greenroom.governance import actions as governance
    from greenroom.inbox.models import Conversation
    from greenroom.publishing import actions as publishing

    password = make_password("bench-password-123")
    owner = core.do_create_user(
        username="owner", email="owner@acme.test", password=None, acting_user=None
    )
    org = core.do_create_organization(name="Acme", owner=owner, acting_user=owner)
    brands = [core.do_create_brand(org, name=f"Brand {i}", acting_user=owner) for i in range(4)]
    # People in bulk: the set-up is not what is measured.
    users = User.objects.bulk_create(
        [
            User(
                username=f"person{i}",
                email=f"person{i}@acme.test",
                display_name=f"Person {i}",
                password=password,
            )
            for i in range(PEOPLE - 1)
        ]
    )
    roles = ("publisher", "community_agent", "approver", "contributor", "analyst")
    Membership.objects.bulk_create(
        [
            Membership(organization=org, user=u, role=roles[i % len(roles)])
            for i, u in enumerate(users)
        ]
    )
    leaver, successor, agent, author = users[0], users[1], users[2], users[3]
    Membership.objects.filter(user__in=[leaver, successor]).update(role="brand_manager")
    Membership.objects.filter(user=agent).update(role="community_agent")
    Membership.objects.filter(user=author).update(role="contributor")
    channels = []
    now = timezone.now()
    for i in range(CHANNELS):
        owner_of = leaver if i < OWNED else users[4 + i % 50]
        backup_of = (
            leaver
            if OWNED <= i < OWNED + BACKED_UP
            else successor
            if i % 3 == 0
            else users[60 + i % 50]
        )
        channel = core.do_create_channel(
            org,
            brand=brands[i % 4],
            kind=("x", "bluesky", "mastodon", "linkedin")[i % 4],
            handle=f"@acme{i}",
            sandboxed=True,
            owner=owner_of,
            backup=backup_of,
            acting_user=owner,
        )
        channels.append(channel)
        core.do_set_channel_credentials(
            channel,
            token=f"bench-token-{i:04d}-secret",
            expires_at=now + timedelta(days=i % 120),
            acting_user=owner,
        )
        core.do_grant_channel_permission(channel, leaver, "publish", acting_user=owner)
        governance.do_record_native_admin(
            channel, user=leaver if i < NATIVE else users[5 + i % 40], acting_user=owner
        )
        if i % 2:
            governance.do_record_native_admin(
                channel, name="Agency", email=f"agency{i}@agency.test", acting_user=owner
            )
        governance.do_save_recovery(
            channel,
            recovery_email="social@acme.test" if i % 3 else f"acme{i}@gmail.com",
            recovery_email_controller=successor,
            recovery_phone="+82 2 1234 5678",
            recovery_phone_controller=leaver if i < 10 else successor,
            two_factor_method="app",
            two_factor_holder=leaver if i < 10 else successor,
            acting_user=owner,
        )
    Conversation.objects.bulk_create(
        [
            Conversation(
                organization=org,
                channel=channels[i % CHANNELS],
                brand=channels[i % CHANNELS].brand,
                network=channels[i % CHANNELS].kind,
                kind="comment",
                thread_key=f"c:bench-{i}",
                assignee=leaver,
                last_message_at=now - timedelta(hours=i),
            )
            for i in range(CONVERSATIONS)
        ]
    )
    core.do_create_team(
        org, name="Social", lead=leaver, members=[leaver, *users[10:30]], acting_user=owner
    )
    publishing.do_create_approval_policy(
        org,
        name="Brand 0 review",
        brand=brands[0],
        steps=[publishing.StepInput(name="Brand", approvers=[leaver, users[40]])],
        acting_user=owner,
    )
    brand0 = [c for c in channels if c.brand_id == brands[0].pk and c.kind in ("x", "bluesky")]
    for i in range(PENDING):
        post = publishing.do_create_post(
            org, text=f"Launch day {i}", channels=[brand0[i % len(brand0)]], acting_user=author
        )
        publishing.do_submit_for_approval(post, acting_user=author)
    for name in ("laptop", "ci"):
        core.do_create_api_token(
            leaver, org, name=name, scopes=["read", "write"], acting_user=leaver
        )
    # Everyone is signed in somewhere; the leaver twice.
    for user in [leaver, *users]:
        store = SessionStore()
        store["_auth_user_id"] = str(user.pk)
        store["_auth_user_backend"] = "django.contrib.auth.backends.ModelBackend"
        store["_auth_user_hash"] = user.get_session_auth_hash()
        store.create()
    return {
        "org": org,
        "owner": owner,
        "leaver": leaver,
        "successor": successor,
        "agent": agent,
        "people": PEOPLE,
        "channels": CHANNELS,
    }


def raw_baseline(world: dict[str, Any]) -> float:
    """The bare statements offboarding needs, with nothing else, rolled back after each run."""
    from django.contrib.sessions.backends.db import SessionStore
    from django.contrib.sessions.models import Session
    from django.db import connection, transaction

    leaver, successor, org = world["leaver"], world["successor"], world["org"]
    store = SessionStore()
    keys = [
        s.session_key
        for s in Session.objects.all()
        if store.decode(s.session_data).get("_auth_user_id") == str(leaver.pk)
    ]
    marks = ",".join("%s" for _ in keys)
    statements = [
        (
            "UPDATE inbox_conversation SET assignee_id = %s WHERE organization_id = %s"
            " AND assignee_id = %s AND status IN ('open', 'pending', 'snoozed')",
            [successor.pk, org.pk, leaver.pk],
        ),
        (
            "UPDATE core_channel SET owner_id = %s WHERE organization_id = %s AND owner_id = %s",
            [successor.pk, org.pk, leaver.pk],
        ),
        (
            "UPDATE core_channel SET backup_id = NULL WHERE organization_id = %s"
            " AND backup_id = %s",
            [org.pk, leaver.pk],
        ),
        (
            "DELETE FROM core_channelgrant WHERE user_id = %s AND channel_id IN"
            " (SELECT id FROM core_channel WHERE organization_id = %s)",
            [leaver.pk, org.pk],
        ),
        (
            "UPDATE core_apitoken SET revoked_at = CURRENT_TIMESTAMP WHERE user_id = %s"
            " AND organization_id = %s AND revoked_at IS NULL",
            [leaver.pk, org.pk],
        ),
        (f"DELETE FROM django_session WHERE session_key IN ({marks})", keys),
        (
            "DELETE FROM core_team_members WHERE user_id = %s AND team_id IN"
            " (SELECT id FROM core_team WHERE organization_id = %s)",
            [leaver.pk, org.pk],
        ),
        (
            "UPDATE publishing_approvalstep_approvers SET user_id = %s WHERE user_id = %s",
            [successor.pk, leaver.pk],
        ),
        (
            "UPDATE core_membership SET is_active = 0 WHERE organization_id = %s AND user_id = %s",
            [org.pk, leaver.pk],
        ),
        ("UPDATE core_user SET is_active = 0 WHERE id = %s", [leaver.pk]),
    ]

    def run() -> None:
        with transaction.atomic():
            with connection.cursor() as cursor:
                for sql, params in statements:
                    cursor.execute(sql, params)
            transaction.set_rollback(True)

    return median([_timed(run) for _ in range(REPEAT)])


def _timed(fn: Any) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def _cpu(fn: Any) -> float:
    # CPU time of this process: what the work costs, whatever else the shared machine runs.
    start = time.process_time()
    fn()
    return time.process_time() - start


def offboard_once(world: dict[str, Any], *, keep: bool) -> Any:
    from django.db import transaction

    from greenroom.core.models import User
    from greenroom.governance import actions

    leaver = User.objects.get(pk=world["leaver"].pk)  # a rolled-back run left its copy changed
    with transaction.atomic():
        offboarding = actions.do_offboard(
            world["org"],
            leaver,
            successor=world["successor"],
            conversations_to=world["successor"],
            reason="Left the company",
            acting_user=world["owner"],
        )
        if not keep:
            transaction.set_rollback(True)
    return offboarding


def inventory_page(world: dict[str, Any]) -> tuple[float, float, int, int, int]:
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    client = Client()
    client.force_login(world["owner"])
    client.get("/governance/")  # warm-up: templates, rule table
    samples = []
    cpu = []
    for _ in range(10):
        start, start_cpu = time.perf_counter(), time.process_time()
        response = client.get("/governance/")
        samples.append(time.perf_counter() - start)
        cpu.append(time.process_time() - start_cpu)
        assert response.status_code == 200
    assert _rows(response) == CHANNELS, _rows(response)
    with CaptureQueriesContext(connection) as all_rows:
        client.get("/governance/")
    with CaptureQueriesContext(connection) as fewer:
        narrowed = client.get("/governance/", {"q": "@acme1"})
    return (
        median(samples),
        median(cpu),
        len(all_rows.captured_queries),
        len(fewer.captured_queries),
        _rows(narrowed),
    )


def _rows(response: Any) -> int:
    # One link per channel row (gap chips link to the same page with an #anchor).
    return len(
        re.findall(
            r'href="/governance/channels/\d+/" class="fw-semibold"', response.content.decode()
        )
    )


def main() -> None:
    setup_django()
    from greenroom.core.models import AuditEvent, ChannelGrant
    from greenroom.governance.models import ChecklistItem
    from greenroom.inbox.models import Conversation

    started = time.perf_counter()
    world = build()
    setup_s = time.perf_counter() - started

    page_s, page_cpu_s, page_queries, narrowed_queries, narrowed_rows = inventory_page(world)
    baseline_s = raw_baseline(world)
    offboard_s = median([_timed(lambda: offboard_once(world, keep=False)) for _ in range(REPEAT)])
    offboard_cpu_s = median([_cpu(lambda: offboard_once(world, keep=False)) for _ in range(REPEAT)])
    load = os.getloadavg()[0]

    before = AuditEvent.objects.count()
    offboarding = offboard_once(world, keep=True)
    events = AuditEvent.objects.count() - before
    leaver = world["leaver"]
    left = {
        "grants": ChannelGrant.objects.filter(user=leaver).count(),
        "conversations": Conversation.objects.filter(assignee=leaver).count(),
        "owned": leaver.owned_channels.count(),
    }
    assert left == {"grants": 0, "conversations": 0, "owned": 0}, left
    steps = {s.kind: s.count for s in offboarding.steps.all()}
    checklist = ChecklistItem.objects.filter(offboarding=offboarding).count()
    ratio = offboard_s / baseline_s
    report(
        "offboard",
        [
            ("people / channels", f"{PEOPLE} / {CHANNELS}"),
            ("set-up", f"{setup_s:.1f} s"),
            (
                "the leaver held",
                f"{steps['grants']} grants, {steps['conversations']} conversations, "
                f"{steps['approvals']} pending approvals, owner/backup of {steps['channels']} "
                f"channels, {steps['sessions']} sessions, {steps['api_tokens']} tokens",
            ),
            ("machine load average (1 min)", f"{load:.1f} on {os.cpu_count()} CPUs"),
            (
                "offboard (do_offboard, median of 5)",
                f"{offboard_s * 1000:.0f} ms wall, {offboard_cpu_s * 1000:.0f} ms CPU "
                "(target 1000)",
            ),
            ("  audit events written", f"{events}"),
            ("  checklist items opened", f"{checklist}"),
            ("raw baseline (bare SQL, no audit)", f"{baseline_s * 1000:.1f} ms"),
            ("ratio (action / bare SQL)", f"{ratio:.0f}x"),
            (
                "inventory page, 300 channels",
                f"{page_s * 1000:.0f} ms wall, {page_cpu_s * 1000:.0f} ms CPU, median "
                f"(target 300), {page_queries} queries",
            ),
            (
                "inventory page narrowed to fewer channels",
                f"{narrowed_rows} channels, {narrowed_queries} queries",
            ),
        ],
        {
            "channels": CHANNELS,
            "people": PEOPLE,
            "offboard_s": offboard_s,
            "inventory_page_queries": page_queries,
            "inventory_page_ms": page_s * 1000,
            "inventory_page_cpu_ms": page_cpu_s * 1000,
            "offboard_cpu_s": offboard_cpu_s,
            "load_average": load,
            "inventory_page_queries_narrowed": narrowed_queries,
            "inventory_page_rows_narrowed": narrowed_rows,
            "raw_baseline_s": baseline_s,
            "ratio": ratio,
            "audit_events": events,
            "checklist_items": checklist,
            "steps": steps,
            "targets_met": offboard_s <= 1 and page_s <= 0.3 and page_queries == narrowed_queries,
        },
    )


if __name__ == "__main__":
    main()
