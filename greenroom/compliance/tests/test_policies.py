"""Publishing policies: every kind of rule finds what it should (in English and Korean) and
nothing else, blocks or warns with the reason in words, and is enforced when a post is submitted
and again just before the engine sends it."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from greenroom.compliance import actions
from greenroom.compliance.actions import ActionError, NotAllowed
from greenroom.compliance.models import PolicyRule
from greenroom.compliance.policies import (
    check_text,
    find_personal_data,
    find_terms,
    rules_for,
    rules_read_once,
)
from greenroom.conftest import PASSWORD, World
from greenroom.core import actions as core_actions
from greenroom.core.models import AuditEvent, Channel
from greenroom.publishing import actions as publishing
from greenroom.publishing import engine
from greenroom.publishing.actions import ContentProblems
from greenroom.publishing.models import (
    AttemptOutcome,
    Post,
    PublishAttempt,
    Variant,
    VariantState,
)
from greenroom.publishing.tests.conftest import Pub, Traffic, fresh, variant_of

from .conftest import rule


def unsaved(kind: str, terms: list[str] | None = None, **fields: object) -> PolicyRule:
    return PolicyRule(name="R", kind=kind, action="block", terms=terms or [], **fields)


def found(
    r: PolicyRule, text: str, *, links: list[str] | None = None, sponsored: bool = False
) -> bool:
    return bool(check_text([r], text, links=links or [], sponsored=sponsored))


# --- Matching ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "hit"),
    [
        ("Win big at the casino tonight", True),
        ("Win big at the CASINO tonight", True),
        ("Casino!", True),
        ("casinos are not the same word", False),
        ("the Casinoville fair", False),
        ("오늘 casino 이벤트", True),
    ],
)
def test_a_latin_banned_term_matches_whole_words_in_any_case(text: str, hit: bool) -> None:
    assert found(unsaved("banned_terms", ["casino"]), text) is hit


def test_a_banned_phrase_matches_across_spacing() -> None:
    r = unsaved("banned_terms", ["free money"])
    assert found(r, "Get FREE   money now")
    assert not found(r, "free moneybox")


@pytest.mark.parametrize(
    ("text", "hit"),
    [
        ("도박을 하지 마세요", True),  # a particle glued to the word: still found
        ("불법도박 사이트", True),
        ("도 박", False),
        ("오늘은 커피", False),
    ],
)
def test_a_korean_banned_term_matches_inside_words(text: str, hit: bool) -> None:
    assert found(unsaved("banned_terms", ["도박"]), text) is hit


def test_find_terms_names_every_term_found_as_written() -> None:
    assert find_terms("Casino night and 도박장", ["casino", "도박", "lottery"]) == [
        "casino",
        "도박",
    ]


@pytest.mark.parametrize(
    ("text", "sponsored", "hit"),
    [
        ("New roast, try it", True, True),
        ("New roast, try it #ad", True, False),
        ("New roast #AD", True, False),
        ("신제품 출시 #광고", True, False),
        ("Our #adventure continues", True, True),  # #adventure is not #ad
        ("New roast, try it", False, False),  # not sponsored: no disclosure needed
    ],
)
def test_a_sponsored_post_needs_a_disclosure(text: str, sponsored: bool, hit: bool) -> None:
    assert found(unsaved("disclosure", ["#ad", "#광고"]), text, sponsored=sponsored) is hit


@pytest.mark.parametrize(
    ("text", "links", "hit"),
    [
        ("See https://acme.com/shop", [], False),
        ("See https://shop.acme.com/x and www.acme.com", [], False),
        ("See evil.com/deal now", [], True),  # a link without a scheme counts
        ("See https://notacme.com", [], True),  # not a subdomain of acme.com
        ("No link in the text", ["https://other.org/page"], True),  # the post's link counts
        ("오늘의 할인 acme.com/sale 확인하세요", [], False),
    ],
)
def test_an_allow_list_refuses_links_elsewhere(text: str, links: list[str], hit: bool) -> None:
    assert found(unsaved("domain_allow", ["acme.com"]), text, links=links) is hit


@pytest.mark.parametrize(
    ("text", "hit"),
    [
        ("Deal at https://www.evil.com/a", True),
        ("Deal at EVIL.COM", True),
        ("Deal at https://evil.community/", False),
        ("Deal at https://acme.com/?ref=evil.com", False),  # only the host counts
    ],
)
def test_a_block_list_refuses_links_to_its_domains_and_subdomains(text: str, hit: bool) -> None:
    assert found(unsaved("domain_block", ["evil.com"]), text) is hit


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("연락처 010-1234-5678 로 주세요", "phone"),
        ("문자 01012345678", "phone"),
        ("Call +82 10-1234-5678", "phone"),
        ("매장 02-123-4567", "phone"),
        ("Call (555) 123-4567 today", "phone"),
        ("write to kim.minji@example.co.kr", "email"),
        ("주민번호 900101-1234567 입니다", "rrn"),
    ],
)
def test_personal_data_is_found(text: str, kind: str) -> None:
    [(found_kind, value)] = find_personal_data(text, ["phone", "email", "rrn"])
    assert found_kind == kind
    assert value in text


@pytest.mark.parametrize(
    "text",
    [
        "Open 2024-01-01 to 2024-12-31",
        "Price ₩12,000, 30% off",
        "고객센터 1588-1234",
        "https://acme.com/p/01012345678",  # an id inside a link is not a phone number
        "Version 10.1.2 ships at 10:30",
    ],
)
def test_ordinary_numbers_are_not_personal_data(text: str) -> None:
    assert find_personal_data(text, ["phone", "email", "rrn"]) == []


def test_a_personal_data_rule_looks_only_for_its_kinds() -> None:
    phones_only = unsaved("personal_data", data_kinds=["phone"])
    assert not found(phones_only, "mail kim@example.com")
    assert found(phones_only, "call 010-1234-5678")


def test_the_message_says_what_was_found_and_why() -> None:
    r = unsaved("banned_terms", ["도박"], reason="Gambling ads are illegal in Korea.")
    [finding] = check_text([r], "도박 이벤트")
    assert finding.blocks
    assert "“도박”" in finding.message
    assert "Gambling ads are illegal in Korea." in finding.message
    warn = unsaved("banned_terms", ["cheap"])
    warn.action = "warn"
    [finding] = check_text([warn], "cheap coffee")
    assert not finding.blocks


# --- Rules are written through actions -----------------------------------------------------------


def test_domains_are_cleaned_and_bad_ones_refused(world: World) -> None:
    saved = rule(world, "domain_allow", ["https://www.Acme.com/shop", "acme.co.kr"])
    assert saved.terms == ["www.acme.com", "acme.co.kr"]
    with pytest.raises(ActionError, match="not a domain"):
        rule(world, "domain_block", ["not a domain"])
    with pytest.raises(ActionError, match="at least one"):
        rule(world, "banned_terms", [])
    event = AuditEvent.objects.filter(action="policy_rule.created").latest("id")
    assert event.after is not None and event.after["terms"] == ["www.acme.com", "acme.co.kr"]


@pytest.mark.parametrize("person", ["bianca", "paul", "otto", "gina"])
def test_only_owners_and_admins_write_rules(world: World, person: str) -> None:
    with pytest.raises(NotAllowed):
        actions.do_save_policy_rule(
            world.acme,
            name="x",
            kind="banned_terms",
            action="block",
            terms=["x"],
            acting_user=world.people[person],
        )


# --- Enforced on submit --------------------------------------------------------------------------


def draft(
    world: World, text: str, *, channels: list[Channel] | None = None, sponsored: bool = False
) -> Post:
    return publishing.do_create_post(
        world.acme,
        text=text,
        channels=channels or [world.coffee_x],
        sponsored=sponsored,
        acting_user=world.alice,
    )


def test_a_blocking_rule_refuses_the_submission_and_says_why(world: World) -> None:
    rule(world, "banned_terms", ["도박"], name="No gambling", reason="It is illegal here.")
    post = draft(world, "도박 이벤트 오픈!")
    with pytest.raises(ContentProblems) as refused:
        publishing.do_submit_for_approval(post, acting_user=world.alice)
    [problem] = refused.value.problems
    assert "No gambling" in problem and "“도박”" in problem and "It is illegal here." in problem
    assert str(world.coffee_x) in problem
    assert all(v.state == VariantState.DRAFT for v in post.variants.all())
    assert not AuditEvent.objects.filter(action="post.submitted", target_id=str(post.pk)).exists()


def test_a_warning_lets_the_submission_through_and_is_kept_with_it(world: World) -> None:
    rule(world, "banned_terms", ["cheap"], action="warn", name="Tone")
    post = draft(world, "Cheap coffee today")
    publishing.do_submit_for_approval(post, acting_user=world.alice)
    event = AuditEvent.objects.get(action="post.submitted", target_id=str(post.pk))
    assert event.after is not None
    [warning] = event.after["policy_warnings"]
    assert "Tone" in warning and "“cheap”" in warning


def test_sponsored_posts_need_their_disclosure_on_submit(world: World) -> None:
    rule(world, "disclosure", ["#ad", "#광고"], name="Disclose ads")
    without = draft(world, "Our partner's new mug", sponsored=True)
    with pytest.raises(ContentProblems, match="#ad, #광고"):
        publishing.do_submit_for_approval(without, acting_user=world.alice)
    with_tag = draft(world, "Our partner's new mug #광고", sponsored=True)
    publishing.do_submit_for_approval(with_tag, acting_user=world.alice)
    plain = draft(world, "Our own new mug")
    publishing.do_submit_for_approval(plain, acting_user=world.alice)


def test_link_and_personal_data_rules_refuse_the_submission(world: World) -> None:
    rule(world, "domain_allow", ["acme.com"], name="Own sites")
    rule(world, "personal_data", name="No personal data")
    post = publishing.do_create_post(
        world.acme,
        text="문의 010-1234-5678",
        link="https://elsewhere.example/x",
        channels=[world.coffee_x],
        acting_user=world.alice,
    )
    with pytest.raises(ContentProblems) as refused:
        publishing.do_submit_for_approval(post, acting_user=world.alice)
    text = " ".join(refused.value.problems)
    assert "elsewhere.example" in text and "Own sites" in text
    assert "010-1234-5678" in text and "No personal data" in text


def test_rules_apply_to_their_brand_and_region_only(world: World) -> None:
    rule(world, "banned_terms", ["latte"], name="Tea only", brand=world.tea)
    rule(world, "banned_terms", ["espresso"], name="Korea only", region="KR")
    publishing.do_submit_for_approval(draft(world, "latte espresso"), acting_user=world.alice)
    core_actions.do_update_channel(world.coffee_x, region="kr", acting_user=world.alice)
    with pytest.raises(ContentProblems, match="Korea only"):
        publishing.do_submit_for_approval(draft(world, "espresso"), acting_user=world.alice)
    with pytest.raises(ContentProblems, match="Tea only"):
        publishing.do_submit_for_approval(
            draft(world, "latte", channels=[world.tea_bluesky]), acting_user=world.alice
        )


def test_a_rule_switched_off_no_longer_applies(world: World) -> None:
    saved = rule(world, "banned_terms", ["latte"])
    actions.do_set_policy_rule_active(saved, active=False, acting_user=world.alice)
    publishing.do_submit_for_approval(draft(world, "latte"), acting_user=world.alice)
    assert AuditEvent.objects.filter(action="policy_rule.switched_off").exists()


def test_another_organisations_rules_do_not_apply(world: World) -> None:
    actions.do_save_policy_rule(
        world.globex,
        name="Globex words",
        kind="banned_terms",
        action="block",
        terms=["latte"],
        acting_user=world.gina,
    )
    publishing.do_submit_for_approval(draft(world, "latte"), acting_user=world.alice)


# --- Enforced again at publish time --------------------------------------------------------------


def test_a_rule_added_after_approval_fails_the_variant_at_publish_time(
    pub: Pub, traffic: Traffic
) -> None:
    world = pub.world
    post = pub.post(text="Visit our casino night")
    variant = variant_of(post, world.coffee_x)
    assert variant.state == VariantState.SCHEDULED
    rule(world, "banned_terms", ["casino"], name="No gambling", reason="Brand safety.")
    pub.due(post)

    engine.dispatch_due()

    variant = fresh(variant)
    assert variant.state == VariantState.FAILED
    assert variant.error_code == "policy_blocked"
    assert "No gambling" in variant.last_error and "Brand safety." in variant.last_error
    assert traffic.publish_calls == 0
    assert pub.on_network(world.coffee_x) == []
    [attempt] = PublishAttempt.objects.filter(variant=variant)
    assert attempt.outcome == AttemptOutcome.FAILED and attempt.error_code == "policy_blocked"
    event = AuditEvent.objects.get(action="variant.failed", target_id=str(variant.pk))
    assert event.after is not None and event.after["code"] == "policy_blocked"


def test_a_warning_at_publish_time_does_not_stop_the_post(pub: Pub, traffic: Traffic) -> None:
    post = pub.post(text="Visit our casino night")
    rule(pub.world, "banned_terms", ["casino"], action="warn")
    pub.due(post)
    engine.dispatch_due()
    assert variant_of(post, pub.world.coffee_x).state == VariantState.PUBLISHED
    assert traffic.publish_calls == 1


def test_a_blocked_variant_retried_after_the_fix_is_published(pub: Pub, traffic: Traffic) -> None:
    world = pub.world
    post = pub.post(text="Visit our casino night")
    blocking = rule(world, "banned_terms", ["casino"])
    pub.due(post)
    engine.dispatch_due()
    variant = variant_of(post, world.coffee_x)
    assert variant.state == VariantState.FAILED
    actions.do_set_policy_rule_active(blocking, active=False, acting_user=world.alice)
    publishing.do_retry_variant(variant, acting_user=world.alice)
    Variant.objects.filter(pk=variant.pk).update(
        next_attempt_at=timezone.now() - timedelta(seconds=1)
    )
    engine.dispatch_due()
    assert fresh(variant).state == VariantState.PUBLISHED


# --- The composer ---------------------------------------------------------------------------------


def test_the_composer_live_check_shows_findings(client: Client, world: World) -> None:
    rule(world, "disclosure", ["#ad"], name="Disclose ads")
    rule(world, "banned_terms", ["cheap"], action="warn", name="Tone")
    client.login(username="alice", password=PASSWORD)
    url = "/publishing/compose/count/"
    answer = client.post(
        url, {"channel": world.coffee_x.pk, "text": "cheap mugs", "sponsored": "1"}
    ).json()
    messages = {(f["blocks"], f["message"].split("”")[0]) for f in answer["policy"]}
    assert (True, "This post is marked sponsored, so “Disclose ads") in messages
    assert (False, "“Tone") in messages
    answer = client.post(url, {"channel": world.coffee_x.pk, "text": "mugs #ad"}).json()
    assert answer["policy"] == []


def test_the_composer_saves_the_sponsored_box(client: Client, world: World) -> None:
    client.login(username="alice", password=PASSWORD)
    response = client.post(
        "/publishing/compose/",
        {
            "text": "Partner mug",
            "channels": [world.coffee_x.pk],
            "sponsored": "on",
            "add_utm": "on",
            "action": "draft",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    post = world.acme.posts.get()
    assert post.sponsored is True
    page = client.get(response["Location"]).content.decode()
    assert 'name="sponsored"' in page and "checked" in page.split('name="sponsored"')[1][:200]


def test_rules_read_once_choose_what_the_query_chooses_with_one_query(
    world: World, django_assert_num_queries: Any
) -> None:
    rule(world, "banned_terms", ["latte"], name="Tea only", brand=world.tea)
    rule(world, "banned_terms", ["espresso"], name="Korea only", region="KR")
    rule(world, "banned_terms", ["mocha"], name="Everywhere")
    switched_off = rule(world, "banned_terms", ["chai"], name="Off")
    actions.do_set_policy_rule_active(switched_off, active=False, acting_user=world.alice)
    core_actions.do_update_channel(world.tea_bluesky, region="kr", acting_user=world.alice)
    channels = [
        Channel.objects.get(pk=c.pk) for c in (world.coffee_x, world.tea_bluesky, world.globex_x)
    ]
    one_by_one = {c.pk: [r.name for r in rules_for(c)] for c in channels}
    assert one_by_one[world.tea_bluesky.pk] == ["Everywhere", "Korea only", "Tea only"]
    assert one_by_one[world.coffee_x.pk] == ["Everywhere"]
    assert one_by_one[world.globex_x.pk] == []

    with django_assert_num_queries(2), rules_read_once():  # Acme's rules, Globex's
        together = {c.pk: [r.name for r in rules_for(c)] for c in channels * 3}
    assert together == one_by_one


def test_a_chunk_of_variants_reads_its_organisations_rules_once(
    pub: Pub, django_assert_num_queries: Any
) -> None:
    world = pub.world
    posts = [pub.post(text=f"Casino night {n}") for n in range(3)] + [pub.post(text="Fine")]
    rule(world, "banned_terms", ["casino"], name="No gambling")
    variants = [v for post in posts for v in post.variants.select_related("channel", "post")]
    assert len(variants) >= 4

    with django_assert_num_queries(1):
        refusals = engine._policy_refusals(variants)

    refused_posts = {v.post_id for v in variants if v.pk in refusals}
    assert refused_posts == {p.pk for p in posts[:3]}
    assert all("No gambling" in str(refusals[v.pk]) for v in variants if v.post_id != posts[3].pk)
