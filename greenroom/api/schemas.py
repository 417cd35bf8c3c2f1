"""Types shared by every resource of the API: ids, text, times, pages and errors.

Every value a client sends is checked here before it reaches a query or an action, so bad input
is a 422 that says what is wrong instead of a database error: ids fit a 64-bit column, text fits
its column and has no NUL (PostgreSQL rejects it), times are aware and in range.
"""

from __future__ import annotations

import zoneinfo
from datetime import UTC, datetime
from functools import cache
from typing import Annotated, Any, Generic, TypeVar

from ninja import Field, Schema
from pydantic import AfterValidator, StringConstraints
from pydantic_core import PydanticCustomError

from greenroom.core.ids import MAX_ID

MAX_OFFSET = 10**9
MAX_LIMIT = 200
# Lists of ids in one request (team members, brand scopes): generous, but bounded.
MAX_IDS = 1000

T = TypeVar("T")


def clean_text(value: str) -> str:
    # PostgreSQL cannot store NUL in text. (Lone surrogates never get this far: the JSON parser
    # refuses them.)
    if "\x00" in value:
        raise PydanticCustomError("nul_character", "Text may not contain NUL characters.")
    return value


@cache
def _timezones() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())


def check_timezone(value: str) -> str:
    if value not in _timezones():
        raise PydanticCustomError(
            "unknown_timezone",
            "Unknown time zone {zone}: use an IANA name such as Asia/Seoul or Europe/Berlin.",
            {"zone": value[:64]},
        )
    return value


def to_utc(value: datetime) -> datetime:
    # A time without an offset is read as UTC, as the API documentation says.
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    try:
        return value.astimezone(UTC)
    except OverflowError:
        raise PydanticCustomError("datetime_range", "The time is out of range.") from None


ObjectId = Annotated[int, Field(ge=1, le=MAX_ID)]
Name = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=200),
    AfterValidator(clean_text),
]
ShortText = Annotated[
    str, StringConstraints(strip_whitespace=True, max_length=64), AfterValidator(clean_text)
]
Text200 = Annotated[
    str, StringConstraints(strip_whitespace=True, max_length=200), AfterValidator(clean_text)
]
UsernameOrEmail = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=254),
    AfterValidator(clean_text),
]
TimezoneName = Annotated[str, StringConstraints(max_length=64), AfterValidator(check_timezone)]
UtcDatetime = Annotated[datetime, AfterValidator(to_utc)]


class ErrorOut(Schema):
    detail: str = Field(description="What went wrong and what to do about it.")


class ValidationErrorOut(Schema):
    detail: list[dict[str, Any]] = Field(
        description="One entry per invalid field: where it is (loc), what is wrong (msg)."
    )


class PageQuery(Schema):
    limit: int = Field(50, ge=1, le=MAX_LIMIT, description="How many items to return (1-200).")
    offset: int = Field(0, ge=0, le=MAX_OFFSET, description="How many items to skip.")


class Page(Schema, Generic[T]):
    items: list[T]
    total: int = Field(description="How many items match, across all pages.")
    limit: int
    offset: int


class BrandRef(Schema):
    id: int
    name: str


class PersonRef(Schema):
    id: int
    username: str
    display_name: str

    @staticmethod
    def resolve_display_name(obj: Any) -> str:
        # The name Greenroom shows everywhere: the display name, else full name or username.
        return str(obj)


def errors(*codes: int) -> dict[int, type[Schema]]:
    """Error responses to document on an operation."""
    return {code: ValidationErrorOut if code == 422 else ErrorOut for code in codes}
