"""Korean money and head-count parsing."""

from __future__ import annotations

import pytest

from naviyam.nlu.numbers import money_ranges, parse_count, parse_money


@pytest.mark.parametrize("text, value", [
    ("만원", 10000), ("만 원", 10000), ("1만원", 10000), ("10000원", 10000), ("10,000원", 10000),
    ("오천원", 5000), ("5천원", 5000), ("5천 원", 5000), ("1.5만원", 15000), ("만오천원", 15000),
    ("만 오천 원", 15000), ("1만 5천원", 15000), ("칠천원", 7000), ("삼천원밖에", 3000), ("2만원", 20000),
    ("8천원에서 만원 사이", 10000), ("8천원~만원", 10000), ("5000~8000원", 8000), ("5천부터 칠천원까지", 7000),
    ("삼천오백원", 3500), ("3천5백원", 3500), ("이천오백원", 2500), ("5천으로", 5000), ("오만원", 50000),
    ("12,000원", 12000), ("9천원인데", 9000), ("만이천원", 12000),
])
def test_parse_money_table(text, value):
    assert parse_money(text) == value


@pytest.mark.parametrize("text", ["추천해줘", "천천히 먹자", "치킨만 먹고 싶어", "그럼 이만", "원래 그래", "만 있는데"])
def test_words_that_look_like_numbers_are_not_money(text):
    assert money_ranges(text) == [] or parse_money(text) is None


def test_money_span_offsets_point_into_the_sentence():
    text = "나 만오천원으로 치킨 먹을 수 있어?"
    (span,) = money_ranges(text)
    assert text[span.start:span.end] == "만오천원" and span.value == 15000


def test_particle_glued_before_an_amount_is_not_a_digit():
    (span,) = money_ranges("용돈이만원 남았어")
    assert span.value == 10000


@pytest.mark.parametrize("text, n", [
    ("둘이서", 2), ("셋이", 3), ("넷이서", 4), ("4명이서", 4), ("네 명이", 4), ("다섯 명", 5), ("4인", 4),
    ("두명", 2), ("10명", 10),
])
def test_parse_count(text, n):
    assert parse_count(text) == n


def test_alone_is_not_a_count():
    assert parse_count("혼자") is None
