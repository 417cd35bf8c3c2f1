"""Helpers shared by the benchmarks: a throwaway database, timing, and the results table.

Every benchmark runs its raw baseline in the same run and reports the ratio, because the machines
are shared and noisy: medians and ratios are what to quote.
"""

from __future__ import annotations

import json
import os
import platform
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).resolve().parent / "results"


def setup_django() -> Path:
    """Point Greenroom at a fresh data dir (never the user's database) and migrate it."""
    data_dir = Path(
        os.environ.get("GREENROOM_BENCH_DIR") or tempfile.mkdtemp(prefix="greenroom-bench-")
    )
    os.environ["GREENROOM_DATA_DIR"] = str(data_dir)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "greenroom.settings")
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0, interactive=False)
    return data_dir


def timed(fn: Callable[[], Any], repeat: int) -> list[float]:
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - start)
    return samples


def median(samples: list[float]) -> float:
    return statistics.median(samples)


def report(name: str, rows: list[tuple[str, str]], data: dict[str, Any]) -> None:
    """Print a table and write bench/results/NAME.json."""
    width = max(len(label) for label, _ in rows)
    print(f"\n{name}")
    print("-" * (width + 24))
    for label, value in rows:
        print(f"{label:<{width}}  {value}")
    data = {
        **data,
        "benchmark": name,
        "python": sys.version.split()[0],
        "machine": platform.machine(),
        "cpus": os.cpu_count(),
        "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / f"{name}.json"
    path.write_text(json.dumps(data, indent=2) + "\n")
    print(f"\nwrote {path}")
