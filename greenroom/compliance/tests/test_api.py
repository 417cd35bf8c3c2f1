"""The compliance API does what the pages do: rules that stop posts (and their dry run), guidelines
acknowledged through the API opening a channel's publish permission, training records and the
missing report, and an access review decided and reported, each change audited."""

from __future__ import annotations

import csv
import io
from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from greenroom.api.tests.conftest import bearer, make_token
from greenroom.compliance import actions
from greenroom.compliance.models import AccessReviewItem, ItemKind
from greenroom.conftest import World
from greenroom.core import actions as core
from greenroom.core.models import AuditEvent, Channel, ChannelGrant, User


def _publishes_on_coffee(world: World) -> bool:
    paul = User.objects.get(pk=world.paul.pk)  # a fresh object: access is cached per object
    return Channel.objects.restrict(paul, "publish").filter(pk=world.coffee_x.pk).exists()


def _streamed(response: Any) -> str:
    return b"".join(response.streaming_content).decode("utf-8")


def _client(world: World, name: str) -> Client:
    return bearer(make_token(world, name)[1])


def _post(client: Client, path: str, body: Any) -> Any:
    return client.post("/api" + path, body, content_type="application/json")


def _put(client: Client, path: str, body: Any) -> Any:
    return client.put("/api" + path, body, content_type="application/json")


def test_a_rule_made_through_the_api_is_what_the_dry_run_finds(world: World) -> None:
    alice, paul = _client(world, "alice"), _client(world, "paul")
    made = _post(
        alice,
        "/compliance/policy-rules",
        {
            "name": "No gambling",
            "kind": "banned_terms",
            "terms": ["도박", "casino"],
            "brand_id": world.coffee.pk,
            "reason": "Gambling ads are illegal in Korea.",
        },
    )
    assert made.status_code == 201, made.content
    rule = made.json()
    assert rule["brand"]["id"] == world.coffee.pk and rule["is_active"] is True
    body = {"text": "오늘 도박을 하자", "channel_ids": [world.coffee_x.pk, world.tea_bluesky.pk]}
    checked = _post(paul, "/compliance/policy-check", body).json()
    assert checked["blocks"] is True
    coffee, tea = checked["channels"]
    assert coffee["channel"]["id"] == world.coffee_x.pk and coffee["blocks"] is True
    assert coffee["findings"][0]["rule"] == "No gambling"
    assert "“도박”" in coffee["findings"][0]["message"]
    assert "illegal in Korea" in coffee["findings"][0]["message"]
    assert tea["findings"] == []  # a Coffee rule does not apply to Tea's channel
    # A dry run writes nothing.
    assert not AuditEvent.objects.filter(action__startswith="post.").exists()

    changed = _put(
        alice,
        f"/compliance/policy-rules/{rule['id']}",
        {"name": "No gambling", "kind": "banned_terms", "terms": ["casino"], "action": "warn"},
    )
    assert changed.status_code == 200 and changed.json()["brand"] is None
    again = _post(paul, "/compliance/policy-check", {**body, "text": "Casino night!"}).json()
    assert again["blocks"] is False
    assert [f["blocks"] for f in again["channels"][0]["findings"]] == [False]  # a warning

    off = _post(alice, f"/compliance/policy-rules/{rule['id']}/active", {"active": False})
    assert off.json()["is_active"] is False
    quiet = _post(paul, "/compliance/policy-check", {**body, "text": "Casino night!"}).json()
    assert all(c["findings"] == [] for c in quiet["channels"])
    assert list(
        AuditEvent.objects.filter(action__startswith="policy_rule.")
        .order_by("pk")
        .values_list("action", flat=True)
    ) == ["policy_rule.created", "policy_rule.updated", "policy_rule.switched_off"]


def test_the_dry_run_checks_disclosures_links_and_personal_data(world: World) -> None:
    alice = _client(world, "alice")
    for body in (
        {"name": "Disclose", "kind": "disclosure", "terms": ["#ad", "#광고"]},
        {"name": "Links", "kind": "domain_allow", "terms": ["acme.com"], "action": "warn"},
        {"name": "Privacy", "kind": "personal_data", "data_kinds": ["phone"]},
    ):
        assert _post(alice, "/compliance/policy-rules", body).status_code == 201
    checked = _post(
        _client(world, "carl"),
        "/compliance/policy-check",
        {
            "text": "New blend! Call 010-1234-5678",
            "link": "https://shop.example.org/blend",
            "sponsored": True,
            "channel_ids": [world.coffee_x.pk],
        },
    ).json()
    found = {f["rule"]: f for f in checked["channels"][0]["findings"]}
    assert set(found) == {"Disclose", "Links", "Privacy"}
    assert found["Links"]["blocks"] is False and "shop.example.org" in found["Links"]["message"]
    assert "010-1234-5678" in found["Privacy"]["message"]


def test_bad_rules_are_refused_with_the_reason(world: World) -> None:
    alice = _client(world, "alice")
    bad = _post(
        alice,
        "/compliance/policy-rules",
        {"name": "Links", "kind": "domain_block", "terms": ["not a domain"]},
    )
    assert bad.status_code == 400 and "is not a domain" in bad.json()["detail"]
    assert (
        _post(alice, "/compliance/policy-rules", {"name": "x", "kind": "nope"}).status_code == 422
    )


def test_acknowledging_through_the_api_opens_a_required_channel(world: World) -> None:
    alice, paul = _client(world, "alice"), _client(world, "paul")
    made = _post(alice, "/compliance/guidelines", {"title": "Voice", "body": "Be kind."}).json()
    first = made["current_version"]
    assert first["number"] == 1 and first["body"] == "Be kind."
    required = _post(
        alice, f"/channels/{world.coffee_x.pk}/requirements", {"guideline_id": made["id"]}
    )
    assert required.status_code == 201
    assert not _publishes_on_coffee(world)
    missing = alice.get("/api/compliance/missing", {"person": world.paul.pk}).json()
    assert {(m["channel"]["id"], m["why"]) for m in missing["items"]} == {
        (world.coffee_x.pk, "not_acknowledged")
    }

    second = _post(
        alice,
        f"/compliance/guidelines/{made['id']}/versions",
        {"body": "Be kind. Disclose ads.", "changes": "Ads"},
    ).json()
    stale = _post(
        paul, f"/compliance/guidelines/{made['id']}/acknowledge", {"version_id": first["id"]}
    )
    assert stale.status_code == 400 and "newer version" in stale.json()["detail"]
    done = _post(
        paul, f"/compliance/guidelines/{made['id']}/acknowledge", {"version_id": second["id"]}
    )
    assert done.status_code == 200 and done.json()["acknowledged"] is True
    assert _publishes_on_coffee(world)
    who = alice.get(f"/api/compliance/guidelines/{made['id']}/acknowledgements").json()
    assert [(a["person"]["id"], a["version_number"], a["current"]) for a in who["items"]] == [
        (world.paul.pk, 2, True)
    ]
    assert AuditEvent.objects.filter(action="guideline.acknowledged", actor=world.paul).count() == 1


def test_training_records_and_the_missing_report(world: World) -> None:
    alice = _client(world, "alice")
    course = _post(alice, "/compliance/courses", {"name": "Privacy"}).json()
    _post(
        alice,
        f"/channels/{world.coffee_x.pk}/requirements",
        {"course_id": course["id"], "applies_to": "publish"},
    )
    long_ago = timezone.now() - timedelta(days=400)
    recorded = _post(
        alice,
        "/compliance/training-records",
        {
            "course_id": course["id"],
            "user_id": world.paul.pk,
            "completed_at": long_ago.isoformat(),
            "expires_at": (long_ago + timedelta(days=365)).isoformat(),
            "evidence": "Certificate 42",
        },
    )
    assert recorded.status_code == 201 and recorded.json()["valid"] is False
    rows = alice.get("/api/compliance/missing", {"person": world.paul.pk}).json()["items"]
    assert [(r["course"]["id"], r["why"], r["held_back"]) for r in rows] == [
        (course["id"], "expired", ["publish"])
    ]
    fresh = _post(
        alice,
        "/compliance/training-records",
        {"course_id": course["id"], "user_id": world.paul.pk, "completed_at": "2026-01-05T09:00Z"},
    )
    assert fresh.json()["valid"] is True
    assert alice.get("/api/compliance/missing", {"person": world.paul.pk}).json()["total"] == 0
    listed = alice.get("/api/compliance/training-records", {"person": world.paul.pk}).json()
    assert listed["total"] == 2
    assert alice.delete(f"/api/compliance/training-records/{fresh.json()['id']}").status_code == 204
    assert alice.get("/api/compliance/missing", {"person": world.paul.pk}).json()["total"] == 1
    stranger = _post(
        alice,
        "/compliance/training-records",
        {"course_id": course["id"], "user_id": world.gina.pk, "completed_at": "2026-01-05T09:00Z"},
    )
    assert stranger.status_code == 400 and "not a member" in stranger.json()["detail"]


def test_an_access_review_through_the_api(world: World) -> None:
    grant = core.do_grant_channel_permission(
        world.coffee_x, world.paul, "engage", acting_user=world.alice
    )
    adam, bianca = _client(world, "adam"), _client(world, "bianca")
    started = _post(
        adam,
        "/compliance/access-reviews",
        {"name": "Q4", "deadline": (timezone.now() + timedelta(days=7)).isoformat()},
    )
    assert started.status_code == 201
    review = started.json()
    assert review["name"] == "Q4" and review["waiting"] == review["items"] > 0
    mine = bianca.get(f"/api/compliance/access-reviews/{review['id']}/items").json()
    assert [(i["person"]["id"], i["kind"], i["may_decide"]) for i in mine["items"]] == [
        (world.paul.pk, "grant", True)
    ]
    revoked = _post(
        bianca,
        f"/compliance/access-reviews/{review['id']}/items/{mine['items'][0]['id']}/decision",
        {"decision": "revoke", "note": "Left the Coffee desk"},
    )
    assert revoked.status_code == 200
    assert revoked.json()["decision"] == "revoked" and revoked.json()["decided_by"] == "Bianca"
    assert not ChannelGrant.objects.filter(pk=grant.pk).exists()
    assert AuditEvent.objects.filter(action="grant.removed", actor=world.bianca).exists()

    own = AccessReviewItem.objects.get(
        review_id=review["id"], person=world.adam, kind=ItemKind.MEMBERSHIP
    )
    refused = _post(
        adam,
        f"/compliance/access-reviews/{review['id']}/items/{own.pk}/decision",
        {"decision": "certify"},
    )
    assert refused.status_code == 403 and "own access" in refused.json()["detail"]

    report = _client(world, "otto").get(f"/api/compliance/access-reviews/{review['id']}/report")
    data = report.json()
    assert data["counts"]["revoked"] == 1
    assert data["counts"]["pending"] == review["items"] - 1
    revoked_rows = [i for i in data["items"] if i["decision"] == "revoked"]
    assert [(r["note"], r["channel_name"]) for r in revoked_rows] == [
        ("Left the Coffee desk", str(world.coffee_x))
    ]
    reminded = _post(adam, f"/compliance/access-reviews/{review['id']}/remind", {}).json()
    assert {p["id"] for p in reminded["reminded"]} == set(
        AccessReviewItem.objects.filter(review_id=review["id"], decision="pending")
        .values_list("reviewer_id", flat=True)
        .distinct()
    )
    again = _post(adam, f"/compliance/access-reviews/{review['id']}/remind", {}).json()
    assert again["reminded"] == []  # once per campaign


@pytest.mark.parametrize("person", ["alice", "otto"])
def test_auditors_export_the_audit_log_through_the_api(world: World, person: str) -> None:
    actions.do_create_guideline(
        world.acme, title="=HYPERLINK(1)", body="x", acting_user=world.alice
    )
    core.do_create_brand(world.acme, name="한국 브랜드", acting_user=world.alice)
    client = _client(world, person)
    since = (timezone.now() - timedelta(minutes=5)).isoformat()
    response = client.get(
        "/api/audit-events/export",
        {"action": "guideline.", "since": since, "actor": world.alice.pk},
    )
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert "attachment" in response["Content-Disposition"]
    text = _streamed(response)
    assert text.startswith("\ufeff")
    rows = list(csv.DictReader(io.StringIO(text.lstrip("\ufeff"))))
    assert [r["action"] for r in rows] == ["guideline.created"]
    assert rows[0]["target"] == "'=HYPERLINK(1)"  # not a formula in a spreadsheet
    brands = client.get("/api/audit-events/export", {"action": "brand.created"})
    assert "한국 브랜드" in _streamed(brands)
    exported = AuditEvent.objects.filter(action="audit.exported").order_by("pk")
    assert exported.count() == 2
    assert exported[0].actor == world.people[person]
    assert exported[0].after["filters"]["action"] == "guideline."


def test_the_audit_export_is_for_auditors_owners_and_admins_only(world: World) -> None:
    for person in ("bianca", "paul", "anna"):
        assert _client(world, person).get("/api/audit-events/export").status_code == 403
    assert not AuditEvent.objects.filter(action="audit.exported").exists()
