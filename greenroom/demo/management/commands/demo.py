"""`greenroom demo seed|traffic|crisis`."""

from __future__ import annotations

import itertools
from argparse import ArgumentParser
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone
from django.utils.translation import gettext as _

from greenroom.demo import live
from greenroom.demo.seed import print_report, seed
from greenroom.networks.sandbox import traffic


class Command(BaseCommand):
    help = "The demo organisation and live demo traffic on the sandbox network."

    def add_arguments(self, parser: ArgumentParser) -> None:
        sub = parser.add_subparsers(dest="subcommand", required=True, metavar="seed|traffic|crisis")
        sub.add_parser("seed", help="Create the demo organisation if the database is empty.")

        t = sub.add_parser("traffic", help="Comments, mentions and DMs on every sandbox channel.")
        t.add_argument(
            "--minutes",
            type=float,
            default=None,
            help="stop after this many minutes (default: until Ctrl-C)",
        )
        t.add_argument(
            "--rate",
            type=float,
            default=2.0,
            help="messages per minute per channel at the busiest hour (default 2)",
        )
        t.add_argument("--once", action="store_true", help="emit one minute's worth now and stop")
        t.add_argument(
            "--inline",
            action="store_true",
            help="deliver webhooks in this process instead of through the worker",
        )
        t.add_argument("--seed", type=int, default=None, help="random seed (repeatable traffic)")

        c = sub.add_parser("crisis", help="A burst of negative messages about one topic.")
        c.add_argument(
            "--channel",
            type=int,
            default=None,
            help="channel id (default: the first sandbox channel)",
        )
        c.add_argument(
            "--topic",
            default=None,
            help='what people are angry about; "english|한국어" words it per language',
        )
        c.add_argument("--minutes", type=float, default=10.0, help="how long (default 10)")
        c.add_argument("--rate", type=float, default=2.0, help="everyday rate per minute (2)")
        c.add_argument(
            "--multiplier",
            type=float,
            default=12.0,
            help="how many times the everyday rate (default 12)",
        )
        c.add_argument(
            "--once",
            action="store_true",
            help="emit the whole burst now, as if it happened over the last minutes",
        )
        c.add_argument(
            "--inline",
            action="store_true",
            help="deliver webhooks in this process instead of through the worker",
        )
        c.add_argument("--seed", type=int, default=None, help="random seed")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            if options["subcommand"] == "seed":
                self._seed()
            elif options["subcommand"] == "traffic":
                self._traffic(options)
            else:
                self._crisis(options)
        except live.DemoError as exc:
            raise CommandError(str(exc)) from None
        except KeyboardInterrupt:
            self.stdout.write(_("Stopped."))

    def _say(self, line: str) -> None:
        self.stdout.write(line)

    def _seed(self) -> None:
        print_report(seed(), settings.BASE_URL, self._say)

    def _delivery_note(self, inline: bool) -> None:
        if not inline:
            self.stdout.write(
                _(
                    "Webhooks go through the Celery queue: a running `greenroom run` delivers "
                    "them. Add --inline to deliver from this command instead."
                )
            )

    def _traffic(self, options: dict[str, Any]) -> None:
        if options["rate"] <= 0:
            raise CommandError(_("--rate must be more than 0."))
        targets = live.targets()
        generator = traffic.TrafficGenerator(seed=options["seed"])
        names = {t.account.pk: t.account.handle for t in targets}
        audiences: list[traffic.Audience] = []
        refreshed: list[datetime] = []

        def plan_minute(start: datetime) -> list[traffic.PlannedMessage]:
            # Re-read the accounts' posts every ten minutes: new posts draw comments too.
            if not refreshed or timezone.now() - refreshed[0] > timedelta(minutes=10):
                audiences[:] = [traffic.Audience.of(t.account) for t in targets]
                refreshed[:] = [timezone.now()]
            return generator.plan(audiences, start, 1, options["rate"])

        self._delivery_note(options["inline"])
        with live.delivery(options["inline"]):
            total = live.run(
                plan_minute,
                names,
                minutes=options["minutes"],
                once=options["once"],
                out=self._say,
            )
        self.stdout.write(
            _("%(n)s messages on %(channels)s channels.") % {"n": total, "channels": len(targets)}
        )

    def _crisis(self, options: dict[str, Any]) -> None:
        if options["minutes"] <= 0 or options["rate"] <= 0 or options["multiplier"] <= 0:
            raise CommandError(_("--minutes, --rate and --multiplier must be more than 0."))
        target = live.targets(options["channel"])[0]
        topic = traffic.parse_topic(options["topic"])
        generator = traffic.TrafficGenerator(seed=options["seed"])
        audience = traffic.Audience.of(target.account)
        names = {target.account.pk: target.account.handle}
        minutes = options["minutes"]
        self.stdout.write(
            _(
                "Crisis on %(channel)s (channel %(id)s): “%(topic)s”, %(x)s× the usual rate for "
                "%(minutes)s minutes."
            )
            % {
                "channel": target.channel,
                "id": target.channel.pk,
                "topic": topic["en"],
                "x": options["multiplier"],
                "minutes": minutes,
            }
        )
        self._delivery_note(options["inline"])
        with live.delivery(options["inline"]):
            if options["once"]:
                start = timezone.now() - timedelta(minutes=minutes)
                planned = generator.plan_crisis(
                    audience,
                    start,
                    max(1, round(minutes)),
                    options["rate"],
                    multiplier=options["multiplier"],
                    topic=topic,
                )
                total = live.emit_now(planned, names, self._say)
            else:
                ramp = max(1.0, minutes / 5)
                counter = itertools.count()

                def plan_minute(start: datetime) -> list[traffic.PlannedMessage]:
                    intensity = min(1.0, (next(counter) + 1) / ramp)
                    return generator.plan_crisis(
                        audience,
                        start,
                        1,
                        options["rate"] * intensity,
                        multiplier=options["multiplier"],
                        topic=topic,
                    )

                total = live.run(plan_minute, names, minutes=minutes, once=False, out=self._say)
        self.stdout.write(_("%(n)s crisis messages.") % {"n": total})
