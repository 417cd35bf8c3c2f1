"""A LinkedIn page's inbox end to end: a poll lands a comment on the page's post and a reply
under it, a signed webhook delivers a mention; the inbox reads them into conversations; the
agent's answers and a delete go out through the tasks as LinkedIn expects them. Bodies follow
LinkedIn's documentation (learn.microsoft.com, Community Management):

- Comments API (socialActions/{urn}/comments with commentsSummary; comments on comments at
  socialActions/{commentUrn}/comments with parentComment; create with actor, object, message
  and parentComment, 201 with the comment; delete with ?actor=):
  .../community-management/shares/comments-api
- Organization social action notifications (action SHARE_MENTION, decoratedSourcePost):
  .../community-management/organizations/organization-social-action-notifications
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import httpx
import respx
from django.test import Client

from greenroom.conftest import World
from greenroom.core.models import Channel, ChannelStatus
from greenroom.inbox import actions, tasks
from greenroom.inbox.models import Conversation, DeliveryStatus, Direction, Message
from greenroom.networks.connections.actions import do_record_connection
from greenroom.networks.connections.polling import poll_channel
from greenroom.networks.linkedin.tests.conftest import PAGE, A
from greenroom.networks.linkedin.tests.test_webhooks_connect import signed

SHARE = "urn:li:share:6844785523593134080"
ACTIVITY = "urn:li:activity:6844785523593134080"
COMMENT = f"urn:li:comment:({ACTIVITY},6850021406018162688)"
NESTED = f"urn:li:comment:({ACTIVITY},6850021406018162777)"
MENTION = "urn:li:share:6771114424733790208"
ENC_COMMENT = (
    "urn%3Ali%3Acomment%3A%28urn%3Ali%3Aactivity%3A6844785523593134080%2C6850021406018162688%29"
)

COMMENTS = {
    "paging": {"start": 0, "count": 10, "total": 1, "links": []},
    "elements": [
        {
            "actor": "urn:li:person:jYlN3Fw6HS",
            "commentUrn": COMMENT,
            "commentsSummary": {"selectedComments": [], "totalFirstLevelComments": 1},
            "created": {"actor": "urn:li:person:jYlN3Fw6HS", "time": 1763632800000},
            "id": "6850021406018162688",
            "lastModified": {"actor": "urn:li:person:jYlN3Fw6HS", "time": 1763632800000},
            "message": {"attributes": [], "text": "Is the oat latte vegan?"},
            "object": ACTIVITY,
            "$URN": COMMENT,
        }
    ],
}
NESTED_COMMENTS = {
    "paging": {"start": 0, "count": 10, "total": 1, "links": []},
    "elements": [
        {
            "actor": "urn:li:person:Q2ddf3Xk1",
            "commentUrn": NESTED,
            "created": {"actor": "urn:li:person:Q2ddf3Xk1", "time": 1763633100000},
            "id": "6850021406018162777",
            "message": {"attributes": [], "text": "And the almond one?"},
            "object": ACTIVITY,
            "parentComment": COMMENT,
            "$URN": NESTED,
        }
    ],
}
MENTION_NOTIFICATION = {
    "type": "ORGANIZATION_SOCIAL_ACTION_NOTIFICATIONS",
    "notifications": [
        {
            "lastModifiedAt": 1763634000000,
            "subscriber": "urn:li:person:Az8sUlNWHx",
            "sourcePost": MENTION,
            "decoratedSourcePost": {
                "owner": "urn:li:person:5aMN8z7d7P",
                "entity": MENTION,
                "text": "Great morning at Acme Coffee",
            },
            "organizationalEntity": PAGE,
            "action": "SHARE_MENTION",
            "notificationId": 1232500,
        }
    ],
}


def created_comment(urn: str, text: str, parent: str | None = None) -> httpx.Response:
    body: dict[str, Any] = {
        "actor": PAGE,
        "commentUrn": urn,
        "id": urn.rstrip(")").rsplit(",", 1)[-1],
        "message": {"text": text},
        "object": ACTIVITY,
    }
    if parent:
        body["parentComment"] = parent
    return httpx.Response(201, json=body)


def test_comments_and_mentions_reach_the_inbox_and_are_answered_and_deleted(
    page: Channel, world: World, django_capture_on_commit_callbacks: Any
) -> None:
    do_record_connection(page, service_url="", account_id=PAGE, acting_user=world.alice)
    with respx.mock(assert_all_called=True) as router:
        router.get(f"{A}/posts").mock(
            return_value=httpx.Response(
                200, json={"elements": [{"id": SHARE, "author": PAGE, "commentary": "New roast"}]}
            )
        )
        router.get(f"{A}/socialActions/urn%3Ali%3Ashare%3A6844785523593134080/comments").mock(
            return_value=httpx.Response(200, json=COMMENTS)
        )
        router.get(f"{A}/socialActions/{ENC_COMMENT}/comments").mock(
            return_value=httpx.Response(200, json=NESTED_COMMENTS)
        )
        polled = poll_channel(page)
    assert polled is not None and (polled.created, polled.error) == (2, "")
    body = json.dumps(MENTION_NOTIFICATION).encode()
    response = Client().post(
        f"/hooks/linkedin/{world.acme.pk}/",
        body,
        content_type="application/json",
        HTTP_X_LI_SIGNATURE=signed(body),
    )
    assert response.json()["stored"] == 1

    report = actions.do_process_inbound()
    assert (report.unreadable, report.messages, report.conversations) == (0, 3, 2)

    thread = Conversation.objects.get(channel=page, kind="comment")
    assert thread.post_external_id == SHARE
    inbound = list(thread.messages.filter(direction=Direction.INBOUND).order_by("sent_at"))
    assert [(m.external_id, m.author_handle, m.in_reply_to, m.text) for m in inbound] == [
        (COMMENT, "urn:li:person:jYlN3Fw6HS", SHARE, "Is the oat latte vegan?"),
        (NESTED, "urn:li:person:Q2ddf3Xk1", COMMENT, "And the almond one?"),
    ]
    assert inbound[0].sent_at == datetime(2025, 11, 20, 10, 0, tzinfo=UTC)

    mention = Conversation.objects.get(channel=page, kind="mention")
    said = mention.messages.get(direction=Direction.INBOUND)
    assert (said.external_id, said.author_handle, said.text) == (
        MENTION,
        "urn:li:person:5aMN8z7d7P",
        "Great morning at Acme Coffee",
    )
    assert said.sent_at == datetime(2025, 11, 20, 10, 20, tzinfo=UTC)

    with django_capture_on_commit_callbacks(execute=False):
        answer = actions.do_reply(thread, "Both are!", acting_user=world.alice)
        thanks = actions.do_reply(mention, "Thanks for coming!", acting_user=world.alice)
    answered = f"urn:li:comment:({ACTIVITY},6850021406018162800)"
    on_mention = "urn:li:comment:(urn:li:activity:6771114424733790209,6771117224138924099)"
    with respx.mock(assert_all_called=True) as router:
        # LinkedIn nests one level: the answer to the reply goes under the top-level comment.
        nested_answer = router.post(f"{A}/socialActions/{ENC_COMMENT}/comments").mock(
            return_value=created_comment(answered, "Both are!", parent=COMMENT)
        )
        mention_answer = router.post(
            f"{A}/socialActions/urn%3Ali%3Ashare%3A6771114424733790208/comments"
        ).mock(return_value=created_comment(on_mention, "Thanks for coming!"))
        assert tasks.send_reply(answer.pk) == "sent"
        assert tasks.send_reply(thanks.pk) == "sent"
    assert json.loads(nested_answer.calls[0].request.content) == {
        "actor": PAGE,
        "object": ACTIVITY,
        "message": {"text": "Both are!"},
        "parentComment": COMMENT,
    }
    assert json.loads(mention_answer.calls[0].request.content) == {
        "actor": PAGE,
        "object": MENTION,
        "message": {"text": "Thanks for coming!"},
    }
    answer.refresh_from_db()
    thanks.refresh_from_db()
    assert (answer.status, answer.external_id) == (DeliveryStatus.SENT, answered)
    assert (thanks.status, thanks.external_id) == (DeliveryStatus.SENT, on_mention)

    nested = Message.objects.get(channel=page, external_id=NESTED)
    with django_capture_on_commit_callbacks(execute=False):
        actions.do_delete_message(nested, acting_user=world.alice)
        actions.do_hide_message(nested, acting_user=world.alice)
    with respx.mock(assert_all_called=True) as router:
        delete = router.delete(
            f"{A}/socialActions/urn%3Ali%3Aactivity%3A6844785523593134080/comments/6850021406018162777"
        ).mock(return_value=httpx.Response(204))
        assert tasks.delete_message(nested.pk) == "deleted"
    assert delete.calls[0].request.url.params["actor"] == PAGE
    # LinkedIn has no hiding: the refusal is recorded and the comment stays as it is.
    assert tasks.hide_message(nested.pk) == "failed"
    nested.refresh_from_db()
    assert nested.hidden_at is None and "Delete the comment" in nested.error


# Comments with images and comments by organisations. A comment's `content` lists its media
# (Comments API: `type`, the media `entity` URN and its `url`); an organisation's name comes
# from Organization Lookup's batch get on organisations the member does not administer
# (GET organizations?ids=List(...): results by id with localizedName, statuses, errors).
SECOND_SHARE = "urn:li:share:6844785523593139999"
SECOND_ACTIVITY = "urn:li:activity:6844785523593139999"
ROASTERS = "urn:li:organization:35625943"
MILLS = "urn:li:organization:89758488"
PHOTO = "https://media.licdn.com/dms/image/v2/D5622AQF0cracked/feedshare-shrink_800/0/1763640000000"


def comment_by(
    actor: str, activity: str, comment_id: str, text: str, minute: int, **extra: Any
) -> dict[str, Any]:
    urn = f"urn:li:comment:({activity},{comment_id})"
    return {
        "actor": actor,
        "commentUrn": urn,
        "created": {"actor": actor, "time": 1763640000000 + minute * 60_000},
        "id": comment_id,
        "message": {"attributes": [], "text": text},
        "object": activity,
        "$URN": urn,
        **extra,
    }


FIRST_POST_COMMENTS = {
    "paging": {"start": 0, "count": 10, "total": 2, "links": []},
    "elements": [
        comment_by(
            "urn:li:person:jYlN3Fw6HS",
            ACTIVITY,
            "6850021406018170001",
            "My lid arrived like this",
            1,
            content=[
                {
                    "entity": {"image": "urn:li:image:D5622AQF0cracked"},
                    "type": "IMAGE",
                    "url": PHOTO,
                },
                # A payload is hostile: only http(s) addresses become links.
                {"entity": {"image": "urn:li:image:x"}, "type": "IMAGE", "url": "javascript:x"},
            ],
        ),
        comment_by(ROASTERS, ACTIVITY, "6850021406018170002", "Lovely roast, neighbours!", 2),
    ],
}
SECOND_POST_COMMENTS = {
    "paging": {"start": 0, "count": 10, "total": 2, "links": []},
    "elements": [
        comment_by(ROASTERS, SECOND_ACTIVITY, "6850021406018170003", "Again, lovely.", 3),
        comment_by(MILLS, SECOND_ACTIVITY, "6850021406018170004", "Our oats inside!", 4),
    ],
}
ORGANIZATIONS = {
    "results": {
        "35625943": {
            "name": {
                "localized": {"en_US": "Harbour Roasters"},
                "preferredLocale": {"country": "US", "language": "en"},
            },
            "primaryOrganizationType": "NONE",
            "vanityName": "harbour-roasters",
            "localizedName": "Harbour Roasters",
            "id": 35625943,
        },
        "89758488": {
            "name": {
                "localized": {"en_US": "Northfield Oat Mills"},
                "preferredLocale": {"country": "US", "language": "en"},
            },
            "primaryOrganizationType": "NONE",
            "vanityName": "northfield-oat-mills",
            "localizedName": "Northfield Oat Mills",
            "id": 89758488,
        },
    },
    "statuses": {"35625943": 200, "89758488": 200},
    "errors": {},
}


def poll_two_posts(page: Channel, organizations: httpx.Response) -> respx.Route:
    with respx.mock(assert_all_called=True) as router:
        router.get(f"{A}/posts").mock(
            return_value=httpx.Response(
                200,
                json={
                    "elements": [
                        {"id": SHARE, "author": PAGE, "commentary": "New roast"},
                        {"id": SECOND_SHARE, "author": PAGE, "commentary": "Oat latte"},
                    ]
                },
            )
        )
        router.get(f"{A}/socialActions/urn%3Ali%3Ashare%3A6844785523593134080/comments").mock(
            return_value=httpx.Response(200, json=FIRST_POST_COMMENTS)
        )
        router.get(f"{A}/socialActions/urn%3Ali%3Ashare%3A6844785523593139999/comments").mock(
            return_value=httpx.Response(200, json=SECOND_POST_COMMENTS)
        )
        lookup = router.get(f"{A}/organizations").mock(return_value=organizations)
        polled = poll_channel(page)
    assert polled is not None and (polled.created, polled.error) == (4, "")
    return lookup


def inbound_by_text(page: Channel) -> dict[str, Message]:
    return {m.text: m for m in Message.objects.filter(channel=page, direction=Direction.INBOUND)}


def test_comment_images_and_organisation_names_reach_the_inbox(page: Channel, world: World) -> None:
    do_record_connection(page, service_url="", account_id=PAGE, acting_user=world.alice)
    lookup = poll_two_posts(page, httpx.Response(200, json=ORGANIZATIONS))
    # One lookup for the poll, each organisation once, though Harbour Roasters wrote twice.
    assert lookup.call_count == 1
    assert lookup.calls[0].request.url.params["ids"] == "List(35625943,89758488)"

    report = actions.do_process_inbound()
    assert (report.unreadable, report.messages) == (0, 4)
    said = inbound_by_text(page)
    photo = said["My lid arrived like this"]
    assert photo.attachment_links == [{"type": "image", "url": PHOTO, "alt": ""}]
    # The person keeps their URN: LinkedIn gives a page's app no member names.
    assert (photo.author_handle, photo.author_name) == ("urn:li:person:jYlN3Fw6HS", "")
    assert [
        (said[text].author_handle, said[text].author_name)
        for text in ("Lovely roast, neighbours!", "Again, lovely.", "Our oats inside!")
    ] == [
        (ROASTERS, "Harbour Roasters"),
        (ROASTERS, "Harbour Roasters"),
        (MILLS, "Northfield Oat Mills"),
    ]


def test_a_failed_name_lookup_keeps_the_urns_and_loses_no_comment(
    page: Channel, world: World
) -> None:
    do_record_connection(page, service_url="", account_id=PAGE, acting_user=world.alice)
    lookup = poll_two_posts(
        page,
        httpx.Response(403, json={"status": 403, "message": "Not enough permissions"}),
    )
    assert lookup.call_count == 1
    report = actions.do_process_inbound()
    assert (report.unreadable, report.messages) == (0, 4)
    said = inbound_by_text(page)
    assert sorted((m.author_handle, m.author_name) for m in said.values()) == [
        (ROASTERS, ""),
        (ROASTERS, ""),
        (MILLS, ""),
        ("urn:li:person:jYlN3Fw6HS", ""),
    ]
    assert said["My lid arrived like this"].attachment_links == [
        {"type": "image", "url": PHOTO, "alt": ""}
    ]
    # A refused lookup is not a refused connection: the channel stays active.
    page.refresh_from_db()
    assert page.status == ChannelStatus.ACTIVE
