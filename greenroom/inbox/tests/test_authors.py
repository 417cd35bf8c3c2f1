"""Who wrote a message: names that arrive late, and mentions a network delivers without an
author (Instagram names nobody for a comment that mentions the account)."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from django.test import Client

from greenroom.conftest import World
from greenroom.inbox.models import Contact, Conversation, Message, UnreadableEvent
from greenroom.inbox.tests.conftest import BASE, conversation_of, item, land
from greenroom.networks.base import InboundItem


def _anonymous(external_id: str, kind: str) -> InboundItem:
    mention = item(external_id, "@acme challenge accepted?", kind=kind)
    raw = {**mention.raw, "author": {"handle": "", "name": ""}}
    return replace(mention, author_handle="", author_name="", raw=raw)


def test_a_mention_without_an_author_is_read_with_no_contact(world: World, client: Client) -> None:
    channel = world.coffee_instagram
    land(channel, _anonymous("17890001", "mention"))
    assert not UnreadableEvent.objects.exists()
    conversation = conversation_of(channel, "17890001")
    assert conversation.contact_id is None
    message = Message.objects.get(channel=channel, external_id="17890001")
    assert (message.author_handle, message.contact_id, message.text) == (
        "",
        None,
        "@acme challenge accepted?",
    )
    # Nobody was made up: no contact with an empty handle holds every such mention.
    assert not Contact.objects.filter(handle="").exists()
    client.force_login(world.alice)
    page = client.get(f"/inbox/c/{conversation.pk}/").content.decode()
    assert "Author not shared by the network" in page
    assert "@acme challenge accepted?" in page


def test_two_anonymous_mentions_stay_two_conversations(world: World) -> None:
    channel = world.coffee_instagram
    land(channel, _anonymous("17890001", "mention"), _anonymous("17890002", "mention"))
    assert Conversation.objects.filter(channel=channel).count() == 2


def test_a_comment_without_an_author_is_still_set_aside(world: World) -> None:
    channel = world.coffee_instagram
    land(channel, _anonymous("17890003", "comment"))
    assert UnreadableEvent.objects.get().error == "the payload has no author handle"
    assert not Message.objects.filter(external_id="17890003").exists()


def test_a_contact_gets_the_name_the_network_gives_later_and_keeps_it(world: World) -> None:
    channel = world.coffee_instagram
    # First seen under an id, when the profile lookup failed: no name.
    first = item("m1", "hi", kind="dm", author="6001", name="", thread_id="t1", at=BASE)
    land(channel, replace(first, raw={**first.raw, "author": {"handle": "6001", "name": ""}}))
    contact = Contact.objects.get(handle="6001")
    assert contact.name == ""
    land(channel, item("m2", "hello?", kind="dm", author="6001", name="Minji Kim", thread_id="t1"))
    contact.refresh_from_db()
    assert (contact.name, contact.messages_in) == ("Minji Kim", 2)
    # A later message without a name never erases the one we know.
    third = item("m3", "still there?", kind="dm", author="6001", thread_id="t1")
    land(channel, replace(third, raw={**third.raw, "author": {"handle": "6001", "name": ""}}))
    contact.refresh_from_db()
    assert (contact.name, contact.messages_in) == ("Minji Kim", 3)


def test_within_one_batch_the_newest_name_wins(world: World) -> None:
    channel = world.coffee_instagram
    older = item("m1", "hi", kind="dm", author="6002", name="minji", thread_id="t2", at=BASE)
    newer = item(
        "m2",
        "hello",
        kind="dm",
        author="6002",
        name="Minji Kim",
        thread_id="t2",
        at=BASE + timedelta(minutes=5),
    )
    land(channel, newer, older)
    assert Contact.objects.get(handle="6002").name == "Minji Kim"


def test_the_queue_names_people_whose_handle_is_an_id(world: World, client: Client) -> None:
    channel = world.coffee_instagram
    land(
        channel,
        item("m1", "hi", kind="dm", author="1254459154682919", name="Minji Kim", thread_id="t3"),
        item("m2", "hello", kind="dm", author="emma_k", name="emma_k", thread_id="t4"),
    )
    client.force_login(world.alice)
    page = client.get("/inbox/?queue=all").content.decode()
    assert '<span class="d-block gr-person">Minji Kim</span>' in page
    assert "1254459154682919" in page
    # A name that only repeats the handle is not printed twice.
    assert '<span class="d-block gr-person">emma_k</span>' not in page
    assert "emma_k" in page


def test_earlier_messages_show_the_name_that_arrived_later(world: World, client: Client) -> None:
    channel = world.coffee_instagram
    first = item("m1", "first words", kind="dm", author="6003", thread_id="t5", at=BASE)
    land(channel, replace(first, raw={**first.raw, "author": {"handle": "6003", "name": ""}}))
    land(
        channel,
        item("m2", "second words", kind="dm", author="6003", name="Minji Kim", thread_id="t5"),
    )
    conversation = conversation_of(channel, "m1")
    client.force_login(world.alice)
    page = client.get(f"/inbox/c/{conversation.pk}/").content.decode()
    # The first message is signed with the name too, through its contact.
    first_message = Message.objects.get(channel=channel, external_id="m1")
    assert first_message.author_name == ""
    block = page.split(f'id="m{first_message.pk}"', 1)[1].split("</li>", 1)[0]
    assert "<strong>Minji Kim</strong>" in block
