"""Who may call what on the compliance API, for every persona (the API permission matrix's rules).

Every member reads policy rules and guidelines, checks a text against the rules and acknowledges
for themselves; owners and admins write rules and guidelines (manage_org), run access reviews
and record training (manage_members); auditors read reviews, training and the reports; channel
administrators set their channels' requirements. Nobody decides an item of their own access.
An object you cannot see is a 404 (another tenant's, another brand's, a campaign with nothing
for you); a list or create your role cannot use, or a change to an object you can see but not
change, is a 403. Each request runs in a savepoint that is rolled back; a write leaves its
audit event by the caller in the caller's organisation, a refusal or a read none.
"""

from __future__ import annotations

import re
from datetime import timedelta
from types import SimpleNamespace
from typing import Any

import pytest
from django.utils import timezone

from greenroom.api.tests import matrix
from greenroom.api.tests.conftest import ACME_PEOPLE, bearer, make_token
from greenroom.api.tests.test_permissions import Case, grid
from greenroom.compliance import actions
from greenroom.compliance.models import AccessReviewItem, ItemKind
from greenroom.conftest import World
from greenroom.core import actions as core

EVERYONE = set(ACME_PEOPLE)
ADMINS = {"alice", "adam"}
REPORTS = {"alice", "adam", "otto"}  # manage_members or view_audit
COFFEE_ADMINS = {"alice", "adam", "bianca"}
# Who sees the Acme campaign: owners, admins, auditors, and bianca, who reviews paul's grant.
CAMPAIGN = {"alice", "adam", "otto", "bianca"}

A = actions.ComplianceAction


def _deadline(_ctx: Any) -> dict[str, str]:
    return {"deadline": (timezone.now() + timedelta(days=10)).isoformat()}


# fmt: off
CASES = [
    # Policy rules and the dry run.
    Case("rules.list", "GET", "/compliance/policy-rules", grid(200, EVERYONE, 0), gina=200),
    Case("rules.create", "POST", "/compliance/policy-rules", grid(201, ADMINS, 403), gina=201,
         body=lambda c: {"name": "No gambling", "kind": "banned_terms", "terms": ["도박"]},
         audit=A.RULE_CREATED),
    Case("rules.create.globex_brand", "POST", "/compliance/policy-rules",
         grid(400, ADMINS, 403), gina=201,
         body=lambda c: {"name": "Globex only", "kind": "banned_terms", "terms": ["x"],
                         "brand_id": c.globex_brand},
         audit=A.RULE_CREATED),
    Case("rules.get", "GET", "/compliance/policy-rules/{rule}", grid(200, EVERYONE, 0),
         gina=404),
    Case("rules.get.globex", "GET", "/compliance/policy-rules/{globex_rule}",
         grid(404, EVERYONE, 0), gina=200),
    Case("rules.update", "PUT", "/compliance/policy-rules/{rule}", grid(200, ADMINS, 403),
         gina=404, body=lambda c: {"name": "Links", "kind": "domain_block",
                                   "terms": ["https://bad.example/x"], "action": "warn"},
         audit=A.RULE_UPDATED),
    Case("rules.update.globex", "PUT", "/compliance/policy-rules/{globex_rule}",
         grid(404, EVERYONE, 0), gina=200,
         body=lambda c: {"name": "Personal data", "kind": "personal_data"},
         audit=A.RULE_UPDATED),
    Case("rules.active", "POST", "/compliance/policy-rules/{rule}/active",
         grid(200, ADMINS, 403), gina=404, body=lambda c: {"active": False},
         audit=A.RULE_SWITCHED_OFF),
    Case("policy.check", "POST", "/compliance/policy-check",
         # agnes cannot see Coffee's channel: naming it in a body is a 400.
         grid(200, EVERYONE, 0, agnes=400), gina=400,
         body=lambda c: {"text": "도박을 하자", "channel_ids": [c.coffee_x]}),
    Case("policy.check.globex", "POST", "/compliance/policy-check",
         grid(400, EVERYONE, 0), gina=200,
         body=lambda c: {"text": "hello", "channel_ids": [c.globex_x]}),
    # Guidelines.
    Case("guidelines.list", "GET", "/compliance/guidelines", grid(200, EVERYONE, 0), gina=200),
    Case("guidelines.create", "POST", "/compliance/guidelines", grid(201, ADMINS, 403),
         gina=201, body=lambda c: {"title": "Crisis replies", "body": "Escalate first."},
         audit=A.GUIDELINE_CREATED),
    Case("guidelines.get", "GET", "/compliance/guidelines/{guideline}",
         grid(200, EVERYONE, 0), gina=404),
    Case("guidelines.get.globex", "GET", "/compliance/guidelines/{globex_guideline}",
         grid(404, EVERYONE, 0), gina=200),
    Case("guidelines.version", "POST", "/compliance/guidelines/{guideline}/versions",
         grid(201, ADMINS, 403), gina=404,
         body=lambda c: {"body": "Be kind. Disclose ads.", "changes": "Ads"},
         audit=A.GUIDELINE_VERSION_PUBLISHED),
    Case("guidelines.active", "POST", "/compliance/guidelines/{guideline}/active",
         grid(200, ADMINS, 403), gina=404, body=lambda c: {"active": False},
         audit=A.GUIDELINE_SWITCHED_OFF),
    Case("guidelines.acknowledge", "POST", "/compliance/guidelines/{guideline}/acknowledge",
         grid(200, EVERYONE, 0), gina=404, body=lambda c: {"version_id": c.guideline_version},
         audit=A.GUIDELINE_ACKNOWLEDGED),
    Case("guidelines.acknowledge.globex", "POST",
         "/compliance/guidelines/{globex_guideline}/acknowledge", grid(404, EVERYONE, 0),
         gina=200, body=lambda c: {"version_id": c.globex_guideline_version},
         audit=A.GUIDELINE_ACKNOWLEDGED),
    Case("guidelines.acknowledgements", "GET",
         "/compliance/guidelines/{guideline}/acknowledgements", grid(200, REPORTS, 403),
         gina=404),
    # Training.
    Case("courses.list", "GET", "/compliance/courses", grid(200, REPORTS, 403), gina=200),
    Case("courses.create", "POST", "/compliance/courses", grid(201, ADMINS, 403), gina=201,
         body=lambda c: {"name": "Crisis drill"}, audit=A.COURSE_CREATED),
    Case("training.list", "GET", "/compliance/training-records", grid(200, REPORTS, 403),
         gina=200),
    Case("training.add", "POST", "/compliance/training-records", grid(201, ADMINS, 403),
         # Acme's course is not Globex's: a 400 that says so.
         gina=400,
         body=lambda c: {"course_id": c.course, "user_id": c.carl,
                         "completed_at": "2026-01-05T09:00:00Z"},
         audit=A.TRAINING_RECORDED),
    Case("training.remove", "DELETE", "/compliance/training-records/{record}",
         grid(204, ADMINS, 404, otto=403), gina=404, audit=A.TRAINING_REMOVED),
    Case("training.remove.globex", "DELETE", "/compliance/training-records/{globex_record}",
         grid(404, EVERYONE, 0), gina=204, audit=A.TRAINING_REMOVED),
    # Channel requirements.
    Case("requirements.list", "GET", "/channels/{coffee_x}/requirements",
         grid(200, COFFEE_ADMINS | {"otto"}, 403, agnes=404), gina=404),
    Case("requirements.list.globex", "GET", "/channels/{globex_x}/requirements",
         grid(404, EVERYONE, 0), gina=200),
    Case("requirements.add", "POST", "/channels/{coffee_x}/requirements",
         grid(201, COFFEE_ADMINS, 403, agnes=404), gina=404,
         body=lambda c: {"course_id": c.course, "applies_to": "publish"},
         audit=A.REQUIREMENT_ADDED),
    Case("requirements.remove", "DELETE", "/channels/{coffee_x}/requirements/{requirement}",
         grid(204, COFFEE_ADMINS, 403, agnes=404), gina=404, audit=A.REQUIREMENT_REMOVED),
    Case("requirements.remove.globex", "DELETE",
         "/channels/{globex_x}/requirements/{globex_requirement}", grid(404, EVERYONE, 0),
         gina=204, audit=A.REQUIREMENT_REMOVED),
    Case("missing", "GET", "/compliance/missing", grid(200, REPORTS | {"bianca"}, 403),
         gina=200),
    # Access reviews.
    Case("reviews.list", "GET", "/compliance/access-reviews", grid(200, EVERYONE, 0), gina=200),
    Case("reviews.start", "POST", "/compliance/access-reviews", grid(201, ADMINS, 403),
         gina=201, body=_deadline, audit=A.REVIEW_STARTED),
    Case("reviews.get", "GET", "/compliance/access-reviews/{review}",
         grid(200, CAMPAIGN, 404), gina=404),
    Case("reviews.get.globex", "GET", "/compliance/access-reviews/{globex_review}",
         grid(404, EVERYONE, 0), gina=200),
    Case("reviews.items", "GET", "/compliance/access-reviews/{review}/items",
         grid(200, CAMPAIGN, 404), gina=404),
    Case("reviews.decide", "POST",
         "/compliance/access-reviews/{review}/items/{paul_grant_item}/decision",
         grid(200, COFFEE_ADMINS, 404), gina=404,
         body=lambda c: {"decision": "certify", "note": "Still on the Coffee desk"},
         audit=A.REVIEW_CERTIFIED),
    # Separation of duties: alice may decide any item but her own.
    Case("reviews.decide.own", "POST",
         "/compliance/access-reviews/{review}/items/{alice_item}/decision",
         grid(404, EVERYONE, 0, alice=403, adam=200), gina=404,
         body=lambda c: {"decision": "certify"}, audit=A.REVIEW_CERTIFIED),
    Case("reviews.decide.globex", "POST",
         "/compliance/access-reviews/{globex_review}/items/{globex_item}/decision",
         # Globex's only item is gina's own access: nobody certifies their own (403).
         grid(404, EVERYONE, 0), gina=403, body=lambda c: {"decision": "certify"}),
    Case("reviews.remind", "POST", "/compliance/access-reviews/{review}/remind",
         grid(200, ADMINS, 404, otto=403, bianca=403), gina=404, audit=A.REVIEW_REMINDED),
    Case("reviews.report", "GET", "/compliance/access-reviews/{review}/report",
         grid(200, REPORTS, 404, bianca=403), gina=404),
    Case("reviews.report.globex", "GET", "/compliance/access-reviews/{globex_review}/report",
         grid(404, EVERYONE, 0), gina=200),
]
# fmt: on


@pytest.fixture
def ctx(world: World) -> SimpleNamespace:
    alice, gina = world.alice, world.gina
    rule = actions.do_save_policy_rule(
        world.acme, name="Gambling", kind="banned_terms", action="block", terms=["도박"],
        acting_user=alice,
    )  # fmt: skip
    globex_rule = actions.do_save_policy_rule(
        world.globex, name="Casino", kind="banned_terms", action="warn", terms=["casino"],
        acting_user=gina,
    )  # fmt: skip
    guideline = actions.do_create_guideline(
        world.acme, title="Voice", body="Be kind.", acting_user=alice
    )
    globex_guideline = actions.do_create_guideline(
        world.globex, title="Tone", body="Be brief.", acting_user=gina
    )
    course = actions.do_create_course(world.acme, name="Privacy", acting_user=alice)
    globex_course = actions.do_create_course(world.globex, name="Safety", acting_user=gina)
    completed = timezone.now() - timedelta(days=3)
    record = actions.do_record_training(
        course, world.paul, completed_at=completed, acting_user=alice
    )
    globex_record = actions.do_record_training(
        globex_course, gina, completed_at=completed, acting_user=gina
    )
    requirement = actions.do_add_requirement(world.coffee_x, guideline=guideline, acting_user=alice)
    globex_requirement = actions.do_add_requirement(
        world.globex_x, course=globex_course, acting_user=gina
    )
    core.do_grant_channel_permission(world.coffee_x, world.paul, "engage", acting_user=alice)
    deadline = timezone.now() + timedelta(days=14)
    review = actions.do_start_access_review(world.acme, deadline=deadline, acting_user=alice)
    globex_review = actions.do_start_access_review(
        world.globex, deadline=deadline, acting_user=gina
    )
    items = AccessReviewItem.objects.filter(review=review)
    paul_grant_item = items.get(person=world.paul, kind=ItemKind.GRANT)
    assert paul_grant_item.reviewer == world.bianca  # the brand manager of Coffee
    assert set(items.values_list("reviewer__username", flat=True)) == {"alice", "adam", "bianca"}
    tokens = {name: make_token(world, name) for name in [*ACME_PEOPLE, "gina"]}
    return SimpleNamespace(
        **{name: person.pk for name, person in world.people.items()},
        coffee_x=world.coffee_x.pk,
        globex_x=world.globex_x.pk,
        globex_brand=world.globex_x.brand_id,
        rule=rule.pk,
        globex_rule=globex_rule.pk,
        guideline=guideline.pk,
        guideline_version=guideline.current_version_id,
        globex_guideline=globex_guideline.pk,
        globex_guideline_version=globex_guideline.current_version_id,
        course=course.pk,
        record=record.pk,
        globex_record=globex_record.pk,
        requirement=requirement.pk,
        globex_requirement=globex_requirement.pk,
        review=review.pk,
        globex_review=globex_review.pk,
        paul_grant_item=paul_grant_item.pk,
        alice_item=items.get(person=alice, kind=ItemKind.MEMBERSHIP).pk,
        globex_item=AccessReviewItem.objects.filter(review=globex_review).get().pk,
        clients={name: bearer(plaintext) for name, (_, plaintext) in tokens.items()},
    )


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_compliance_permission_matrix(case: Case, ctx: Any, world: World) -> None:
    matrix.check(case, ctx, world)


def test_the_matrix_covers_every_compliance_operation() -> None:
    ours = matrix.operations(lambda path: re.search(r"/compliance/|/requirements", path))
    assert len(ours) == 29
    assert ours <= {(c.method, matrix.shape("/api" + c.route.split("?")[0])) for c in CASES}
