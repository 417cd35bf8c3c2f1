"""`greenroom bench publish`: the publishing engine under load, with a worker killed mid-run.

Embedded mode in a throwaway data dir: SQLite database, SQLite-file Celery broker, the web server
(uvicorn, two processes) serving the sandbox network under /sandbox/, two Celery worker processes
and beat, all real subprocesses. N variants (default 10,000) across C sandbox channels (default
300) are due within the same minute; the sandbox answers with 50 ms latency, 2% random 5xx, 429s
with Retry-After on some accounts and a few writes that commit and then hang past the client's
timeout. In the middle, one worker is killed with SIGKILL. Then we count: every variant must be
published or failed with a stated reason (`lost` 0), and no post may exist twice (`duplicates` 0);
lateness is the network's creation time minus the scheduled time.

The raw baseline in the same run: the bare sandbox create-post call with httpx, from as many
threads as the engine may have calls in flight, against the same server and failure settings.
The ratio compares the engine's publishing rate with that bare rate: overall (first to last
publication, so including the killed worker's variants, which wait for their lease to expire)
and steady (from the 10th to the 90th percentile of publications).

The sandbox stands in for a remote network, which has far more capacity than Greenroom: served
by one uvicorn process it is held to one core by the GIL and becomes the limit of both the
engine and the baseline (measured: 62 against 80 posts/s with two), so it gets two.

Knobs (environment): BENCH_PUBLISH_VARIANTS (10000), BENCH_PUBLISH_CHANNELS (300),
BENCH_PUBLISH_PER_POST (10 channels per post), BENCH_PUBLISH_SPREAD_S (60: every variant is due
within this many seconds; a smaller run keeps the target's rate with 10000 variants a minute by
shrinking it, e.g. 2000 variants in 12 s), BENCH_PUBLISH_WORKER_THREADS (Celery threads per
worker), BENCH_PUBLISH_TASK_THREADS (network calls a task makes at once), BENCH_PUBLISH_CHUNK
(variants a task claims at a time), BENCH_PUBLISH_WEB_WORKERS (2 uvicorn processes),
BENCH_PUBLISH_MAX_WAIT_S (3600: how long to wait for every variant to settle).

Also reported: the CPU seconds each process used, per published post, since on a shared 2-core
machine CPU is what runs out first.
"""

from __future__ import annotations

import os
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any

from bench.common import report, setup_django

VARIANTS = int(os.environ.get("BENCH_PUBLISH_VARIANTS", "10000"))
CHANNELS = int(os.environ.get("BENCH_PUBLISH_CHANNELS", "300"))
PER_POST = int(os.environ.get("BENCH_PUBLISH_PER_POST", "10"))
WORKER_THREADS = int(os.environ.get("BENCH_PUBLISH_WORKER_THREADS", "4"))
TASK_THREADS = int(os.environ.get("BENCH_PUBLISH_TASK_THREADS", "8"))
CHUNK = int(os.environ.get("BENCH_PUBLISH_CHUNK", "16"))
WORKERS = 2
# uvicorn processes serving the web app and the sandbox network.
WEB_WORKERS = int(os.environ.get("BENCH_PUBLISH_WEB_WORKERS", "2"))
# How many create-post calls the engine may have in flight at once; the bare baseline gets as many.
ENGINE_CONCURRENCY = WORKERS * WORKER_THREADS * TASK_THREADS
LATENCY_MS = 50
ERROR_RATE = 0.02
# Some accounts get a per-minute limit below what they are asked to post: they answer 429.
RATE_LIMITED_SHARE = 0.1
RETRY_AFTER_S = 3
TIMEOUT_RATE = 0.002
# Workers renew what they hold every quarter of this (engine.LeaseKeeper): a SIGKILLed worker's
# claims are taken over within one lease, while a call may still take its whole timeout.
LEASE_S = 15
LEAD_S = 20  # from the end of set-up to the first due time
# Every variant is due within this many seconds (the target: a minute).
SPREAD_S = float(os.environ.get("BENCH_PUBLISH_SPREAD_S", "60"))
BASELINE_CALLS = 1500
# How long to wait for every variant to settle before counting (what is left then is "lost").
MAX_WAIT_S = int(os.environ.get("BENCH_PUBLISH_MAX_WAIT_S", "3600"))
NETWORKS = ("x", "bluesky", "facebook", "linkedin", "mastodon", "threads")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for(url: str, timeout: float = 60) -> None:
    import httpx

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            httpx.get(url, timeout=2)
            return
        except httpx.HTTPError:
            time.sleep(0.3)
    raise SystemExit(f"{url} did not answer within {timeout} s")


def cpu_seconds(pid: int) -> float:
    """CPU time (user + system) a process and its children (uvicorn's workers) have used so
    far; 0 where /proc cannot tell."""
    stats: dict[int, list[str]] = {}
    for entry in Path("/proc").glob("[0-9]*"):
        try:
            # Fields after the command name: state, ppid, ... utime (12th), stime (13th).
            stats[int(entry.name)] = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
    tree, grew = {pid}, True
    while grew:
        more = {p for p, fields in stats.items() if int(fields[1]) in tree} - tree
        tree |= more
        grew = bool(more)
    ticks = sum(int(stats[p][11]) + int(stats[p][12]) for p in tree if p in stats)
    return ticks / os.sysconf("SC_CLK_TCK")


def main() -> None:
    # Started in the background, this process inherits an ignored SIGINT: stop cleanly on
    # Ctrl-C and on SIGTERM alike (the finally below stops the servers it started).
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    engine_env = {
        "GREENROOM_BASE_URL": base,
        "SANDBOX_BASE_URL": f"{base}/sandbox",
        "SANDBOX_LATENCY_MS": str(LATENCY_MS),
        "SANDBOX_ERROR_RATE": str(ERROR_RATE),
        "SANDBOX_RATE_LIMIT_PER_MINUTE": "0",
        "SANDBOX_RETRY_AFTER_S": str(RETRY_AFTER_S),
        "SANDBOX_TIMEOUT_RATE": str(TIMEOUT_RATE),
        "SANDBOX_TIMEOUT_S": "4",
        "SANDBOX_CLIENT_TIMEOUT_S": "2",
        "PUBLISHING_LEASE_S": str(LEASE_S),
        "PUBLISHING_DISPATCH_EVERY_S": "1",
        "PUBLISHING_RECLAIM_EVERY_S": "5",
        "PUBLISHING_BACKOFF_BASE_S": "2",
        # A publishing loop for every worker slot.
        "PUBLISHING_LOOPS": str(WORKERS * WORKER_THREADS),
        "PUBLISHING_TASK_CHUNK": str(CHUNK),
        "PUBLISHING_TASK_THREADS": str(TASK_THREADS),
        "LOG_LEVEL": "WARNING",
    }
    # This process seeds and counts with the same settings as the servers it starts.
    os.environ.update(engine_env)
    data_dir = setup_django()
    env = {**os.environ, "GREENROOM_DATA_DIR": str(data_dir), "PYTHONUNBUFFERED": "1"}

    started = time.monotonic()
    channels, accounts = seed_channels()
    posts = seed_posts(channels)
    seed_s = time.monotonic() - started
    print(f"seeded {CHANNELS} channels and {len(posts)} posts in {seed_s:.0f} s", flush=True)

    logs = data_dir / "logs"
    logs.mkdir(exist_ok=True)
    procs: dict[str, subprocess.Popen[bytes]] = {}

    def start(name: str, argv: list[str]) -> None:
        out = (logs / f"{name}.log").open("wb")
        procs[name] = subprocess.Popen(
            [sys.executable, "-m", *argv],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            cwd=Path(__file__).resolve().parent.parent,
        )

    start(
        "web",
        [
            "uvicorn",
            # The network's own server: its API without Greenroom's page middleware; every
            # other path (e.g. /healthz) is the full application.
            "greenroom.networks.sandbox.server:application",
            "--port",
            str(port),
            "--no-access-log",
            "--lifespan",
            "off",
            "--workers",
            str(WEB_WORKERS),
        ],
    )
    wait_for(f"{base}/healthz")
    set_failures(accounts)
    for n in range(1, WORKERS + 1):
        start(
            f"worker{n}",
            [
                "celery",
                "-A",
                "greenroom",
                "worker",
                "-P",
                "threads",
                "-c",
                str(WORKER_THREADS),
                "--without-mingle",
                "--without-gossip",
                "--loglevel",
                "WARNING",
                "-n",
                f"bench{n}@%h",
            ],
        )
    try:
        first_due = schedule(posts)
        start(
            "beat",
            [
                "celery",
                "-A",
                "greenroom",
                "beat",
                "--loglevel",
                "WARNING",
                "--schedule",
                str(data_dir / "celerybeat-schedule"),
            ],
        )
        cpu: dict[str, float] = {}
        killed = run_until_settled(first_due, procs, cpu)
        for name, proc in procs.items():
            if proc.poll() is None:
                cpu[name] = cpu_seconds(proc.pid) - cpu.get(name, 0.0)
        results = count(first_due)
        baseline = raw_baseline(base, accounts)
    finally:
        for proc in procs.values():
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
        for proc in procs.values():
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
    engine_rate = results["published_per_s"]
    bare = baseline["calls_per_s"]
    ratio = engine_rate / bare if bare else 0.0
    ratio_steady = results["steady_published_per_s"] / bare if bare else 0.0
    published = max(1, results["published"])
    workers_cpu = sum(v for k, v in cpu.items() if k.startswith("worker"))
    cpu_per_post = {
        "web_and_sandbox_ms": 1000 * cpu.get("web", 0.0) / published,
        "workers_ms": 1000 * workers_cpu / published,
        "beat_ms": 1000 * cpu.get("beat", 0.0) / published,
    }
    report(
        "publish",
        [
            ("variants / channels", f"{results['variants']} / {results['channels']}"),
            ("published", f"{results['published']}"),
            ("failed (stated reason)", f"{results['failed']}"),
            ("lost", f"{results['lost']}"),
            ("duplicates", f"{results['duplicates']}"),
            ("resends stopped by the key", f"{results['resends_caught']}"),
            (
                "429 / 5xx / unknown outcomes",
                f"{results['answers_429']} / {results['answers_5xx']} / "
                f"{results['unknown_outcomes']}",
            ),
            (
                "lateness p50 / p99 / max",
                f"{results['lateness_p50_s']:.1f} / "
                f"{results['lateness_p99_s']:.1f} / {results['lateness_max_s']:.1f} s",
            ),
            *(
                (
                    f"  {cause.replace('_', ' ')}: n / p50 / p99",
                    f"{row['count']} / {row['p50_s']:.1f} / {row['p99_s']:.1f} s",
                )
                for cause, row in results["lateness_by_cause"].items()
            ),
            ("worker killed (SIGKILL)", "yes" if killed else "no"),
            (
                "engine rate (overall / steady)",
                f"{engine_rate:.0f} / {results['steady_published_per_s']:.0f} posts/s",
            ),
            (
                "bare sandbox create-post",
                f"{baseline['calls_per_s']:.0f} calls/s "
                f"({baseline['threads']} threads, {baseline['ok']} ok)",
            ),
            ("ratio (engine / bare): overall / steady", f"{ratio:.2f} / {ratio_steady:.2f}"),
            (
                "CPU per published post",
                f"workers {cpu_per_post['workers_ms']:.1f} ms, "
                f"web+sandbox {cpu_per_post['web_and_sandbox_ms']:.1f} ms, "
                f"beat {cpu_per_post['beat_ms']:.1f} ms",
            ),
        ],
        {
            **results,
            "worker_killed": killed,
            "baseline_calls_per_s": baseline["calls_per_s"],
            "baseline_threads": baseline["threads"],
            "ratio": ratio,
            "ratio_steady": ratio_steady,
            "cpu_s": cpu,
            "cpu_per_post": cpu_per_post,
            "settings": {
                "latency_ms": LATENCY_MS,
                "error_rate": ERROR_RATE,
                "rate_limited_accounts": int(CHANNELS * RATE_LIMITED_SHARE),
                "retry_after_s": RETRY_AFTER_S,
                "timeout_rate": TIMEOUT_RATE,
                "workers": WORKERS,
                "web_workers": WEB_WORKERS,
                "worker_threads": WORKER_THREADS,
                "task_threads": TASK_THREADS,
                "chunk": CHUNK,
                "spread_s": SPREAD_S,
                "lease_s": LEASE_S,
                "channels_per_post": PER_POST,
            },
        },
    )


def seed_channels() -> tuple[list[Any], list[Any]]:
    from greenroom.core import actions as core
    from greenroom.networks.actions import do_connect_sandbox_channel
    from greenroom.networks.sandbox import failures

    owner = core.do_create_user(
        username="bench", email="bench@example.com", password=None, acting_user=None
    )
    org = core.do_create_organization(name="Bench", owner=owner, acting_user=None)
    brands = [core.do_create_brand(org, name=f"Brand {n}", acting_user=None) for n in range(10)]
    channels, accounts = [], []
    with failures.calm():
        for n in range(CHANNELS):
            channel = core.do_create_channel(
                org,
                brand=brands[n % len(brands)],
                kind=NETWORKS[n % len(NETWORKS)],
                handle=f"bench{n}",
                sandboxed=True,
                acting_user=None,
            )
            accounts.append(do_connect_sandbox_channel(channel, acting_user=None))
            channels.append(channel)
    return channels, accounts


def seed_posts(channels: list[Any]) -> list[Any]:
    from django.utils import timezone

    from greenroom.core.models import User
    from greenroom.publishing import actions

    owner = User.objects.get(username="bench")
    org = channels[0].organization
    posts = []
    later = timezone.now() + timedelta(days=1)
    made = 0
    n = 0
    while made < VARIANTS:
        size = min(PER_POST, VARIANTS - made)
        targets = [channels[(n * PER_POST + i) % len(channels)] for i in range(size)]
        post = actions.do_create_post(
            org,
            text=f"Bench post {n}: autumn blend, roasted this week.",
            channels=targets,
            publish_at=later,
            acting_user=owner,
        )
        posts.append(actions.do_submit_for_approval(post, acting_user=owner))
        made += size
        n += 1
    return posts


def set_failures(accounts: list[Any]) -> None:
    from greenroom.networks.sandbox import failures

    limited = int(len(accounts) * RATE_LIMITED_SHARE)
    per_account = max(1, VARIANTS // max(1, len(accounts)))
    for account in accounts[:limited]:
        # Just as many requests a minute as the account has posts: lookups and retries push
        # some over the limit, and the network answers 429 with Retry-After.
        failures.update(
            account,
            {"rate_limit_per_minute": max(2, per_account), "retry_after_s": RETRY_AFTER_S},
        )


def schedule(posts: list[Any]) -> Any:
    """Make every post due within one minute from shortly after now.

    The posts were scheduled for tomorrow through the actions when seeded; moving their time in
    one transaction stands for the clock reaching it (what the tests call "time passes"), so the
    first post is due LEAD_S seconds after this returns whatever the machine's load.
    """
    from django.db import transaction
    from django.utils import timezone

    from greenroom.publishing.models import Variant

    first_due = timezone.now() + timedelta(seconds=LEAD_S)
    with transaction.atomic():
        for index, post in enumerate(posts):
            at = first_due + timedelta(seconds=SPREAD_S * index / max(1, len(posts)))
            Variant.objects.filter(post=post).update(publish_at=at, next_attempt_at=at)
    wait = (first_due - timezone.now()).total_seconds()
    print(f"scheduled; first post due in {wait:.0f} s", flush=True)
    return first_due


def run_until_settled(
    first_due: Any, procs: dict[str, subprocess.Popen[bytes]], cpu: dict[str, float]
) -> bool:
    from django.db.models import Count
    from django.utils import timezone

    from greenroom.publishing.models import Variant

    kill_at = first_due + timedelta(seconds=SPREAD_S / 2)
    deadline = first_due + timedelta(seconds=SPREAD_S + MAX_WAIT_S)
    killed = False
    # CPU is counted from the first due time on: start-up (imports, migrations) is not publishing.
    wait = (first_due - timezone.now()).total_seconds()
    if wait > 0:
        time.sleep(wait)
    for name, proc in procs.items():
        cpu[name] = cpu_seconds(proc.pid)
    while timezone.now() < deadline:
        time.sleep(2)
        states = dict(
            Variant.objects.values_list("state").annotate(n=Count("pk")).values_list("state", "n")
        )
        print(f"{(timezone.now() - first_due).total_seconds():6.0f} s  {states}", flush=True)
        if not killed and timezone.now() >= kill_at:
            victim = procs["worker1"]
            cpu["worker1"] = cpu_seconds(victim.pid) - cpu["worker1"]
            os.killpg(victim.pid, signal.SIGKILL)
            victim.wait()
            killed = True
            print("worker1 killed with SIGKILL", flush=True)
        for name, proc in procs.items():
            if proc.poll() is not None and not (name == "worker1" and killed):
                raise SystemExit(f"{name} exited with {proc.returncode}; see its log")
        busy = states.get("scheduled", 0) + states.get("publishing", 0)
        if killed and busy == 0:
            return killed
    return killed


def count(first_due: Any) -> dict[str, Any]:
    from django.db.models import Count

    from greenroom.networks.sandbox.models import SandboxPost
    from greenroom.publishing.models import AttemptOutcome, PublishAttempt, Variant

    variants = list(
        Variant.objects.values(
            "pk", "state", "publish_at", "published_at", "last_error", "idempotency_key"
        )
    )
    published = [v for v in variants if v["state"] == "published"]
    failed = [v for v in variants if v["state"] == "failed" and v["last_error"].strip()]
    lost = len(variants) - len(published) - len(failed)
    keys = {v["idempotency_key"] for v in variants}
    on_network = SandboxPost.objects.filter(idempotency_key__in=keys)
    total_posts = on_network.count()
    per_key = on_network.values("idempotency_key").annotate(n=Count("pk")).filter(n__gt=1).count()
    duplicates = per_key + max(0, total_posts - len(variants))
    # Sends that reached the network for a post it already had: the idempotency key (and
    # find_published before it) kept them from becoming second posts.
    created = dict(on_network.values_list("idempotency_key", "created_at"))
    by_key = {v["pk"]: v["idempotency_key"] for v in variants}
    resends = 0
    for attempt in PublishAttempt.objects.filter(outcome=AttemptOutcome.PUBLISHED).values(
        "variant_id", "started_at"
    ):
        made = created.get(by_key[attempt["variant_id"]])
        if made is not None and made < attempt["started_at"]:
            resends += 1
    times = [
        (v["publish_at"], v["published_at"])
        for v in published
        if v["publish_at"] is not None and v["published_at"] is not None
    ]
    lateness = sorted(max(0.0, (done - due).total_seconds()) for due, done in times)
    done_at = sorted(done for _due, done in times)
    span = max(1.0, (done_at[-1] - done_at[0]).total_seconds()) if done_at else 1.0
    # The steady rate: from the 10th to the 90th percentile of publications, without the ramp
    # up nor the tail of the killed worker's leases.
    steady = 0.0
    if len(done_at) >= 10:
        p10, p90 = done_at[len(done_at) // 10], done_at[(len(done_at) * 9) // 10]
        steady = 0.8 * len(done_at) / max(1.0, (p90 - p10).total_seconds())

    def pct(q: float) -> float:
        if not lateness:
            return 0.0
        return lateness[min(len(lateness) - 1, int(q * len(lateness)))]

    # Why the late ones were late: published at the first try, after a retry the network asked
    # for (429, 5xx, an unknown outcome), or taken over after the killed worker's lease ran out.
    codes: dict[int, set[str]] = {}
    for variant_id, code in PublishAttempt.objects.exclude(error_code="").values_list(
        "variant_id", "error_code"
    ):
        codes.setdefault(variant_id, set()).add(code)
    by_cause: dict[str, list[float]] = {"first_try": [], "retried": [], "taken_over": []}
    for v in published:
        if v["publish_at"] is None or v["published_at"] is None:
            continue
        seen = codes.get(v["pk"], set())
        cause = "taken_over" if "lease_expired" in seen else "retried" if seen else "first_try"
        by_cause[cause].append(max(0.0, (v["published_at"] - v["publish_at"]).total_seconds()))
    lateness_by_cause = {
        cause: {
            "count": len(values),
            "p50_s": statistics.median(values) if values else 0.0,
            "p99_s": sorted(values)[min(len(values) - 1, int(0.99 * len(values)))]
            if values
            else 0.0,
        }
        for cause, values in by_cause.items()
    }

    reasons: dict[str, int] = {}
    for code in Variant.objects.filter(state="failed").values_list("error_code", flat=True):
        reasons[code or "?"] = reasons.get(code or "?", 0) + 1
    return {
        "variants": len(variants),
        "channels": CHANNELS,
        "published": len(published),
        "failed": len(failed),
        "failed_reasons": reasons,
        "lost": lost,
        # Of the lost: still scheduled or publishing when counting stopped.
        "unsettled_at_cutoff": sum(
            1 for v in variants if v["state"] in ("scheduled", "publishing")
        ),
        "duplicates": duplicates,
        "resends_caught": resends,
        "lateness_p50_s": statistics.median(lateness) if lateness else 0.0,
        "lateness_p99_s": pct(0.99),
        "lateness_max_s": lateness[-1] if lateness else 0.0,
        "lateness_by_cause": lateness_by_cause,
        "published_per_s": len(published) / span,
        "steady_published_per_s": steady,
        "attempts": PublishAttempt.objects.count(),
        "answers_429": PublishAttempt.objects.filter(error_code="rate_limited").count(),
        "answers_5xx": PublishAttempt.objects.filter(
            error_code__in=["internal_error", "unavailable"]
        ).count(),
        "unknown_outcomes": PublishAttempt.objects.filter(outcome=AttemptOutcome.UNKNOWN).count(),
    }


def raw_baseline(base: str, accounts: list[Any]) -> dict[str, Any]:
    """The bare create-post call against the same server, from as many threads as the engine
    may have calls in flight: what the network allows at best, without Greenroom's
    bookkeeping."""
    import httpx

    from greenroom.core import vault
    from greenroom.core.models import Channel
    from greenroom.networks.sandbox.connector import decode_tokens
    from greenroom.networks.sandbox.models import SandboxFailureSettings

    # The same latency and error rate, without the per-account limits the engine ran into.
    SandboxFailureSettings.objects.filter(is_global=False).delete()
    tokens = []
    for channel in Channel.objects.filter(credentials__isnull=False).select_related("credentials"):
        assert channel.credentials is not None
        tokens.append(decode_tokens(vault.reveal(channel.credentials)).access_token)
    threads = ENGINE_CONCURRENCY
    per_thread = BASELINE_CALLS // threads
    ok = [0] * threads

    def worker(i: int) -> None:
        with httpx.Client(base_url=f"{base}/sandbox/api/v1/", timeout=10) as client:
            for n in range(per_thread):
                token = tokens[(i * per_thread + n) % len(tokens)]
                response = client.post(
                    "posts",
                    json={"text": f"baseline {i}-{n}", "placement": "feed"},
                    headers={
                        "Authorization": f"Bearer {token}",
                        "Idempotency-Key": f"baseline-{uuid.uuid4().hex}",
                    },
                )
                if response.status_code in (200, 201):
                    ok[i] += 1

    pool = [threading.Thread(target=worker, args=(i,)) for i in range(threads)]
    started = time.monotonic()
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    elapsed = time.monotonic() - started
    return {"calls_per_s": sum(ok) / elapsed, "threads": threads, "ok": sum(ok)}


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:
        sys.exit(130)
