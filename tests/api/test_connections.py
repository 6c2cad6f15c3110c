"""The connection board: each worker's count in a shared file, and `Connection: close` from one over its share."""

from __future__ import annotations

import numpy as np
import pytest
from fastapi.testclient import TestClient

from naviyam.api import connections
from naviyam.api.app import create_app
from naviyam.api.connections import NOT_SERVING, ConnectionBoard
from naviyam.config import Settings


@pytest.fixture
def board_file(tmp_path):
    return ConnectionBoard.create(tmp_path / "board.bin", 4)


def serving_pair(board_file, a_connections: int, b_connections: int) -> tuple[ConnectionBoard, ConnectionBoard]:
    """Two workers of a four-slot board, both serving, holding these many connections."""
    a, b = ConnectionBoard(board_file, 0, 4), ConnectionBoard(board_file, 1, 4)
    a.serving(), b.serving()
    for board, n in ((a, a_connections), (b, b_connections)):
        for _ in range(n):
            board.opened()
    return a, b


def test_a_new_board_has_nobody_serving_and_each_worker_writes_its_own_slot(board_file):
    assert list(ConnectionBoard(board_file, 0, 4).slots) == [NOT_SERVING] * 4
    a, b = serving_pair(board_file, 3, 1)
    assert list(np.fromfile(board_file, dtype=np.int32)) == [3, 1, NOT_SERVING, NOT_SERVING]  # other processes see it
    a.closed()
    assert a.slots[0] == 2 and b.slots[0] == 2


def test_only_a_worker_over_its_share_sheds_and_it_stops_at_its_share(board_file):
    a, b = serving_pair(board_file, 7, 1)
    assert not b.shed_one()  # under its share
    shed = 0
    while a.shed_one():
        shed += 1
    assert shed == 3 and a.open - a.leaving == 4  # 8 connections, two workers: four each
    assert a.slots[0] == 7  # the three leaving still count until they close (they come back somewhere)
    for _ in range(3):  # the three clients reconnect; this time the kernel gives them to b
        a.closed()
        b.opened()
    assert (a.slots[0], b.slots[1]) == (4, 4) and not a.shed_one() and not b.shed_one()


def test_a_worker_not_serving_neither_counts_nor_makes_others_shed(board_file):
    a, b = ConnectionBoard(board_file, 0, 4), ConnectionBoard(board_file, 1, 4)
    a.serving()
    for _ in range(5):
        a.opened()
    assert not a.over_share()  # alone: everything is its share
    b.serving()  # a second worker starts serving with nothing yet
    assert a.over_share()
    b.serving(False)
    assert not a.over_share()
    ConnectionBoard.clear(board_file, {0})
    assert a.slots[0] == NOT_SERVING


def test_a_stopping_worker_stays_out_while_its_last_connections_close(board_file):
    a, b = serving_pair(board_file, 3, 3)
    a.serving(False)  # shutting down (a rolling restart): its connections close after this
    for _ in range(3):
        a.closed()
    assert a.slots[0] == NOT_SERVING and not a.shed_one()
    assert not b.over_share()  # b alone serves: nothing for it to hand over


def test_the_api_closes_a_connection_only_while_its_worker_is_over_its_share(board_file, world, tmp_path,
                                                                            monkeypatch):
    mine, other = ConnectionBoard(board_file, 0, 4), ConnectionBoard(board_file, 1, 4)
    monkeypatch.setattr(connections, "BOARD", mine)
    settings = Settings(environment="test", admin_api_key="test-admin-key", var_dir=tmp_path)
    with TestClient(create_app(settings, engine=world)) as client:
        other.serving()
        other.opened()
        mine.open = 1
        assert "close" not in client.get("/health").headers.get("connection", "")
        mine.open, mine.leaving = 5, 0
        assert client.get("/health").headers["connection"] == "close"
        assert mine.leaving == 1
        mine.open, mine.leaving = 3, 2  # two are on their way out
        assert "close" not in client.get("/health").headers.get("connection", "")
    assert mine.slots[0] == NOT_SERVING  # stopped serving
