"""Who opens which compliance page, another organisation's objects as 404s, and what the pages
show: guidelines escaped, the missing report per channel and per person, Korean words."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from greenroom.compliance import actions
from greenroom.compliance.models import Acknowledgement, Guideline, PolicyRule
from greenroom.conftest import PASSWORD, World
from greenroom.core import actions as core_actions
from greenroom.core.models import User

PEOPLE = ["alice", "adam", "bianca", "paul", "carl", "april", "agnes", "anna", "otto", "charlie"]
MEMBERS = set(PEOPLE) - {"charlie"}

# Written out by hand: who gets a 200 on each page (everyone else a 404).
PAGES: dict[str, set[str]] = {
    "/governance/compliance/": MEMBERS,
    "/governance/compliance/reviews/": {"alice", "adam", "otto"},
    "/governance/compliance/reviews/settings/": {"alice", "adam"},
    "/governance/compliance/policies/": MEMBERS,
    "/governance/compliance/guidelines/": MEMBERS,
    "/governance/compliance/training/": {"alice", "adam", "otto"},
    "/governance/compliance/requirements/": {"alice", "adam", "bianca", "otto"},
    "/governance/compliance/missing/": {"alice", "adam", "bianca", "otto"},
}


def login(client: Client, username: str) -> Client:
    assert client.login(username=username, password=PASSWORD)
    return client


@pytest.mark.parametrize("person", PEOPLE)
def test_page_permissions(client: Client, world: World, person: str) -> None:
    login(client, person)
    got = {url: client.get(url).status_code for url in PAGES}
    expected = {url: 200 if person in allowed else 404 for url, allowed in PAGES.items()}
    assert got == expected


def globex_objects(world: World) -> dict[str, int]:
    gina = world.gina
    rule = actions.do_save_policy_rule(
        world.globex, name="G", kind="banned_terms", action="block", terms=["x"], acting_user=gina
    )
    guideline = actions.do_create_guideline(world.globex, title="G", body="g", acting_user=gina)
    course = actions.do_create_course(world.globex, name="G", acting_user=gina)
    record = actions.do_record_training(
        course, gina, completed_at=timezone.now() - timedelta(days=1), acting_user=gina
    )
    requirement = actions.do_add_requirement(world.globex_x, guideline=guideline, acting_user=gina)
    review = actions.do_start_access_review(
        world.globex, deadline=timezone.now() + timedelta(days=3), acting_user=gina
    )
    return {
        "rule": rule.pk,
        "guideline": guideline.pk,
        "record": record.pk,
        "requirement": requirement.pk,
        "review": review.pk,
        "item": review.items.get().pk,
    }


def test_another_organisations_objects_are_404(client: Client, world: World) -> None:
    ids = globex_objects(world)
    login(client, "alice")
    base = "/governance/compliance"
    gets = [
        f"{base}/policies/{ids['rule']}/",
        f"{base}/guidelines/{ids['guideline']}/",
        f"{base}/reviews/{ids['review']}/",
        f"{base}/reviews/{ids['review']}/report/",
        f"{base}/reviews/{ids['review']}/report.csv",
    ]
    posts = [
        f"{base}/policies/{ids['rule']}/",
        f"{base}/policies/{ids['rule']}/active/",
        f"{base}/guidelines/{ids['guideline']}/acknowledge/",
        f"{base}/guidelines/{ids['guideline']}/version/",
        f"{base}/guidelines/{ids['guideline']}/active/",
        f"{base}/reviews/{ids['review']}/remind/",
        f"{base}/reviews/items/{ids['item']}/decide/",
        f"{base}/training/records/{ids['record']}/remove/",
        f"{base}/requirements/{ids['requirement']}/remove/",
    ]
    assert {url: client.get(url).status_code for url in gets} == dict.fromkeys(gets, 404)
    assert {
        url: client.post(url, {"decision": "certify", "active": "0", "body": "x"}).status_code
        for url in posts
    } == dict.fromkeys(posts, 404)
    # Nothing changed over there.
    assert PolicyRule.objects.get(pk=ids["rule"]).is_active
    assert Guideline.objects.get(pk=ids["guideline"]).versions.count() == 1


@pytest.mark.parametrize("person", ["bianca", "paul", "otto"])
def test_only_owners_and_admins_write_rules_and_guidelines_on_the_pages(
    client: Client, world: World, person: str
) -> None:
    login(client, person)
    rule = client.post(
        "/governance/compliance/policies/",
        {"name": "x", "kind": "banned_terms", "action": "block", "terms": "x"},
    )
    guideline = client.post("/governance/compliance/guidelines/", {"title": "x", "body": "x"})
    assert (rule.status_code, guideline.status_code) == (404, 404)
    assert not PolicyRule.objects.exists() and not Guideline.objects.exists()


def test_an_admin_writes_a_rule_on_the_page(client: Client, world: World) -> None:
    login(client, "adam")
    response = client.post(
        "/governance/compliance/policies/",
        {
            "name": "No gambling",
            "kind": "banned_terms",
            "action": "block",
            "terms": "casino, 도박\nlottery",
            "reason": "Illegal in Korea.",
        },
    )
    assert response.status_code == 302
    rule = PolicyRule.objects.get()
    assert rule.terms == ["casino", "도박", "lottery"] and rule.created_by == world.adam
    page = client.get("/governance/compliance/policies/").content.decode()
    assert "도박" in page and "Illegal in Korea." in page
    bad = client.post(
        "/governance/compliance/policies/",
        {"name": "Links", "kind": "domain_allow", "action": "block", "terms": "not a domain"},
    )
    assert bad.status_code == 200 and "is not a domain" in bad.content.decode()
    assert PolicyRule.objects.count() == 1


def test_a_guideline_is_shown_escaped_and_acknowledged_on_its_page(
    client: Client, world: World
) -> None:
    guideline = actions.do_create_guideline(
        world.acme,
        title="Voice",
        body="Be <b>kind</b>.\n\n<script>alert(1)</script>",
        acting_user=world.alice,
    )
    login(client, "paul")
    page = client.get(f"/governance/compliance/guidelines/{guideline.pk}/").content.decode()
    assert "<script>alert(1)</script>" not in page and "&lt;script&gt;" in page
    assert "&lt;b&gt;kind&lt;/b&gt;" in page
    version = guideline.current_version
    assert version is not None
    response = client.post(
        f"/governance/compliance/guidelines/{guideline.pk}/acknowledge/",
        {"version": version.pk},
    )
    assert response.status_code == 302
    assert Acknowledgement.objects.filter(user=world.paul, version=version).exists()


def test_acknowledging_a_version_that_was_replaced_meanwhile_is_refused(
    client: Client, world: World
) -> None:
    guideline = actions.do_create_guideline(
        world.acme, title="Voice", body="v1", acting_user=world.alice
    )
    old = guideline.current_version
    assert old is not None
    actions.do_publish_guideline_version(guideline, body="v2", acting_user=world.alice)
    login(client, "paul")
    response = client.post(
        f"/governance/compliance/guidelines/{guideline.pk}/acknowledge/",
        {"version": old.pk},
        follow=True,
    )
    assert "The guideline changed while you read it" in response.content.decode()
    assert not Acknowledgement.objects.filter(user=world.paul).exists()


def test_the_missing_report_per_channel_and_per_person(client: Client, world: World) -> None:
    guideline = actions.do_create_guideline(
        world.acme, title="Voice", body="v1", acting_user=world.alice
    )
    course = actions.do_create_course(world.acme, name="Crisis comms", acting_user=world.alice)
    actions.do_add_requirement(world.coffee_x, guideline=guideline, acting_user=world.alice)
    actions.do_add_requirement(
        world.tea_bluesky, course=course, applies_to="engage", acting_user=world.alice
    )
    first = guideline.current_version
    assert first is not None
    actions.do_acknowledge(first, acting_user=world.bianca)
    actions.do_publish_guideline_version(guideline, body="v2", acting_user=world.alice)
    actions.do_acknowledge(guideline.versions.get(number=2), acting_user=world.adam)

    login(client, "otto")
    by_channel = client.get("/governance/compliance/missing/").content.decode()
    assert "acknowledged version 1 of “Voice”" in by_channel  # bianca
    assert "has not acknowledged “Voice”" in by_channel  # paul, alice
    assert f"/governance/compliance/guidelines/{guideline.pk}/" in by_channel
    assert "no “Crisis comms” training" in by_channel  # agnes, alice, adam engage on Tea
    by_person = client.get("/governance/compliance/missing/?view=person").content.decode()
    assert "By person" in by_person and "Agnes" in by_person
    # Adam acknowledged the current version: he misses only the training.
    adam = by_person.split(f'id="p-{world.adam.pk}"')[1].split("</section>")[0]
    assert "Crisis comms" in adam and "Voice" not in adam
    # People with neither publish nor engage are not listed.
    assert "Anna" not in by_person and "Carl" not in by_person

    # A brand manager sees her brand's channels only.
    login(client, "bianca")
    hers = client.get("/governance/compliance/missing/").content.decode()
    assert "Crisis comms" not in hers and "Voice" in hers


def test_my_page_shows_what_waits_for_me(client: Client, world: World) -> None:
    guideline = actions.do_create_guideline(
        world.acme, title="Voice", body="v1", acting_user=world.alice
    )
    actions.do_add_requirement(world.coffee_x, guideline=guideline, acting_user=world.alice)
    core_actions.do_create_team(
        world.acme, name="T", lead=world.paul, members=[world.carl], acting_user=world.alice
    )
    review = actions.do_start_access_review(
        world.acme, name="Q4", deadline=timezone.now() + timedelta(days=5), acting_user=world.alice
    )
    login(client, "paul")
    page = client.get("/governance/compliance/").content.decode()
    assert "Q4" in page and f"/governance/compliance/reviews/{review.pk}/" in page
    assert "Acknowledge “Voice”." in page and world.coffee_x.name in page
    # paul reviews carl, so he reaches that campaign's page but not the list of all campaigns.
    assert client.get(f"/governance/compliance/reviews/{review.pk}/").status_code == 200
    assert client.get(f"/governance/compliance/reviews/{review.pk}/report/").status_code == 404


def test_the_governance_tabs_link_the_compliance_pages(client: Client, world: World) -> None:
    login(client, "otto")
    page = client.get("/governance/").content.decode()
    for url in (
        "/governance/compliance/reviews/",
        "/governance/compliance/policies/",
        "/governance/compliance/guidelines/",
    ):
        assert f'href="{url}"' in page
    login(client, "paul")  # not in the governance section: the user menu links his page
    home = client.get("/").content.decode()
    assert 'href="/governance/compliance/"' in home


def test_pages_speak_korean(client: Client, world: World) -> None:
    User.objects.filter(pk=world.alice.pk).update(language="ko")
    login(client, "alice")
    for url in PAGES:
        page = client.get(url, HTTP_ACCEPT_LANGUAGE="ko").content.decode()
        assert 'lang="ko"' in page
    assert "접근 권한 검토" in client.get("/governance/compliance/reviews/").content.decode()
    assert "게시 정책" in client.get("/governance/compliance/policies/").content.decode()
