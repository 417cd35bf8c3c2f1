"""Post text in LinkedIn's "little text" format.

The Posts API reads `commentary` as little text, where | { } @ [ ] ( ) < > # \\ * _ ~ are markup:
unescaped, LinkedIn drops or misreads the text after them (a known cause of silently cut posts).
Every reserved character is escaped with a backslash, except that #word becomes LinkedIn's hashtag
template so it stays a clickable hashtag.
https://learn.microsoft.com/en-us/linkedin/marketing/community-management/shares/little-text-format
"""

from __future__ import annotations

import re

RESERVED = frozenset("|{}@[]()<>#\\*_~")
_HASHTAG = re.compile(r"(?<![\w#])#(\w+)")


def escape(text: str) -> str:
    return "".join(f"\\{char}" if char in RESERVED else char for char in text)


def to_little_text(text: str) -> str:
    """The text as LinkedIn's commentary field must carry it."""
    parts = []
    position = 0
    for match in _HASHTAG.finditer(text):
        parts.append(escape(text[position : match.start()]))
        parts.append("{hashtag|\\#|" + escape(match[1]) + "}")
        position = match.end()
    parts.append(escape(text[position:]))
    return "".join(parts)


_TEMPLATE = re.compile(r"\{hashtag\|\\#\|((?:\\.|[^}])*)\}")
_ESCAPED = re.compile(r"\\(.)")


def from_little_text(commentary: str) -> str:
    """What a reader sees (hashtag templates back to #word, escapes removed), to compare posts."""
    plain = _TEMPLATE.sub(lambda m: "#" + m[1], commentary)
    return _ESCAPED.sub(lambda m: m[1], plain)
