"""A YouTube channel's inbox end to end: a poll lands a comment on the channel's video and a
reply in its thread (the channel's own answer in the thread is left out); the inbox reads them
into one conversation; the agent's answer goes into the thread, and hiding and deleting
someone's comment reject it, through the tasks. Bodies follow the YouTube Data API reference:

- commentThreads.list (allThreadsRelatedToChannelId, snippet.topLevelComment, replies.comments
  with snippet.parentId): https://developers.google.com/youtube/v3/docs/commentThreads/list
- comments.insert (snippet.parentId must be the top-level comment's id; 200 with the comment):
  https://developers.google.com/youtube/v3/docs/comments/insert
- comments.setModerationStatus (moderationStatus=rejected, 204):
  https://developers.google.com/youtube/v3/docs/comments/setModerationStatus
"""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime
from typing import Any

import httpx
import respx

from greenroom.conftest import World
from greenroom.core.models import Channel
from greenroom.inbox import actions, tasks
from greenroom.inbox.models import Conversation, DeliveryStatus, Direction, Message
from greenroom.networks.connections.actions import do_record_connection
from greenroom.networks.connections.polling import poll_channel
from greenroom.networks.youtube.connector import YouTubeConnector
from greenroom.networks.youtube.tests.conftest import CHANNEL_ID, Y
from greenroom.networks.youtube.tests.test_youtube import THREADS, VIDEO_ID

TOP = "UgzDE2tasfmrYLyNkGt4AaABAg"
REPLY = "UgzDE2tasfmrYLyNkGt4AaABAg.9iPXEClD9lW9iPXM0000"


def test_comments_reach_the_inbox_and_are_answered_hidden_and_deleted(
    youtube: Channel, world: World, django_capture_on_commit_callbacks: Any
) -> None:
    do_record_connection(youtube, service_url="", account_id=CHANNEL_ID, acting_user=world.alice)
    last_page = copy.deepcopy(THREADS)
    last_page["items"] = last_page["items"][:1]
    del last_page["nextPageToken"]
    with respx.mock(assert_all_called=True) as router:
        router.get(f"{Y}/commentThreads").mock(return_value=httpx.Response(200, json=last_page))
        polled = poll_channel(youtube)
    assert polled is not None and (polled.created, polled.error) == (2, "")

    report = actions.do_process_inbound()
    assert (report.unreadable, report.messages, report.conversations) == (0, 2, 1)

    thread = Conversation.objects.get(channel=youtube)
    assert (thread.kind, thread.post_external_id) == ("comment", VIDEO_ID)
    inbound = list(thread.messages.filter(direction=Direction.INBOUND).order_by("sent_at"))
    assert [
        (m.external_id, m.author_handle, m.author_name, m.in_reply_to, m.text) for m in inbound
    ] == [
        (TOP, "UCbean", "@bean_lover", VIDEO_ID, "What grinder is that?"),
        (REPLY, "UCtea", "@tea_person", TOP, "Same question as above"),
    ]
    assert inbound[0].sent_at == datetime(2026, 11, 27, 9, 0, tzinfo=UTC)

    with django_capture_on_commit_callbacks(execute=False):
        answer = actions.do_reply(thread, "A Comandante C40!", acting_user=world.alice)
    with respx.mock(assert_all_called=True) as router:
        insert = router.post(f"{Y}/comments").mock(
            return_value=httpx.Response(
                200,
                json={
                    "kind": "youtube#comment",
                    "etag": "Cr3s-hFO2pXaUkRnQOmTYOF6NHY",
                    "id": f"{TOP}.9iPXEClD9lW9iPXNew",
                    "snippet": {
                        "channelId": CHANNEL_ID,
                        "videoId": VIDEO_ID,
                        "textOriginal": "A Comandante C40!",
                        "parentId": TOP,
                        "authorChannelId": {"value": CHANNEL_ID},
                        "publishedAt": "2026-11-27T10:00:00Z",
                    },
                },
            )
        )
        assert tasks.send_reply(answer.pk) == "sent"
    # The answer to the reply goes into the thread: parentId is the top-level comment.
    assert insert.calls[0].request.url.params["part"] == "snippet"
    assert json.loads(insert.calls[0].request.content) == {
        "snippet": {"parentId": TOP, "textOriginal": "A Comandante C40!"}
    }
    answer.refresh_from_db()
    assert (answer.status, answer.external_id) == (
        DeliveryStatus.SENT,
        f"{TOP}.9iPXEClD9lW9iPXNew",
    )

    reply = Message.objects.get(channel=youtube, external_id=REPLY)
    top = Message.objects.get(channel=youtube, external_id=TOP)
    with django_capture_on_commit_callbacks(execute=False):
        actions.do_hide_message(reply, acting_user=world.alice)
        actions.do_delete_message(top, acting_user=world.alice)
    with respx.mock(assert_all_called=True) as router:
        moderate = router.post(f"{Y}/comments/setModerationStatus").mock(
            return_value=httpx.Response(204)
        )
        assert tasks.hide_message(reply.pk) == "hidden"
        assert tasks.delete_message(top.pk) == "deleted"
    assert [dict(call.request.url.params) for call in moderate.calls] == [
        {"id": REPLY, "moderationStatus": "rejected"},
        {"id": TOP, "moderationStatus": "rejected"},
    ]


def youtube_reply(comment_id: str, author: str, channel: str, text: str, at: str) -> dict[str, Any]:
    """A reply as comments.list (and commentThreads' replies) give it: a comment resource."""
    return {
        "kind": "youtube#comment",
        "etag": "Cr3s-hFO2pXaUkRnQOmTYOF6NHY",
        "id": f"{TOP}.{comment_id}",
        "snippet": {
            "channelId": CHANNEL_ID,
            "videoId": VIDEO_ID,
            "textDisplay": text,
            "textOriginal": text,
            "parentId": TOP,
            "authorDisplayName": author,
            "authorProfileImageUrl": "https://yt3.ggpht.com/ytc/AIdro_k",
            "authorChannelUrl": f"http://www.youtube.com/{author}",
            "authorChannelId": {"value": channel},
            "canRate": True,
            "viewerRating": "none",
            "likeCount": 0,
            "publishedAt": at,
            "updatedAt": at,
        },
    }


def test_every_reply_of_a_busy_thread_reaches_the_inbox_with_its_authors_name(
    youtube: Channel, world: World
) -> None:
    """commentThreads carries only some of a thread's replies (its totalReplyCount says how many
    there are); comments.list with parentId gives the rest (comments.list reference:
    https://developers.google.com/youtube/v3/docs/comments/list). Each message keeps the
    author's display name beside their channel id, and the comment's own fields."""
    do_record_connection(youtube, service_url="", account_id=CHANNEL_ID, acting_user=world.alice)
    carried = youtube_reply("r3", "@tea_person", "UCtea", "Third!", "2026-11-27T09:30:00Z")
    threads = copy.deepcopy(THREADS)
    threads["items"] = threads["items"][:1]
    del threads["nextPageToken"]
    threads["items"][0]["snippet"]["totalReplyCount"] = 3
    threads["items"][0]["replies"] = {"comments": [carried]}
    first = {
        "kind": "youtube#commentListResponse",
        "nextPageToken": "Z2V0X25ld2VzdF9maXJzdA",
        "pageInfo": {"resultsPerPage": 2},
        "items": [
            carried,
            youtube_reply("r2", "@milk_frother", "UCmilk", "Second", "2026-11-27T09:20:00Z"),
        ],
    }
    second = {
        "kind": "youtube#commentListResponse",
        "pageInfo": {"resultsPerPage": 1},
        "items": [youtube_reply("r1", "@조용한커피", "UCquiet", "첫 번째", "2026-11-27T09:15:00Z")],
    }
    with respx.mock(assert_all_called=True) as router:
        router.get(f"{Y}/commentThreads").mock(return_value=httpx.Response(200, json=threads))
        replies = router.get(f"{Y}/comments").mock(
            side_effect=[httpx.Response(200, json=first), httpx.Response(200, json=second)]
        )
        polled = poll_channel(youtube)
    assert polled is not None and (polled.created, polled.error) == (4, "")
    assert [dict(call.request.url.params) for call in replies.calls] == [
        {"part": "snippet", "parentId": TOP, "maxResults": "100", "textFormat": "plainText"},
        {
            "part": "snippet",
            "parentId": TOP,
            "maxResults": "100",
            "textFormat": "plainText",
            "pageToken": "Z2V0X25ld2VzdF9maXJzdA",
        },
    ]

    report = actions.do_process_inbound()
    assert (report.unreadable, report.messages, report.conversations) == (0, 4, 1)
    thread = Conversation.objects.get(channel=youtube)
    inbound = list(thread.messages.filter(direction=Direction.INBOUND).order_by("sent_at"))
    assert [(m.author_handle, m.author_name, m.in_reply_to, m.text) for m in inbound] == [
        ("UCbean", "@bean_lover", VIDEO_ID, "What grinder is that?"),
        ("UCquiet", "@조용한커피", TOP, "첫 번째"),
        ("UCmilk", "@milk_frother", TOP, "Second"),
        ("UCtea", "@tea_person", TOP, "Third!"),
    ]
    # Nothing of the comment is dropped: its own fields stay in the stored payload.
    kept = inbound[2].raw["network"]
    assert kept["authorChannelUrl"] == "http://www.youtube.com/@milk_frother"
    assert kept["authorProfileImageUrl"] == "https://yt3.ggpht.com/ytc/AIdro_k"


def test_a_busy_threads_replies_are_read_again_only_when_it_changed_or_were_not_landed(
    youtube: Channel,
) -> None:
    """Reading every reply costs quota: a thread is read again when its reply count changes,
    or when the fetch that read it was not landed (the cursor did not move past it)."""
    carried = youtube_reply("r3", "@tea_person", "UCtea", "Third!", "2026-11-27T09:30:00Z")
    threads = copy.deepcopy(THREADS)
    threads["items"] = threads["items"][:1]
    del threads["nextPageToken"]
    threads["items"][0]["snippet"]["totalReplyCount"] = 2
    threads["items"][0]["replies"] = {"comments": [carried]}
    listed: dict[str, Any] = {
        "kind": "youtube#commentListResponse",
        "items": [
            carried,
            youtube_reply("r2", "@milk_frother", "UCmilk", "Second", "2026-11-27T09:20:00Z"),
        ],
    }
    connector = YouTubeConnector(youtube)
    with respx.mock(assert_all_called=True) as router:
        # Answered from the dicts as they are at each call (the test changes them below).
        router.get(f"{Y}/commentThreads").mock(
            side_effect=lambda request: httpx.Response(200, json=threads)
        )
        replies = router.get(f"{Y}/comments").mock(
            side_effect=lambda request: httpx.Response(200, json=listed)
        )
        first = connector.fetch_inbox(None)
        # Not landed (the poll failed after the fetch): the same cursor reads them again.
        again = connector.fetch_inbox(None)
        assert replies.call_count == 2
        assert [i.text for i in again.items] == [i.text for i in first.items]
        # Landed: the next fetch starts at the returned cursor and reads nothing more.
        later = connector.fetch_inbox(first.cursor)
        assert replies.call_count == 2 and later.items == []
        # A new reply: the count moved, so the thread is read again.
        threads["items"][0]["snippet"]["totalReplyCount"] = 3
        listed["items"].append(
            youtube_reply("r4", "@late_one", "UClate", "Fourth", "2026-11-27T09:40:00Z")
        )
        newest = connector.fetch_inbox(first.cursor)
    assert replies.call_count == 3
    assert [(i.author_name, i.text) for i in newest.items] == [("@late_one", "Fourth")]
