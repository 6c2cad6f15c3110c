"""The training-data generator: coverage, exact offsets, gold consistent with canonicalisation."""

from __future__ import annotations

from collections import Counter

from naviyam.core.contract import LEARNED_INTENTS
from naviyam.nlu.canonical import Canonicaliser, Span
from naviyam.nlu.contract import FILTER_KEYS, validate_filters
from naviyam.nlu.datagen import generate_dataset, korean_number
from naviyam.nlu.evaluate import _canon
from naviyam.nlu.lexicon import ENTITY_NAMES
from naviyam.nlu.text import normalize
from naviyam.nlu.train import ENTITY_TO_LABEL, handwritten_cases


def test_covers_every_intent_and_filter_key(small_data):
    rows = small_data["train"]
    assert set(Counter(r["intent"] for r in rows)) == set(LEARNED_INTENTS)  # SAFETY is decided by rules
    keys = {k for r in rows for k in r["filters"]}
    assert keys == FILTER_KEYS


def test_entity_offsets_are_exact_and_filters_valid(small_data):
    for r in small_data["train"]:
        for e in r["entities"]:
            assert r["text"][e["start"]:e["end"]] == e["text"]
            assert e["entity"] in ENTITY_NAMES.values()
        assert validate_filters(r["filters"]) == [], r


def test_gold_filters_agree_with_canonicalisation(lexicon, small_data):
    canon = Canonicaliser(lexicon)
    rows = small_data["train"][:1500]
    ok = 0
    for r in rows:
        spans = [Span(ENTITY_TO_LABEL[e["entity"]], e["start"], e["end"]) for e in r["entities"]]
        _, f = canon.canonicalise(r["text"], normalize(r["text"]), spans, r["intent"])
        ok += _canon(f) == _canon(r["filters"])
    # the rest are typos/gluing the rules cannot read back ("사만으로" after a word)
    assert ok / len(rows) >= 0.985


def test_generation_is_deterministic(lexicon):
    assert generate_dataset(lexicon, 50, seed=3) == generate_dataset(lexicon, 50, seed=3)


def test_variety_not_a_few_templates(small_data):
    texts = [r["text"] for r in small_data["train"]]
    assert len(set(texts)) == len(texts)
    # many distinct sentence endings
    assert len({t[-4:] for t in texts}) > 500


def test_handwritten_set_is_separate_from_generated_data(lexicon, small_data):
    generated = {r["text"] for r in small_data["train"]} | {r["text"] for r in generate_dataset(lexicon, 3000, seed=13)}
    cases = handwritten_cases()
    assert len(cases) >= 150
    hand = [t for c in cases for t in c["turns"]]
    # only short, common phrases ("4명이야", "ㅂㅂ") can coincide; the generator never reads the file
    shared = set(hand) & generated
    assert len(shared) <= 0.1 * len(hand)
    assert all(len(t) <= 25 for t in shared)


def test_korean_number_words():
    assert korean_number(15000) == "만오천"
    assert korean_number(3500) == "삼천오백"
    assert korean_number(20000) == "이만"
