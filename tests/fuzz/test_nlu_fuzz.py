"""The NLU under hostile input: any message, any length, any conversation → a valid contract object.

tests/nlu already feeds short random strings and small conversations to the
trained parser; this adds what a chat box really receives: long messages up
to and past the API's limit, Korean food words mixed with absurd amounts,
emoji, jamo, full-width digits, control and zero-width characters, and long
conversations whose state is stored as JSON between turns (as the database
stores it), on the parser the service runs and on the rules fallback.
"""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from naviyam.nlu.contract import validate_result
from naviyam.nlu.lexicon import load_taxonomy
from naviyam.nlu.state import NLUSession
from naviyam.service.chat import MAX_MESSAGE_CHARS

_TAX = load_taxonomy()
_WORDS = sorted({*_TAX["categories"], *(d for c in _TAX["categories"].values() for d in c["dishes"]),
                 *_TAX["districts_seoul"]})
_AMOUNTS = ["만원", "1만 5천원", "15000원", "9999999999999999999원", "-3000원", "0원", "1.5만원", "삼천원", "백만원",
            "１２０００원", "2,000원", "5천", "10000000000000000000000000000000명", "0명", "셋이", "100명"]
_GLUE = ["추천해줘", "말고", "빼고", "안 매운", "근처", "급식카드", "되는 곳", "더 싼 데는?", "처음부터 다시", "이랑",
         "?", "!!", "ㅋㅋㅋ", "ㄸㅂㄲ", "😀", "🍜🍕", "\u200b", "\u202e", "\x00", "\t\n", "食堂", "NULL", "'; --",
         "<b>", "%s%n", "\\u0000", "오늘 저녁", "혼자", "친구 3명이랑", "관악구 신림역", "집 근처", "지금 열린"]
_TOKEN = st.one_of(st.sampled_from(_WORDS), st.sampled_from(_AMOUNTS), st.sampled_from(_GLUE),
                   st.text(max_size=8))
MESSAGES = st.lists(_TOKEN, max_size=120).map(" ".join).map(lambda s: s[: MAX_MESSAGE_CHARS * 2])
FUZZ = settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))


@pytest.fixture(scope="module", params=["served", "rules"])
def parser(request):
    if request.param == "rules":
        from naviyam.nlu import rules_parser

        return rules_parser()
    return request.getfixturevalue("runtime").parser


@FUZZ
@given(text=MESSAGES)
def test_any_message_gives_a_valid_contract_object(parser, text):
    result = parser.parse(text).to_dict()
    assert validate_result(result) == [], (text, result)
    json.dumps(result, ensure_ascii=False)


@FUZZ
@given(turns=st.lists(MESSAGES, min_size=2, max_size=6))
def test_any_conversation_stored_as_json_between_turns_stays_valid(parser, turns):
    stored = None
    for text in turns:
        session = NLUSession.from_dict(json.loads(stored) if stored else None)
        result = parser.parse(text, session).to_dict()
        assert validate_result(result) == [], (text, result)
        stored = json.dumps(session.to_dict(), ensure_ascii=False)
        # what is stored is the search state the next turn starts from, and it is itself valid
        assert validate_result({**result, "filters": NLUSession.from_dict(json.loads(stored)).filters}) == []
