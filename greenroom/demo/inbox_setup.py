"""The demo's community inbox set-up: saved replies, office hours, SLA policies and routing
rules, in the words a Korean and English social team would use. Written through the inbox
actions by the owner, so each shows up in the audit log like one made on the settings page."""

from __future__ import annotations

from typing import Any

from greenroom.core.models import Brand, Organization, Team, User
from greenroom.inbox import actions as inbox
from greenroom.inbox.models import AgentStatus, ConversationKind, Priority, Sentiment

# (title, body, brand or "" for every brand, language)
SAVED_REPLIES = (
    (
        "Thanks for the love",
        "Thank you so much, {first_name}! We're so glad you enjoyed it. See you at {brand} "
        "again soon ☕",
        "",
        "en",
    ),
    (
        "응원 감사 인사",
        "{first_name}님, 따뜻한 말씀 정말 감사합니다! 다음에도 {brand}에서 만나요 ☕",
        "",
        "ko",
    ),
    (
        "Order problem: move to DM",
        "Sorry about that, {first_name}. Could you send us a DM with your order number and the "
        "store you visited? {agent} from the {brand} team will sort it out today.",
        "",
        "en",
    ),
    (
        "주문 문제: DM으로 안내",
        "{first_name}님, 불편을 드려 죄송합니다. 주문 번호와 방문하신 매장을 DM으로 보내 "
        "주시면 {brand} 담당자 {agent}이(가) 오늘 안에 확인해 드릴게요.",
        "",
        "ko",
    ),
    (
        "Cold brew availability",
        "Cold brew is in every Daybreak store until the end of the season, and the oat version "
        "too. Ask the barista for a sample!",
        "coffee",
        "en",
    ),
    (
        "콜드브루 판매 안내",
        "콜드브루는 시즌이 끝날 때까지 전 매장에서 판매하고 있어요. 오트 밀크로도 주문하실 수 "
        "있습니다!",
        "coffee",
        "ko",
    ),
    (
        "Caffeine in our teas",
        "Good question! Hojicha and our yuja tea are low in caffeine; matcha has about as much "
        "as a small coffee. Full details are on each tin.",
        "tea",
        "en",
    ),
    (
        "차 카페인 안내",
        "호지차와 유자차는 카페인이 적고, 말차는 작은 커피 한 잔 정도의 카페인이 있어요. "
        "자세한 내용은 제품 포장에서 확인하실 수 있습니다.",
        "tea",
        "ko",
    ),
)

# Who answers the inbox and how much each takes at once; the others are away (the brand
# manager, the approver and the admin help only when asked), so some conversations wait
# unassigned for whoever frees up first.
AGENTS = {
    "minho": (AgentStatus.ON_SHIFT, 8),
    "yuna": (AgentStatus.ON_SHIFT, 5),
    "jake": (AgentStatus.ON_SHIFT, 8),
    "sora": (AgentStatus.AWAY, 5),
    "priya": (AgentStatus.AWAY, 5),
    "daniel": (AgentStatus.AWAY, 5),
}

# Monday first; the channel's own time zone (the hours leave it blank).
OFFICE_HOURS = [[["09:00", "18:00"]]] * 5 + [[], []]
# Korean public holidays in the coming months: the Seoul team is off.
HOLIDAYS = {
    "2026-12-25": "성탄절 Christmas",
    "2027-01-01": "신정 New Year's Day",
    "2027-02-06": "설날 연휴 Seollal",
    "2027-02-07": "설날 Seollal",
    "2027-02-08": "설날 연휴 Seollal",
    "2027-02-09": "대체공휴일 Substitute holiday",
    "2027-03-01": "삼일절 Independence Movement Day",
}


def configure(
    org: Organization,
    people: dict[str, User],
    brands: dict[str, Brand],
    teams: dict[str, Team],
) -> None:
    """Saved replies, business hours, SLA policies and routing rules for the demo."""
    owner = people["mina"]
    for title, body, brand, language in SAVED_REPLIES:
        inbox.do_save_saved_reply(
            org,
            title=title,
            body=body,
            brand=brands[brand] if brand else None,
            language=language,
            acting_user=owner,
        )
    hours = inbox.do_save_business_hours(
        org,
        name="Office hours (Mon–Fri 9–6, Korean holidays off)",
        weekly=OFFICE_HOURS,
        holidays=list(HOLIDAYS),
        holiday_names=HOLIDAYS,
        acting_user=owner,
    )
    # The most specific policy wins (channel > brand > priority > kind); none: 24 h.
    policies: tuple[dict[str, Any], ...] = (
        {
            "name": "Direct messages: first reply within 2 hours",
            "kind": ConversationKind.DM,
            "first_response_minutes": 2 * 60,
            "next_response_minutes": 60,
            "resolution_minutes": 24 * 60,
        },
        {
            "name": "Comments: first reply within 4 hours",
            "kind": ConversationKind.COMMENT,
            "first_response_minutes": 4 * 60,
            "resolution_minutes": 48 * 60,
        },
        {
            "name": "Mentions: within 8 office hours",
            "kind": ConversationKind.MENTION,
            "first_response_minutes": 8 * 60,
            "business_hours": hours,
            # Late in an office day most of the day's mentions would warn at the usual 75%.
            "warn_at_share": 0.9,
        },
        {
            "name": "Urgent: first reply within 30 minutes",
            "priority": Priority.URGENT,
            "first_response_minutes": 30,
            "next_response_minutes": 30,
            "warn_at_share": 0.5,
        },
    )
    for values in policies:
        inbox.do_save_sla_policy(org, acting_user=owner, **values)
    korea, global_ = teams["Korea community"], teams["Global content"]
    rules: tuple[dict[str, Any], ...] = (
        {
            # Health questions are answered carefully: a second person reads every reply.
            "name": "Allergies and recalls: a second person approves / 알레르기·리콜",
            "position": 5,
            "keywords": "allerg, recall, 알레르기, 리콜",
            "add_tags": ["safety"],
            "require_approval": True,
            "four_eyes": True,
        },
        {
            "name": "Complaints: high priority, tagged",
            "position": 10,
            "sentiment": Sentiment.NEGATIVE,
            "set_priority": Priority.HIGH,
            "add_tags": ["complaint"],
        },
        {
            "name": "Orders and refunds / 주문·환불",
            "position": 20,
            "keywords": "refund, order, delivery, wrong drink, 환불, 주문, 배송, 잘못",
            "set_priority": Priority.HIGH,
            "add_tags": ["order"],
        },
        {
            "name": "Korean messages → Korea community",
            "position": 30,
            "language": "ko",
            "set_team": korea,
            "stop": True,
        },
        {
            "name": "Everything else → Global content",
            "position": 40,
            "set_team": global_,
        },
    )
    for values in rules:
        inbox.do_save_routing_rule(org, acting_user=owner, **values)
    for username, (status, capacity) in AGENTS.items():
        inbox.do_set_agent(
            org, people[username], status=status, capacity=capacity, acting_user=owner
        )
