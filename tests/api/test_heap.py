"""The server's heap: frozen once the models are loaded and after every swap, never leaking a dropped cycle."""

from __future__ import annotations

import gc
import weakref

import pytest
from fastapi.testclient import TestClient

from naviyam.api.app import create_app
from naviyam.config import Settings
from naviyam.core import heap
from naviyam.service.runtime import Runtime


@pytest.fixture(autouse=True)
def _unfrozen():
    gc.unfreeze()
    yield
    gc.unfreeze()


class _Node:
    def __init__(self):
        self.me = self  # a reference cycle: only the cyclic collector frees it


def test_settle_freezes_what_is_alive_and_a_later_settle_collects_a_dropped_cycle():
    node = _Node()
    alive = weakref.ref(node)
    heap.settle()
    assert gc.get_freeze_count() > 0
    del node
    gc.collect()
    assert alive() is not None  # frozen: a full collection does not walk it
    heap.settle()  # the next swap
    assert alive() is None
    heap.release()
    assert gc.get_freeze_count() == 0


def test_a_server_settles_its_heap_once_loaded_and_gives_it_back_when_it_stops(world, rules_nlu, tmp_path):
    settings = Settings(environment="test", admin_api_key="test-admin-key", var_dir=tmp_path)
    app = create_app(settings, engine=world)
    with TestClient(app) as client:
        assert client.get("/health").status_code == 200
        assert gc.get_freeze_count() > 0
        assert heap.settle in app.state.runtime.after_swap
    assert gc.get_freeze_count() == 0 and heap.settle not in app.state.runtime.after_swap


def test_a_runtime_handed_in_and_a_server_told_not_to_are_left_alone(world, rules_nlu, tmp_path):
    settings = Settings(environment="test", admin_api_key="test-admin-key", var_dir=tmp_path)
    runtime = Runtime.load(world, settings, parser=rules_nlu)
    with TestClient(create_app(settings, engine=world, runtime=runtime)) as client:
        assert client.get("/health").status_code == 200
        assert gc.get_freeze_count() == 0 and runtime.after_swap == []
    off = Settings(environment="test", admin_api_key="test-admin-key", var_dir=tmp_path, gc_freeze=False)
    with TestClient(create_app(off, engine=world)) as client:
        assert client.get("/health").status_code == 200
        assert gc.get_freeze_count() == 0
