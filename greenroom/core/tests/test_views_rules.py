"""The network rule table page (greenroom.networks): one network at a time, and what changed."""

from __future__ import annotations

import re
from html import unescape

from django.test import Client

from greenroom.conftest import World

RULES = "/networks/rules/"


def visible_text(html: str) -> str:
    """What a sighted person reads: no tags, no screen-reader-only text, whitespace collapsed."""
    html = re.sub(r"<(script|style|title)\b.*?</\1>", " ", html, flags=re.S)
    html = re.sub(r'<span class="visually-hidden">[^<]*</span>', " ", html)
    return re.sub(r"\s+", " ", unescape(re.sub(r"<[^>]+>", " ", html))).strip()


def section(html: str, element_id: str) -> str:
    """The <section> with this id, up to the next section of the page."""
    start = html.index(f'id="{element_id}"')
    end = html.find("<section", start)
    return html[start : end if end != -1 else len(html)]


def test_it_requires_signing_in(client: Client, world: World) -> None:
    response = client.get(RULES)
    assert response.status_code == 302
    assert response["Location"].startswith("/login/")


def test_it_shows_the_first_network_by_default(client: Client, world: World) -> None:
    client.force_login(world.agnes)
    response = client.get(RULES)
    assert response.status_code == 200
    html = response.content.decode()
    assert 'class="gr-skip-link"' in html  # it extends base.html
    text = visible_text(html)
    assert "Bluesky Documentation:" in text
    assert "Length limit 300" in text  # Bluesky's 300 graphemes
    assert "Length limit 280" not in text  # X is on its own tab


def test_a_network_tab_shows_that_networks_limits_and_not_anothers(
    client: Client, world: World
) -> None:
    client.force_login(world.agnes)

    x = visible_text(client.get(RULES, {"network": "x"}).content.decode())
    assert "Length limit 280" in x
    assert "Weighted: most CJK characters and emoji count 2" in x
    assert "Length limit 300" not in x  # Bluesky's
    assert "Only the user name, not the server" not in x  # Mastodon's mention counting

    mastodon = visible_text(client.get(RULES, {"network": "mastodon"}).content.decode())
    assert "Length limit 500" in mastodon
    assert "Mentions count Only the user name, not the server" in mastodon
    assert "Length limit 280" not in mastodon


def test_a_network_tab_shows_how_inbox_replies_are_counted(client: Client, world: World) -> None:
    client.force_login(world.agnes)

    x_html = client.get(RULES, {"network": "x"}).content.decode()
    replies = visible_text(section(x_html, "x-replies"))
    assert replies.startswith('id="x-replies"')
    assert "Replies from the inbox" in replies
    assert "Reply to a comment Source: docs.x.com · counting characters" in replies
    assert "Direct message Source: techtrendske.co.ke" in replies
    assert "Length limit 10,000 How length is counted Unicode code points" in replies
    # The panel is listed beside the placements.
    assert 'href="#x-replies"' in x_html

    linkedin = visible_text(
        section(client.get(RULES, {"network": "linkedin"}).content.decode(), "linkedin-replies")
    )
    assert "Reply to a comment" in linkedin and "Length limit 1,250" in linkedin
    assert "No source: LinkedIn offers pages no messaging API" in linkedin


def test_the_picker_lists_every_network_and_marks_the_one_shown(
    client: Client, world: World
) -> None:
    client.force_login(world.agnes)
    html = client.get(RULES, {"network": "instagram"}).content.decode()
    for name in ("Bluesky", "Facebook", "LinkedIn", "Mastodon", "Threads", "TikTok", "YouTube"):
        assert f">{name}</a>" in html
    current = re.findall(r'<a href="([^"]*)"[^>]*aria-current="page"', html)
    assert "/networks/rules/?network=instagram" in current
    # Every kind of Instagram post is on the tab, with a link to jump to it.
    assert 'href="#instagram-reels"' in html and 'id="instagram-stories"' in html


def test_sources_read_as_site_and_page_with_the_full_address_in_the_link(
    client: Client, world: World
) -> None:
    client.force_login(world.agnes)
    html = client.get(RULES, {"network": "x"}).content.decode()
    text = visible_text(html)
    assert "docs.x.com · counting characters" in text
    assert 'href="https://docs.x.com/fundamentals/counting-characters"' in html
    assert 'title="https://docs.x.com/fundamentals/counting-characters"' in html
    assert "docs.x.com/fundamentals" not in text


def test_an_unknown_network_says_so_and_offers_the_list(client: Client, world: World) -> None:
    client.force_login(world.agnes)
    response = client.get(RULES, {"network": "myspace"})
    assert response.status_code == 404
    text = visible_text(response.content.decode())
    assert "The rule table has no network “myspace”. Choose one from the list." in text
    assert "Bluesky" in text and "YouTube" in text


def test_what_changed_lists_old_and_new_values_by_network(client: Client, world: World) -> None:
    client.force_login(world.agnes)
    response = client.get(RULES, {"view": "changes", "from": "1", "to": "2"})
    assert response.status_code == 200
    html = response.content.decode()

    # Instagram's publishing quota went from 25 to 100 posts a day, under Instagram.
    instagram = visible_text(section(html, "changes-instagram"))
    assert "Quota: posts every 24 h, per account How many Changed 25 → 100" in instagram
    # LinkedIn video went from 10 to 30 minutes, written as the limits table writes it.
    linkedin = visible_text(section(html, "changes-linkedin"))
    assert "Post · Video Longest Changed 10 min → 30 min" in linkedin
    assert "25 → 100" not in linkedin
    # A value the networks do not document was removed, and says what it was.
    bluesky = visible_text(section(html, "changes-bluesky"))
    assert "Post · Text Most hashtags Removed 8" in bluesky
    # The limits of the networks are not on this view.
    assert "Length limit 300" not in visible_text(html.split('id="changes-', 1)[0])


def test_what_changed_compares_the_latest_two_versions_by_default(
    client: Client, world: World
) -> None:
    client.force_login(world.agnes)
    html = client.get(RULES, {"view": "changes"}).content.decode()
    # Version 5 adds how inbox replies are counted, per kind of conversation, on every network.
    x = visible_text(section(html, "changes-x"))
    assert "Replies from the inbox · Direct message Length limit Added 10,000" in x
    assert "Replies from the inbox · Reply to a comment Length limit Added 280" in x
    instagram = visible_text(section(html, "changes-instagram"))
    assert "Direct message How length is counted Added Bytes (UTF-8)" in instagram
    assert "Replies from the inbox · Direct message Length limit Added 1,000" in instagram
    bluesky = visible_text(section(html, "changes-bluesky"))
    assert "Replies from the inbox · Direct message Size limit Added 10,000 bytes" in bluesky
    assert "No value changed or was removed." in x
    from_picker = re.search(r'<select id="diff-from".*?</select>', html, flags=re.S)
    to_picker = re.search(r'<select id="diff-to".*?</select>', html, flags=re.S)
    assert from_picker and '<option value="4" selected>' in from_picker[0]
    assert to_picker and '<option value="5" selected>' in to_picker[0]

    # Version 4 says TikTok takes no first comment; nothing else changed.
    v4 = client.get(RULES, {"view": "changes", "from": "3", "to": "4"}).content.decode()
    tiktok = visible_text(section(v4, "changes-tiktok"))
    assert "2 values added" in tiktok
    assert "Video · First comment Possible through the network's API Added No" in tiktok
    assert "changes-youtube" not in v4 and "changes-instagram" not in v4

    # Version 3 added YouTube Shorts.
    shorts_html = client.get(RULES, {"view": "changes", "from": "2", "to": "3"}).content.decode()
    shorts = visible_text(section(shorts_html, "changes-youtube"))
    assert "Short" in shorts and "13 added" in shorts

    older = client.get(RULES, {"view": "changes", "from": "1", "to": "2"}).content.decode()
    assert "25 → 100" in visible_text(section(older, "changes-instagram"))


def test_an_unknown_version_says_which_exist(client: Client, world: World) -> None:
    client.force_login(world.agnes)

    response = client.get(RULES, {"view": "changes", "from": "1", "to": "9"})
    assert response.status_code == 404
    text = visible_text(response.content.decode())
    assert "There is no version 9 of the rule table. The published versions are 1, 2, 3, 4" in text
    assert "25 → 100" not in text

    response = client.get(RULES, {"view": "changes", "from": "latest"})
    assert response.status_code == 404
    assert "“latest” is not a version number." in visible_text(response.content.decode())


def test_the_rule_table_renders_in_korean(client: Client, world: World) -> None:
    client.force_login(world.agnes)
    client.post("/settings/language/", {"language": "ko", "next": RULES})
    assert "네트워크 규칙" in client.get(RULES).content.decode()
    changes = visible_text(
        client.get(RULES, {"view": "changes", "from": "1", "to": "2"}).content.decode()
    )
    assert "변경 내용" in changes
    assert "25 → 100" in changes
