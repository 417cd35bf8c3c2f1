"""The demo organisation: Daybreak Beverages, a coffee brand and a tea brand in Korea and abroad.

Everything Greenroom-side is written through actions (so the audit log tells the story): posts
are written, approved and published by the publishing engine to the sandbox (and the contributor
has a few more in progress: greenroom/demo/in_progress.py), comments, mentions
and DMs come back through the signed webhook receiver, all over HTTP served in this process (the
web server is not running yet), and the inbox turns them into conversations under the demo's
routing rules and SLA policies (greenroom/demo/inbox_setup.py). The team has kept up with its
queue: what stays open is mostly on time, with a breach or two to show what one looks like.
"""

from __future__ import annotations

import logging
import math
import os
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from greenroom.core import actions
from greenroom.core.models import Brand, Channel, Organization, Team, User
from greenroom.core.permissions import ChannelPerm, Role
from greenroom.demo import in_progress, inbox_setup
from greenroom.inbox import actions as inbox
from greenroom.inbox import signals as inbox_signals
from greenroom.inbox.models import Conversation, ConversationStatus
from greenroom.networks.actions import do_connect_sandbox_channel, inbound_stored
from greenroom.networks.models import InboundEvent
from greenroom.networks.sandbox import failures, traffic, webhooks
from greenroom.networks.sandbox.inprocess import in_process
from greenroom.networks.sandbox.models import SandboxAccount, SandboxItem, SandboxPost
from greenroom.publishing import actions as publishing
from greenroom.publishing import engine
from greenroom.publishing.models import Post, Variant, VariantState

logger = logging.getLogger(__name__)

DEFAULT_PASSWORD = "greenroom-demo"
ORG_NAME = "Daybreak Beverages"
SEED = 20261127


def demo_password() -> str:
    return os.environ.get("GREENROOM_DEMO_PASSWORD") or DEFAULT_PASSWORD


@dataclass(frozen=True)
class Person:
    username: str
    name: str
    role: str
    timezone: str
    language: str
    # Empty: the role covers every brand.
    brands: tuple[str, ...] = ()


PEOPLE = (
    Person("mina", "Mina Park", Role.OWNER, "Asia/Seoul", "ko"),
    Person("daniel", "Daniel Reyes", Role.ADMIN, "Europe/London", "en"),
    Person("sora", "Sora Kim", Role.BRAND_MANAGER, "Asia/Seoul", "ko", ("coffee",)),
    Person("jake", "Jake Thompson", Role.PUBLISHER, "America/New_York", "en"),
    Person("yuna", "Yuna Choi", Role.CONTRIBUTOR, "Asia/Seoul", "ko"),
    Person("priya", "Priya Shah", Role.APPROVER, "Europe/London", "en"),
    Person("minho", "Minho Lee", Role.COMMUNITY_AGENT, "Asia/Seoul", "ko"),
    Person("ellen", "Ellen Ward", Role.AUDITOR, "Europe/London", "en"),
)

COFFEE_TOPICS = (
    {"en": "cold brew", "ko": "콜드브루"},
    {"en": "oat latte", "ko": "오트 라떼"},
    {"en": "hand drip", "ko": "핸드드립"},
    {"en": "vanilla latte", "ko": "바닐라 라떼"},
    {"en": "seasonal blend", "ko": "시즌 블렌드"},
)
TEA_TOPICS = (
    {"en": "earl grey", "ko": "얼그레이"},
    {"en": "matcha latte", "ko": "말차 라떼"},
    {"en": "jasmine tea", "ko": "재스민 티"},
    {"en": "hojicha", "ko": "호지차"},
    {"en": "yuja tea", "ko": "유자차"},
)


@dataclass(frozen=True)
class ChannelPlan:
    brand: str
    kind: str
    handle: str
    name: str
    region: str
    timezone: str
    owner: str
    backup: str | None
    # Days until the access token expires (a few expire soon, for governance to flag).
    token_days: float = 60


CHANNELS = (
    ChannelPlan(
        "coffee",
        "instagram",
        "daybreak.coffee.kr",
        "Daybreak Coffee Korea",
        "KR",
        "Asia/Seoul",
        "minho",
        "sora",
    ),
    ChannelPlan(
        "coffee",
        "x",
        "@daybreakcoffee_kr",
        "Daybreak Coffee KR",
        "KR",
        "Asia/Seoul",
        "minho",
        "yuna",
    ),
    ChannelPlan(
        "coffee",
        "threads",
        "daybreak.coffee.kr",
        "Daybreak Coffee Korea",
        "KR",
        "Asia/Seoul",
        "yuna",
        "minho",
    ),
    ChannelPlan(
        "coffee",
        "youtube",
        "@DaybreakCoffeeKR",
        "Daybreak Coffee Korea",
        "KR",
        "Asia/Seoul",
        "sora",
        None,
        token_days=2,
    ),
    ChannelPlan(
        "coffee",
        "instagram",
        "daybreak.coffee",
        "Daybreak Coffee",
        "Global",
        "America/New_York",
        "jake",
        "priya",
    ),
    ChannelPlan(
        "coffee",
        "x",
        "@daybreakcoffee",
        "Daybreak Coffee",
        "Global",
        "America/New_York",
        "jake",
        "daniel",
    ),
    ChannelPlan(
        "coffee",
        "tiktok",
        "@daybreakcoffee",
        "Daybreak Coffee",
        "Global",
        "America/Los_Angeles",
        "jake",
        None,
        token_days=5,
    ),
    ChannelPlan(
        "coffee",
        "linkedin",
        "daybreak-beverages",
        "Daybreak Beverages",
        "Global",
        "Europe/London",
        "daniel",
        "priya",
    ),
    ChannelPlan(
        "tea", "instagram", "cloudtea.kr", "Cloud Tea Korea", "KR", "Asia/Seoul", "minho", "sora"
    ),
    ChannelPlan(
        "tea",
        "facebook",
        "CloudTeaKorea",
        "Cloud Tea Korea",
        "KR",
        "Asia/Seoul",
        "sora",
        "minho",
        token_days=1,
    ),
    ChannelPlan(
        "tea",
        "bluesky",
        "cloudtea.bsky.social",
        "Cloud Tea",
        "Global",
        "Europe/London",
        "priya",
        "jake",
    ),
    ChannelPlan(
        "tea",
        "mastodon",
        "@cloudtea@mastodon.social",
        "Cloud Tea",
        "Global",
        "Europe/London",
        "priya",
        "daniel",
    ),
)

GRANTS = (
    ("yuna", ("threads", "daybreak.coffee.kr"), ChannelPerm.PUBLISH),
    ("priya", ("bluesky", "cloudtea.bsky.social"), ChannelPerm.ENGAGE),
    ("priya", ("mastodon", "@cloudtea@mastodon.social"), ChannelPerm.ENGAGE),
    ("jake", ("tiktok", "@daybreakcoffee"), ChannelPerm.ADMINISTER),
)

TEAMS = (
    ("Korea community", "minho", ("minho", "yuna", "sora")),
    ("Global content", "jake", ("jake", "priya", "daniel")),
)

POSTS = {
    ("coffee", "en"): (
        "Cold brew season is officially open ☀️ Steeped for 18 hours, smooth all day. "
        "#DaybreakCoffee",
        "New in stores: the oat latte you asked for. Creamy, nutty, 100% plant-based 🌱",
        "Meet our Seongsu roastery team, the people behind every cup. Say hi next time!",
        "Rainy Monday? Your first hand drip is on us before 9am ☔",
    ),
    ("coffee", "ko"): (
        "콜드브루 시즌이 돌아왔어요 ☀️ 18시간 동안 천천히 추출해 하루 종일 부드럽게. "
        "#데이브레이크커피",
        "여러분이 기다리던 오트 라떼가 드디어 나왔어요 🌱 고소하고 부드러운 100% 식물성 라떼!",
        "성수 로스터리 팀을 소개합니다. 매일 한 잔 한 잔 정성껏 볶고 있어요 ☕",
        "비 오는 월요일엔 오전 9시 전 핸드드립 한 잔 무료! 서울 전 매장에서 만나요 ☔",
    ),
    ("tea", "en"): (
        "Slow down with a pot of jasmine tea 🍵 The new harvest just landed.",
        "Matcha latte, but make it ceremonial grade. Available now in every store.",
        "Autumn is for hojicha: roasty, low in caffeine, perfect after dinner 🍂",
    ),
    ("tea", "ko"): (
        "재스민 티 햇차가 도착했어요 🍵 잠시 쉬어 가세요.",
        "제대로 된 말차 라떼를 찾으셨다면, 지금 전 매장에서 만나 보세요.",
        "가을엔 호지차죠 🍂 고소하고 카페인이 적어서 저녁에도 부담 없어요.",
        "겨울 한정 유자차가 돌아왔습니다. 따뜻하게 한 잔 어떠세요?",
    ),
}
POSTS_PER_GROUP = 3
# Who writes each region's posts (they may draft on every channel of it).
AUTHORS = {"KR": "yuna", "Global": "jake"}
# Who approves each brand's posts, step by step: coffee's policy is brand, then legal; tea has
# none: a post by someone who may not publish everywhere is approved once by an approver.
APPROVERS = {"coffee": ("sora", "daniel"), "tea": ("priya",)}
# Comments, mentions and DMs over the last three days: about 300 across the 12 channels.
INBOUND_HOURS = 72
INBOUND_RATE = 0.0115
# The team has worked through its queue: conversations whose SLA ran out are closed, except the
# most recent few, which show a person what a breach looks like.
BREACHED_LEFT_OPEN = 2
# Most conversations that started more than six hours ago were answered, a while after the
# message (median about 40 minutes, a long tail of hours), and those answered more than half a
# day ago are closed: the inbox numbers page has measured times to show.
ANSWERED_SHARE = 0.8
ANSWER_AFTER = timedelta(hours=6)
RESPONSE_MEDIAN_MIN = 40.0
CLOSE_ANSWERED_AFTER = timedelta(hours=12)
REPLIES = {
    "en": (
        "Thanks for writing to us! We've passed this on to the store team.",
        "Thank you! Glad you enjoyed it. See you again soon.",
        "Sorry about that. Could you send us a DM with your order number? We'll sort it out.",
        "Good question: yes, it's on the menu at every store this month.",
    ),
    "ko": (
        "소중한 의견 감사합니다! 매장 팀에 바로 전달했어요.",
        "감사합니다! 맛있게 드셨다니 기뻐요. 또 들러 주세요.",
        "불편을 드려 죄송합니다. 주문 번호를 DM으로 보내 주시면 바로 확인하겠습니다.",
        "좋은 질문이에요. 네, 이번 달에는 모든 매장에서 드실 수 있어요.",
    ),
}
# How the inbox hears of stored events (greenroom/inbox/signals.py).
INBOX_RECEIVER = "inbox.process_inbound"


@dataclass
class SeedReport:
    created: bool
    organization: Organization | None = None
    people: list[tuple[str, str]] = field(default_factory=list)
    password: str = ""
    channels: int = 0
    posts: int = 0
    inbound: int = 0
    delivery_failures: int = 0


@dataclass
class Built:
    """What `_build` made, by the names the seed uses."""

    org: Organization
    people: dict[str, User]
    brands: dict[str, Brand]
    teams: dict[str, Team]
    channels: list[Channel]


def seed() -> SeedReport:
    """Create the demo organisation if the database has none; otherwise do nothing."""
    if Organization.objects.exists():
        return SeedReport(created=False)
    rng = random.Random(SEED)
    password = demo_password()
    with in_process(), failures.calm():
        with transaction.atomic():
            report, built = _build(rng, password)
            # Before any message arrives: routing rules and SLA policies apply as they land.
            inbox_setup.configure(built.org, built.people, built.brands, built.teams)
            accounts = [
                SandboxAccount.objects.get(external_id=c.external_id) for c in built.channels
            ]
            report.posts = _publish_posts(rng, built, accounts)
            # After the engine ran: the scheduled one stays scheduled until its time comes.
            report.posts += len(in_progress.create(built.org, built.people, built.channels))
            items = _plan_inbound(accounts)
        # Delivered once the organisation is committed, through the real receiver. Its one log
        # line per delivery would bury the logins under hundreds of lines; keep warnings only.
        receiver_log = logging.getLogger("greenroom.webhooks")
        level = receiver_log.level
        receiver_log.setLevel(logging.WARNING)
        # This process turns the stored events into conversations itself, right after, in one
        # batch (the inbox action the worker runs): no task per delivery for the worker to find
        # already done. Everything from here commits together.
        queued = inbound_stored.disconnect(dispatch_uid=INBOX_RECEIVER)
        try:
            with transaction.atomic():
                for item in items:
                    try:
                        webhooks.deliver(item.pk)
                    except webhooks.DeliveryFailed as exc:
                        report.delivery_failures += 1
                        logger.warning("demo seed: %s", exc)
                while inbox.do_process_inbound().events:
                    pass
                _answer_queue(rng, built)
                _settle_queue(built)
        finally:
            receiver_log.setLevel(level)
            if queued:
                inbox_signals.connect()
    report.inbound = InboundEvent.objects.filter(organization=report.organization).count()
    return report


def _build(rng: random.Random, password: str) -> tuple[SeedReport, Built]:
    people: dict[str, User] = {}
    for person in PEOPLE:
        people[person.username] = actions.do_create_user(
            username=person.username,
            email=f"{person.username}@daybreak.example",
            password=password,
            display_name=person.name,
            timezone_name=person.timezone,
            language=person.language,
            acting_user=None,
        )
    owner = people["mina"]
    org = actions.do_create_organization(
        name=ORG_NAME,
        owner=owner,
        timezone_name="Asia/Seoul",
        languages=("en", "ko"),
        acting_user=None,
    )
    brands: dict[str, Brand] = {
        "coffee": actions.do_create_brand(org, name="Daybreak Coffee", acting_user=owner),
        "tea": actions.do_create_brand(org, name="Cloud Tea", acting_user=owner),
    }
    for person in PEOPLE:
        if person.role == Role.OWNER:
            continue
        actions.do_add_member(
            org,
            people[person.username],
            person.role,
            brands=[brands[b] for b in person.brands],
            acting_user=owner,
        )
    channels: list[Channel] = []
    by_key: dict[tuple[str, str], Channel] = {}
    for plan in CHANNELS:
        channel = actions.do_create_channel(
            org,
            brand=brands[plan.brand],
            kind=plan.kind,
            handle=plan.handle,
            name=plan.name,
            sandboxed=True,
            region=plan.region,
            timezone_name=plan.timezone,
            owner=people[plan.owner],
            backup=people[plan.backup] if plan.backup else None,
            acting_user=owner,
        )
        do_connect_sandbox_channel(
            channel,
            acting_user=owner,
            token_ttl=timedelta(days=plan.token_days, hours=rng.uniform(0, 12)),
            topics=COFFEE_TOPICS if plan.brand == "coffee" else TEA_TOPICS,
        )
        channels.append(channel)
        by_key[(plan.kind, plan.handle)] = channel
    for username, key, perm in GRANTS:
        actions.do_grant_channel_permission(by_key[key], people[username], perm, acting_user=owner)
    teams: dict[str, Team] = {}
    for name, lead, members in TEAMS:
        teams[name] = actions.do_create_team(
            org,
            name=name,
            lead=people[lead],
            members=[people[m] for m in members],
            acting_user=owner,
        )
    # Coffee's posts pass the brand team, then legal (a product with health claims).
    publishing.do_create_approval_policy(
        org,
        name="Daybreak Coffee: brand, then legal",
        brand=brands["coffee"],
        steps=[
            publishing.StepInput(
                name="Brand",
                approvers=[people["sora"], people["priya"]],
                respond_within=timedelta(hours=4),
            ),
            publishing.StepInput(
                name="Legal", approvers=[people["daniel"]], respond_within=timedelta(hours=24)
            ),
        ],
        acting_user=owner,
    )
    report = SeedReport(
        created=True,
        organization=org,
        people=[(p.username, str(Role(p.role).label)) for p in PEOPLE],
        password=password,
        channels=len(channels),
    )
    return report, Built(org, people, brands, teams, channels)


def _publish_posts(rng: random.Random, built: Built, accounts: list[SandboxAccount]) -> int:
    """A few posts per brand and region over the last two weeks, each to every channel of its
    group, written, approved and published the way a team does it: through the publishing
    actions and the engine (in this process, over the in-process sandbox)."""
    people = built.people
    groups: dict[tuple[str, str], list[Channel]] = {}
    for plan, channel in zip(CHANNELS, built.channels, strict=True):
        groups.setdefault((plan.brand, plan.region), []).append(channel)
    posts: list[Post] = []
    for (brand, region), channels in groups.items():
        author = people[AUTHORS[region]]
        for n in range(POSTS_PER_GROUP):
            language = "ko" if region == "KR" and n != 1 else "en"
            post = publishing.do_create_post(
                built.org,
                text=rng.choice(POSTS[(brand, language)]),
                channels=channels,
                acting_user=author,
            )
            post = publishing.do_submit_for_approval(post, acting_user=author)
            post = _approve(post, [people[name] for name in APPROVERS[brand]])
            posts.append(publishing.do_publish_now(post, acting_user=author))
    # The engine publishes what is due, as the worker would; no worker runs yet.
    engine.keep_publishing(budget_s=120)
    states = set(Variant.objects.filter(post__in=posts).values_list("state", flat=True))
    if states != {VariantState.PUBLISHED}:
        raise RuntimeError(f"the demo's posts did not all publish (states: {sorted(states)})")
    _backdate(rng, posts, accounts)
    return len(posts)


def _approve(post: Post, approvers: list[User]) -> Post:
    """Each approver gives their step in turn (the action checks that it is theirs). A post
    that needs no approval (its author may publish everywhere) was approved when submitted."""
    for person in approvers:
        if not post.variants.filter(state=VariantState.IN_APPROVAL).exists():
            break
        post = publishing.do_approve(post, acting_user=person)
    if post.variants.filter(state=VariantState.IN_APPROVAL).exists():
        raise RuntimeError(f"{post} still waits for approval after {approvers}")
    return post


def _backdate(rng: random.Random, posts: list[Post], accounts: list[SandboxAccount]) -> None:
    """The posts' history: they went out over the last two weeks (older first), and the
    network counted their reach. Only times and counters change; every state change above went
    through the actions and the engine, and the audit log keeps when that really happened."""
    now = timezone.now()
    account_of = {a.external_id: a.pk for a in accounts}
    per_group = POSTS_PER_GROUP
    for index, post in enumerate(posts):
        n = index % per_group
        age = timedelta(days=2 + (per_group - n) * rng.uniform(2, 4), hours=rng.uniform(0, 10))
        published_at = now - age
        Post.objects.filter(pk=post.pk).update(
            created_at=published_at - timedelta(hours=rng.uniform(3, 20)),
            submitted_at=published_at - timedelta(hours=rng.uniform(1, 3)),
            updated_at=published_at,
        )
        for variant in post.variants.select_related("channel"):
            Variant.objects.filter(pk=variant.pk).update(
                published_at=published_at, publish_at=published_at, updated_at=published_at
            )
            reach = rng.randint(800, 12000) * (
                3 if variant.channel.kind in ("instagram", "tiktok") else 1
            )
            SandboxPost.objects.filter(
                account_id=account_of[variant.channel.external_id],
                external_id=variant.external_id,
            ).update(
                created_at=published_at,
                impressions=reach,
                likes=int(reach * rng.uniform(0.02, 0.08)),
                reposts=int(reach * rng.uniform(0.001, 0.01)),
            )


def _engaging(built: Built) -> dict[int, set[int]]:
    """The channels each person of the demo may answer on, by person."""
    return {
        person.pk: set(
            Channel.objects.restrict(person, "engage")
            .filter(organization=built.org)
            .values_list("pk", flat=True)
        )
        for person in built.people.values()
    }


def _who_answers(conversation: Conversation, built: Built, engages: dict[int, set[int]]) -> User:
    """The person it was assigned to, else the channel's owner, else the organisation's owner,
    whoever of them may work on its channel."""
    owner = built.people["mina"]
    people = {u.pk: u for u in built.people.values()}
    for pk in (conversation.assignee_id, conversation.channel.owner_id, owner.pk):
        if pk in engages and conversation.channel_id in engages[pk]:
            return people[pk]
    return owner


def _answer_queue(rng: random.Random, built: Built) -> None:
    """The team has been answering: most conversations that started more than six hours ago got
    a reply through `do_reply`, sent some minutes to hours after the message (backdated with
    `do_mark_reply_sent`, which records the response time as the network's time of sending);
    those answered more than half a day ago are closed. Replies a routing rule holds for
    approval are left for the approvals page to show."""
    now = timezone.now()
    engages = _engaging(built)
    waiting = (
        Conversation.objects.filter(
            organization=built.org,
            status=ConversationStatus.OPEN,
            waiting_since__lt=now - ANSWER_AFTER,
        )
        .select_related("channel", "organization", "brand")
        .order_by("waiting_since", "pk")
    )
    done: dict[User, list[Conversation]] = {}
    for conversation in waiting:
        if rng.random() > ANSWERED_SHARE:
            continue
        replier = _who_answers(conversation, built, engages)
        if inbox.reply_waits(replier, conversation):
            continue
        assert conversation.waiting_since is not None
        waited = timedelta(minutes=rng.lognormvariate(math.log(RESPONSE_MEDIAN_MIN), 1.0))
        sent_at = min(conversation.waiting_since + waited, now - timedelta(minutes=1))
        text = rng.choice(REPLIES["ko" if conversation.language == "ko" else "en"])
        reply = inbox.do_reply(
            conversation, text, acting_user=replier, handle_seconds=rng.uniform(30, 300)
        )
        inbox.do_mark_reply_sent(reply, external_id=f"demo-reply-{reply.pk}", sent_at=sent_at)
        if now - sent_at > CLOSE_ANSWERED_AFTER:
            done.setdefault(replier, []).append(conversation)
    for replier, conversations in done.items():
        inbox.do_close(conversations, acting_user=replier)


def _settle_queue(built: Built) -> None:
    """The team has kept up: each conversation whose SLA ran out is closed by the person it was
    assigned to (else the channel's owner, else the organisation's owner) where they may work
    on its channel, except the `BREACHED_LEFT_OPEN` most recently due. What stays open is on
    time or nearly due, as a queue looks on a normal day."""
    now = timezone.now()
    overdue = list(
        Conversation.objects.filter(
            organization=built.org, status=ConversationStatus.OPEN, sla_due_at__lt=now
        )
        .select_related("channel")
        .order_by("-sla_due_at", "-pk")
    )
    engages = _engaging(built)
    by_closer: dict[User, list[Conversation]] = {}
    for conversation in overdue[BREACHED_LEFT_OPEN:]:
        by_closer.setdefault(_who_answers(conversation, built, engages), []).append(conversation)
    for closer, conversations in by_closer.items():
        inbox.do_close(conversations, acting_user=closer)


def _plan_inbound(accounts: list[SandboxAccount]) -> list[SandboxItem]:
    generator = traffic.TrafficGenerator(seed=SEED)
    start = timezone.now() - timedelta(hours=INBOUND_HOURS)
    audiences = [
        traffic.Audience.of(account, since=start - timedelta(days=30)) for account in accounts
    ]
    planned = generator.plan(audiences, start, INBOUND_HOURS * 60, INBOUND_RATE)
    return traffic.emit(planned, deliver=False)


def print_report(report: SeedReport, base_url: str, out: Callable[[str], None]) -> None:
    if not report.created:
        out(_("The database already has an organisation, so the demo seed did nothing."))
        demo = User.objects.filter(username__in=[p.username for p in PEOPLE], is_active=True)
        if demo.count() == len(PEOPLE):
            out(
                _("Open %(url)s; demo logins (password “%(password)s” unless you changed it):")
                % {"url": base_url, "password": demo_password()}
            )
            for person in PEOPLE:
                out(f"  {person.username:<8} {Role(person.role).label}")
        return
    assert report.organization is not None
    out(
        _(
            "Seeded the demo organisation “%(name)s”: %(channels)s channels, %(posts)s posts, "
            "%(inbound)s comments, mentions and DMs."
        )
        % {
            "name": report.organization.name,
            "channels": report.channels,
            "posts": report.posts,
            "inbound": report.inbound,
        }
    )
    if report.delivery_failures:
        out(_("%(n)s webhook deliveries failed; see the log.") % {"n": report.delivery_failures})
    out(
        _("Open %(url)s and sign in with one of these usernames; the password is “%(password)s”:")
        % {"url": base_url, "password": report.password}
    )
    for username, role in report.people:
        out(f"  {username:<8} {role}")
