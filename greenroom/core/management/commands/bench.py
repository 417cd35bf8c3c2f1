from __future__ import annotations

import os
import subprocess
import sys
from argparse import ArgumentParser
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from greenroom.settings import BASE_DIR

BENCH_DIR = BASE_DIR.parent / "bench"


def available() -> list[str]:
    return sorted(p.stem for p in BENCH_DIR.glob("*.py") if p.stem not in {"__init__", "common"})


class Command(BaseCommand):
    help = "Run a benchmark from bench/ in a throwaway data dir: `greenroom bench NAME`."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("name", nargs="?", help="benchmark to run; omit to list them")

    def handle(self, *args: Any, **options: Any) -> None:
        name = options["name"]
        if not name:
            self.stdout.write("Benchmarks: " + ", ".join(available()))
            return
        if name not in available():
            raise CommandError(f"No benchmark {name!r}. Available: {', '.join(available())}.")
        # A separate process with its own data dir: a benchmark never touches the user's data.
        env = {
            k: v for k, v in os.environ.items() if k not in {"GREENROOM_DATA_DIR", "DATABASE_URL"}
        }
        result = subprocess.run(  # noqa: S603 - fixed argv
            [sys.executable, "-m", f"bench.{name}"],
            cwd=Path(BENCH_DIR).parent,
            env=env,
            check=False,
        )
        if result.returncode:
            raise CommandError(f"Benchmark {name} failed with exit code {result.returncode}.")
