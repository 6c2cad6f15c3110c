"""Training through the model registry and loading the production version."""

from __future__ import annotations

import pytest

import naviyam.nlu as nlu
from naviyam.core.registry import ModelRegistry


@pytest.fixture
def registry(sqlite_engine, tmp_path):
    return ModelRegistry(sqlite_engine, tmp_path / "models")


def test_train_registers_a_version_with_metrics_and_load_parser_uses_it(registry):
    mv = nlu.train_nlu(registry.engine, registry, epochs=1, n_examples=600, with_baselines=True)
    assert mv.status == "production"
    for name in ("heldout_generated", "nlu_examples", "handwritten"):
        assert 0.0 <= mv.metrics[name]["intent_accuracy"] <= 1.0
        assert "slot_micro_f1" in mv.metrics[name] and "filters_exact" in mv.metrics[name]
    assert "baselines" in mv.metrics and "nlu_examples" in mv.metrics["baselines"]
    parser = nlu.load_parser(registry)
    assert parser.version == mv.version
    assert parser.parse("만원으로 뭐 먹지").filters.get("budget_filter") == 10000


def test_empty_registry_falls_back_to_rules_when_asked(registry):
    parser = nlu.load_parser(registry, fallback="rules")
    assert parser.version == "rules"
    assert parser.parse("관악구 치킨집").filters == {"category": "치킨", "location_filter": {"district": "관악구"}}


def test_empty_registry_with_error_fallback_raises(registry):
    with pytest.raises(LookupError):
        nlu.load_parser(registry, fallback="error")
