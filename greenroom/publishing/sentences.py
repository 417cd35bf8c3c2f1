"""Greenroom's publishing sentences with values (a count, a network's name, the network's own
answer) that rows keep: the variant, its attempts, its first comment and the audit row store
them in English (`greenroom.publishing.actions.common.as_stored`), and pages say them again in
the reader's language (`say_again`), which finds the sentence and its values in the English
text. The writers format these very constants, so a stored text and its pattern cannot drift
apart. The API keeps the English text."""

from __future__ import annotations

import re
from typing import Final

from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

NO_CONNECTOR: Final = gettext_noop(
    "Greenroom has no connector for %(network)s in this installation. Ask an admin to enable it "
    "(GREENROOM_NETWORKS), then retry."
)
NO_CLEAR_ANSWER: Final = gettext_noop(
    "Greenroom tried %(n)s times without a clear answer from the network and stopped. The post "
    "is not on the network. Retry when it works again."
)
OUTCOME_UNKNOWN: Final = gettext_noop(
    "Greenroom could not find out from the network whether this post went out, after %(n)s "
    "tries. Look at the channel on the network before retrying: the post may be there. The "
    "network's last answer: %(error)s"
)
GAVE_UP: Final = gettext_noop(
    "Greenroom tried %(n)s times and gave up. The network's last answer: %(error)s"
)
HELD_BY_PAUSE: Final = gettext_noop("Held by a pause: %(reason)s")
POLICY_BLOCKS: Final = gettext_noop("A publishing policy blocks this post: %(reasons)s")
FIRST_COMMENT_NO_CONNECTOR: Final = gettext_noop(
    "Greenroom has no connector for %(network)s in this installation, so the first comment was "
    "not posted. Ask an admin to enable it (GREENROOM_NETWORKS), then retry."
)
FIRST_COMMENT_OUTCOME_UNKNOWN: Final = gettext_noop(
    "Greenroom could not find out whether the first comment was posted, after %(n)s tries. Look "
    "under the post on the network before retrying: the comment may be there. The network's "
    "last answer: %(error)s"
)
FIRST_COMMENT_GAVE_UP: Final = gettext_noop(
    "Greenroom tried %(n)s times to post the first comment and gave up. The network's last "
    "answer: %(error)s"
)
APPROVED_TOO_LATE: Final = gettext_noop(
    "Approved at %(approved)s, after its time (%(time)s) had passed, so it was not "
    "published. Choose a new time."
)
STORED_SENTENCES: Final = (
    NO_CONNECTOR,
    NO_CLEAR_ANSWER,
    OUTCOME_UNKNOWN,
    GAVE_UP,
    HELD_BY_PAUSE,
    POLICY_BLOCKS,
    FIRST_COMMENT_NO_CONNECTOR,
    FIRST_COMMENT_OUTCOME_UNKNOWN,
    FIRST_COMMENT_GAVE_UP,
    APPROVED_TOO_LATE,
)
# A value named here is a count; `error` is words that may be Greenroom's own sentence again
# (said again in turn); any other value (a network's name, a person's reason, the rules' own
# reasons) is kept as it came.
_COUNTS: Final = frozenset({"n"})


def _pattern(msgid: str) -> re.Pattern[str]:
    parts = re.split(r"%\((\w+)\)s", msgid)
    regex = "".join(
        re.escape(part)
        if i % 2 == 0
        else (rf"(?P<{part}>\d+)" if part in _COUNTS else rf"(?P<{part}>.*?)")
        for i, part in enumerate(parts)
    )
    return re.compile(regex, re.DOTALL)


_STORED_PATTERNS: Final = tuple((msgid, _pattern(msgid)) for msgid in STORED_SENTENCES)


def say_again(stored: str) -> str:
    """Stored words in the active language: one of Greenroom's sentences with values (English,
    see `STORED_SENTENCES`) is written again with gettext around the same values; a constant
    sentence is looked up by its msgid; anything else (a network's own words, a row stored
    before, in the worker's language) stays as it came."""
    if not stored:
        return ""
    for msgid, pattern in _STORED_PATTERNS:
        match = pattern.fullmatch(stored)
        if match is not None:
            values = {
                name: say_again(value) if name == "error" else value
                for name, value in match.groupdict().items()
            }
            return _(msgid) % values
    return _(stored)
