"""`greenroom bench inbox`: the community inbox end to end, on SQLite.

Lands N sandbox-traffic messages (English and Korean, comments, mentions and DMs, with 2% replayed
deliveries and replies that arrive before their parents) through `do_ingest_inbound` with Celery
eager, so each commit runs the inbox's task as the worker would: dedupe, threading, language,
sentiment, spam/abuse flags, routing with round-robin assignment, SLA clocks, activity rows.
In the same run: the bare sentiment scorer over the same texts, and a bare executemany INSERT of
the same rows into a plain SQLite table; limit = 1 / (1/model + 1/insert). Then the unassigned
queue page is fetched over HTTP from a threaded server (p95 of 50 requests) with the conversations
the run produced. The labelled-set accuracy of each sentiment scorer is printed too.

N: INBOX_BENCH_MESSAGES (default 100000), or `python -m bench.inbox --messages N`.
"""

from __future__ import annotations

import json
import os
import random
import sqlite3
import statistics
import sys
import threading
import time
from datetime import UTC, datetime, timedelta

from bench.common import report, setup_django

BATCH = 500


def _messages_wanted() -> int:
    if "--messages" in sys.argv:
        return int(sys.argv[sys.argv.index("--messages") + 1])
    return int(os.environ.get("INBOX_BENCH_MESSAGES", "100000"))


def main() -> None:
    n = _messages_wanted()
    data_dir = setup_django()
    from django.conf import settings
    from django.db import connection

    from greenroom.celery import app
    from greenroom.core import actions as core
    from greenroom.inbox import actions, evaluation, understanding
    from greenroom.inbox.models import Conversation, Message
    from greenroom.networks.actions import do_ingest_inbound
    from greenroom.networks.base import InboundItem
    from greenroom.networks.sandbox.traffic import Audience, TrafficGenerator

    # The commit's signal runs the inbox task inline, as a worker would right after it.
    app.conf.task_always_eager = True
    settings.ALLOWED_HOSTS = ["*"]

    owner = core.do_create_user(
        username="owner", email="o@example.com", password="bench-password-1", acting_user=None
    )
    org = core.do_create_organization(
        name="Bench", owner=owner, languages=("en", "ko"), acting_user=None
    )
    brand = core.do_create_brand(org, name="Daybreak", acting_user=None)
    agents = []
    for i in range(6):
        agent = core.do_create_user(
            username=f"agent{i}", email=f"a{i}@example.com", password=None, acting_user=None
        )
        core.do_add_member(org, agent, "community_agent", acting_user=None)
        agents.append(agent)
    team = core.do_create_team(org, name="Care", lead=owner, members=agents, acting_user=None)
    channels = [
        core.do_create_channel(
            org,
            brand=brand,
            kind=kind,
            handle=f"@daybreak_{kind}",
            sandboxed=True,
            timezone_name=zone,
            acting_user=None,
        )
        for kind, zone in (
            ("x", "Asia/Seoul"),
            ("instagram", "Asia/Seoul"),
            ("bluesky", "America/New_York"),
            ("mastodon", "Europe/London"),
        )
    ]
    hours = actions.do_save_business_hours(
        org,
        name="Office",
        weekly=[[["09:00", "18:00"]]] * 5 + [[], []],
        holidays=["2026-12-25"],
        acting_user=owner,
    )
    actions.do_save_sla_policy(
        org,
        name="DMs in office hours",
        kind="dm",
        first_response_minutes=120,
        business_hours=hours,
        acting_user=owner,
    )
    actions.do_save_routing_rule(
        org,
        name="Orders",
        position=10,
        keywords="order, 주문, refund, 환불",
        set_priority="high",
        add_tags=["order"],
        set_team=team,
        acting_user=owner,
    )
    actions.do_save_routing_rule(
        org,
        name="Negative",
        position=20,
        sentiment="negative",
        set_team=team,
        add_tags=["negative"],
        acting_user=owner,
    )
    actions.do_save_routing_rule(
        org,
        name="Spam",
        position=5,
        keywords="bit.ly, t.me/",
        add_tags=["spam"],
        stop=True,
        acting_user=owner,
    )

    # Sandbox traffic: the generator's texts and kinds; ids and threading made here.
    generator = TrafficGenerator(seed=7)
    rng = random.Random(7)
    start = datetime(2026, 11, 2, 0, 0, tzinfo=UTC)
    audiences = [
        Audience(
            account_id=i,
            handle=c.handle,
            brand="Daybreak",
            timezone=c.timezone,
            korean_share=0.5,
            posts=tuple((f"post{i}-{p}", start - timedelta(days=1)) for p in range(20)),
        )
        for i, c in enumerate(channels)
    ]
    planned: list[tuple[int, InboundItem]] = []
    roots: list[tuple[int, str]] = []
    for i in range(n):
        at = start + timedelta(seconds=i * 6)
        audience = audiences[i % len(audiences)]
        msg = generator.message(audience, at)
        external_id = f"si_{i:08d}"
        in_reply_to = msg.in_reply_to
        if msg.kind != "dm" and roots and rng.random() < 0.1:
            # A reply to an earlier comment or mention on the same channel.
            same = [r for r in roots[-50:] if r[0] == audience.account_id]
            if same:
                in_reply_to = rng.choice(same)[1]
        elif msg.kind != "dm":
            roots.append((audience.account_id, external_id))
        raw = {
            "id": external_id,
            "kind": msg.kind,
            "text": msg.text,
            "author": {"handle": msg.author_handle, "name": msg.author_name},
            "in_reply_to": in_reply_to or None,
            "thread_id": msg.thread_id or None,
            "created_at": at.isoformat(),
        }
        planned.append(
            (
                audience.account_id,
                InboundItem(
                    external_id=external_id,
                    kind=msg.kind,
                    text=msg.text,
                    author_handle=msg.author_handle,
                    author_name=msg.author_name,
                    created_at=at,
                    in_reply_to=in_reply_to or None,
                    thread_id=msg.thread_id or None,
                    raw=raw,
                ),
            )
        )
    # Deliveries out of order (a reply may land before its parent) and 2% replayed.
    delivery = list(planned)
    for j in range(0, len(delivery) - 1, 37):
        delivery[j], delivery[j + 1] = delivery[j + 1], delivery[j]
    replays = rng.sample(planned, k=len(planned) // 50)
    delivery += replays
    texts = [item.text for _, item in planned]

    # --- The full pipeline -------------------------------------------------------------------
    processing = [0.0]
    process = actions.do_process_inbound

    def timed_process(*args: object, **kwargs: object) -> object:
        start_p = time.perf_counter()
        try:
            return process(*args, **kwargs)  # type: ignore[arg-type]
        finally:
            processing[0] += time.perf_counter() - start_p

    # The task calls actions.do_process_inbound: time how much of the run it takes.
    setattr(actions, "do_process_inbound", timed_process)  # noqa: B010
    t0 = time.perf_counter()
    for s in range(0, len(delivery), BATCH):
        chunk = delivery[s : s + BATCH]
        by_channel: dict[int, list[InboundItem]] = {}
        for account, item in chunk:
            by_channel.setdefault(account, []).append(item)
        for account, items in by_channel.items():
            do_ingest_inbound(channels[account], items, source="webhook")
    pipeline_s = time.perf_counter() - t0
    setattr(actions, "do_process_inbound", process)  # noqa: B010
    stored = Message.objects.filter(direction="in").count()
    conversations = Conversation.objects.count()
    assigned = Conversation.objects.filter(assignee__isnull=False).count()
    assert stored == n, (stored, n)

    # --- The bare sentiment model over the same texts ------------------------------------------
    t0 = time.perf_counter()
    for text in texts:
        understanding.lexicon_score(text)
    model_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    understanding.read_many(texts[:20000], ["en", "ko"])
    read_s = (time.perf_counter() - t0) * len(texts) / min(len(texts), 20000)

    # --- A bare executemany INSERT of the same rows ----------------------------------------------
    raw_db = sqlite3.connect(data_dir / "raw.sqlite3", isolation_level=None)
    raw_db.execute("PRAGMA journal_mode=WAL")
    raw_db.execute("PRAGMA synchronous=NORMAL")
    raw_db.execute(
        "CREATE TABLE message (id INTEGER PRIMARY KEY, channel_id INTEGER, external_id TEXT,"
        " kind TEXT, author_handle TEXT, author_name TEXT, text TEXT, in_reply_to TEXT,"
        " raw TEXT, sent_at TEXT, UNIQUE(channel_id, external_id))"
    )
    rows = [
        (
            account,
            item.external_id,
            item.kind,
            item.author_handle,
            item.author_name,
            item.text,
            item.in_reply_to or "",
            json.dumps(item.raw),
            item.created_at.isoformat(),
        )
        for account, item in planned
    ]
    t0 = time.perf_counter()
    for s in range(0, len(rows), BATCH):
        raw_db.execute("BEGIN")
        raw_db.executemany(
            "INSERT INTO message (channel_id, external_id, kind, author_handle, author_name,"
            " text, in_reply_to, raw, sent_at) VALUES (?,?,?,?,?,?,?,?,?)",
            rows[s : s + BATCH],
        )
        raw_db.execute("COMMIT")
    insert_s = time.perf_counter() - t0

    # --- The unassigned queue page over HTTP ----------------------------------------------------
    import httpx
    from django.core.servers.basehttp import ThreadedWSGIServer, WSGIRequestHandler
    from django.test import Client

    from greenroom.wsgi import application

    class Quiet(WSGIRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

    connection.close()
    server = ThreadedWSGIServer(("127.0.0.1", 0), Quiet)
    server.set_app(application)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    client = Client()
    client.force_login(owner)
    cookie = client.cookies[settings.SESSION_COOKIE_NAME].value
    url = f"http://127.0.0.1:{server.server_address[1]}/inbox/?queue=unassigned"
    samples = []
    with httpx.Client(cookies={settings.SESSION_COOKIE_NAME: cookie}, timeout=30) as http:
        for i in range(55):
            t0 = time.perf_counter()
            response = http.get(url)
            elapsed = time.perf_counter() - t0
            assert response.status_code == 200, response.status_code
            if i >= 5:  # the first requests warm caches
                samples.append(elapsed)
    server.shutdown()
    page_p95 = statistics.quantiles(samples, n=20)[18] * 1000
    page_median = statistics.median(samples) * 1000

    examples = evaluation.load()
    scores = {
        (s, split): evaluation.evaluate(s, examples, split=split)
        for s in ("inbox", "vader")
        for split in ("", "test")
    }

    msgs_per_s = n / pipeline_s
    model_rate = n / model_s
    insert_rate = n / insert_s
    limit = 1 / (1 / model_rate + 1 / insert_rate)
    report(
        "inbox",
        [
            ("messages (plus replays)", f"{n:,} (+{len(replays):,} replayed deliveries)"),
            ("conversations", f"{conversations:,} ({assigned:,} auto-assigned)"),
            ("full pipeline", f"{pipeline_s:.1f} s ({msgs_per_s:,.0f} msgs/s)"),
            ("  of which landing (do_ingest_inbound)", f"{pipeline_s - processing[0]:.1f} s"),
            ("  of which the inbox task", f"{processing[0]:.1f} s"),
            ("bare sentiment model", f"{model_rate:,.0f} msgs/s"),
            ("reading (lingua + sentiment + flags)", f"{n / read_s:,.0f} msgs/s"),
            ("bare executemany insert", f"{insert_rate:,.0f} rows/s"),
            ("limit (model + insert alone)", f"{limit:,.0f} msgs/s"),
            ("pipeline / limit", f"{msgs_per_s / limit:.2f}"),
            ("unassigned queue page", f"median {page_median:.0f} ms, p95 {page_p95:.0f} ms"),
            *(
                (
                    f"sentiment accuracy {s} ({split or 'all'}, n={sc.examples})",
                    f"{sc.accuracy:.1%}",
                )
                for (s, split), sc in scores.items()
            ),
        ],
        {
            "messages": n,
            "replayed_deliveries": len(replays),
            "conversations": conversations,
            "msgs_per_s": msgs_per_s,
            "pipeline_s": pipeline_s,
            "inbox_task_s": processing[0],
            "model_msgs_per_s": model_rate,
            "reading_msgs_per_s": n / read_s,
            "raw_insert_msgs_per_s": insert_rate,
            "limit_msgs_per_s": limit,
            "pipeline_over_limit": msgs_per_s / limit,
            "inbox_page_p95_ms": page_p95,
            "inbox_page_median_ms": page_median,
            "sentiment_accuracy": {
                f"{s}_{split or 'all'}": round(sc.accuracy, 4) for (s, split), sc in scores.items()
            },
        },
    )


if __name__ == "__main__":
    main()
