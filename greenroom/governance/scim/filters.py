"""SCIM filters and attribute paths (RFC 7644 sections 3.4.2.2 and 3.5.2), evaluated against
resources as the API renders them.

    filter  = or ; or = and *("or" and) ; and = not *("and" not)
    not     = ["not"] "(" filter ")" | attrPath "pr" | attrPath op value | attrPath "[" filter "]"
    attrPath = [URN ":"] attr ["." subAttr]

Attribute names are case-insensitive; string comparisons are too, except for `id` and
`externalId`, which are case-exact. A multi-valued attribute matches when any of its values does.
Anything else is a 400 with scimType invalidFilter.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .errors import ScimError, invalid_filter

OPERATORS = frozenset({"eq", "ne", "co", "sw", "ew", "gt", "lt", "ge", "le"})
CASE_EXACT = frozenset({"id", "externalid"})
MAX_FILTER = 1000

_TOKEN = re.compile(
    r"""\s*(?:
        (?P<string>"(?:[^"\\]|\\.)*")
      | (?P<lparen>\() | (?P<rparen>\)) | (?P<lbracket>\[) | (?P<rbracket>\])
      | (?P<word>[A-Za-z0-9_:.$\-+]+)
    )""",
    re.VERBOSE,
)
_ATTR = re.compile(
    r"^(?:(?P<urn>urn:[A-Za-z0-9:._-]+):)?(?P<attr>[A-Za-z$][\w$-]*)(?:\.(?P<sub>[A-Za-z$][\w$-]*))?$"
)


@dataclass(frozen=True)
class AttrPath:
    urn: str
    attr: str
    sub: str

    def __str__(self) -> str:
        return f"{self.attr}.{self.sub}" if self.sub else self.attr


def parse_attr(text: str, error: Callable[[str], ScimError] = invalid_filter) -> AttrPath:
    # An extension attribute is written "urn:...:User:attr"; the URN itself holds colons.
    match = _ATTR.match(text)
    if match is None:
        raise error(f"{text[:80]!r} is not an attribute path.")
    return AttrPath(match["urn"] or "", match["attr"], match["sub"] or "")


Predicate = Callable[[dict[str, Any]], bool]


def lookup(resource: Any, name: str) -> Any:
    """An attribute of a resource dict, case-insensitively; None if absent."""
    if not isinstance(resource, dict):
        return None
    lowered = name.lower()
    for key, value in resource.items():
        if key.lower() == lowered:
            return value
    return None


def _values(resource: dict[str, Any], path: AttrPath) -> list[Any]:
    value = lookup(resource, path.attr)
    items = value if isinstance(value, list) else [value]
    if path.sub:
        items = [lookup(item, path.sub) for item in items]
    elif any(isinstance(item, dict) for item in items):
        # "emails eq x" compares the values of a multi-valued complex attribute.
        items = [lookup(item, "value") if isinstance(item, dict) else item for item in items]
    return [item for item in items if item is not None]


def _compare(op: str, actual: Any, expected: Any, case_exact: bool) -> bool:
    if isinstance(actual, bool) or isinstance(expected, bool):
        if op not in ("eq", "ne"):
            raise invalid_filter(f"{op} does not apply to true or false.")
        flag = actual if isinstance(actual, bool) else str(actual).lower() == "true"
        wanted = expected if isinstance(expected, bool) else str(expected).lower() == "true"
        return (flag == wanted) if op == "eq" else (flag != wanted)
    if expected is None:
        return (actual is None) if op == "eq" else (actual is not None)
    left, right = str(actual), str(expected)
    if not case_exact:
        left, right = left.lower(), right.lower()
    if op == "eq":
        return left == right
    if op == "ne":
        return left != right
    if op == "co":
        return right in left
    if op == "sw":
        return left.startswith(right)
    if op == "ew":
        return left.endswith(right)
    results = {"gt": left > right, "lt": left < right, "ge": left >= right, "le": left <= right}
    return results[op]


class _Parser:
    def __init__(self, text: str) -> None:
        if len(text) > MAX_FILTER:
            raise invalid_filter("The filter is too long.")
        self.tokens: list[tuple[str, str]] = []
        pos = 0
        text = text.strip()
        while pos < len(text):
            match = _TOKEN.match(text, pos)
            if match is None or match.end() == pos:
                raise invalid_filter(f"Cannot read the filter at {text[pos : pos + 20]!r}.")
            kind = match.lastgroup or ""
            self.tokens.append((kind, match[kind]))
            pos = match.end()
            while pos < len(text) and text[pos].isspace():
                pos += 1
        self.pos = 0

    def peek(self) -> tuple[str, str] | None:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def take(self, kind: str | None = None) -> tuple[str, str]:
        token = self.peek()
        if token is None:
            raise invalid_filter("The filter ends too early.")
        if kind is not None and token[0] != kind:
            raise invalid_filter(f"Expected {kind} but found {token[1]!r}.")
        self.pos += 1
        return token

    def keyword(self, word: str) -> bool:
        token = self.peek()
        if token is not None and token[0] == "word" and token[1].lower() == word:
            self.pos += 1
            return True
        return False

    def parse(self) -> Predicate:
        if not self.tokens:
            raise invalid_filter("The filter is empty.")
        predicate = self.or_expr()
        if self.peek() is not None:
            raise invalid_filter(f"Unexpected {self.peek()[1]!r} in the filter.")  # type: ignore[index]
        return predicate

    def or_expr(self) -> Predicate:
        parts = [self.and_expr()]
        while self.keyword("or"):
            parts.append(self.and_expr())
        return parts[0] if len(parts) == 1 else (lambda r: any(p(r) for p in parts))

    def and_expr(self) -> Predicate:
        parts = [self.not_expr()]
        while self.keyword("and"):
            parts.append(self.not_expr())
        return parts[0] if len(parts) == 1 else (lambda r: all(p(r) for p in parts))

    def not_expr(self) -> Predicate:
        if self.keyword("not"):
            self.take("lparen")
            inner = self.or_expr()
            self.take("rparen")
            return lambda r: not inner(r)
        return self.atom()

    def atom(self) -> Predicate:
        token = self.peek()
        if token is not None and token[0] == "lparen":
            self.take("lparen")
            inner = self.or_expr()
            self.take("rparen")
            return inner
        path = parse_attr(self.take("word")[1])
        nxt = self.peek()
        if nxt is not None and nxt[0] == "lbracket":
            if path.sub:
                raise invalid_filter(f"{path} cannot take a [filter].")
            self.take("lbracket")
            inner = self.or_expr()
            self.take("rbracket")
            attr = path.attr

            def valued(resource: dict[str, Any]) -> bool:
                value = lookup(resource, attr)
                items = value if isinstance(value, list) else [value]
                return any(isinstance(item, dict) and inner(item) for item in items)

            return valued
        op = self.take("word")[1].lower()
        if op == "pr":
            return lambda r: any(v not in ("", [], {}) for v in _values(r, path))
        if op not in OPERATORS:
            raise invalid_filter(
                f"Unknown operator {op!r}: use eq, ne, co, sw, ew, gt, lt, ge, le or pr."
            )
        kind, raw = self.take()
        if kind == "string":
            try:
                expected: Any = json.loads(raw)
            except ValueError:
                raise invalid_filter(f"Cannot read the string {raw[:40]}.") from None
        elif kind == "word" and raw.lower() in ("true", "false", "null"):
            expected = {"true": True, "false": False, "null": None}[raw.lower()]
        elif kind == "word" and re.fullmatch(r"-?\d+(\.\d+)?", raw):
            expected = raw
        else:
            raise invalid_filter(f"{raw[:40]!r} is not a value: quote strings.")
        case_exact = (path.sub or path.attr).lower() in CASE_EXACT and not path.sub
        return lambda r: any(_compare(op, v, expected, case_exact) for v in _values(r, path))


def parse_filter(text: str) -> Predicate:
    return _Parser(text).parse()


_SIMPLE = re.compile(r'^\s*([A-Za-z][\w.]*)\s+eq\s+("(?:[^"\\]|\\.)*")\s*$', re.IGNORECASE)


def simple_equality(text: str) -> tuple[str, str] | None:
    """(attribute, value) when the whole filter is `attr eq "value"`, which is what identity
    providers send most: the caller narrows its query with it before evaluating the filter."""
    match = _SIMPLE.match(text)
    if match is None:
        return None
    try:
        value = json.loads(match[2])
    except ValueError:
        return None
    return (match[1].lower(), value) if isinstance(value, str) else None
