"""Access reviews end to end: each person's access goes to the right reviewer, nobody decides
their own, revocations go through core's audited actions, reviewers are reminded once, and at
the deadline whatever nobody certified is revoked."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.core import mail
from django.test import Client
from django.utils import timezone

from greenroom.compliance import actions
from greenroom.compliance.actions import ActionError, NotAllowed
from greenroom.compliance.actions.reviews import close_due, remind_due, start_due_reviews
from greenroom.compliance.models import (
    AccessReview,
    AccessReviewItem,
    ComplianceSettings,
    ItemDecision,
    ReviewStatus,
)
from greenroom.conftest import PASSWORD, World
from greenroom.core import actions as core_actions
from greenroom.core.models import AuditEvent, ChannelGrant, Membership, User


@pytest.fixture
def team(world: World) -> World:
    """bianca leads the Coffee team (paul and carl); carl may also publish on Coffee's X."""
    core_actions.do_create_team(
        world.acme,
        name="Coffee team",
        lead=world.bianca,
        members=[world.paul, world.carl],
        acting_user=world.alice,
    )
    core_actions.do_grant_channel_permission(
        world.coffee_x, world.carl, "publish", acting_user=world.alice
    )
    return world


def start(world: World, days: int = 14, by: User | None = None) -> AccessReview:
    return actions.do_start_access_review(
        world.acme,
        name="Q3",
        deadline=timezone.now() + timedelta(days=days),
        acting_user=by or world.alice,
    )


def item(review: AccessReview, person: User, kind: str = "membership") -> AccessReviewItem:
    return review.items.get(person=person, kind=kind)


def test_a_campaign_snapshots_every_role_and_grant(team: World) -> None:
    review = start(team)
    people = {"alice", "adam", "bianca", "paul", "carl", "april", "agnes", "anna", "otto"}
    memberships = review.items.filter(kind="membership")
    assert {i.person.username for i in memberships if i.person} == people
    bianca = item(review, team.bianca)
    assert bianca.role == "brand_manager" and bianca.brand_names == ["Acme Coffee"]
    grant = item(review, team.carl, "grant")
    assert (grant.channel_id, grant.permission) == (team.coffee_x.pk, "publish")
    event = AuditEvent.objects.get(action="access_review.started")
    assert event.after is not None
    assert (event.after["memberships"], event.after["grants"]) == (9, 1)
    # Nothing of Globex.
    assert not review.items.filter(person=team.gina).exists()


def test_reviewers_are_team_leads_then_brand_managers_then_owners(team: World) -> None:
    review = start(team)
    reviewer = {
        i.person.username: i.reviewer.username
        for i in review.items.filter(kind="membership").select_related("person", "reviewer")
        if i.person and i.reviewer
    }
    assert reviewer["paul"] == "bianca"  # his team's lead
    assert reviewer["carl"] == "bianca"
    assert item(review, team.carl, "grant").reviewer == team.bianca
    # Owners and admins are reviewed by another owner or admin, never themselves.
    assert reviewer["alice"] == "adam"
    assert reviewer["adam"] == "alice"
    # No team, no brand manager over their brands: the owner.
    assert reviewer["agnes"] == "alice"
    assert reviewer["bianca"] == "alice"
    assert all(i.reviewer_id != i.person_id for i in review.items.all())


def test_a_brand_manager_reviews_grants_on_her_brands_channels(world: World) -> None:
    core_actions.do_grant_channel_permission(
        world.coffee_instagram, world.anna, "draft", acting_user=world.alice
    )
    core_actions.do_grant_channel_permission(
        world.tea_bluesky, world.anna, "draft", acting_user=world.alice
    )
    review = start(world)
    grants = {i.channel_id: i.reviewer for i in review.items.filter(kind="grant")}
    assert grants[world.coffee_instagram.pk] == world.bianca
    assert grants[world.tea_bluesky.pk] == world.alice


def test_nobody_decides_their_own_access(team: World) -> None:
    review = start(team)
    with pytest.raises(NotAllowed, match="own access"):
        actions.do_decide_review_item(
            item(review, team.alice), certify=True, acting_user=team.alice
        )
    # Even a lead in a team of which they are a member, or an owner looking at all items.
    with pytest.raises(NotAllowed, match="own access"):
        actions.do_decide_review_item(
            item(review, team.bianca), certify=True, acting_user=team.bianca
        )
    actions.do_decide_review_item(item(review, team.alice), certify=True, acting_user=team.adam)
    assert item(review, team.alice).decision == ItemDecision.CERTIFIED


def test_only_the_reviewer_or_an_owner_or_admin_decides(team: World) -> None:
    review = start(team)
    carl = item(review, team.carl)
    for person in ("paul", "april", "otto"):
        with pytest.raises(NotAllowed):
            actions.do_decide_review_item(carl, certify=True, acting_user=team.people[person])
    actions.do_decide_review_item(carl, certify=True, note="Still drafts", acting_user=team.bianca)
    with pytest.raises(ActionError, match="already decided"):
        actions.do_decide_review_item(carl, certify=False, acting_user=team.alice)


def test_revoking_goes_through_cores_audited_actions(team: World) -> None:
    review = start(team)
    grant_item = item(review, team.carl, "grant")
    actions.do_decide_review_item(
        grant_item, certify=False, note="Not needed", acting_user=team.bianca
    )
    assert not ChannelGrant.objects.filter(user=team.carl, channel=team.coffee_x).exists()
    removed = AuditEvent.objects.get(action="grant.removed")
    assert removed.actor == team.bianca
    decision = AuditEvent.objects.get(action="access_review.revoked")
    assert decision.actor == team.bianca
    assert decision.after == {"decision": "revoked", "note": "Not needed", "review": review.pk}

    actions.do_decide_review_item(item(review, team.paul), certify=False, acting_user=team.bianca)
    assert not Membership.objects.get(organization=team.acme, user=team.paul).is_active
    assert AuditEvent.objects.filter(action="member.deactivated", actor=team.bianca).exists()
    grant_item.refresh_from_db()
    assert (grant_item.decided_by, grant_item.decision) == (team.bianca, ItemDecision.REVOKED)


def test_at_the_deadline_everything_uncertified_is_revoked(team: World) -> None:
    review = start(team)
    for person in ("paul", "carl"):
        actions.do_decide_review_item(
            item(review, team.people[person]), certify=True, acting_user=team.bianca
        )
    assert close_due(timezone.now()) == []  # not yet

    closed = close_due(review.deadline + timedelta(minutes=1))

    assert closed == [review]
    review.refresh_from_db()
    assert review.status == ReviewStatus.CLOSED
    # carl's membership was certified, his grant was not.
    assert Membership.objects.get(organization=team.acme, user=team.carl).is_active
    assert not ChannelGrant.objects.filter(user=team.carl).exists()
    assert not Membership.objects.get(organization=team.acme, user=team.april).is_active
    assert item(review, team.april).decision == ItemDecision.EXPIRED
    # The organisation keeps its last owner: revoking her is refused and recorded as such.
    alice = item(review, team.alice)
    assert alice.decision == ItemDecision.NOT_REVOKED
    assert "at least one owner" in alice.note
    assert Membership.objects.get(organization=team.acme, user=team.alice).is_active
    expired = AuditEvent.objects.filter(action="access_review.revoked_at_deadline")
    assert expired.count() == 7  # carl's grant and six memberships
    assert all(
        e.actor is None and "Not certified by the deadline" in e.after["reason"] for e in expired
    )
    assert AuditEvent.objects.filter(action="grant.removed", actor=None).count() == 1
    closing = AuditEvent.objects.get(action="access_review.closed")
    assert closing.after == {"revoked": 7, "not_revoked": 1}
    with pytest.raises(ActionError, match="closed"):
        actions.do_decide_review_item(item(review, team.anna), certify=True, acting_user=team.alice)


def test_reviewers_are_told_at_the_start_and_reminded_once_before_the_deadline(
    team: World, django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        review = start(team, days=10)
    told = sorted(m.to[0] for m in mail.outbox)
    assert told == ["adam@example.com", "alice@example.com", "bianca@example.com"]
    assert "Q3" in mail.outbox[0].subject
    mail.outbox.clear()

    actions.do_decide_review_item(item(review, team.alice), certify=True, acting_user=team.adam)
    with django_capture_on_commit_callbacks(execute=True):
        assert remind_due(timezone.now()) == 0  # deadline still far
        assert remind_due(review.deadline - timedelta(days=2)) == 2
        assert remind_due(review.deadline - timedelta(days=1)) == 0  # once only
    # adam has nothing left to decide: not reminded.
    assert sorted(m.to[0] for m in mail.outbox) == ["alice@example.com", "bianca@example.com"]
    assert all(m.subject.startswith("Reminder") for m in mail.outbox)
    assert "/governance/compliance/reviews/" in mail.outbox[0].body
    assert AuditEvent.objects.get(action="access_review.reminded").after["reviewers"] == sorted(
        [team.alice.pk, team.bianca.pk]
    )


def test_quarterly_reviews_start_by_themselves(world: World) -> None:
    actions.do_save_compliance_settings(
        world.acme,
        quarterly_reviews=True,
        review_days=10,
        remind_days=2,
        next_review_at=timezone.now() - timedelta(minutes=5),
        acting_user=world.alice,
    )
    [review] = start_due_reviews()
    assert review.started_by is None
    assert review.items.count() == 9
    assert timedelta(days=9, hours=23) < review.deadline - timezone.now() <= timedelta(days=10)
    schedule = ComplianceSettings.objects.get(organization=world.acme)
    assert schedule.next_review_at is not None
    assert schedule.next_review_at > timezone.now() + timedelta(days=80)
    assert start_due_reviews() == []
    assert AuditEvent.objects.get(action="access_review.started").actor is None


def test_review_settings_are_checked(world: World) -> None:
    with pytest.raises(ActionError, match="before the deadline"):
        actions.do_save_compliance_settings(
            world.acme,
            quarterly_reviews=True,
            review_days=3,
            remind_days=5,
            next_review_at=None,
            acting_user=world.alice,
        )
    with pytest.raises(NotAllowed):
        actions.do_save_compliance_settings(
            world.acme,
            quarterly_reviews=True,
            review_days=14,
            remind_days=3,
            next_review_at=None,
            acting_user=world.bianca,
        )
    saved = actions.do_save_compliance_settings(
        world.acme,
        quarterly_reviews=True,
        review_days=14,
        remind_days=3,
        next_review_at=None,
        acting_user=world.alice,
    )
    assert saved.next_review_at is not None and saved.next_review_at.day == 1


# --- Through the pages ---------------------------------------------------------------------------


def login(client: Client, username: str) -> Client:
    assert client.login(username=username, password=PASSWORD)
    return client


def test_a_reviewer_decides_on_the_page(client: Client, team: World) -> None:
    review = start(team)
    login(client, "bianca")
    page = client.get(f"/governance/compliance/reviews/{review.pk}/")
    assert page.status_code == 200
    text = page.content.decode()
    assert "Paul" in text and "Carl" in text
    assert "Otto" not in text  # not hers to review
    grant = item(review, team.carl, "grant")
    response = client.post(
        f"/governance/compliance/reviews/items/{grant.pk}/decide/",
        {"decision": "revoke", "note": "moved teams"},
    )
    assert response.status_code == 302
    assert not ChannelGrant.objects.filter(user=team.carl).exists()
    # Someone else's item of the same campaign is a 404, not a decision.
    otto = item(review, team.otto)
    response = client.post(
        f"/governance/compliance/reviews/items/{otto.pk}/decide/", {"decision": "certify"}
    )
    assert response.status_code == 404
    assert item(review, team.otto).decision == ItemDecision.PENDING


def test_deciding_ones_own_item_on_the_page_says_why(client: Client, team: World) -> None:
    review = start(team)
    login(client, "alice")
    own = item(review, team.alice)
    response = client.post(
        f"/governance/compliance/reviews/items/{own.pk}/decide/",
        {"decision": "certify"},
        follow=True,
    )
    assert "Nobody certifies or revokes their own access" in response.content.decode()
    assert item(review, team.alice).decision == ItemDecision.PENDING


def test_auditors_read_the_report_and_export_it(client: Client, team: World) -> None:
    review = start(team)
    actions.do_decide_review_item(
        item(review, team.paul), certify=True, note="ok", acting_user=team.bianca
    )
    login(client, "otto")
    report = client.get(f"/governance/compliance/reviews/{review.pk}/report/")
    assert report.status_code == 200
    assert "Bianca" in report.content.decode() and "Certified" in report.content.decode()
    export = client.get(f"/governance/compliance/reviews/{review.pk}/report.csv")
    assert export.status_code == 200
    body = b"".join(export.streaming_content).decode("utf-8-sig")  # type: ignore[attr-defined]
    lines = body.strip().splitlines()
    assert lines[0].startswith("item,person,kind,role")
    paul_row = next(line for line in lines if line.split(",")[1] == "Paul")
    assert ",certified,Bianca," in paul_row and paul_row.endswith(",ok")
    assert len(lines) == 1 + review.items.count()
    assert AuditEvent.objects.filter(action="access_review.exported", actor=team.otto).exists()
    # Auditors read; they do not start campaigns.
    response = client.post(
        "/governance/compliance/reviews/",
        {"deadline": (timezone.localdate() + timedelta(days=5)).isoformat()},
    )
    assert response.status_code == 404
    assert AccessReview.objects.count() == 1


def test_an_owner_starts_a_campaign_on_the_page(client: Client, world: World) -> None:
    login(client, "adam")
    response = client.post(
        "/governance/compliance/reviews/",
        {"name": "Spring", "deadline": (timezone.localdate() + timedelta(days=5)).isoformat()},
    )
    review = AccessReview.objects.get()
    assert response.status_code == 302 and response["Location"].endswith(f"/{review.pk}/")
    assert review.name == "Spring" and review.started_by == world.adam
    past = client.post(
        "/governance/compliance/reviews/",
        {"name": "Late", "deadline": (timezone.localdate() - timedelta(days=1)).isoformat()},
    )
    assert past.status_code == 200 and "Choose a day after today" in past.content.decode()
    assert AccessReview.objects.count() == 1


def test_a_reviewer_finds_her_campaigns_with_what_waits_for_her(
    client: Client, team: World
) -> None:
    review = start(team)
    mine = review.items.filter(reviewer=team.bianca).count()
    assert mine == 3  # paul's and carl's memberships, carl's grant
    login(client, "bianca")
    page = client.get("/governance/compliance/reviews/").content.decode()
    assert f"/governance/compliance/reviews/{review.pk}/" in page
    assert f'<span class="gr-chip gr-chip-warn">{mine}</span>' in page
    # The whole campaign's progress, not only her share.
    assert f"{review.items.count()} / {review.items.count()}" in page
    # She may not start one.
    response = client.post(
        "/governance/compliance/reviews/",
        {"deadline": (timezone.localdate() + timedelta(days=5)).isoformat()},
    )
    assert response.status_code == 404
