"""`greenroom bench inbox`: the community inbox end to end, on SQLite.

Lands N sandbox-traffic messages (English and Korean, comments, mentions and DMs, with 2% replayed
deliveries and replies that arrive before their parents) through `do_ingest_inbound`, in webhook
deliveries of 500 items across four channels (about 125 per channel and call). Each delivery's
commit queues the inbox task, as in production; the bench's worker runs the queued tasks after
every second delivery, the way a Celery worker a second behind finds several tasks waiting. The
first task takes every pending event in batches of up to `ingest.BATCH` (dedupe, threading,
language, sentiment, spam/abuse flags, routing with round-robin assignment, SLA clocks, activity
rows, one transaction per batch); the tasks behind it find nothing left.

In the same run, over the same messages:

- the bare sentiment model: `understanding.lexicon_score` over every text, one call each, no
  cache;
- a bare executemany INSERT of **the same rows**: after the pipeline, every row it wrote (the
  InboundEvent, the Message and the InboxActivity of each message, the Conversation and the
  Contact when it started one, the agents' profiles, the audit rows) is read back and inserted
  with one `executemany` per table and one transaction per 1,000 messages into a copy of the
  database taken before the run (`VACUUM INTO`: the same tables, the same indexes and unique
  keys, the same parent rows, foreign keys on, WAL, synchronous=NORMAL, like Greenroom's own
  connection). So the baseline writes what the pipeline writes, into the schema the pipeline
  needs, and nothing else: no reading, no deciding, no updates;
- limit = 1 / (1/model + 1/insert): the model and the insert alone.

The planned traffic is moved out of the garbage collector's sight (`gc.freeze`) before the timed
part: it is the bench's data, not the pipeline's.

Then the conversations are brought to N (replies and DM threads make fewer conversations than
messages) with root comments and mentions landed through the same pipeline, untimed, and the
unassigned queue page is fetched over HTTP from a threaded server (p95 of 50 requests, after 5
warm-up requests). The labelled-set accuracy of
each sentiment scorer is printed too. The sandbox generator repeats its templates (about 15% of
texts are distinct), so the pipeline's per-text reading cache hits more often here than on real
traffic; its hit rate is reported, and `--no-cache` runs the pipeline without it.

N: INBOX_BENCH_MESSAGES (default 100000), or `python -m bench.inbox --messages N`.
"""

from __future__ import annotations

import gc
import os
import random
import sqlite3
import statistics
import sys
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bench.common import report, setup_django

# Items per webhook round (split across the four channels), and how many rounds the worker lags.
DELIVERY = 500
WORKER_LAG = 2


Plan = list[list[tuple[str, list[tuple[object, ...]]]]]


def _rows_written(
    source: Path, audit_before: int, *, n_batches: int
) -> tuple[dict[str, list[str]], Plan, int]:
    """Every row the pipeline wrote, read back from its database, and a plan to insert them:
    (columns per table, per transaction the (table, rows) to insert, how many rows).

    Rows keep their ids. Each transaction takes one slice of the messages (in id order) with
    their events and activity rows, and the conversations and contacts first used by that slice,
    so every foreign key points at a row already there when the transaction commits.
    """
    src = sqlite3.connect(source)

    def read(table: str, where: str = "") -> tuple[list[str], list[tuple[object, ...]]]:
        cursor = src.execute(f"SELECT * FROM {table} {where} ORDER BY id")
        return [d[0] for d in cursor.description], cursor.fetchall()

    tables = {
        "networks_inboundevent": read("networks_inboundevent"),
        "inbox_contact": read("inbox_contact"),
        "inbox_conversation": read("inbox_conversation"),
        "inbox_message": read("inbox_message"),
        "inbox_inboxactivity": read("inbox_inboxactivity"),
        "inbox_agentprofile": read("inbox_agentprofile"),
        "core_auditevent": read("core_auditevent", f"WHERE id > {int(audit_before)}"),
    }
    src.close()

    def by_position(rows: list[tuple[object, ...]]) -> list[int]:
        return [i * n_batches // max(1, len(rows)) for i in range(len(rows))]

    slot: dict[str, list[int]] = {name: by_position(rows) for name, (_cols, rows) in tables.items()}
    slot["inbox_agentprofile"] = [0] * len(tables["inbox_agentprofile"][1])
    cols = {name: c for name, (c, _rows) in tables.items()}
    first: dict[str, dict[object, int]] = {"conversation": {}, "contact": {}}

    def use(kind: str, key: object, batch: int) -> None:
        if key is not None:
            first[kind][key] = min(batch, first[kind].get(key, batch))

    for name in ("inbox_message", "inbox_inboxactivity"):
        c = cols[name]
        for row, batch in zip(tables[name][1], slot[name], strict=True):
            use("conversation", row[c.index("conversation_id")], batch)
            if "contact_id" in c:
                use("contact", row[c.index("contact_id")], batch)
    c = cols["inbox_conversation"]
    rows = tables["inbox_conversation"][1]
    slot["inbox_conversation"] = [first["conversation"].get(r[0], 0) for r in rows]
    for row, batch in zip(rows, slot["inbox_conversation"], strict=True):
        use("contact", row[c.index("contact_id")], batch)
    slot["inbox_contact"] = [first["contact"].get(r[0], 0) for r in tables["inbox_contact"][1]]

    plan: Plan = [[] for _ in range(n_batches)]
    for name in tables:  # parents first within a transaction, though the checks are deferred
        per_batch: list[list[tuple[object, ...]]] = [[] for _ in range(n_batches)]
        for row, batch in zip(tables[name][1], slot[name], strict=True):
            per_batch[batch].append(row)
        for batch, chunk in enumerate(per_batch):
            if chunk:
                plan[batch].append((name, chunk))
    order = ["inbox_contact", "inbox_conversation", "inbox_agentprofile"]
    for steps in plan:
        steps.sort(key=lambda step: order.index(step[0]) if step[0] in order else len(order))

    return cols, plan, sum(len(rows) for _cols, rows in tables.values())


def _bare_insert(
    target: Path, cols: dict[str, list[str]], plan: Plan, *, plain: bool = False
) -> tuple[float, float]:
    """Seconds (wall, CPU) to insert the planned rows with one executemany per table and one
    transaction per slice. `target` is the copy of the database taken before the run (same
    tables, indexes, unique keys and foreign keys); with `plain`, a new file of plain tables
    instead (the same columns, a primary key and nothing else)."""
    raw_db = sqlite3.connect(target, isolation_level=None)
    raw_db.execute("PRAGMA journal_mode=WAL")
    raw_db.execute("PRAGMA synchronous=NORMAL")
    raw_db.execute(f"PRAGMA foreign_keys={'OFF' if plain else 'ON'}")
    if plain:
        for name, c in cols.items():
            rest = ", ".join(col for col in c if col != "id")
            raw_db.execute(f"CREATE TABLE {name} (id INTEGER PRIMARY KEY, {rest})")
    statements = {
        name: f"INSERT INTO {name} ({', '.join(c)}) VALUES ({', '.join('?' * len(c))})"
        for name, c in cols.items()
    }
    t0, c0 = time.perf_counter(), time.process_time()
    for steps in plan:
        raw_db.execute("BEGIN IMMEDIATE")
        for name, chunk in steps:
            raw_db.executemany(statements[name], chunk)
        raw_db.execute("COMMIT")
    elapsed, cpu = time.perf_counter() - t0, time.process_time() - c0
    raw_db.close()
    return elapsed, cpu


def _messages_wanted() -> int:
    if "--messages" in sys.argv:
        return int(sys.argv[sys.argv.index("--messages") + 1])
    return int(os.environ.get("INBOX_BENCH_MESSAGES", "100000"))


def main() -> None:
    n = _messages_wanted()
    use_cache = "--no-cache" not in sys.argv
    data_dir = setup_django()
    from django.conf import settings
    from django.db import connection

    from greenroom.celery import app
    from greenroom.core import actions as core
    from greenroom.inbox import actions, evaluation, ingest, tasks, understanding
    from greenroom.inbox.models import Conversation, Message
    from greenroom.networks.actions import do_ingest_inbound
    from greenroom.networks.base import InboundItem
    from greenroom.networks.models import InboundEvent
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

    # The copy the bare insert writes into: the same schema and parent rows, before the run.
    raw_path = data_dir / "raw.sqlite3"
    raw_path.unlink(missing_ok=True)
    with connection.cursor() as cursor:
        cursor.execute("VACUUM INTO %s", [str(raw_path)])
        cursor.execute("SELECT COALESCE(MAX(id), 0) FROM core_auditevent")
        audit_before = cursor.fetchone()[0]
    if not use_cache:
        setattr(understanding, "CACHE_SIZE", 0)  # noqa: B010

    # --- The full pipeline -------------------------------------------------------------------
    # Deliveries commit and queue the task (on commit, as in production); the worker runs what
    # is queued after every WORKER_LAG deliveries.
    queued: list[list[int]] = []
    setattr(tasks.process_inbound, "delay", queued.append)  # noqa: B010
    landing_s = worker_s = 0.0
    landing_cpu = worker_cpu = 0.0
    batches: list[int] = []
    process = actions.do_process_inbound

    def counted(*args: object, **kwargs: object) -> ingest.IngestReport:
        report = process(*args, **kwargs)  # type: ignore[arg-type]
        if report.events:
            batches.append(report.events)
        return report

    setattr(actions, "do_process_inbound", counted)  # noqa: B010
    understanding.clear_cache()
    # The planned traffic (N items with their payloads) is the bench's, not the pipeline's:
    # keep the garbage collector from walking it again and again while the pipeline runs.
    gc.collect()
    gc.freeze()
    rounds = [delivery[s : s + DELIVERY] for s in range(0, len(delivery), DELIVERY)]
    for r, chunk in enumerate(rounds, start=1):
        t0, c0 = time.perf_counter(), time.process_time()
        by_channel: dict[int, list[InboundItem]] = {}
        for account, item in chunk:
            by_channel.setdefault(account, []).append(item)
        for account, items in by_channel.items():
            do_ingest_inbound(channels[account], items, source="webhook")
        t1, c1 = time.perf_counter(), time.process_time()
        if r % WORKER_LAG == 0 or r == len(rounds):
            while queued:
                tasks.process_inbound(queued.pop(0))
        t2, c2 = time.perf_counter(), time.process_time()
        landing_s += t1 - t0
        worker_s += t2 - t1
        landing_cpu += c1 - c0
        worker_cpu += c2 - c1
    pipeline_s = landing_s + worker_s
    setattr(actions, "do_process_inbound", process)  # noqa: B010
    hits, misses = understanding.cache_stats.hits, understanding.cache_stats.misses
    stored = Message.objects.filter(direction="in").count()
    conversations = Conversation.objects.count()
    assigned = Conversation.objects.filter(assignee__isnull=False).count()
    assert stored == n, (stored, n)
    assert not InboundEvent.objects.filter(processed_at__isnull=True).exists()

    # --- The bare sentiment model over the same texts ------------------------------------------
    t0, c0 = time.perf_counter(), time.process_time()
    for text in texts:
        understanding.lexicon_score(text)
    model_s, model_cpu = time.perf_counter() - t0, time.process_time() - c0
    # Reading every text on its own, as the pipeline would without its cache.
    sample = texts[:20000]
    t0 = time.perf_counter()
    languages = understanding.detect_languages(sample, ["en", "ko"])
    for text, language in zip(sample, languages, strict=True):
        understanding.read(text, ["en", "ko"], language=language)
    read_s = (time.perf_counter() - t0) * len(texts) / len(sample)

    # --- A bare executemany INSERT of the same rows ----------------------------------------------
    cols, plan, rows_written = _rows_written(
        data_dir / "greenroom.sqlite3", audit_before, n_batches=-(-n // ingest.BATCH)
    )
    insert_s, insert_cpu = _bare_insert(raw_path, cols, plan)
    plain_path = data_dir / "plain.sqlite3"
    plain_path.unlink(missing_ok=True)
    plain_s, _plain_cpu = _bare_insert(plain_path, cols, plan, plain=True)

    # --- N conversations for the page ------------------------------------------------------------
    # Replies and DM threads make fewer conversations than messages; new root comments and
    # mentions (one conversation each) through the same pipeline, untimed, bring them to N.
    extra = 0
    while Conversation.objects.count() < n:
        missing = n - Conversation.objects.count()
        round_items: dict[int, list[InboundItem]] = {}
        for _ in range(min(missing, DELIVERY)):
            audience = audiences[extra % len(audiences)]
            at = start + timedelta(seconds=(n + extra) * 6)
            msg = generator.message(audience, at)
            kind = "mention" if msg.kind == "mention" else "comment"
            external_id = f"top_{extra:08d}"
            extra += 1
            raw = {
                "id": external_id,
                "kind": kind,
                "text": msg.text,
                "author": {"handle": msg.author_handle, "name": msg.author_name},
                "created_at": at.isoformat(),
            }
            round_items.setdefault(audience.account_id, []).append(
                InboundItem(
                    external_id=external_id,
                    kind=kind,
                    text=msg.text,
                    author_handle=msg.author_handle,
                    author_name=msg.author_name,
                    created_at=at,
                    raw=raw,
                )
            )
        for account, items in round_items.items():
            do_ingest_inbound(channels[account], items, source="webhook")
        while queued:
            tasks.process_inbound(queued.pop(0))
    page_conversations = Conversation.objects.count()
    page_unassigned = Conversation.objects.filter(
        assignee__isnull=True, status__in=actions.OPEN_STATUSES
    ).count()

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

    def timed(http: httpx.Client, address: str, count: int) -> list[float]:
        """Seconds per request, after 5 that warm caches."""
        found = []
        for i in range(count + 5):
            t0 = time.perf_counter()
            response = http.get(address)
            elapsed = time.perf_counter() - t0
            assert response.status_code == 200, response.status_code
            if i >= 5:
                found.append(elapsed)
        return found

    # The search (the same page with ?q=): a word most texts hold fills the page early; a word
    # nobody wrote reads the whole queue. Baseline: one bare LIKE scan of every message's text.
    searches = {"common": "the", "absent": "zq-nobody-wrote-this"}
    with httpx.Client(cookies={settings.SESSION_COOKIE_NAME: cookie}, timeout=30) as http:
        samples = timed(http, url, 50)
        search_samples = {
            name: timed(http, f"{url}&q={word}", 20) for name, word in searches.items()
        }
    server.shutdown()
    page_p95 = statistics.quantiles(samples, n=20)[18] * 1000
    page_median = statistics.median(samples) * 1000
    search_median = {
        name: statistics.median(found) * 1000 for name, found in search_samples.items()
    }
    bare = sqlite3.connect(data_dir / "greenroom.sqlite3")
    scans = []
    for _ in range(7):
        t0 = time.perf_counter()
        bare.execute(
            "SELECT count(*) FROM inbox_message WHERE text LIKE ?", (f"%{searches['absent']}%",)
        ).fetchone()
        scans.append(time.perf_counter() - t0)
    bare.close()
    like_scan_ms = statistics.median(scans) * 1000

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
    # The same in CPU seconds: on a machine shared with other work, wall-clock rates of phases
    # run minutes apart see different loads; CPU time does not.
    pipeline_cpu = landing_cpu + worker_cpu
    limit_cpu = n / (model_cpu + insert_cpu)
    mean_batch = statistics.mean(batches) if batches else 0.0
    report(
        "inbox",
        [
            ("messages (plus replays)", f"{n:,} (+{len(replays):,} replayed deliveries)"),
            ("conversations", f"{conversations:,} ({assigned:,} auto-assigned)"),
            ("full pipeline", f"{pipeline_s:.1f} s ({msgs_per_s:,.0f} msgs/s)"),
            ("  of which landing (do_ingest_inbound)", f"{landing_s:.1f} s"),
            ("  of which the inbox task", f"{worker_s:.1f} s"),
            ("  batches", f"{len(batches):,} (mean {mean_batch:,.0f} events)"),
            (
                "  reading cache",
                f"{hits / max(1, hits + misses):.0%} hits" if use_cache else "off",
            ),
            ("bare sentiment model", f"{model_rate:,.0f} msgs/s"),
            ("reading, uncached (lingua + sentiment + flags)", f"{n / read_s:,.0f} msgs/s"),
            (
                "bare executemany insert of the same rows",
                f"{insert_rate:,.0f} msgs/s ({rows_written / insert_s:,.0f} rows/s,"
                f" {rows_written / n:.1f} rows per message)",
            ),
            (
                "  the same rows into plain tables (not in the limit)",
                f"{n / plain_s:,.0f} msgs/s",
            ),
            ("limit (model + insert alone)", f"{limit:,.0f} msgs/s"),
            ("pipeline / limit", f"{msgs_per_s / limit:.2f}"),
            (
                "in CPU seconds: pipeline, limit, ratio",
                f"{n / pipeline_cpu:,.0f} msgs/s, {limit_cpu:,.0f} msgs/s,"
                f" {n / pipeline_cpu / limit_cpu:.2f}",
            ),
            (
                f"unassigned queue page ({page_conversations:,} conversations,"
                f" {page_unassigned:,} unassigned)",
                f"median {page_median:.0f} ms, p95 {page_p95:.0f} ms",
            ),
            (
                "  searched (?q=), a common word / a word nobody wrote",
                f"median {search_median['common']:.0f} ms / {search_median['absent']:.0f} ms",
            ),
            (
                "  bare LIKE scan of every message's text (baseline)",
                f"{like_scan_ms:.0f} ms: the absent-word search is"
                f" {search_median['absent'] / like_scan_ms:.1f}x",
            ),
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
            "landing_s": landing_s,
            "inbox_task_s": worker_s,
            "batches": len(batches),
            "mean_batch_events": mean_batch,
            "reading_cache": use_cache,
            "reading_cache_hit_rate": hits / max(1, hits + misses) if use_cache else 0.0,
            "model_msgs_per_s": model_rate,
            "reading_uncached_msgs_per_s": n / read_s,
            "raw_insert_msgs_per_s": insert_rate,
            "raw_insert_rows": rows_written,
            "raw_insert_rows_per_s": rows_written / insert_s,
            "raw_insert_plain_tables_msgs_per_s": n / plain_s,
            "limit_msgs_per_s": limit,
            "pipeline_over_limit": msgs_per_s / limit,
            "cpu": {
                "landing_s": landing_cpu,
                "inbox_task_s": worker_cpu,
                "model_s": model_cpu,
                "raw_insert_s": insert_cpu,
                "msgs_per_s": n / pipeline_cpu,
                "limit_msgs_per_s": limit_cpu,
                "pipeline_over_limit": n / pipeline_cpu / limit_cpu,
            },
            "inbox_page_p95_ms": page_p95,
            "inbox_page_conversations": page_conversations,
            "inbox_page_unassigned": page_unassigned,
            "inbox_page_median_ms": page_median,
            "inbox_search_median_ms": search_median,
            "bare_like_scan_ms": like_scan_ms,
            "sentiment_accuracy": {
                f"{s}_{split or 'all'}": round(sc.accuracy, 4) for (s, split), sc in scores.items()
            },
        },
    )


if __name__ == "__main__":
    main()
