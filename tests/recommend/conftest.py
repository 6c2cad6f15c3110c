"""The known world of :mod:`support.worlds` as module-scoped fixtures (a module may define its own ``world``)."""

from __future__ import annotations

import pytest

from naviyam.recommend.layer1 import CandidateGenerator
from support.worlds import make_known_world


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    """(engine, registry, embedder) with a built and registered Layer 1 index."""
    engine, registry, embedder = make_known_world(tmp_path_factory.mktemp("world"))
    yield engine, registry, embedder
    engine.dispose()


@pytest.fixture(scope="module")
def generator(world) -> CandidateGenerator:
    engine, registry, embedder = world
    return CandidateGenerator.load(engine, registry, embedder=embedder)
