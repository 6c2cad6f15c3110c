"""Fixtures for retrieval tests: the hand-made catalog of shop_fixtures.py."""

from __future__ import annotations

import pytest
from shop_fixtures import make_catalog

from naviyam.retrieval.catalog import ShopCatalog


@pytest.fixture(scope="module")
def catalog() -> ShopCatalog:
    return make_catalog()
