"""The demo contributor's work in progress: what Yuna comes home to besides her published posts.

Two drafts, one post waiting for approval, one sent back with the brand manager's comment and one
approved and scheduled in the next days, written through the publishing actions (so approvals,
notifications and the audit log are real) after the published posts are out. Times are counted
from now, in Seoul where Yuna works, so a seed on any day shows the same picture.
"""

from __future__ import annotations

import zoneinfo
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.utils import timezone

from greenroom.core.models import Channel, Organization, User
from greenroom.publishing import actions as publishing
from greenroom.publishing.models import ApprovalDecision, Post, PostState

AUTHOR = "yuna"
SEOUL = zoneinfo.ZoneInfo("Asia/Seoul")

COFFEE_KR = ("instagram", "daybreak.coffee.kr")
COFFEE_KR_X = ("x", "@daybreakcoffee_kr")
COFFEE_KR_THREADS = ("threads", "daybreak.coffee.kr")
TEA_KR = ("instagram", "cloudtea.kr")
TEA_KR_FACEBOOK = ("facebook", "CloudTeaKorea")


@dataclass(frozen=True)
class Plan:
    """One post: where it goes, when (days from today and the hour in Seoul; no time: None), how
    far it gets, and how long ago Yuna last touched it."""

    text: str
    channels: tuple[tuple[str, str], ...]
    state: PostState
    days: int | None
    hour: int
    touched: timedelta
    # Who decides, and what they say (a sent-back post's comment).
    reviewer: str = ""
    comment: str = ""


PLANS = (
    Plan(
        "성수 로스터리에서 새 싱글 오리진 원두를 준비하고 있어요. 다음 주에 처음 공개합니다 ☕ "
        "#데이브레이크커피",
        (COFFEE_KR, COFFEE_KR_THREADS),
        PostState.DRAFT,
        days=4,
        hour=12,
        touched=timedelta(hours=2),
    ),
    Plan(
        "A morning at our Jeju tea garden 🌿 Photos from the first harvest coming soon.",
        (TEA_KR,),
        PostState.DRAFT,
        days=None,
        hour=0,
        touched=timedelta(days=1, hours=3),
    ),
    Plan(
        "새로 나온 말차 티라미수, 이번 주 전 매장 한정이에요 🍵 말차 라떼와 함께 즐겨 보세요.",
        (TEA_KR, TEA_KR_FACEBOOK),
        PostState.IN_APPROVAL,
        days=3,
        hour=19,
        touched=timedelta(hours=3),
    ),
    Plan(
        "이번 주말 서울 전 매장에서 콜드브루 1+1! ☀️ 친구와 함께 오세요.",
        (COFFEE_KR, COFFEE_KR_X),
        PostState.CHANGES_REQUESTED,
        days=5,
        hour=9,
        touched=timedelta(hours=5),
        reviewer="sora",
        comment=(
            "행사 기간과 ‘온라인 주문 제외’ 문구를 본문에 넣어 주세요. "
            "법무팀 검토 전에 꼭 필요해요."
        ),
    ),
    Plan(
        "클라우드 티 멤버십 고객님께 이번 달 얼그레이 한 팩을 선물로 드려요 ☁️ #클라우드티",
        (TEA_KR, TEA_KR_FACEBOOK),
        PostState.SCHEDULED,
        days=2,
        hour=10,
        touched=timedelta(days=1),
        reviewer="priya",
    ),
)


def seoul_time(days: int, hour: int, now: datetime) -> datetime:
    """`hour` o'clock in Seoul, `days` days after today there (always at least a day ahead)."""
    day = now.astimezone(SEOUL).date() + timedelta(days=days)
    return datetime(day.year, day.month, day.day, hour, tzinfo=SEOUL)


def create(org: Organization, people: dict[str, User], channels: list[Channel]) -> list[Post]:
    """Yuna's posts in progress, one per plan, each taken as far as its plan says."""
    author = people[AUTHOR]
    by_key = {(c.kind, c.handle): c for c in channels}
    now = timezone.now()
    posts = []
    for plan in PLANS:
        post = publishing.do_create_post(
            org,
            text=plan.text,
            channels=[by_key[key] for key in plan.channels],
            publish_at=seoul_time(plan.days, plan.hour, now) if plan.days is not None else None,
            acting_user=author,
        )
        if plan.state != PostState.DRAFT:
            post = publishing.do_submit_for_approval(post, acting_user=author)
        if plan.state == PostState.CHANGES_REQUESTED:
            post = publishing.do_request_changes(
                post, comment=plan.comment, acting_user=people[plan.reviewer]
            )
        elif plan.state == PostState.SCHEDULED:
            post = publishing.do_approve(post, acting_user=people[plan.reviewer])
        if post.state != plan.state:
            raise RuntimeError(f"the demo post “{post}” is {post.state}, not {plan.state}")
        posts.append(post)
    _backdate(posts, now)
    return posts


def _backdate(posts: list[Post], now: datetime) -> None:
    """Yuna wrote these over the last day or so, not all in the same second. Only the times the
    panel shows move (and the reviewer's decision with its post); the audit log keeps when each
    action really ran."""
    for post, plan in zip(posts, PLANS, strict=True):
        touched = now - plan.touched
        # A reviewer's decision is the last touch; the submission came a little before it.
        submitted = touched - timedelta(minutes=40) if plan.reviewer else touched
        Post.objects.filter(pk=post.pk).update(
            created_at=submitted - timedelta(hours=1),
            updated_at=touched,
            submitted_at=submitted if post.submitted_at else None,
        )
        ApprovalDecision.objects.filter(post=post).update(at=touched)
