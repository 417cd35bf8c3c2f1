"""LinkedIn pages, against request and response pairs from LinkedIn's documentation on
learn.microsoft.com (Marketing API, Community Management):

- Posts API (POST /rest/posts, 201 with x-restli-id; content.media, content.multiImage; find posts
  by author with X-RestLi-Method: FINDER): .../community-management/shares/posts-api
- Images API (initializeUpload {"value": {"uploadUrl", "image"}}, then PUT the file):
  .../community-management/shares/images-api
- Videos API (initializeUpload with uploadInstructions firstByte/lastByte, PUT each part and keep
  its ETag, finalizeUpload with uploadedPartIds, GET status PROCESSING / AVAILABLE /
  PROCESSING_FAILED): .../community-management/shares/videos-api
- Multi-image posts (2 to 20 images): .../community-management/shares/multiimage-post-api
- Little text format (reserved characters, hashtag template):
  .../community-management/shares/little-text-format
- Comments API (socialActions/{urn}/comments, nested comments with parentComment, delete with
  ?actor=; create a comment on a share with actor, object (the same URN) and message.text, 201
  with the comment and its commentUrn): .../community-management/shares/comments-api
- Organization share statistics (shares=List(...), totalShareStatistics):
  .../community-management/organizations/share-statistics
- Error handling (65601 revoked token) and rate limits (429, reset at midnight UTC):
  https://learn.microsoft.com/en-us/linkedin/shared/api-guide/concepts/error-handling,
  https://learn.microsoft.com/en-us/linkedin/shared/api-guide/concepts/rate-limits
- DUPLICATE_POST's answer as LinkedIn sends it ("Content is a duplicate of urn:li:share:...").
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any
from urllib.parse import parse_qs

import httpx
import pytest
import respx
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.utils import timezone

from greenroom.core.models import Channel, ChannelStatus
from greenroom.networks.base import (
    ConnectorError,
    InboundItem,
    MediaItem,
    OutcomeUnknown,
    OutgoingPost,
    PublishedRef,
)
from greenroom.networks.linkedin import connector as linkedin
from greenroom.networks.linkedin import errors as linkedin_errors
from greenroom.networks.linkedin.commentary import from_little_text, to_little_text
from greenroom.networks.linkedin.tests.conftest import CLIENT_SECRET, PAGE, REFRESH, TOKEN, A

SHARE = "urn:li:share:6844785523593134080"
IMAGE_URN = "urn:li:image:C4E10AQFoyyAjHPMQuQ"
IMAGE_UPLOAD = (
    "https://www.linkedin.com/dms-uploads/C4E10AQFoyyAjHPMQuQ/uploaded-image/0"
    "?ca=vector_ads&cn=uploads&sync=0&v=beta&ut=2H-IhpbfXrRow1"
)
VIDEO_URN = "urn:li:video:C5505AQH-oV1qvnFtKA"
ACTIVITY = "urn:li:activity:6844785523593134080"
COMMENT = f"urn:li:comment:({ACTIVITY},6850021406018162688)"
VIDEO_UPLOAD = "https://www.linkedin.com/dms-uploads/C5505AQH-oV1qvnFtKA/uploadedVideo"


def created(urn: str = SHARE) -> httpx.Response:
    return httpx.Response(201, headers={"x-restli-id": urn})


def ok(data: dict[str, Any]) -> httpx.Response:
    return httpx.Response(200, json=data)


def sent_json(route: respx.Route, index: int = 0) -> Any:
    return json.loads(route.calls[index].request.content)


def test_a_text_post_goes_out_as_the_page_in_little_text(page: Channel) -> None:
    with respx.mock(assert_all_called=True) as router:
        posts = router.post(f"{A}/posts").mock(return_value=created())
        ref = linkedin.LinkedInConnector(page).publish(
            OutgoingPost(text="Oat latte (new) is back #coffee", idempotency_key="k1")
        )
    assert ref.external_id == SHARE
    assert ref.url == f"https://www.linkedin.com/feed/update/{SHARE}/"
    request = posts.calls[0].request
    assert request.headers["Authorization"] == f"Bearer {TOKEN}"
    assert request.headers["LinkedIn-Version"] == "202610"
    assert request.headers["X-Restli-Protocol-Version"] == "2.0.0"
    assert sent_json(posts) == {
        "author": PAGE,
        "commentary": "Oat latte \\(new\\) is back {hashtag|\\#|coffee}",
        "visibility": "PUBLIC",
        "distribution": {
            "feedDistribution": "MAIN_FEED",
            "targetEntities": [],
            "thirdPartyDistributionChannels": [],
        },
        "lifecycleState": "PUBLISHED",
        "isReshareDisabledByAuthor": False,
    }


def test_little_text_escapes_every_reserved_character_and_reads_back() -> None:
    text = "Q&A @ 3pm [live] <free> *coffee* _today_ ~ {x} | a\\b #Latte2 #오늘"
    little = to_little_text(text)
    assert little == (
        "Q&A \\@ 3pm \\[live\\] \\<free\\> \\*coffee\\* \\_today\\_ \\~ \\{x\\} \\| a\\\\b "
        "{hashtag|\\#|Latte2} {hashtag|\\#|오늘}"
    )
    assert from_little_text(little) == text


def test_images_are_uploaded_then_attached_with_alt_text(page: Channel) -> None:
    default_storage.save("p/latte.jpg", ContentFile(b"\xff\xd8latte"))
    default_storage.save("p/mocha.jpg", ContentFile(b"\xff\xd8mocha"))
    one = MediaItem("p/latte.jpg", "image/jpeg", alt_text="A latte")
    two = MediaItem("p/mocha.jpg", "image/jpeg")
    with respx.mock(assert_all_called=True) as router:
        init = router.post(f"{A}/images").mock(
            side_effect=[
                ok(
                    {
                        "value": {
                            "uploadUrlExpiresAt": 1650567510704,
                            "uploadUrl": IMAGE_UPLOAD,
                            "image": IMAGE_URN,
                        }
                    }
                ),
                ok(
                    {
                        "value": {
                            "uploadUrlExpiresAt": 1650567510704,
                            "uploadUrl": IMAGE_UPLOAD,
                            "image": "urn:li:image:C4E10AQFoyyAjHPMQu2",
                        }
                    }
                ),
            ]
        )
        put = router.put(IMAGE_UPLOAD).mock(return_value=httpx.Response(201))
        posts = router.post(f"{A}/posts").mock(return_value=created())
        linkedin.LinkedInConnector(page).publish(
            OutgoingPost(text="Two cups", idempotency_key="k2", media=[one, two])
        )
    assert init.calls[0].request.url.params["action"] == "initializeUpload"
    assert sent_json(init) == {"initializeUploadRequest": {"owner": PAGE}}
    assert [c.request.content for c in put.calls] == [b"\xff\xd8latte", b"\xff\xd8mocha"]
    assert put.calls[0].request.headers["Authorization"] == f"Bearer {TOKEN}"
    assert sent_json(posts)["content"] == {
        "multiImage": {
            "images": [
                {"id": IMAGE_URN, "altText": "A latte"},
                {"id": "urn:li:image:C4E10AQFoyyAjHPMQu2"},
            ]
        }
    }


def test_a_video_is_uploaded_in_parts_finalized_with_etags_and_waited_for(
    page: Channel,
) -> None:
    default_storage.save("v/pour.mp4", ContentFile(b"0123456789"))
    with respx.mock(assert_all_called=True) as router:
        init = router.post(f"{A}/videos", params={"action": "initializeUpload"}).mock(
            return_value=ok(
                {
                    "value": {
                        "uploadUrlsExpireAt": 1649286000000,
                        "video": VIDEO_URN,
                        "uploadInstructions": [
                            {"uploadUrl": f"{VIDEO_UPLOAD}?part=1", "lastByte": 5, "firstByte": 0},
                            {"uploadUrl": f"{VIDEO_UPLOAD}?part=2", "lastByte": 9, "firstByte": 6},
                        ],
                        "uploadToken": "",
                        "thumbnailUploadUrl": "",
                    }
                }
            )
        )
        parts = router.put(VIDEO_UPLOAD).mock(
            side_effect=[
                httpx.Response(200, headers={"ETag": "/ETag1"}),
                httpx.Response(200, headers={"ETag": "/ETag2"}),
            ]
        )
        finalize = router.post(f"{A}/videos", params={"action": "finalizeUpload"}).mock(
            return_value=httpx.Response(200)
        )
        status = router.get(f"{A}/videos/urn%3Ali%3Avideo%3AC5505AQH-oV1qvnFtKA").mock(
            side_effect=[
                ok({"id": VIDEO_URN, "owner": PAGE, "status": "PROCESSING"}),
                ok({"id": VIDEO_URN, "owner": PAGE, "status": "AVAILABLE", "duration": 9.7}),
            ]
        )
        posts = router.post(f"{A}/posts").mock(return_value=created("urn:li:ugcPost:7"))
        ref = linkedin.LinkedInConnector(page).publish(
            OutgoingPost(
                text="Pour-over",
                idempotency_key="k3",
                media=[MediaItem("v/pour.mp4", "video/mp4")],
                extra={"title": "How we pour"},
            )
        )
    assert ref.external_id == "urn:li:ugcPost:7"
    assert sent_json(init) == {
        "initializeUploadRequest": {
            "owner": PAGE,
            "fileSizeBytes": 10,
            "uploadCaptions": False,
            "uploadThumbnail": False,
        }
    }
    assert [c.request.content for c in parts.calls] == [b"012345", b"6789"]
    assert parts.calls[0].request.headers["Content-Type"] == "application/octet-stream"
    assert sent_json(finalize) == {
        "finalizeUploadRequest": {
            "video": VIDEO_URN,
            "uploadToken": "",
            "uploadedPartIds": ["/ETag1", "/ETag2"],
        }
    }
    assert status.call_count == 2
    assert sent_json(posts)["content"] == {"media": {"id": VIDEO_URN, "title": "How we pour"}}


def test_a_video_linkedin_cannot_process_fails_in_plain_words(page: Channel) -> None:
    default_storage.save("v/bad.mp4", ContentFile(b"xx"))
    with respx.mock() as router:
        router.post(f"{A}/videos", params={"action": "initializeUpload"}).mock(
            return_value=ok(
                {
                    "value": {
                        "video": VIDEO_URN,
                        "uploadInstructions": [
                            {"uploadUrl": VIDEO_UPLOAD, "firstByte": 0, "lastByte": 1}
                        ],
                        "uploadToken": "",
                    }
                }
            )
        )
        router.put(VIDEO_UPLOAD).mock(return_value=httpx.Response(200, headers={"ETag": "e"}))
        router.post(f"{A}/videos", params={"action": "finalizeUpload"}).mock(
            return_value=httpx.Response(200)
        )
        router.get(f"{A}/videos/urn%3Ali%3Avideo%3AC5505AQH-oV1qvnFtKA").mock(
            return_value=ok(
                {
                    "id": VIDEO_URN,
                    "status": "PROCESSING_FAILED",
                    "processingFailureReason": "The video is too short.",
                }
            )
        )
        with pytest.raises(ConnectorError) as caught:
            linkedin.LinkedInConnector(page).publish(
                OutgoingPost(
                    text="t", idempotency_key="k", media=[MediaItem("v/bad.mp4", "video/mp4")]
                )
            )
    assert caught.value.permanent
    assert "The video is too short." in caught.value.message
    assert "bad.mp4" in caught.value.message


def test_throttling_waits_until_linkedin_resets_at_midnight_utc(
    page: Channel, monkeypatch: Any
) -> None:
    monkeypatch.setattr(
        linkedin_errors,
        "timezone",
        SimpleNamespace(now=lambda: datetime(2026, 11, 27, 22, 0, tzinfo=UTC)),
    )
    with respx.mock() as router:
        router.post(f"{A}/posts").mock(
            return_value=httpx.Response(
                429,
                json={
                    "serviceErrorCode": 101,
                    "message": "Resource level throttle limit for calls to this resource is "
                    "reached.",
                    "status": 429,
                },
            )
        )
        with pytest.raises(ConnectorError) as caught:
            linkedin.LinkedInConnector(page).publish(OutgoingPost(text="t", idempotency_key="k"))
    assert not caught.value.permanent
    assert caught.value.retry_after == 2 * 3600
    assert "midnight UTC" in caught.value.message


def test_a_duplicate_is_refused_unless_our_own_earlier_attempt_made_it(page: Channel) -> None:
    duplicate = httpx.Response(
        422,
        json={
            "errorDetailType": "com.linkedin.common.error.BadRequest",
            "message": "com.linkedin.content.common.exception.BadRequestResponseException: "
            "Content is a duplicate of urn:li:share:7141138937766391808",
            "errorDetails": {
                "inputErrors": [
                    {
                        "description": "Duplicate post is detected",
                        "input": {},
                        "code": "DUPLICATE_POST",
                    }
                ]
            },
            "status": 422,
        },
    )
    connector = linkedin.LinkedInConnector(page)
    with respx.mock() as router:
        router.post(f"{A}/posts").mock(return_value=duplicate)
        with pytest.raises(ConnectorError) as caught:
            connector.publish(OutgoingPost(text="Same again", idempotency_key="fresh"))
        assert caught.value.code == "duplicate" and caught.value.permanent
        assert "identical" in caught.value.message

        router.post(f"{A}/posts").mock(side_effect=[httpx.ReadTimeout("slow"), duplicate])
        post = OutgoingPost(text="Launch day", idempotency_key="retried")
        with pytest.raises(ConnectorError):
            connector.publish(post)  # timed out: it may have gone out
        ref = connector.publish(post)  # LinkedIn says it did: that post is ours
    assert ref.external_id == "urn:li:share:7141138937766391808"


def test_an_unknown_outcome_is_found_among_the_pages_recent_posts(page: Channel) -> None:
    post = OutgoingPost(text="Grand opening (today) #coffee", idempotency_key="u1")
    connector = linkedin.LinkedInConnector(page)
    with respx.mock() as router:
        create = router.post(f"{A}/posts").mock(side_effect=httpx.ReadTimeout("slow"))
        with pytest.raises(ConnectorError):
            connector.publish(post)
        recent = router.get(f"{A}/posts").mock(
            return_value=ok(
                {
                    "paging": {"start": 0, "count": 20, "links": []},
                    "elements": [
                        {
                            "id": "urn:li:share:1",
                            "author": PAGE,
                            "commentary": "Something else",
                            "createdAt": 4102444800000,
                        },
                        {
                            "id": "urn:li:share:6844785523593134080",
                            "author": PAGE,
                            "commentary": "Grand opening \\(today\\) {hashtag|\\#|coffee}",
                            "visibility": "PUBLIC",
                            "lifecycleState": "PUBLISHED",
                            "createdAt": 4102444800000,
                            "publishedAt": 4102444800000,
                        },
                    ],
                }
            )
        )
        found = connector.find_published("u1")
        assert connector.find_published("never-sent") is None
    assert found is not None and found.external_id == SHARE
    request = recent.calls[0].request
    assert request.url.raw_path.decode() == (
        "/rest/posts?author=urn%3Ali%3Aorganization%3A2414183&q=author&count=20&sortBy=CREATED"
    )
    assert request.headers["X-RestLi-Method"] == "FINDER"
    assert create.call_count == 1


def test_a_refused_token_is_refreshed_once_then_the_post_goes_out(page: Channel) -> None:
    with respx.mock(assert_all_called=True) as router:
        posts = router.post(f"{A}/posts").mock(
            side_effect=[
                httpx.Response(
                    401,
                    json={
                        "status": 401,
                        "serviceErrorCode": 65602,
                        "code": "EXPIRED_ACCESS_TOKEN",
                        "message": "The token used in the request has expired",
                    },
                ),
                created(),
            ]
        )
        token = router.post("https://www.linkedin.com/oauth/v2/accessToken").mock(
            return_value=ok(
                {
                    "access_token": "AQUvlL_DYEzvT2wz1QJiEPeLioeA-new-token-value",
                    "expires_in": 5184000,
                    "refresh_token": "AQWAft_WjYZKwuWXLC5hQlghgTam-new-refresh",
                    "refresh_token_expires_in": 525600,
                    "scope": "r_organization_social,w_organization_social",
                }
            )
        )
        linkedin.LinkedInConnector(page).publish(OutgoingPost(text="t", idempotency_key="k"))
    form = parse_qs(token.calls[0].request.content.decode())
    assert form["grant_type"] == ["refresh_token"]
    assert form["refresh_token"] == [REFRESH]
    assert form["client_id"] == ["78abcdefgh12"]
    assert form["client_secret"] == [CLIENT_SECRET]
    assert posts.calls[1].request.headers["Authorization"] == (
        "Bearer AQUvlL_DYEzvT2wz1QJiEPeLioeA-new-token-value"
    )


def test_a_revoked_connection_flags_the_channel_without_leaking_secrets(
    page: Channel, caplog: Any
) -> None:
    caplog.set_level(logging.DEBUG)
    with respx.mock() as router:
        router.post(f"{A}/posts").mock(
            return_value=httpx.Response(
                401,
                json={
                    "status": 401,
                    "serviceErrorCode": 65601,
                    "code": "REVOKED_ACCESS_TOKEN",
                    "message": "The token used in the request has been revoked by the user",
                },
            )
        )
        router.post("https://www.linkedin.com/oauth/v2/accessToken").mock(
            return_value=httpx.Response(
                400,
                json={
                    "error": "invalid_request",
                    "error_description": "The provided authorization grant or refresh token is "
                    "invalid, expired or revoked.",
                },
            )
        )
        with pytest.raises(ConnectorError) as caught:
            linkedin.LinkedInConnector(page).publish(OutgoingPost(text="t", idempotency_key="k"))
    assert caught.value.permanent and caught.value.code == "reconnect_needed"
    assert "reconnect" in caught.value.message
    page.refresh_from_db()
    assert page.status == ChannelStatus.NEEDS_RECONNECT
    for secret in (TOKEN, REFRESH, CLIENT_SECRET):
        assert secret not in caplog.text
        assert secret not in caught.value.message


COMMENTS: dict[str, Any] = {
    "paging": {"start": 0, "count": 10, "total": 2, "links": []},
    "elements": [
        {
            "actor": "urn:li:person:jYlN3Fw6HS",
            "commentUrn": COMMENT,
            "created": {"actor": "urn:li:person:jYlN3Fw6HS", "time": 1632868400617},
            "id": "6850021406018162688",
            "lastModified": {"actor": "urn:li:person:jYlN3Fw6HS", "time": 1632868400617},
            "message": {"attributes": [], "text": "Is the oat latte vegan?"},
            "object": "urn:li:activity:6844785523593134080",
            "$URN": COMMENT,
        },
        {
            "actor": PAGE,
            "commentUrn": f"urn:li:comment:({ACTIVITY},6850021406018162699)",
            "created": {"actor": PAGE, "time": 1632868500617},
            "id": "6850021406018162699",
            "message": {"attributes": [], "text": "Our own answer"},
            "object": "urn:li:activity:6844785523593134080",
        },
        {
            "actor": "urn:li:person:old",
            "commentUrn": f"urn:li:comment:({ACTIVITY},1)",
            "created": {"actor": "urn:li:person:old", "time": 1500000000000},
            "id": "1",
            "message": {"text": "Seen already"},
            "object": "urn:li:activity:6844785523593134080",
        },
    ],
}


def test_comments_after_the_cursor_become_inbox_items(page: Channel) -> None:
    with respx.mock(assert_all_called=True) as router:
        router.get(f"{A}/posts").mock(
            return_value=ok({"elements": [{"id": SHARE, "author": PAGE, "commentary": "x"}]})
        )
        comments = router.get(
            f"{A}/socialActions/urn%3Ali%3Ashare%3A6844785523593134080/comments"
        ).mock(return_value=ok(COMMENTS))
        result = linkedin.LinkedInConnector(page).fetch_inbox("2021-01-01T00:00:00+00:00")
    assert comments.calls[0].request.url.params["count"] == "50"
    (item,) = result.items
    assert item.external_id == (COMMENT)
    assert item.kind == "comment"
    assert item.text == "Is the oat latte vegan?"
    assert item.author_handle == "urn:li:person:jYlN3Fw6HS"
    assert item.in_reply_to == SHARE
    assert result.cursor == item.created_at.isoformat()


def test_reply_delete_and_hide_on_a_comment_and_delete_a_post(page: Channel) -> None:
    comment = InboundItem(
        external_id=COMMENT,
        kind="comment",
        text="Is the oat latte vegan?",
        author_handle="urn:li:person:jYlN3Fw6HS",
        author_name="",
        created_at=timezone.now(),
        raw=COMMENTS["elements"][0],
    )
    encoded_comment = (
        "urn%3Ali%3Acomment%3A%28urn%3Ali%3Aactivity%3A6844785523593134080%2C6850021406018162688%29"
    )
    with respx.mock(assert_all_called=True) as router:
        answer = router.post(f"{A}/socialActions/{encoded_comment}/comments").mock(
            return_value=httpx.Response(
                201,
                json={
                    "actor": PAGE,
                    "commentUrn": f"urn:li:comment:({ACTIVITY},6850021406018162700)",
                    "id": "6850021406018162700",
                    "message": {"text": "Yes, it is!"},
                    "object": "urn:li:activity:6844785523593134080",
                    "parentComment": comment.external_id,
                },
            )
        )
        delete = router.delete(
            f"{A}/socialActions/urn%3Ali%3Aactivity%3A6844785523593134080/comments/6850021406018162688"
        ).mock(return_value=httpx.Response(204))
        remove_post = router.delete(f"{A}/posts/urn%3Ali%3Ashare%3A6844785523593134080").mock(
            return_value=httpx.Response(204)
        )
        connector = linkedin.LinkedInConnector(page)
        ref = connector.reply(comment, "Yes, it is!")
        connector.delete_comment(comment)
        connector.delete(SHARE)
        with pytest.raises(ConnectorError) as caught:
            connector.hide(comment)
    assert ref.external_id.endswith("6850021406018162700)")
    assert sent_json(answer) == {
        "actor": PAGE,
        "object": "urn:li:activity:6844785523593134080",
        "message": {"text": "Yes, it is!"},
        "parentComment": comment.external_id,
    }
    assert delete.calls[0].request.url.params["actor"] == PAGE
    assert remove_post.call_count == 1
    assert caught.value.permanent and "Delete the comment" in caught.value.message


def test_metrics_come_from_share_statistics_in_one_request(page: Channel) -> None:
    with respx.mock(assert_all_called=True) as router:
        stats = router.get(f"{A}/organizationalEntityShareStatistics").mock(
            return_value=ok(
                {
                    "paging": {"start": 0, "count": 10, "links": []},
                    "elements": [
                        {
                            "totalShareStatistics": {
                                "uniqueImpressionsCount": 120,
                                "shareCount": 3,
                                "engagement": 0.05,
                                "clickCount": 9,
                                "likeCount": 14,
                                "impressionCount": 150,
                                "commentCount": 2,
                            },
                            "share": SHARE,
                            "organizationalEntity": PAGE,
                        },
                        {
                            "totalShareStatistics": {
                                "uniqueImpressionsCount": 10,
                                "shareCount": 0,
                                "clickCount": 1,
                                "likeCount": 1,
                                "impressionCount": 12,
                                "commentCount": 0,
                            },
                            "ugcPost": "urn:li:ugcPost:7",
                            "organizationalEntity": PAGE,
                        },
                    ],
                }
            )
        )
        first, second = linkedin.LinkedInConnector(page).fetch_metrics([SHARE, "urn:li:ugcPost:7"])
    assert stats.calls[0].request.url.raw_path.decode() == (
        "/rest/organizationalEntityShareStatistics?q=organizationalEntity"
        "&organizationalEntity=urn%3Ali%3Aorganization%3A2414183"
        "&shares=List(urn%3Ali%3Ashare%3A6844785523593134080)"
        "&ugcPosts=List(urn%3Ali%3AugcPost%3A7)"
    )
    assert (first.external_id, first.likes, first.replies, first.reposts, first.impressions) == (
        SHARE,
        14,
        2,
        3,
        150,
    )
    assert first.extra == {"clicks": 9, "unique_impressions": 120}
    assert second.external_id == "urn:li:ugcPost:7" and second.impressions == 12


def test_a_first_comment_goes_under_the_pages_own_post_as_the_page_once(page: Channel) -> None:
    post = PublishedRef(SHARE, linkedin.post_url(SHARE))
    mine = f"urn:li:comment:({ACTIVITY},6850021406018162711)"
    with respx.mock(assert_all_called=True) as router:
        route = router.post(
            f"{A}/socialActions/urn%3Ali%3Ashare%3A6844785523593134080/comments"
        ).mock(
            return_value=httpx.Response(
                201,
                json={
                    "actor": PAGE,
                    "commentUrn": mine,
                    "created": {"actor": PAGE, "time": 1632868600617},
                    "id": "6850021406018162711",
                    "message": {"attributes": [], "text": "Menu: https://acme.example #coffee"},
                    "object": SHARE,
                },
            )
        )
        connector = linkedin.LinkedInConnector(page)
        ref = connector.comment_on_own_post(post, "Menu: https://acme.example #coffee", "v1:fc")
        again = connector.comment_on_own_post(post, "Menu: https://acme.example #coffee", "v1:fc")
    assert route.call_count == 1
    request = route.calls[0].request
    assert request.headers["Authorization"] == f"Bearer {TOKEN}"
    assert request.headers["LinkedIn-Version"] == "202610"
    assert sent_json(route) == {
        "actor": PAGE,
        "object": SHARE,
        "message": {"text": "Menu: https://acme.example #coffee"},
    }
    assert ref.external_id == again.external_id == mine


def test_a_page_comment_whose_answer_was_lost_is_found_not_sent_again(page: Channel) -> None:
    post = PublishedRef(SHARE, "")
    path = f"{A}/socialActions/urn%3Ali%3Ashare%3A6844785523593134080/comments"
    later = int((timezone.now().timestamp() + 5) * 1000)
    mine = f"urn:li:comment:({ACTIVITY},6850021406018162712)"
    comments = {
        "paging": {"start": 0, "count": 10, "total": 2, "links": []},
        "elements": [
            {
                "actor": "urn:li:person:jYlN3Fw6HS",
                "commentUrn": f"urn:li:comment:({ACTIVITY},6850021406018162713)",
                "created": {"actor": "urn:li:person:jYlN3Fw6HS", "time": later},
                "message": {"text": "#coffee"},
                "object": SHARE,
            },
            {
                "actor": PAGE,
                "commentUrn": mine,
                "created": {"actor": PAGE, "time": later},
                "message": {"text": "#coffee"},
                "object": SHARE,
            },
        ],
    }
    with respx.mock() as router:
        send = router.post(path).mock(side_effect=httpx.ReadTimeout("slow"))
        look = router.get(path).mock(return_value=ok(comments))
        connector = linkedin.LinkedInConnector(page)
        with pytest.raises(OutcomeUnknown):
            connector.comment_on_own_post(post, "#coffee", "v2:fc")
        found = connector.comment_on_own_post(post, "#coffee", "v2:fc")
    assert send.call_count == 1
    assert look.calls[0].request.url.params["count"] == "50"
    assert found.external_id == mine


# --- An answer sent twice answers once (send_reply is acks_late, retried and swept) --------------

ANSWERS = (
    f"{A}/socialActions/urn%3Ali%3Acomment%3A%28urn%3Ali%3Aactivity%3A6844785523593134080"
    "%2C6850021406018162688%29/comments"
)


def question() -> InboundItem:
    return InboundItem(
        external_id=COMMENT,
        kind="comment",
        text="Is the oat latte vegan?",
        author_handle="urn:li:person:jYlN3Fw6HS",
        author_name="",
        created_at=timezone.now(),
        raw={"commentUrn": COMMENT, "object": ACTIVITY},
    )


def answer_created(comment_id: str) -> httpx.Response:
    return httpx.Response(
        201,
        json={
            "actor": PAGE,
            "commentUrn": f"urn:li:comment:({ACTIVITY},{comment_id})",
            "id": comment_id,
            "message": {"text": "Yes, it is!"},
            "object": ACTIVITY,
            "parentComment": COMMENT,
        },
    )


def nested(*elements: dict[str, Any]) -> httpx.Response:
    return ok(
        {
            "paging": {"start": 0, "count": 10, "total": len(elements), "links": []},
            "elements": list(elements),
        }
    )


def nested_comment(comment_id: str, actor: str, text: str, millis: int) -> dict[str, Any]:
    return {
        "actor": actor,
        "commentUrn": f"urn:li:comment:({ACTIVITY},{comment_id})",
        "created": {"actor": actor, "time": millis},
        "id": comment_id,
        "message": {"text": text},
        "object": ACTIVITY,
        "parentComment": COMMENT,
    }


def test_an_answer_is_sent_once_and_a_resend_after_its_answer_posts_nothing(
    page: Channel,
) -> None:
    with respx.mock(assert_all_called=False) as router:
        send = router.post(ANSWERS).mock(return_value=answer_created("6850021406018162720"))
        look = router.get(ANSWERS)
        first = linkedin.LinkedInConnector(page).reply(question(), "Yes, it is!")
        again = linkedin.LinkedInConnector(page).reply(question(), "Yes, it is!")
    assert send.call_count == 1 and look.call_count == 0
    assert sent_json(send)["parentComment"] == COMMENT
    assert (
        first.external_id == again.external_id == f"urn:li:comment:({ACTIVITY},6850021406018162720)"
    )


def test_an_answer_whose_reply_timed_out_is_found_among_the_nested_comments(
    page: Channel,
) -> None:
    later = int((timezone.now().timestamp() + 5) * 1000)
    with respx.mock() as router:
        send = router.post(ANSWERS).mock(side_effect=httpx.ReadTimeout("slow"))
        look = router.get(ANSWERS).mock(
            return_value=nested(
                nested_comment(
                    "6850021406018162721", "urn:li:person:jYlN3Fw6HS", "Yes, it is!", later
                ),
                nested_comment("6850021406018162722", PAGE, "Yes, it is!", later),
            )
        )
        with pytest.raises(OutcomeUnknown):
            linkedin.LinkedInConnector(page).reply(question(), "Yes, it is!")
        found = linkedin.LinkedInConnector(page).reply(question(), "Yes, it is!")
    assert send.call_count == 1 and look.call_count == 1
    assert found.external_id == f"urn:li:comment:({ACTIVITY},6850021406018162722)"


def test_an_answer_that_never_arrived_is_posted_once_more(page: Channel) -> None:
    earlier = int((timezone.now().timestamp() - 86400) * 1000)
    with respx.mock() as router:
        send = router.post(ANSWERS).mock(
            side_effect=[httpx.ReadTimeout("slow"), answer_created("6850021406018162723")]
        )
        router.get(ANSWERS).mock(
            # The page said the same yesterday: not this attempt.
            return_value=nested(nested_comment("6850021406018162700", PAGE, "Yes, it is!", earlier))
        )
        with pytest.raises(OutcomeUnknown):
            linkedin.LinkedInConnector(page).reply(question(), "Yes, it is!")
        sent = linkedin.LinkedInConnector(page).reply(question(), "Yes, it is!")
    assert send.call_count == 2
    assert sent.external_id == f"urn:li:comment:({ACTIVITY},6850021406018162723)"
