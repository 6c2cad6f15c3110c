"""Fixtures for the NLU tests: one small model trained once per test session."""

from __future__ import annotations

import random

import pytest

from naviyam.nlu.datagen import generate_dataset
from naviyam.nlu.lexicon import Lexicon
from naviyam.nlu.train import NLUTrainConfig, fit_parser

SMALL_N = 4000
SMALL_EPOCHS = 5


@pytest.fixture(scope="session")
def lexicon() -> Lexicon:
    return Lexicon.build()


@pytest.fixture(scope="session")
def small_data(lexicon):
    rows = generate_dataset(lexicon, SMALL_N, seed=5)
    random.Random(5).shuffle(rows)
    k = len(rows) // 10
    return {"held": rows[:k], "cal": rows[k:2 * k], "train": rows[2 * k:]}


@pytest.fixture(scope="session")
def trained(tmp_path_factory, lexicon, small_data):
    """(parser, model folder) of a small model trained on generated data."""
    folder = tmp_path_factory.mktemp("nlu_model")
    parser = fit_parser(lexicon, small_data["train"], small_data["cal"], folder,
                        NLUTrainConfig(epochs=SMALL_EPOCHS), version="test-small")
    return parser, folder


@pytest.fixture(scope="session")
def parser(trained):
    return trained[0]
