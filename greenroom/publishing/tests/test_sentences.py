"""Greenroom's stored sentences with values are said again in the reader's language."""

from __future__ import annotations

import pytest
from django.utils import translation

from greenroom.publishing import sentences
from greenroom.publishing.sentences import say_again

INTERNAL = "Greenroom hit an internal error while publishing; it will check and retry."


@pytest.mark.parametrize("msgid", sentences.STORED_SENTENCES)
def test_every_stored_sentence_has_its_korean_words(msgid: str) -> None:
    with translation.override("ko"):
        assert say_again(msgid) != msgid


def test_the_count_and_the_networks_words_are_kept_around_the_readers_sentence() -> None:
    stored = sentences.FIRST_COMMENT_GAVE_UP % {"n": 4, "error": "Rate limit: 12 calls/15 min"}
    with translation.override("ko"):
        said = say_again(stored)
    assert said == (
        "Greenroom이 첫 댓글 게시를 4번 시도한 뒤 중단했습니다. "
        "네트워크의 마지막 응답: Rate limit: 12 calls/15 min"
    )
    with translation.override("en"):
        assert say_again(stored) == stored


def test_greenrooms_own_answer_inside_the_sentence_is_said_again_too() -> None:
    stored = sentences.OUTCOME_UNKNOWN % {"n": 7, "error": INTERNAL}
    with translation.override("ko"):
        said = say_again(stored)
    assert said.startswith("Greenroom이 7번 시도했지만 이 게시물이 올라갔는지")
    assert said.endswith(
        "네트워크의 마지막 응답: "
        "게시하는 중 Greenroom에 내부 오류가 생겼습니다. 확인한 뒤 다시 시도합니다."
    )


@pytest.mark.parametrize(
    "stored",
    [
        "Upstream <queue> is full after 7 tries.",
        # A row stored before, in the worker's language: left as it is.
        "Greenroom이 3번 시도한 끝에 중단했습니다. 네트워크의 마지막 응답: boom",
        "",
    ],
)
def test_other_words_stay_as_they_came(stored: str) -> None:
    with translation.override("ko"):
        assert say_again(stored) == stored
