"""`greenroom bench bulk_import`: what checking a CSV first costs.

Imports N rows (one post each, over three channels on three networks, with links and Korean
text) through greenroom.publishing.bulk (read, check every row against the rule table and the
person's rights, then create the posts in one transaction) and, in the same run, creates the
same N posts by calling the publishing action `do_create_post` directly in one transaction.
The ratio is the price of "every row validated first, errors by line". Each run is rolled back.
"""

from __future__ import annotations

import csv
import io
import zoneinfo
from datetime import timedelta

from bench.common import median, report, setup_django, timed

N = 500
REPEAT = 3


class Rollback(Exception):
    pass


def main() -> None:
    setup_django()
    from django.db import transaction
    from django.utils import timezone

    from greenroom.core import actions as core_actions
    from greenroom.core.models import Channel
    from greenroom.publishing import actions, bulk

    owner = core_actions.do_create_user(
        username="bench", email="bench@example.com", password="x" * 20, acting_user=None
    )
    org = core_actions.do_create_organization(name="Bench", owner=owner, acting_user=owner)
    brand = core_actions.do_create_brand(org, name="Bench Coffee", acting_user=owner)
    channels: list[Channel] = [
        core_actions.do_create_channel(
            org, brand=brand, kind=kind, handle=handle, sandboxed=True, acting_user=None
        )
        for kind, handle in (("x", "@bench"), ("instagram", "bench.ig"), ("bluesky", "bench.bsky"))
    ]
    zone = zoneinfo.ZoneInfo("Asia/Seoul")
    start = timezone.now() + timedelta(days=2)
    rows = []
    for i in range(N):
        channel = channels[i % len(channels)]
        when = (start + timedelta(minutes=i)).astimezone(zone).isoformat(timespec="minutes")
        text = f"겨울 한정 메뉴 {i}: cold brew is back #coffee"
        rows.append([channel.handle, "feed", when, text, f"https://example.com/p/{i}"])
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["channel", "placement", "publish_at", "text", "link"])
    writer.writerows(rows)
    sheet = buffer.getvalue()

    def through_bulk() -> None:
        try:
            with transaction.atomic():
                checked = bulk.check(sheet, org=org, user=owner, zone=zone)
                assert checked.ok, checked.errors[:3]
                done = bulk.do_import_posts(checked, org=org, submit=False, acting_user=owner)
                assert len(done.posts) == N
                raise Rollback
        except Rollback:
            pass

    by_handle = {c.handle: c for c in channels}

    def bare_actions() -> None:
        try:
            with transaction.atomic():
                for handle, _placement, when, text, link in rows:
                    channel = by_handle[handle]
                    actions.do_create_post(
                        org,
                        text=text,
                        link=link,
                        publish_at=bulk.parse_time(when, zone),
                        channels=[
                            actions.VariantInput(
                                channel=channel,
                                placement="feed",
                                utm={"utm_source": channel.kind, "utm_medium": "social"},
                            )
                        ],
                        acting_user=owner,
                    )
                raise Rollback
        except Rollback:
            pass

    check_s = median(timed(lambda: bulk.check(sheet, org=org, user=owner, zone=zone), REPEAT))
    bulk_s = median(timed(through_bulk, REPEAT))
    bare_s = median(timed(bare_actions, REPEAT))
    ratio = bulk_s / bare_s
    report(
        "bulk_import",
        [
            ("rows per run", f"{N}"),
            ("check only, median", f"{check_s * 1000:.0f} ms ({N / check_s:,.0f} rows/s)"),
            ("check + import, median", f"{bulk_s * 1000:.0f} ms ({N / bulk_s:,.0f} rows/s)"),
            ("do_create_post loop, median", f"{bare_s * 1000:.0f} ms ({N / bare_s:,.0f} rows/s)"),
            ("ratio (bulk / bare actions)", f"{ratio:.2f}x"),
        ],
        {
            "rows": N,
            "check_ms": check_s * 1000,
            "import_ms": bulk_s * 1000,
            "bare_actions_ms": bare_s * 1000,
            "ratio": ratio,
        },
    )


if __name__ == "__main__":
    main()
