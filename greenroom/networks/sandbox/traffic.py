"""The sandbox's audience: comments, mentions and DMs in English and Korean.

Arrivals follow a day/night rhythm in each account's time zone (quiet at 03:00, peaks at lunch
and in the evening); a crisis burst multiplies the rate, turns most messages negative about one
topic and brings many new authors. Everything is drawn from one `random.Random(seed)`, so a test
or the demo gets the same traffic for the same seed.
"""

from __future__ import annotations

import math
import random
import re
import zoneinfo
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.utils import timezone

from greenroom.networks.sandbox import service
from greenroom.networks.sandbox.models import SandboxAccount, SandboxItem, SandboxPost

# Relative arrival rate by local hour (1.0 = the busiest hour). Social audiences are quiet before
# dawn, rise through the morning commute, peak at lunch and again in the evening.
# fmt: off
HOURLY_WEIGHT: tuple[float, ...] = (
    0.14, 0.09, 0.06, 0.04, 0.04, 0.06,  # 00-05
    0.14, 0.30, 0.45, 0.55, 0.62, 0.80,  # 06-11
    1.00, 0.92, 0.66, 0.58, 0.60, 0.72,  # 12-17
    0.84, 0.95, 1.00, 0.88, 0.60, 0.30,  # 18-23
)
# fmt: on

KIND_WEIGHTS = (("comment", 0.62), ("mention", 0.22), ("dm", 0.16))
CATEGORY_WEIGHTS = (
    ("question", 0.28),
    ("praise", 0.26),
    ("complaint", 0.15),
    ("order", 0.13),
    ("spam", 0.08),
    ("chatter", 0.10),
)
# In a crisis most people are angry or worried about the topic.
CRISIS_CATEGORY_WEIGHTS = (
    ("crisis", 0.82),
    ("question", 0.08),
    ("complaint", 0.05),
    ("spam", 0.05),
)

# --- What people write ---------------------------------------------------------------------------
# Placeholders: {product} {brand} {store} {order} {topic}. Korean templates never put a particle
# that depends on the final consonant (이/가, 은/는, 을/를) right after a placeholder.

TEMPLATES: dict[str, dict[str, tuple[str, ...]]] = {
    "en": {
        "question": (
            "Is the {product} back in stock? Couldn't find it at the {store} store today.",
            "Do you ship to Busan? I'd love to send the {product} to my mom",
            "What time does the {store} branch open on Sundays?",
            "is the {product} dairy-free? asking for a friend with allergies",
            "Any plans to bring back the seasonal {product}? 🙏",
            "How long does delivery usually take? I ordered yesterday",
            "Can I use my gift card online or only in store?",
            "Does the {product} have a lot of caffeine? Trying to cut down after 3pm 😅",
            "Hi! Are you hiring at {store}? Where do I apply?",
            "Where can I find the ingredients list for the {product}?",
            "Do you have a loyalty card? I come in almost every day lol",
            "Is the {store} store wheelchair accessible?",
        ),
        "praise": (
            "The new {product} is honestly the best thing I've had all week ☕️",
            "Shoutout to the team at {store}, so friendly this morning!",
            "ok the {product} slaps. that's the post",
            "Five years a customer and {brand} never disappoints 💚",
            "Love the new packaging, so much less plastic 👏",
            "My daily {product} ritual > everything",
            "Just tried the {product} for the first time. Where has this been all my life?",
            "The barista at {store} remembered my order. Small things matter 🥹",
            "{brand} got me through finals week, thank you",
            "Perfect rainy day with a {product} and a book 🌧️📖",
        ),
        "complaint": (
            "Waited 25 minutes at {store} for one {product}. Not ok.",
            "The {product} tasted burnt today. It used to be so good 😞",
            "Why did the price of the {product} go up AGAIN??",
            "Your app keeps crashing when I try to pay. Please fix it",
            "Staff at {store} were really rude to my friend today. Disappointed.",
            "Third wrong order this month. What's going on, {brand}?",
            "The {store} store was out of oat milk again. Every. Single. Time.",
            "Lid wasn't on properly and the {product} spilled all over my car 🙃",
        ),
        "order": (
            "Order {order} still hasn't arrived, it's been 6 days. Can someone help?",
            "I was charged twice for order {order}. Please refund one of them.",
            "My order {order} says delivered but there's nothing at my door",
            "The box arrived crushed and the {product} leaked everywhere. Order {order}",
            "Can I change the delivery address for {order}? I moved last week",
            "Got the wrong item in order {order}, I ordered the {product}",
            "Cancelled order {order} two weeks ago and still no refund",
        ),
        "spam": (
            "🔥 Get 10k followers FAST 👉 bit.ly/grow-now-xyz",
            "DM me for a collab!! we promote brands to 2M followers 💸",
            "Congrats! You've been selected for a free iPhone, claim at free-prizes.example",
            "Crypto signals that actually work 🚀 join t.me/moonshot_signals",
            "Nice post! Check my profile for exclusive deals 😘",
        ),
        "chatter": (
            "Monday mood: {product} x2",
            "who else is at {store} right now? the line is wild",
            "tag someone who owes you a {product} ☕",
            "this is my sign to get a {product} on the way home",
            "{brand} playlist in the {store} store today was 🔥",
        ),
        "crisis": (
            "Is it true about the {topic}? I'm never buying from {brand} again.",
            "{brand}, please explain the {topic}. Your customers deserve answers.",
            "Just saw the news about the {topic}. Absolutely disgusting.",
            "Still no statement about the {topic}?? The silence says everything.",
            "My kid had one yesterday. Should I be worried about the {topic}??",
            "Cancelled my subscription because of the {topic}. Bye.",
            "How is nobody from {brand} responding to the {topic}? Unbelievable.",
            "Boycott {brand} until they own up to the {topic}. Share this.",
            "I trusted you {brand}. The {topic} is unacceptable.",
            "Called customer service about the {topic} and got hung up on. Great.",
        ),
    },
    "ko": {
        "question": (
            "{product} 다시 입고되나요? 오늘 {store}점에 갔는데 없더라고요.",
            "혹시 부산도 배송 되나요? 엄마한테 {product} 보내드리고 싶어서요",
            "{store}점 일요일에는 몇 시에 여나요?",
            "{product}에 우유 들어가나요? 유당불내증이 있어서요 ㅠㅠ",
            "모바일 상품권 온라인 주문에서도 쓸 수 있나요?",
            "배송은 보통 며칠 걸리나요? 어제 주문했어요!",
            "{product} 카페인 많이 들어 있나요? 저녁에 마셔도 될까요?",
            "시즌 한정 {product} 언제 다시 나와요? 계속 기다리고 있어요 🙏",
            "{store}점에 주차 가능한가요?",
            "멤버십 적립은 앱에서만 되나요?",
            "혹시 {store}점에서 아르바이트 구하시나요?",
        ),
        "praise": (
            "이번에 나온 {product} 진짜 맛있어요 👍 요즘 매일 마셔요",
            "{store}점 직원분들 너무 친절하세요. 아침부터 기분 좋아졌어요 ☺️",
            "늘 믿고 마시는 {brand} 💚",
            "포장 바뀐 거 너무 예뻐요! 플라스틱도 줄어서 더 좋네요",
            "{product} 처음 마셔봤는데 왜 이제 알았을까요 ㅎㅎ",
            "퇴근길에 {product} 한 잔이 요즘 제일 큰 낙이에요",
            "비 오는 날엔 {product} 한 잔과 책 한 권이면 완벽하죠 🌧️",
            "{store}점 바리스타님이 제 주문을 기억해 주셔서 감동했어요 🥹",
            "시험 기간 내내 {brand} 덕분에 버텼어요. 감사합니다!",
        ),
        "complaint": (
            "{store}점에서 {product} 하나 받는 데 25분 걸렸어요. 이건 좀 아니지 않나요?",
            "오늘 {product}에서 탄 맛이 났어요. 예전엔 진짜 맛있었는데 😞",
            "{product} 가격 또 올랐네요?? 너무하신 거 아니에요?",
            "앱에서 결제하려고 하면 계속 튕겨요. 빨리 고쳐 주세요",
            "{store}점 직원 응대가 너무 불친절했어요. 실망입니다.",
            "이번 달에만 주문이 세 번째 잘못 나왔어요. {brand} 왜 이러세요?",
            "{store}점은 갈 때마다 오트밀크가 없어요. 매번요.",
            "뚜껑이 제대로 안 닫혀서 차 안에 {product} 다 쏟았어요 🙃",
        ),
        "order": (
            "주문번호 {order} 아직도 안 왔어요. 벌써 6일째예요. 확인 부탁드려요.",
            "주문 {order} 결제가 두 번 됐어요. 하나 환불해 주세요.",
            "배송 완료라고 뜨는데 집 앞에 아무것도 없어요 (주문번호 {order})",
            "상자가 찌그러져서 왔고 안에 든 {product} 다 새어 있었어요. 주문번호 {order}",
            "주문 {order} 배송지 변경 가능할까요? 지난주에 이사했어요",
            "{product} 시켰는데 다른 상품이 왔어요. 주문번호 {order}",
            "2주 전에 주문 {order} 취소했는데 아직 환불이 안 됐어요",
        ),
        "spam": (
            "🔥 팔로워 1만 명 빠르게 늘려 드립니다 👉 bit.ly/grow-now-kr",
            "협찬 문의는 DM 주세요~ 200만 팔로워 계정에 홍보해 드려요 💸",
            "축하합니다! 경품에 당첨되셨습니다. 지금 바로 확인하세요 free-prize.example",
            "수익 보장 코인 리딩방 🚀 무료 입장 t.me/moon_kr",
            "게시물 잘 봤어요! 제 프로필에서 특가 확인해 보세요 😘",
        ),
        "chatter": (
            "월요일엔 역시 {product} 두 잔",
            "지금 {store}점 줄 진짜 길어요 ㄷㄷ",
            "{product} 사 줄 친구 태그하기 ☕",
            "오늘 퇴근길에 {product} 마시라는 계시인가 봐요",
            "{store}점 매장 음악 오늘 너무 좋네요 🎶",
        ),
        "crisis": (
            "{topic} 사실인가요? 이제 {brand} 다시는 안 삽니다.",
            "{brand}, {topic} 관련해서 제대로 해명하세요. 소비자를 뭘로 보는 건가요",
            "{topic} 기사 보고 너무 충격 받았어요. 정말 실망입니다.",
            "아직도 {topic} 관련 공식 입장이 없네요?? 침묵이 답인가요",
            "어제 아이가 이거 마셨는데 {topic} 괜찮은 건가요?? 너무 걱정돼요",
            "{topic} 때문에 정기구독 해지했습니다. 안녕히 계세요.",
            "{brand} 불매합니다. {topic} 제대로 사과하기 전까지는요",
            "고객센터는 전화도 안 받고 {topic} 관련해서 아무 말이 없네요",
            "믿고 마셨는데 {topic} 소식이라니요. 배신감 느껴요",
            "{topic} 관련 환불은 어디로 문의해야 하나요? 답변 좀 해 주세요",
        ),
    },
}

SENTIMENT = {
    "question": "neutral",
    "praise": "positive",
    "complaint": "negative",
    "order": "negative",
    "spam": "neutral",
    "chatter": "neutral",
    "crisis": "negative",
}

DEFAULT_TOPICS: tuple[dict[str, str], ...] = (
    {"en": "cold brew", "ko": "콜드브루"},
    {"en": "oat latte", "ko": "오트 라떼"},
    {"en": "seasonal blend", "ko": "시즌 블렌드"},
)
STORES = {
    "en": ("Gangnam", "Hongdae", "Seongsu", "SoHo", "Shoreditch", "Mission"),
    "ko": ("강남", "홍대", "성수", "판교", "해운대", "광화문"),
}
DEFAULT_CRISIS_TOPIC = {"en": "mould found in the cold brew", "ko": "콜드브루 곰팡이 논란"}

EN_FIRST = (
    "Emma",
    "Liam",
    "Olivia",
    "Noah",
    "Ava",
    "Ethan",
    "Mia",
    "Lucas",
    "Chloe",
    "Ryan",
    "Grace",
    "Daniel",
    "Zoe",
    "Aiden",
    "Sofia",
    "Marcus",
    "Priya",
    "Tom",
    "Hannah",
    "Leo",
)
EN_LAST = (
    "Smith",
    "Chen",
    "Garcia",
    "Johnson",
    "Nguyen",
    "Brown",
    "Patel",
    "Kim",
    "Wilson",
    "Taylor",
    "Lopez",
    "Martin",
    "Walker",
    "Young",
)
KO_FAMILY = (
    ("김", "kim"),
    ("이", "lee"),
    ("박", "park"),
    ("최", "choi"),
    ("정", "jung"),
    ("강", "kang"),
    ("조", "cho"),
    ("윤", "yoon"),
    ("장", "jang"),
    ("임", "lim"),
    ("한", "han"),
    ("오", "oh"),
)
KO_GIVEN = (
    ("민준", "minjun"),
    ("서연", "seoyeon"),
    ("지우", "jiwoo"),
    ("하은", "haeun"),
    ("도윤", "doyun"),
    ("수아", "sua"),
    ("예준", "yejun"),
    ("지민", "jimin"),
    ("서준", "seojun"),
    ("하린", "harin"),
    ("유진", "yujin"),
    ("현우", "hyunwoo"),
    ("다은", "daeun"),
    ("준호", "junho"),
    ("소율", "soyul"),
    ("태민", "taemin"),
)

MAX_REGULARS = 200

_PLACEHOLDER = re.compile(r"\{(\w+)\}")


@dataclass(frozen=True)
class Audience:
    """One sandbox account as the generator sees it."""

    account_id: int
    handle: str
    brand: str
    timezone: str
    korean_share: float
    topics: tuple[dict[str, str], ...] = DEFAULT_TOPICS
    # (external id, published at) of the account's posts, for comments to answer.
    posts: tuple[tuple[str, datetime], ...] = ()

    @classmethod
    def of(cls, account: SandboxAccount, *, since: datetime | None = None) -> Audience:
        cutoff = since or timezone.now() - timedelta(days=30)
        posts = tuple(
            SandboxPost.objects.filter(
                account=account, deleted_at__isnull=True, in_reply_to="", created_at__gte=cutoff
            )
            .order_by("created_at")
            .values_list("external_id", "created_at")
        )
        topics = tuple(
            t
            for t in account.topics
            if isinstance(t, dict) and isinstance(t.get("en"), str) and isinstance(t.get("ko"), str)
        )
        return cls(
            account_id=account.pk,
            handle=account.handle.lstrip("@"),
            brand=account.display_name or account.handle,
            timezone=account.timezone,
            korean_share=account.korean_share,
            topics=topics or DEFAULT_TOPICS,
            posts=posts,
        )


@dataclass(frozen=True)
class PlannedMessage:
    account_id: int
    kind: str
    category: str
    sentiment: str
    language: str
    text: str
    author_handle: str
    author_name: str
    at: datetime
    in_reply_to: str = ""
    thread_id: str = ""


@dataclass
class TrafficGenerator:
    """Draws arrivals and messages; deterministic for a given seed."""

    seed: int | None = None
    rng: random.Random = field(init=False)
    # Regulars: people who write more than once (and continue their DM threads).
    _regulars: dict[int, list[tuple[str, str, str]]] = field(init=False, default_factory=dict)

    def __post_init__(self) -> None:
        self.rng = random.Random(self.seed)

    # --- when ------------------------------------------------------------------------------------

    @staticmethod
    def hourly_weight(local_hour: int) -> float:
        return HOURLY_WEIGHT[local_hour % 24]

    def poisson(self, lam: float) -> int:
        """A Poisson draw (Knuth for small means, a rounded normal for large ones)."""
        if lam <= 0:
            return 0
        if lam > 30:
            return max(0, round(self.rng.gauss(lam, math.sqrt(lam))))
        limit, k, p = math.exp(-lam), 0, 1.0
        while True:
            p *= self.rng.random()
            if p <= limit:
                return k
            k += 1

    def arrivals(
        self,
        tz_name: str,
        start: datetime,
        minutes: int,
        rate_per_minute: float,
        *,
        rhythm: bool = True,
    ) -> list[datetime]:
        """Arrival times over `minutes` from `start`; `rate_per_minute` is the busiest hour's."""
        tz = _zone(tz_name)
        times: list[datetime] = []
        for minute in range(minutes):
            slot = start + timedelta(minutes=minute)
            weight = self.hourly_weight(slot.astimezone(tz).hour) if rhythm else 1.0
            for _ in range(self.poisson(rate_per_minute * weight)):
                times.append(slot + timedelta(seconds=self.rng.uniform(0, 60)))
        times.sort()
        return times

    # --- who and what ----------------------------------------------------------------------------

    def _pick(self, weighted: Sequence[tuple[str, float]]) -> str:
        names = [name for name, _ in weighted]
        return self.rng.choices(names, weights=[w for _, w in weighted])[0]

    def _new_author(self, language: str) -> tuple[str, str, str]:
        if language == "ko":
            family, family_roman = self.rng.choice(KO_FAMILY)
            given, given_roman = self.rng.choice(KO_GIVEN)
            handle = f"{given_roman}_{family_roman}{self.rng.randint(1, 999)}"
            return handle, f"{family}{given}", language
        first, last = self.rng.choice(EN_FIRST), self.rng.choice(EN_LAST)
        handle = f"{first.lower()}{self.rng.choice(('', '.', '_'))}{last.lower()}"
        return f"{handle}{self.rng.randint(1, 99)}", f"{first} {last}", language

    def _author(self, audience: Audience, language: str, *, fresh: bool) -> tuple[str, str]:
        regulars = self._regulars.setdefault(audience.account_id, [])
        same_language = [r for r in regulars if r[2] == language]
        if not fresh and same_language and self.rng.random() < 0.35:
            handle, name, _lang = self.rng.choice(same_language)
            return handle, name
        author = self._new_author(language)
        if not fresh:
            regulars.append(author)
            if len(regulars) > MAX_REGULARS:  # a long live run keeps a bounded cast
                del regulars[0]
        return author[0], author[1]

    def _fill(self, template: str, audience: Audience, language: str, topic: dict[str, str]) -> str:
        product = self.rng.choice(audience.topics)
        values = {
            "product": product.get(language) or product["en"],
            "brand": audience.brand,
            "store": self.rng.choice(STORES[language]),
            "order": f"#{self.rng.randint(100000, 999999)}",
            "topic": topic.get(language) or topic["en"],
        }
        return _PLACEHOLDER.sub(lambda m: values.get(m[1], m[0]), template)

    def message(
        self,
        audience: Audience,
        at: datetime,
        *,
        crisis_topic: dict[str, str] | None = None,
    ) -> PlannedMessage:
        language = "ko" if self.rng.random() < audience.korean_share else "en"
        category = self._pick(CRISIS_CATEGORY_WEIGHTS if crisis_topic else CATEGORY_WEIGHTS)
        kind = self._pick(KIND_WEIGHTS)
        if category == "order" and kind == "comment" and self.rng.random() < 0.5:
            kind = "dm"  # people take order problems to DMs more often than not
        if category == "spam" and kind == "dm" and self.rng.random() < 0.5:
            kind = "comment"
        earlier_posts = [p for p in audience.posts if p[1] <= at]
        if kind == "comment" and not earlier_posts:
            kind = "mention"
        # Crisis authors are mostly strangers piling in; everyday traffic has regulars.
        handle, name = self._author(audience, language, fresh=crisis_topic is not None)
        text = self._fill(
            self.rng.choice(TEMPLATES[language][category]),
            audience,
            language,
            crisis_topic or DEFAULT_CRISIS_TOPIC,
        )
        in_reply_to = thread_id = ""
        if kind == "comment":
            # Recent posts get most of the comments.
            weights = [
                1.0 / (1 + (at - created).total_seconds() / 86400) for _, created in earlier_posts
            ]
            in_reply_to = self.rng.choices([p[0] for p in earlier_posts], weights=weights)[0]
            thread_id = in_reply_to
        elif kind == "mention":
            text = (
                f"@{audience.handle} {text}"
                if self.rng.random() < 0.6
                else f"{text} @{audience.handle}"
            )
        else:
            thread_id = f"dm:{handle}"
        return PlannedMessage(
            account_id=audience.account_id,
            kind=kind,
            category=category,
            sentiment=SENTIMENT[category],
            language=language,
            text=text,
            author_handle=handle,
            author_name=name,
            at=at,
            in_reply_to=in_reply_to,
            thread_id=thread_id,
        )

    def plan(
        self,
        audiences: Iterable[Audience],
        start: datetime,
        minutes: int,
        rate_per_minute: float,
    ) -> list[PlannedMessage]:
        """Everyday traffic for every audience over `minutes` from `start`, in time order."""
        planned = [
            self.message(audience, at)
            for audience in audiences
            for at in self.arrivals(audience.timezone, start, minutes, rate_per_minute)
        ]
        return sorted(planned, key=lambda m: m.at)

    def plan_crisis(
        self,
        audience: Audience,
        start: datetime,
        minutes: int,
        rate_per_minute: float,
        *,
        multiplier: float = 12.0,
        topic: dict[str, str] | None = None,
    ) -> list[PlannedMessage]:
        """A negative burst about `topic`: the rate times `multiplier`, whatever the hour,
        ramping up over the first fifth of the burst."""
        chosen = topic or DEFAULT_CRISIS_TOPIC
        ramp = max(1, minutes // 5)
        planned: list[PlannedMessage] = []
        for minute in range(minutes):
            intensity = min(1.0, (minute + 1) / ramp)
            slot = start + timedelta(minutes=minute)
            for _ in range(self.poisson(rate_per_minute * multiplier * intensity)):
                at = slot + timedelta(seconds=self.rng.uniform(0, 60))
                planned.append(self.message(audience, at, crisis_topic=chosen))
        return sorted(planned, key=lambda m: m.at)


def parse_topic(text: str | None) -> dict[str, str]:
    """`"english|한국어"` gives each language its own wording; one text serves both."""
    if not text:
        return dict(DEFAULT_CRISIS_TOPIC)
    english, _sep, korean = text.partition("|")
    return {"en": english.strip(), "ko": (korean or english).strip()}


def _zone(name: str) -> zoneinfo.ZoneInfo:
    try:
        return zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return zoneinfo.ZoneInfo("UTC")


def emit(
    planned: Iterable[PlannedMessage], *, engagement: bool = True, deliver: bool = True
) -> list[SandboxItem]:
    """Put planned messages on the network, each delivered to its webhook after commit
    (`deliver=False`: the caller delivers them).

    With `engagement`, a comment also brings its post some likes and impressions.
    """
    accounts = {a.pk: a for a in SandboxAccount.objects.all()}
    items = []
    rng = random.Random(len(accounts))
    for message in planned:
        account = accounts.get(message.account_id)
        if account is None:
            continue
        items.append(
            service.create_item(
                account,
                kind=message.kind,
                text=message.text,
                author_handle=message.author_handle,
                author_name=message.author_name,
                language=message.language,
                in_reply_to=message.in_reply_to,
                thread_id=message.thread_id,
                created_at=message.at,
                deliver=deliver,
            )
        )
        if engagement and message.kind == "comment" and message.in_reply_to:
            post = SandboxPost.objects.filter(
                account=account, external_id=message.in_reply_to
            ).first()
            if post is not None:
                service.bump_metrics(
                    post,
                    likes=rng.randint(2, 15),
                    reposts=rng.randint(0, 3),
                    impressions=rng.randint(40, 400),
                )
    return items
