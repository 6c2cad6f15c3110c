import pytest

from naviyam.core.registry import ModelRegistry


def test_register_and_current_returns_newest_production(engine, tmp_path):
    reg = ModelRegistry(engine, tmp_path / "models")
    assert reg.current("nlu") is None
    a = reg.allocate("nlu")
    assert a.path.is_dir()
    reg.register(a, metrics={"f1": 0.8})
    b = reg.allocate("nlu")
    reg.register(b, metrics={"f1": 0.9}, parent=a.version)
    cur = reg.current("nlu")
    assert cur.version == b.version and cur.metrics == {"f1": 0.9}
    statuses = {m.version: m.status for m in reg.list("nlu")}
    assert statuses == {a.version: "archived", b.version: "production"}
    assert reg.list("nlu")[1].parent_id == reg.list("nlu")[0].id


def test_candidate_does_not_replace_production(engine, tmp_path):
    reg = ModelRegistry(engine, tmp_path / "models")
    a = reg.allocate("ranker")
    reg.register(a)
    reg.register(reg.allocate("ranker"), status="candidate")
    assert reg.current("ranker").version == a.version


def test_unknown_kind_is_refused(engine, tmp_path):
    with pytest.raises(ValueError, match="unknown model kind"):
        ModelRegistry(engine, tmp_path).allocate("magic")
