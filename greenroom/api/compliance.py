"""Compliance: publishing policy rules and their dry run, guidelines and acknowledgements,
training, what a channel requires, access reviews and the report of who is missing what
(docs/architecture/compliance.md).

Reads go through `restrict()` in the caller's organisation; writes go through
greenroom/compliance/actions, which check the role again and write the audit rows. Who may do
what is the pages' rule: every member reads policy rules and guidelines and acknowledges for
themselves; owners and admins (manage_org) write rules and guidelines; owners and admins
(manage_members) run access reviews and record training, auditors (view_audit) read them;
channel administrators set their channels' requirements.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from django.db.models import Count, Q
from django.http import Http404, HttpRequest
from ninja import Field, Query, Router, Schema, Status
from ninja.errors import HttpError
from pydantic import AfterValidator, StringConstraints

from greenroom.compliance import actions, reports
from greenroom.compliance import policies as policy_checks
from greenroom.compliance.models import (
    AccessReview,
    AccessReviewItem,
    Acknowledgement,
    ChannelRequirement,
    Guideline,
    GuidelineVersion,
    ItemDecision,
    ItemKind,
    PersonalData,
    PolicyRule,
    RequirementScope,
    ReviewStatus,
    RuleEffect,
    RuleKind,
    TrainingCourse,
    TrainingRecord,
)
from greenroom.core.models import Channel, User
from greenroom.core.restrict import Access

from .access import brands, get_or_404, member, require, require_on, visible
from .auth import Caller, caller_of
from .paging import paginate
from .schemas import (
    BrandRef,
    Name,
    ObjectId,
    Page,
    PageQuery,
    PersonRef,
    ShortText,
    Text200,
    UtcDatetime,
    clean_text,
    errors,
)

router = Router(tags=["Compliance"])

Note = Annotated[
    str, StringConstraints(strip_whitespace=True, max_length=2000), AfterValidator(clean_text)
]
PostText = Annotated[str, StringConstraints(max_length=20_000), AfterValidator(clean_text)]
GuidelineBody = Annotated[
    str, StringConstraints(min_length=1, max_length=100_000), AfterValidator(clean_text)
]
Term = Annotated[
    str, StringConstraints(strip_whitespace=True, max_length=200), AfterValidator(clean_text)
]
Link = Annotated[
    str, StringConstraints(strip_whitespace=True, max_length=2000), AfterValidator(clean_text)
]


def _may(caller: Caller, perm: str) -> bool:
    return Access.of(caller.user).has_org_perm(caller.organization.pk, perm)


def _reads_reports(caller: Caller) -> bool:
    """Owners and admins (manage_members) and auditors (view_audit)."""
    return _may(caller, "manage_members") or _may(caller, "view_audit")


def _require_reports(caller: Caller, what: str) -> None:
    if not _reads_reports(caller):
        raise HttpError(
            403,
            f"{what} is for owners, admins and auditors (manage_members or view_audit) of "
            f"{caller.organization}.",
        )


def _not_allowed(exc: actions.NotAllowed) -> HttpError:
    return HttpError(403, str(exc))


class ChannelRef(Schema):
    id: int
    name: str
    kind: str
    handle: str


# --- Policy rules --------------------------------------------------------------------------------


class PolicyRuleOut(Schema):
    id: int
    name: str
    kind: RuleKind
    action: RuleEffect
    brand: BrandRef | None = Field(description="Null: every brand.")
    region: str = Field(description="Empty: every region.")
    terms: list[str] = Field(
        description="Banned terms, accepted disclosures or domains, depending on the kind."
    )
    data_kinds: list[str] = Field(description="For personal_data rules: phone, email, rrn.")
    reason: str
    is_active: bool
    created_at: datetime
    updated_at: datetime


class PolicyRuleIn(Schema):
    name: Name
    kind: RuleKind
    action: RuleEffect = RuleEffect.BLOCK
    brand_id: ObjectId | None = Field(None, description="Only this brand's channels.")
    region: ShortText = Field("", description="Only channels of this region (e.g. KR).")
    terms: list[Term] = Field(
        default_factory=list,
        max_length=500,
        description="Banned terms (any language), accepted disclosures (#ad, #광고) or domains "
        "(subdomains included). Not used by personal_data rules.",
    )
    data_kinds: list[PersonalData] = Field(
        default_factory=list, description="personal_data rules: what to look for (empty: all)."
    )
    reason: Note = Field("", description="Why the rule exists; shown to authors it stops.")


class ActiveIn(Schema):
    active: bool


class RuleQuery(PageQuery):
    active: bool | None = Field(None, description="Only rules switched on (true) or off (false).")


def _rules(caller: Caller) -> Any:
    return visible(PolicyRule.objects, caller, "view_org").select_related("brand")


def _save_rule(caller: Caller, body: PolicyRuleIn, rule: PolicyRule | None) -> PolicyRule:
    require(caller, "manage_org")
    brand = brands(caller, [body.brand_id])[0] if body.brand_id is not None else None
    try:
        saved = actions.do_save_policy_rule(
            caller.organization,
            rule=rule,
            name=body.name,
            kind=body.kind,
            action=body.action,
            brand=brand,
            region=body.region,
            terms=body.terms,
            data_kinds=body.data_kinds,
            reason=body.reason,
            acting_user=caller.user,
        )
    except actions.NotAllowed as exc:
        raise _not_allowed(exc) from None
    found: PolicyRule = _rules(caller).get(pk=saved.pk)
    return found


@router.get(
    "/compliance/policy-rules",
    response={200: Page[PolicyRuleOut], **errors(401, 422)},
    summary="List publishing policy rules",
    description="Every member reads them: they explain what stops a post.",
)
def list_policy_rules(request: HttpRequest, query: Query[RuleQuery]) -> dict[str, Any]:
    rules = _rules(caller_of(request))
    if query.active is not None:
        rules = rules.filter(is_active=query.active)
    return paginate(rules.order_by("-is_active", "name", "pk"), query)


@router.post(
    "/compliance/policy-rules",
    response={201: PolicyRuleOut, **errors(400, 401, 403, 422)},
    summary="Create a publishing policy rule",
    description="Checked when posts are submitted for approval and again just before they are "
    "published; `block` stops the post, `warn` lets it through with the warning. Needs "
    "manage_org.",
)
def create_policy_rule(request: HttpRequest, body: PolicyRuleIn) -> Status[PolicyRule]:
    return Status(201, _save_rule(caller_of(request), body, None))


@router.get(
    "/compliance/policy-rules/{rule_id}",
    response={200: PolicyRuleOut, **errors(401, 404)},
    summary="Get a publishing policy rule",
)
def get_policy_rule(request: HttpRequest, rule_id: ObjectId) -> PolicyRule:
    found: PolicyRule = get_or_404(_rules(caller_of(request)), rule_id, "policy rule")
    return found


@router.put(
    "/compliance/policy-rules/{rule_id}",
    response={200: PolicyRuleOut, **errors(400, 401, 403, 404, 422)},
    summary="Change a publishing policy rule",
    description="Replaces the rule's fields (whether it is on stays as it is). Needs manage_org.",
)
def update_policy_rule(request: HttpRequest, rule_id: ObjectId, body: PolicyRuleIn) -> PolicyRule:
    caller = caller_of(request)
    rule: PolicyRule = get_or_404(_rules(caller), rule_id, "policy rule")
    return _save_rule(caller, body, rule)


@router.post(
    "/compliance/policy-rules/{rule_id}/active",
    response={200: PolicyRuleOut, **errors(400, 401, 403, 404, 422)},
    summary="Switch a publishing policy rule on or off",
    description="Needs manage_org.",
)
def set_policy_rule_active(request: HttpRequest, rule_id: ObjectId, body: ActiveIn) -> PolicyRule:
    caller = caller_of(request)
    rule: PolicyRule = get_or_404(_rules(caller), rule_id, "policy rule")
    require(caller, "manage_org")
    try:
        actions.do_set_policy_rule_active(rule, active=body.active, acting_user=caller.user)
    except actions.NotAllowed as exc:
        raise _not_allowed(exc) from None
    found: PolicyRule = _rules(caller).get(pk=rule.pk)
    return found


class PolicyCheckIn(Schema):
    text: PostText = Field(description="The post's text (with its first comment, if any).")
    channel_ids: list[ObjectId] = Field(min_length=1, max_length=100)
    link: Link = Field("", description="The post's link, if it has one.")
    sponsored: bool = Field(False, description="Whether the post is marked sponsored.")


class FindingOut(Schema):
    rule: str
    message: str
    blocks: bool


class ChannelCheckOut(Schema):
    channel: ChannelRef
    blocks: bool = Field(description="Whether a rule would stop this post on this channel.")
    findings: list[FindingOut]


class PolicyCheckOut(Schema):
    blocks: bool = Field(description="Whether a rule would stop the post on any channel.")
    channels: list[ChannelCheckOut]


@router.post(
    "/compliance/policy-check",
    response={200: PolicyCheckOut, **errors(400, 401, 422)},
    summary="Check a text against the publishing policies (dry run)",
    description="What the rules of each channel's organisation, brand and region find in a "
    "text: the same check as on submission and before publishing. Nothing is saved or "
    "audited. The channels must be ones you can see.",
)
def check_policies(request: HttpRequest, body: PolicyCheckIn) -> dict[str, Any]:
    caller = caller_of(request)
    wanted = list(dict.fromkeys(body.channel_ids))
    found = {
        c.pk: c
        for c in visible(Channel.objects, caller, "view")
        .filter(pk__in=wanted)
        .select_related("organization")
    }
    missing = [pk for pk in wanted if pk not in found]
    if missing:
        raise actions.ActionError(
            f"These channel ids are not channels of {caller.organization} you can see: "
            f"{', '.join(map(str, missing))}."
        )
    results = []
    with policy_checks.rules_read_once():  # one query for the organisation's rules
        for pk in wanted:
            channel = found[pk]
            findings = policy_checks.check_text(
                policy_checks.rules_for(channel),
                body.text,
                links=[body.link] if body.link else [],
                sponsored=body.sponsored,
            )
            results.append(
                {
                    "channel": channel,
                    "blocks": any(f.blocks for f in findings),
                    "findings": [
                        {"rule": f.rule, "message": f.message, "blocks": f.blocks} for f in findings
                    ],
                }
            )
    return {"blocks": any(r["blocks"] for r in results), "channels": results}


# --- Guidelines ----------------------------------------------------------------------------------


class VersionOut(Schema):
    id: int
    number: int
    changes: str
    published_at: datetime


class CurrentVersionOut(VersionOut):
    body: str = Field(description="Plain text.")


class GuidelineSummaryOut(Schema):
    id: int
    title: str
    is_active: bool
    current_version: VersionOut | None
    acknowledged: bool = Field(description="Whether you acknowledged the current version.")
    created_at: datetime


class GuidelineOut(GuidelineSummaryOut):
    current_version: CurrentVersionOut | None
    versions: list[VersionOut] = Field(description="Newest first.")


class GuidelineIn(Schema):
    title: Name
    body: GuidelineBody


class GuidelineVersionIn(Schema):
    body: GuidelineBody
    changes: Note = ""


class AcknowledgeIn(Schema):
    version_id: ObjectId = Field(
        description="The version you read: the current one, or the request is refused."
    )


class AcknowledgementOut(Schema):
    person: PersonRef
    version_id: int
    version_number: int
    current: bool = Field(
        description="Whether it is of the current version (the only one that counts)."
    )
    acknowledged_at: datetime


def _guidelines(caller: Caller) -> Any:
    return visible(Guideline.objects, caller, "view_org").select_related("current_version")


def _acknowledged(caller: Caller, guidelines: list[Guideline]) -> set[int]:
    return set(
        Acknowledgement.objects.filter(
            user=caller.user,
            version_id__in=[g.current_version_id for g in guidelines if g.current_version_id],
        ).values_list("version_id", flat=True)
    )


def _summary(guideline: Guideline, acknowledged: set[int]) -> dict[str, Any]:
    return {
        "id": guideline.pk,
        "title": guideline.title,
        "is_active": guideline.is_active,
        "current_version": guideline.current_version,
        "acknowledged": guideline.current_version_id in acknowledged,
        "created_at": guideline.created_at,
    }


def _guideline_out(caller: Caller, guideline_id: int) -> dict[str, Any]:
    guideline: Guideline = get_or_404(_guidelines(caller), guideline_id, "guideline")
    out = _summary(guideline, _acknowledged(caller, [guideline]))
    out["versions"] = list(
        visible(GuidelineVersion.objects, caller, "view_org")
        .filter(guideline=guideline)
        .order_by("-number")
    )
    return out


@router.get(
    "/compliance/guidelines",
    response={200: Page[GuidelineSummaryOut], **errors(401, 422)},
    summary="List guidelines",
    description="Every member reads them; `acknowledged` says whether you acknowledged the "
    "current version.",
)
def list_guidelines(request: HttpRequest, query: Query[PageQuery]) -> dict[str, Any]:
    caller = caller_of(request)
    found = _guidelines(caller).order_by("-is_active", "title", "pk")
    page = list(found[query.offset : query.offset + query.limit])
    acknowledged = _acknowledged(caller, page)
    return {
        "items": [_summary(g, acknowledged) for g in page],
        "total": found.count(),
        "limit": query.limit,
        "offset": query.offset,
    }


@router.post(
    "/compliance/guidelines",
    response={201: GuidelineOut, **errors(400, 401, 403, 422)},
    summary="Write a guideline",
    description="Its first version. Needs manage_org.",
)
def create_guideline(request: HttpRequest, body: GuidelineIn) -> Status[dict[str, Any]]:
    caller = caller_of(request)
    require(caller, "manage_org")
    try:
        guideline = actions.do_create_guideline(
            caller.organization, title=body.title, body=body.body, acting_user=caller.user
        )
    except actions.NotAllowed as exc:
        raise _not_allowed(exc) from None
    return Status(201, _guideline_out(caller, guideline.pk))


@router.get(
    "/compliance/guidelines/{guideline_id}",
    response={200: GuidelineOut, **errors(401, 404)},
    summary="Get a guideline with its current text and versions",
)
def get_guideline(request: HttpRequest, guideline_id: ObjectId) -> dict[str, Any]:
    return _guideline_out(caller_of(request), guideline_id)


@router.post(
    "/compliance/guidelines/{guideline_id}/versions",
    response={201: VersionOut, **errors(400, 401, 403, 404, 422)},
    summary="Publish a new version of a guideline",
    description="It becomes current: everyone must acknowledge it again before channels that "
    "require the guideline let them publish or engage. Needs manage_org.",
)
def publish_guideline_version(
    request: HttpRequest, guideline_id: ObjectId, body: GuidelineVersionIn
) -> Status[GuidelineVersion]:
    caller = caller_of(request)
    guideline: Guideline = get_or_404(_guidelines(caller), guideline_id, "guideline")
    require(caller, "manage_org")
    try:
        version = actions.do_publish_guideline_version(
            guideline, body=body.body, changes=body.changes, acting_user=caller.user
        )
    except actions.NotAllowed as exc:
        raise _not_allowed(exc) from None
    return Status(201, version)


@router.post(
    "/compliance/guidelines/{guideline_id}/active",
    response={200: GuidelineOut, **errors(400, 401, 403, 404, 422)},
    summary="Switch a guideline on or off",
    description="A guideline switched off asks nothing of anyone. Needs manage_org.",
)
def set_guideline_active(
    request: HttpRequest, guideline_id: ObjectId, body: ActiveIn
) -> dict[str, Any]:
    caller = caller_of(request)
    guideline: Guideline = get_or_404(_guidelines(caller), guideline_id, "guideline")
    require(caller, "manage_org")
    try:
        actions.do_set_guideline_active(guideline, active=body.active, acting_user=caller.user)
    except actions.NotAllowed as exc:
        raise _not_allowed(exc) from None
    return _guideline_out(caller, guideline.pk)


@router.post(
    "/compliance/guidelines/{guideline_id}/acknowledge",
    response={200: GuidelineOut, **errors(400, 401, 404, 422)},
    summary="Acknowledge a guideline (as yourself)",
    description="Send the id of the version you read; if a newer version was published since, "
    "the request is refused so you can read that one.",
)
def acknowledge_guideline(
    request: HttpRequest, guideline_id: ObjectId, body: AcknowledgeIn
) -> dict[str, Any]:
    caller = caller_of(request)
    guideline: Guideline = get_or_404(_guidelines(caller), guideline_id, "guideline")
    version = GuidelineVersion.objects.filter(guideline=guideline, pk=body.version_id).first()
    if version is None:
        raise actions.ActionError(
            f"Version id {body.version_id} is not a version of “{guideline.title}”."
        )
    actions.do_acknowledge(version, acting_user=caller.user)
    return _guideline_out(caller, guideline.pk)


@router.get(
    "/compliance/guidelines/{guideline_id}/acknowledgements",
    response={200: Page[AcknowledgementOut], **errors(401, 403, 404, 422)},
    summary="Who acknowledged a guideline",
    description="Every acknowledgement of every version, newest first. Needs manage_members or "
    "view_audit.",
)
def list_acknowledgements(
    request: HttpRequest, guideline_id: ObjectId, query: Query[PageQuery]
) -> dict[str, Any]:
    caller = caller_of(request)
    guideline: Guideline = get_or_404(_guidelines(caller), guideline_id, "guideline")
    _require_reports(caller, "Who acknowledged a guideline")
    found = (
        visible(Acknowledgement.objects, caller, "view_org")
        .filter(version__guideline=guideline)
        .select_related("user", "version")
        .order_by("-acknowledged_at", "-pk")
    )
    page = found[query.offset : query.offset + query.limit]
    return {
        "items": [
            {
                "person": a.user,
                "version_id": a.version_id,
                "version_number": a.version.number,
                "current": a.version_id == guideline.current_version_id,
                "acknowledged_at": a.acknowledged_at,
            }
            for a in page
        ],
        "total": found.count(),
        "limit": query.limit,
        "offset": query.offset,
    }


# --- Training ------------------------------------------------------------------------------------


class CourseOut(Schema):
    id: int
    name: str
    description: str
    created_at: datetime


class CourseIn(Schema):
    name: Name
    description: Note = ""


class CourseRef(Schema):
    id: int
    name: str


class TrainingRecordOut(Schema):
    id: int
    course: CourseRef
    person: PersonRef
    completed_at: datetime
    expires_at: datetime | None
    evidence: str
    valid: bool = Field(description="Whether it counts now (completed and not expired).")

    @staticmethod
    def resolve_person(obj: TrainingRecord) -> Any:
        return obj.user

    @staticmethod
    def resolve_valid(obj: TrainingRecord) -> bool:
        return obj.is_valid()


class TrainingRecordIn(Schema):
    course_id: ObjectId
    user_id: ObjectId
    completed_at: UtcDatetime
    expires_at: UtcDatetime | None = None
    evidence: Note = Field("", description="How it is known: a certificate number, a list.")


class TrainingQuery(PageQuery):
    course: ObjectId | None = None
    person: ObjectId | None = None


def _courses(caller: Caller) -> Any:
    return visible(TrainingCourse.objects, caller, "view_org")


def _records(caller: Caller) -> Any:
    return visible(TrainingRecord.objects, caller, "view_org").select_related("course", "user")


@router.get(
    "/compliance/courses",
    response={200: Page[CourseOut], **errors(401, 403, 422)},
    summary="List training courses",
    description="Needs manage_members or view_audit.",
)
def list_courses(request: HttpRequest, query: Query[PageQuery]) -> dict[str, Any]:
    caller = caller_of(request)
    _require_reports(caller, "Training")
    return paginate(_courses(caller).order_by("name", "pk"), query)


@router.post(
    "/compliance/courses",
    response={201: CourseOut, **errors(400, 401, 403, 422)},
    summary="Add a training course",
    description="Needs manage_members.",
)
def create_course(request: HttpRequest, body: CourseIn) -> Status[TrainingCourse]:
    caller = caller_of(request)
    require(caller, "manage_members")
    try:
        course = actions.do_create_course(
            caller.organization,
            name=body.name,
            description=body.description,
            acting_user=caller.user,
        )
    except actions.NotAllowed as exc:
        raise _not_allowed(exc) from None
    return Status(201, course)


@router.get(
    "/compliance/training-records",
    response={200: Page[TrainingRecordOut], **errors(401, 403, 422)},
    summary="List training records",
    description="Newest completion first. Needs manage_members or view_audit.",
)
def list_training_records(request: HttpRequest, query: Query[TrainingQuery]) -> dict[str, Any]:
    caller = caller_of(request)
    _require_reports(caller, "Training")
    records = _records(caller)
    if query.course is not None:
        records = records.filter(course_id=query.course)
    if query.person is not None:
        records = records.filter(user_id=query.person)
    return paginate(records.order_by("-completed_at", "-pk"), query)


@router.post(
    "/compliance/training-records",
    response={201: TrainingRecordOut, **errors(400, 401, 403, 422)},
    summary="Record a completed training",
    description="The record counts from its completion until it expires (if it does). Needs "
    "manage_members.",
)
def add_training_record(request: HttpRequest, body: TrainingRecordIn) -> Status[TrainingRecord]:
    caller = caller_of(request)
    require(caller, "manage_members")
    course = _courses(caller).filter(pk=body.course_id).first()
    if course is None:
        raise actions.ActionError(
            f"The course (id {body.course_id}) is not a course of {caller.organization}."
        )
    try:
        record = actions.do_record_training(
            course,
            member(caller, body.user_id),
            completed_at=body.completed_at,
            expires_at=body.expires_at,
            evidence=body.evidence,
            acting_user=caller.user,
        )
    except actions.NotAllowed as exc:
        raise _not_allowed(exc) from None
    return Status(201, _records(caller).get(pk=record.pk))


@router.delete(
    "/compliance/training-records/{record_id}",
    response={204: None, **errors(401, 403, 404)},
    summary="Remove a training record",
    description="Needs manage_members.",
)
def remove_training_record(request: HttpRequest, record_id: ObjectId) -> Status[None]:
    caller = caller_of(request)
    if not _reads_reports(caller):
        raise Http404(f"No training record with id {record_id} in this organisation.")
    record: TrainingRecord = get_or_404(_records(caller), record_id, "training record")
    require(caller, "manage_members")
    try:
        actions.do_remove_training_record(record, acting_user=caller.user)
    except actions.NotAllowed as exc:
        raise _not_allowed(exc) from None
    return Status(204, None)


# --- Channel requirements ------------------------------------------------------------------------


class GuidelineRef(Schema):
    id: int
    title: str


class RequirementOut(Schema):
    id: int
    channel_id: int
    guideline: GuidelineRef | None
    course: CourseRef | None
    applies_to: RequirementScope = Field(
        description="What waits for it: publish_engage, publish or engage."
    )
    created_at: datetime


class RequirementIn(Schema):
    guideline_id: ObjectId | None = Field(None, description="A guideline, or:")
    course_id: ObjectId | None = Field(None, description="a training course.")
    applies_to: RequirementScope = RequirementScope.PUBLISH_AND_ENGAGE


def _requirement_channel(caller: Caller, channel_id: int) -> Channel:
    channel: Channel = get_or_404(visible(Channel.objects, caller, "view"), channel_id, "channel")
    return channel


def _administers(caller: Caller, channel: Channel) -> bool:
    return visible(Channel.objects, caller, "administer").filter(pk=channel.pk).exists()


def _requirements(caller: Caller, channel: Channel) -> Any:
    return (
        visible(ChannelRequirement.objects, caller, "view")
        .filter(channel=channel)
        .select_related("guideline", "course")
    )


@router.get(
    "/channels/{channel_id}/requirements",
    response={200: list[RequirementOut], **errors(401, 403, 404)},
    summary="What a channel requires before publish and engage take effect",
    description="Needs administer on the channel, or view_audit.",
)
def list_requirements(request: HttpRequest, channel_id: ObjectId) -> list[ChannelRequirement]:
    caller = caller_of(request)
    channel = _requirement_channel(caller, channel_id)
    if not (_administers(caller, channel) or _may(caller, "view_audit")):
        raise HttpError(
            403, "A channel's requirements are for its administrators and for auditors."
        )
    return list(_requirements(caller, channel).order_by("pk"))


@router.post(
    "/channels/{channel_id}/requirements",
    response={201: RequirementOut, **errors(400, 401, 403, 404, 422)},
    summary="Require a guideline or a training on a channel",
    description="Until a person has acknowledged the guideline's current version (or holds a "
    "valid record of the course), their publish and/or engage permission on the channel waits. "
    "Needs administer on the channel.",
)
def add_requirement(
    request: HttpRequest, channel_id: ObjectId, body: RequirementIn
) -> Status[ChannelRequirement]:
    caller = caller_of(request)
    channel = _requirement_channel(caller, channel_id)
    require_on(visible(Channel.objects, caller, "administer"), channel, "administer", "channel")
    guideline = course = None
    if body.guideline_id is not None:
        guideline = _guidelines(caller).filter(pk=body.guideline_id).first()
        if guideline is None:
            raise actions.ActionError(
                f"The guideline (id {body.guideline_id}) is not a guideline of "
                f"{caller.organization}."
            )
    if body.course_id is not None:
        course = _courses(caller).filter(pk=body.course_id).first()
        if course is None:
            raise actions.ActionError(
                f"The course (id {body.course_id}) is not a course of {caller.organization}."
            )
    try:
        requirement = actions.do_add_requirement(
            channel,
            guideline=guideline,
            course=course,
            applies_to=body.applies_to,
            acting_user=caller.user,
        )
    except actions.NotAllowed as exc:
        raise _not_allowed(exc) from None
    return Status(201, requirement)


@router.delete(
    "/channels/{channel_id}/requirements/{requirement_id}",
    response={204: None, **errors(401, 403, 404)},
    summary="Remove a channel requirement",
    description="Needs administer on the channel.",
)
def remove_requirement(
    request: HttpRequest, channel_id: ObjectId, requirement_id: ObjectId
) -> Status[None]:
    caller = caller_of(request)
    channel = _requirement_channel(caller, channel_id)
    requirement: ChannelRequirement = get_or_404(
        _requirements(caller, channel), requirement_id, "requirement"
    )
    require_on(visible(Channel.objects, caller, "administer"), channel, "administer", "channel")
    try:
        actions.do_remove_requirement(requirement, acting_user=caller.user)
    except actions.NotAllowed as exc:
        raise _not_allowed(exc) from None
    return Status(204, None)


# --- Who is missing what -------------------------------------------------------------------------


class MissingOut(Schema):
    channel: ChannelRef
    requirement_id: int
    guideline: GuidelineRef | None
    course: CourseRef | None
    person: PersonRef
    held_back: list[str] = Field(description="What waits: publish, engage.")
    why: Literal["not_acknowledged", "old_version", "no_training", "expired"]
    acknowledged_version: int | None = Field(
        description="old_version: the newest version they acknowledged."
    )
    expired_at: datetime | None


class MissingQuery(PageQuery):
    person: ObjectId | None = Field(None, description="Only this person.")
    channel: ObjectId | None = Field(None, description="Only this channel.")


@router.get(
    "/compliance/missing",
    response={200: Page[MissingOut], **errors(401, 403, 422)},
    summary="Who is missing which acknowledgement or training",
    description="For each channel requirement, the people whose publish or engage permission "
    "waits for it, and why. Owners, admins and auditors see every channel; channel "
    "administrators the channels they administer.",
)
def missing_report(request: HttpRequest, query: Query[MissingQuery]) -> dict[str, Any]:
    caller = caller_of(request)
    channels = None
    if not _reads_reports(caller):
        channels = list(visible(Channel.objects, caller, "administer"))
        if not channels:
            raise HttpError(
                403,
                "The missing report is for owners, admins, auditors and channel administrators.",
            )
    if query.channel is not None:
        wanted = visible(Channel.objects, caller, "view").filter(pk=query.channel)
        if channels is not None:
            wanted = wanted.filter(pk__in=[c.pk for c in channels])
        channels = list(wanted)
    rows = reports.missing(
        caller.organization,
        channels=channels,
        people=[query.person] if query.person is not None else None,
    )
    page = rows[query.offset : query.offset + query.limit]
    return {
        "items": [
            {
                "channel": r.channel,
                "requirement_id": r.requirement.pk,
                "guideline": r.requirement.guideline,
                "course": r.requirement.course,
                "person": r.person,
                "held_back": list(r.perms),
                "why": r.why,
                "acknowledged_version": r.acknowledged_number,
                "expired_at": r.expired_at,
            }
            for r in page
        ],
        "total": len(rows),
        "limit": query.limit,
        "offset": query.offset,
    }


# --- Access reviews ------------------------------------------------------------------------------


class AccessReviewOut(Schema):
    id: int
    name: str
    status: ReviewStatus
    started_at: datetime
    started_by: str = Field(description="Who started it; empty: the quarterly schedule.")
    deadline: datetime
    closed_at: datetime | None
    items: int
    waiting: int = Field(description="Items still waiting for a decision.")
    revoked: int = Field(description="Items revoked, by a reviewer or at the deadline.")
    waiting_for_you: int = Field(description="Items waiting for your decision.")


class AccessReviewIn(Schema):
    name: Text200 = Field("", description="Empty: “Access review of <date>”.")
    deadline: UtcDatetime = Field(
        description="Items nobody decided by then are revoked. In the future."
    )


class ReviewItemOut(Schema):
    id: int
    person: PersonRef | None = Field(description="Null if the person's account is gone.")
    person_name: str
    kind: ItemKind = Field(description="membership (a role) or grant (a channel permission).")
    access: str = Field(description="The access in words, as it was when the review started.")
    role: str
    brands: list[str] = Field(description="The role's brands; empty: every brand.")
    channel_id: int | None
    channel_name: str
    permission: str
    reviewer: PersonRef | None
    decision: ItemDecision
    decided_by: str
    decided_at: datetime | None
    note: str
    may_decide: bool = Field(description="Whether you may certify or revoke it now.")


class DecisionIn(Schema):
    decision: Literal["certify", "revoke"]
    note: Note = ""


class ItemQuery(PageQuery):
    decision: ItemDecision | None = None
    mine: bool = Field(False, description="Only items assigned to you.")


class ReviewReportOut(Schema):
    review: AccessReviewOut
    counts: dict[str, int] = Field(description="Items per decision.")
    items: list[ReviewItemOut]
    total: int
    limit: int
    offset: int


class RemindedOut(Schema):
    reminded: list[PersonRef] = Field(
        description="Reviewers e-mailed now; each is reminded once per campaign."
    )


def _campaigns(caller: Caller) -> Any:
    """Owners, admins and auditors see every campaign; anyone else those with items assigned
    to them."""
    user = caller.user
    campaigns = visible(AccessReview.objects, caller, "view_org").select_related("started_by")
    if not _reads_reports(caller):
        campaigns = campaigns.filter(
            pk__in=AccessReviewItem.objects.filter(reviewer=user).values("review_id")
        )
    return campaigns.annotate(
        items_total=Count("items"),
        items_waiting=Count("items", filter=Q(items__decision=ItemDecision.PENDING)),
        items_revoked=Count(
            "items", filter=Q(items__decision__in=[ItemDecision.REVOKED, ItemDecision.EXPIRED])
        ),
        items_mine=Count(
            "items", filter=Q(items__reviewer=user, items__decision=ItemDecision.PENDING)
        ),
    )


def _campaign_out(review: Any) -> dict[str, Any]:
    return {
        "id": review.pk,
        "name": review.name,
        "status": review.status,
        "started_at": review.started_at,
        "started_by": review.started_by.name if review.started_by else "",
        "deadline": review.deadline,
        "closed_at": review.closed_at,
        "items": review.items_total,
        "waiting": review.items_waiting,
        "revoked": review.items_revoked,
        "waiting_for_you": review.items_mine,
    }


def _campaign(caller: Caller, review_id: int) -> Any:
    return get_or_404(_campaigns(caller), review_id, "access review")


def _item_out(caller: Caller, item: AccessReviewItem, review: Any) -> dict[str, Any]:
    return {
        "id": item.pk,
        "person": item.person,
        "person_name": item.person_name,
        "kind": item.kind,
        "access": item.access_label(),
        "role": item.role,
        "brands": item.brand_names,
        "channel_id": item.channel_id,
        "channel_name": item.channel_name,
        "permission": item.permission,
        "reviewer": item.reviewer,
        "decision": item.decision,
        "decided_by": item.decided_by_name,
        "decided_at": item.decided_at,
        "note": item.note,
        "may_decide": item.decision == ItemDecision.PENDING
        and review.status == ReviewStatus.OPEN
        and actions.may_decide(caller.user, item),
    }


def _items(caller: Caller, review: Any) -> Any:
    return (
        visible(AccessReviewItem.objects, caller, "view_org")
        .filter(review_id=review.pk)
        .select_related("person", "reviewer", "review")
        .order_by("person_name", "kind", "channel_name", "pk")
    )


@router.get(
    "/compliance/access-reviews",
    response={200: Page[AccessReviewOut], **errors(401, 422)},
    summary="List access review campaigns",
    description="Newest first. Owners, admins and auditors see every campaign; reviewers the "
    "campaigns with items for them.",
)
def list_access_reviews(request: HttpRequest, query: Query[PageQuery]) -> dict[str, Any]:
    caller = caller_of(request)
    found = _campaigns(caller).order_by("-started_at", "-pk")
    return {
        "items": [_campaign_out(r) for r in found[query.offset : query.offset + query.limit]],
        "total": found.count(),
        "limit": query.limit,
        "offset": query.offset,
    }


@router.post(
    "/compliance/access-reviews",
    response={201: AccessReviewOut, **errors(400, 401, 403, 422)},
    summary="Start an access review now",
    description="Every active role and channel permission of the organisation, as it is now, "
    "goes to its reviewer, who is e-mailed. Needs manage_members.",
)
def start_access_review(request: HttpRequest, body: AccessReviewIn) -> Status[dict[str, Any]]:
    caller = caller_of(request)
    require(caller, "manage_members")
    try:
        review = actions.do_start_access_review(
            caller.organization, name=body.name, deadline=body.deadline, acting_user=caller.user
        )
    except actions.NotAllowed as exc:
        raise _not_allowed(exc) from None
    return Status(201, _campaign_out(_campaign(caller, review.pk)))


@router.get(
    "/compliance/access-reviews/{review_id}",
    response={200: AccessReviewOut, **errors(401, 404)},
    summary="Get an access review campaign",
)
def get_access_review(request: HttpRequest, review_id: ObjectId) -> dict[str, Any]:
    return _campaign_out(_campaign(caller_of(request), review_id))


@router.get(
    "/compliance/access-reviews/{review_id}/items",
    response={200: Page[ReviewItemOut], **errors(401, 404, 422)},
    summary="List the items of an access review",
    description="Owners, admins and auditors see every item; reviewers the items assigned to "
    "them. `may_decide` says which you may certify or revoke.",
)
def list_review_items(
    request: HttpRequest, review_id: ObjectId, query: Query[ItemQuery]
) -> dict[str, Any]:
    caller = caller_of(request)
    review = _campaign(caller, review_id)
    items = _items(caller, review)
    if query.mine or not _reads_reports(caller):
        items = items.filter(reviewer=caller.user)
    if query.decision is not None:
        items = items.filter(decision=query.decision)
    page = items[query.offset : query.offset + query.limit]
    return {
        "items": [_item_out(caller, i, review) for i in page],
        "total": items.count(),
        "limit": query.limit,
        "offset": query.offset,
    }


@router.post(
    "/compliance/access-reviews/{review_id}/items/{item_id}/decision",
    response={200: ReviewItemOut, **errors(400, 401, 403, 404, 422)},
    summary="Certify or revoke an item",
    description="`certify` keeps the access; `revoke` takes it away now. The item's reviewer, "
    "or an owner or admin, decides; nobody decides an item of their own access (403).",
)
def decide_review_item(
    request: HttpRequest, review_id: ObjectId, item_id: ObjectId, body: DecisionIn
) -> dict[str, Any]:
    caller = caller_of(request)
    review = _campaign(caller, review_id)
    item: AccessReviewItem = get_or_404(_items(caller, review), item_id, "review item")
    # Someone who may not decide this item learns no more than a 404 tells.
    if item.person_id != caller.user.pk and not actions.may_decide(caller.user, item):
        raise Http404(f"No review item with id {item_id} in this organisation.")
    try:
        decided = actions.do_decide_review_item(
            item, certify=body.decision == "certify", note=body.note, acting_user=caller.user
        )
    except actions.NotAllowed as exc:
        raise _not_allowed(exc) from None
    fresh: AccessReviewItem = _items(caller, review).get(pk=decided.pk)
    return _item_out(caller, fresh, _campaign(caller, review_id))


@router.post(
    "/compliance/access-reviews/{review_id}/remind",
    response={200: RemindedOut, **errors(400, 401, 403, 404)},
    summary="Remind reviewers with items waiting",
    description="Each reviewer is e-mailed once per campaign. Needs manage_members.",
)
def remind_reviewers(request: HttpRequest, review_id: ObjectId) -> dict[str, Any]:
    caller = caller_of(request)
    review: AccessReview = _campaign(caller, review_id)
    require(caller, "manage_members")
    try:
        reminded = actions.do_remind_reviewers(review, acting_user=caller.user)
    except actions.NotAllowed as exc:
        raise _not_allowed(exc) from None
    people = {p.pk: p for p in User.objects.filter(pk__in=reminded)}
    return {"reminded": [people[pk] for pk in reminded if pk in people]}


@router.get(
    "/compliance/access-reviews/{review_id}/report",
    response={200: ReviewReportOut, **errors(401, 403, 404, 422)},
    summary="The report of an access review",
    description="Every item with its decision, who decided and when (the data of the report "
    "page's CSV export), with counts per decision. Needs manage_members or view_audit.",
)
def access_review_report(
    request: HttpRequest, review_id: ObjectId, query: Query[PageQuery]
) -> dict[str, Any]:
    caller = caller_of(request)
    review = _campaign(caller, review_id)
    _require_reports(caller, "The access review report")
    items = _items(caller, review)
    counts = dict(
        AccessReviewItem.objects.filter(review_id=review.pk)
        .values_list("decision")
        .annotate(n=Count("pk"))
        .values_list("decision", "n")
    )
    return {
        "review": _campaign_out(review),
        "counts": {value: counts.get(value, 0) for value in ItemDecision.values},
        "items": [
            _item_out(caller, i, review) for i in items[query.offset : query.offset + query.limit]
        ],
        "total": items.count(),
        "limit": query.limit,
        "offset": query.offset,
    }
