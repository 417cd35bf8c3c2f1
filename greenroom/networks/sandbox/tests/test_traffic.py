"""The sandbox's audience: day/night rhythm, languages, crisis bursts."""

from __future__ import annotations

import zoneinfo
from collections import Counter
from datetime import UTC, datetime, timedelta

import regex
from django.utils import timezone

from greenroom.conftest import World
from greenroom.networks.base import OutgoingPost
from greenroom.networks.models import InboundEvent
from greenroom.networks.sandbox import traffic
from greenroom.networks.sandbox.testing import Sandbox
from greenroom.networks.sandbox.traffic import Audience, TrafficGenerator

HANGUL = regex.compile(r"\p{Script=Hangul}")
SEOUL = zoneinfo.ZoneInfo("Asia/Seoul")
START = datetime(2026, 11, 1, tzinfo=UTC)


def audience(korean_share: float = 0.5, tz: str = "Asia/Seoul", posts: int = 3) -> Audience:
    return Audience(
        account_id=1,
        handle="acmecoffee",
        brand="Acme Coffee",
        timezone=tz,
        korean_share=korean_share,
        posts=tuple((f"sp_{n}", START - timedelta(days=n + 1)) for n in range(posts)),
    )


def test_lunchtime_is_much_busier_than_three_in_the_morning_local_time() -> None:
    arrivals = TrafficGenerator(seed=7).arrivals("Asia/Seoul", START, 30 * 24 * 60, 1.0)
    by_hour = Counter(at.astimezone(SEOUL).hour for at in arrivals)
    assert by_hour[12] > 5 * by_hour[3]
    assert by_hour[20] > 5 * by_hour[3]
    assert by_hour[3] > 0  # quiet, not dead


def test_the_rhythm_follows_the_channels_time_zone() -> None:
    arrivals = TrafficGenerator(seed=7).arrivals("America/New_York", START, 30 * 24 * 60, 1.0)
    new_york = zoneinfo.ZoneInfo("America/New_York")
    local = Counter(at.astimezone(new_york).hour for at in arrivals)
    seoul = Counter(at.astimezone(SEOUL).hour for at in arrivals)
    assert local[12] > 5 * local[3]
    # 03:00 in Seoul is the New York afternoon: busy.
    assert seoul[3] > 3 * local[3]


def test_the_same_seed_gives_the_same_traffic() -> None:
    def plan(seed: int) -> list[tuple[datetime, str, str]]:
        return [
            (m.at, m.author_handle, m.text)
            for m in TrafficGenerator(seed=seed).plan([audience()], START, 600, 0.5)
        ]

    assert plan(3) == plan(3)
    assert plan(3) != plan(4)


def test_the_share_of_korean_messages_follows_the_audience() -> None:
    generator = TrafficGenerator(seed=11)
    for share in (0.15, 0.7):
        messages = [generator.message(audience(korean_share=share), START) for _ in range(2000)]
        korean = [m for m in messages if HANGUL.search(m.text)]
        assert abs(len(korean) / len(messages) - share) < 0.04
        assert all(m.language == "ko" for m in korean)
        # Everything labelled English is free of Hangul.
        assert not any(HANGUL.search(m.text) for m in messages if m.language == "en")


def test_messages_are_varied_and_well_formed() -> None:
    generator = TrafficGenerator(seed=5)
    messages = [generator.message(audience(), START) for _ in range(1500)]
    assert len({m.text for m in messages}) > 500
    assert {m.kind for m in messages} == {"comment", "mention", "dm"}
    assert {m.category for m in messages} >= {"question", "praise", "complaint", "order", "spam"}
    assert not any("{" in m.text or "}" in m.text for m in messages)
    comments = [m for m in messages if m.kind == "comment"]
    assert all(m.in_reply_to.startswith("sp_") and m.thread_id == m.in_reply_to for m in comments)
    assert all(m.thread_id == f"dm:{m.author_handle}" for m in messages if m.kind == "dm")
    assert all("@acmecoffee" in m.text for m in messages if m.kind == "mention")
    # Regulars come back.
    assert Counter(m.author_handle for m in messages).most_common(1)[0][1] > 3


def test_without_posts_there_are_no_comments() -> None:
    generator = TrafficGenerator(seed=1)
    kinds = {generator.message(audience(posts=0), START).kind for _ in range(300)}
    assert "comment" not in kinds


def test_a_crisis_is_a_negative_burst_from_many_people_in_both_languages() -> None:
    generator = TrafficGenerator(seed=9)
    topic = traffic.parse_topic("mould in the cold brew|콜드브루 곰팡이")
    everyday = generator.plan([audience()], START, 60, 1.0)
    burst = generator.plan_crisis(audience(), START, 60, 1.0, multiplier=10, topic=topic)

    assert len(burst) > 5 * len(everyday)
    negative = sum(m.sentiment == "negative" for m in burst)
    assert negative / len(burst) > 0.75
    assert len({m.author_handle for m in burst}) > 0.8 * len(burst)
    about = [m for m in burst if m.category == "crisis"]
    assert all("mould in the cold brew" in m.text for m in about if m.language == "en")
    assert all("콜드브루 곰팡이" in m.text for m in about if m.language == "ko")
    assert {m.language for m in about} == {"en", "ko"}


def test_a_topic_in_one_language_serves_both() -> None:
    assert traffic.parse_topic("recall") == {"en": "recall", "ko": "recall"}
    assert traffic.parse_topic(None) == traffic.DEFAULT_CRISIS_TOPIC


def test_emitted_traffic_reaches_greenroom_through_the_webhooks(
    world: World, sandbox: Sandbox
) -> None:
    sandbox.connect(world.coffee_x)
    sandbox.connect(world.tea_bluesky)
    ref = sandbox.connector(world.coffee_x).publish(
        OutgoingPost(text="New oat latte", idempotency_key="p1")
    )
    audiences = [Audience.of(sandbox.account(c)) for c in (world.coffee_x, world.tea_bluesky)]
    # Noon in Seoul (the channels' zone), after the post: a busy hour, whatever time it is now.
    noon = timezone.now().astimezone(SEOUL).replace(hour=12, minute=0) + timedelta(days=1)
    planned = TrafficGenerator(seed=2).plan(audiences, noon, 60, 0.5)
    items = traffic.emit(planned)
    sandbox.deliver()
    assert len(items) == len(planned) > 10
    assert InboundEvent.objects.count() == len(planned)
    assert set(InboundEvent.objects.values_list("channel", flat=True)) == {
        world.coffee_x.pk,
        world.tea_bluesky.pk,
    }
    comments = InboundEvent.objects.filter(channel=world.coffee_x, kind="comment")
    assert comments.exists()
    assert {e.payload["in_reply_to"] for e in comments} == {ref.external_id}
    # Comments bring the post likes and impressions.
    [metrics] = sandbox.connector(world.coffee_x).fetch_metrics([ref.external_id])
    assert metrics.replies == comments.count() and metrics.likes > 0
