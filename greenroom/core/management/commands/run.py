"""`greenroom run`: the web app, a Celery worker and Celery beat in one terminal.

Each process's output is prefixed with its name. Ctrl-C (or SIGTERM) stops all three; if one of
them dies, the others are stopped too and the command exits non-zero, so a broken install never
looks half alive.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from argparse import ArgumentParser
from collections.abc import Mapping
from typing import IO, Any

from django.conf import settings
from django.core.management import call_command, get_commands
from django.core.management.base import BaseCommand

COLOURS = {"web": "\033[36m", "worker": "\033[33m", "beat": "\033[35m"}
RESET = "\033[0m"


def child_environment(environ: Mapping[str, str], host: str, port: int) -> dict[str, str]:
    """The web app's, worker's and beat's environment. Unless GREENROOM_BASE_URL is set, the
    address Greenroom tells itself (links in e-mails, OAuth and webhook URLs, the sandbox
    network's API, which the worker calls) is where this command serves, not the default :8000:
    with `--port 8765` the worker would otherwise publish to a port nobody listens on."""
    env = {**environ, "PYTHONUNBUFFERED": "1"}
    if not env.get("GREENROOM_BASE_URL"):
        # Compared with, not bound to: a server listening everywhere is called on this machine.
        everywhere = ("0.0.0.0", "::", "")  # noqa: S104  # nosec B104
        reachable = "127.0.0.1" if host in everywhere else host
        if ":" in reachable:
            reachable = f"[{reachable}]"
        env["GREENROOM_BASE_URL"] = f"http://{reachable}:{port}"
    return env


class Command(BaseCommand):
    help = "Start the web app, a worker and beat (embedded mode). Ctrl-C stops all of them."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--host", default=os.environ.get("GREENROOM_HOST", "127.0.0.1"))
        parser.add_argument(
            "--port", type=int, default=int(os.environ.get("GREENROOM_PORT", "8000"))
        )
        parser.add_argument("--concurrency", type=int, default=2, help="worker processes")
        parser.add_argument(
            "--no-demo", action="store_true", help="do not seed the demo organisation"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        host, port = options["host"], options["port"]
        env = child_environment(os.environ, host, port)
        # This process seeds the demo (which prints where to sign in and stores post links)
        # before the others start: it serves the same address they do.
        if env["GREENROOM_BASE_URL"] != settings.BASE_URL:
            settings.SANDBOX_BASE_URL = settings.SANDBOX_BASE_URL.replace(
                settings.BASE_URL, env["GREENROOM_BASE_URL"], 1
            )
            settings.BASE_URL = env["GREENROOM_BASE_URL"]
        call_command("migrate", interactive=False, verbosity=0)
        if not options["no_demo"] and "demo" in get_commands():
            call_command("demo", "seed")
        python = sys.executable
        commands = {
            "web": [
                python,
                "-m",
                "uvicorn",
                "greenroom.asgi:application",
                "--host",
                host,
                "--port",
                str(port),
                "--no-access-log",
                "--lifespan",
                "off",
                # Open inbox pages hold event streams for minutes: stopping cuts them after 3 s
                # (the browsers reconnect) instead of waiting for each to end.
                "--timeout-graceful-shutdown",
                "3",
            ],
            "worker": [
                python,
                "-m",
                "celery",
                "-A",
                "greenroom",
                "worker",
                "--loglevel",
                "INFO",
                "--concurrency",
                str(options["concurrency"]),
                "--without-mingle",
                "--without-gossip",
                "-n",
                "worker1@%h",
            ],
            "beat": [
                python,
                "-m",
                "celery",
                "-A",
                "greenroom",
                "beat",
                "--loglevel",
                "INFO",
                "--schedule",
                settings.CELERY_BEAT_SCHEDULE_FILENAME,
            ],
        }
        processes: dict[str, subprocess.Popen[bytes]] = {}
        colour = sys.stdout.isatty()
        lock = threading.Lock()

        def pump(name: str, stream: IO[bytes]) -> None:
            label = f"{name:<6}|"
            if colour:
                label = f"{COLOURS[name]}{label}{RESET}"
            for raw in iter(stream.readline, b""):
                line = raw.decode("utf-8", "replace").rstrip()
                with lock:
                    print(f"{label} {line}", flush=True)

        for name, cmd in commands.items():
            # Own process group: Ctrl-C reaches only us, and we stop the children in order.
            proc = subprocess.Popen(  # noqa: S603 - fixed argv, no shell
                cmd,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                env=env,
                start_new_session=True,
            )
            processes[name] = proc
            threading.Thread(target=pump, args=(name, proc.stdout), daemon=True).start()

        url = f"http://{host}:{port}"
        self.stdout.write(
            self.style.SUCCESS(f"\nGreenroom is starting on {url}  (Ctrl-C stops it)\n")
        )

        stopping = threading.Event()

        def request_stop(signum: int, frame: Any) -> None:
            stopping.set()

        signal.signal(signal.SIGINT, request_stop)
        signal.signal(signal.SIGTERM, request_stop)
        failed = ""
        while not stopping.is_set():
            for name, proc in processes.items():
                if proc.poll() is not None:
                    failed = f"{name} exited with code {proc.returncode}"
                    stopping.set()
                    break
            stopping.wait(0.5)
        self.stdout.write("\nStopping web, worker and beat…")
        for proc in processes.values():
            if proc.poll() is None:
                # The leader only: the Celery worker shuts its own pool down warmly.
                proc.terminate()
        deadline = time.monotonic() + 15
        for proc in processes.values():
            try:
                proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        if failed:
            self.stderr.write(f"Greenroom stopped because {failed}.")
            sys.exit(1)
        self.stdout.write("Stopped. Your data is kept in " + str(settings.DATA_DIR))
