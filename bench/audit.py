"""`greenroom bench audit`: the cost of the hash-chained audit log.

Appends N events through audit.record() (lock the chain head, insert, hash, update) and, in the
same run, N bare INSERTs of the same columns into a plain SQLite table with the same journal
settings. The ratio is what the tamper evidence costs per action.
"""

from __future__ import annotations

import sqlite3

from bench.common import median, report, setup_django, timed

N = 2000
REPEAT = 5


def main() -> None:
    data_dir = setup_django()
    from django.db import transaction

    from greenroom.core import audit

    def chained() -> None:
        for i in range(N):
            with transaction.atomic():
                audit.record("bench.event", actor=None, organization=None, after={"i": i})

    raw_path = data_dir / "raw.sqlite3"
    raw = sqlite3.connect(raw_path, isolation_level=None)
    raw.execute("PRAGMA journal_mode=WAL")
    raw.execute("PRAGMA synchronous=NORMAL")
    raw.execute(
        "CREATE TABLE ev (id INTEGER PRIMARY KEY, created_at TEXT, actor_name TEXT, action TEXT,"
        " after TEXT, prev_hash TEXT, hash TEXT UNIQUE)"
    )
    counter = iter(range(10**9))

    def bare() -> None:
        for i in range(N):
            n = next(counter)
            raw.execute("BEGIN IMMEDIATE")
            raw.execute(
                "INSERT INTO ev (created_at, actor_name, action, after, prev_hash, hash)"
                " VALUES (datetime('now'), 'system', 'bench.event', ?, ?, ?)",
                (f'{{"i": {i}}}', "0" * 64, f"{n:064x}"),
            )
            raw.execute("COMMIT")

    chained_s = median(timed(chained, REPEAT))
    bare_s = median(timed(bare, REPEAT))
    verify_s = median(timed(audit.verify, 3))
    events = N * REPEAT
    ratio = chained_s / bare_s
    report(
        "audit",
        [
            ("events per run", f"{N}"),
            (
                "audit.record, median run",
                f"{chained_s * 1000:.0f} ms ({N / chained_s:,.0f} events/s)",
            ),
            (
                "bare SQLite insert, median run",
                f"{bare_s * 1000:.0f} ms ({N / bare_s:,.0f} rows/s)",
            ),
            ("ratio (audit / bare)", f"{ratio:.1f}x"),
            (
                f"verify {events} events",
                f"{verify_s * 1000:.0f} ms ({events / verify_s:,.0f} events/s)",
            ),
        ],
        {
            "events_per_run": N,
            "audit_events_per_s": N / chained_s,
            "raw_insert_rows_per_s": N / bare_s,
            "ratio": ratio,
            "verify_events_per_s": events / verify_s,
        },
    )


if __name__ == "__main__":
    main()
