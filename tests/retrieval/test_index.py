"""Shop documents, BM25, the hybrid index: filtered search, persistence and incremental rebuilds."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from shop_fixtures import SHOPS, HashingEmbedder, ids, make_catalog

from naviyam.retrieval.bm25 import BM25Index, tokenize
from naviyam.retrieval.documents import dense_text, document_hash, shop_document
from naviyam.retrieval.embedding import SentenceTransformerEmbedder, make_embedder
from naviyam.retrieval.index import FusionConfig, ShopIndex


@pytest.fixture(scope="module")
def built(catalog):
    emb = HashingEmbedder()
    index, stats = ShopIndex.build(catalog, emb)
    return index, stats, emb


def test_document_names_menus_prices_tags_and_hours(catalog):
    doc = shop_document(catalog, 0)
    for part in ("행복분식", "분식", "떡볶이 4,000원", "착한가게", "급식카드 가능", "영업시간: 10:00~21:00"):
        assert part in doc
    overnight = shop_document(catalog, 2)
    assert "16:00~02:00 (다음 날)" in overnight and "월요일 휴무" in overnight
    # the embedded text leaves prices and hours out, so a price change never forces re-embedding
    assert "원" not in dense_text(catalog, 0).replace("행복분식", "")


def test_tokenizer_keeps_content_morphemes_and_compounds():
    toks = tokenize("급식카드 되는 치킨집 알려줘")
    assert {"급식", "카드", "급식카드", "치킨", "치킨집"} <= set(toks)
    assert "는" not in toks


def test_bm25_ranks_the_matching_document_first():
    docs = [tokenize(t) for t in ("떡볶이 김밥 분식", "짜장면 짬뽕 중식", "후라이드치킨 양념치킨 치킨")]
    bm = BM25Index().fit(docs)
    scores = bm.score(tokenize("짬뽕 먹고 싶어"))
    assert int(np.argmax(scores)) == 1 and scores[0] == 0 and scores[2] == 0
    assert bm.score(tokenize("없는단어")).sum() == 0


def test_repeated_queries_score_from_the_cache_exactly_as_computed(built):
    index = built[0]
    first = index.bm25_scores("떡볶이 먹고 싶어")
    assert index.bm25_scores("떡볶이 먹고 싶어") is first  # the second time from the cache
    np.testing.assert_array_equal(first, index.bm25.score(tokenize("떡볶이 먹고 싶어")))
    with pytest.raises(ValueError):
        first[0] = 1.0  # shared between requests: read-only


@pytest.mark.parametrize("method", ["rrf", "weighted", "dense", "bm25"])
def test_search_returns_only_allowed_rows(built, catalog, method):
    index, _, _ = built
    allowed = np.zeros(len(catalog), dtype=bool)
    allowed[[0, 1, 4]] = True
    res = index.search("떡볶이 김밥", k=10, allowed=allowed, method=method)
    assert set(res.rows.tolist()) <= {0, 1, 4}
    assert len(res.rows) == len(set(res.rows.tolist()))
    assert np.all((res.scores >= 0) & (res.scores <= 1))
    assert np.all(np.diff(res.scores) <= 1e-12)


def test_filters_apply_before_truncation(built, catalog):
    """A shop that would rank below k among all shops is still found when it is the only allowed one."""
    index, _, _ = built
    only = np.zeros(len(catalog), dtype=bool)
    only[8] = True  # 강남피자: unrelated to the query
    res = index.search("떡볶이", k=1, allowed=only, method="weighted")
    assert res.rows.tolist() == [8]


def test_hybrid_finds_the_shop_by_menu_word(built, catalog):
    index, _, _ = built
    for method in ("rrf", "weighted"):
        res = index.search("짜장면 탕수육", k=3, method=method)
        assert int(catalog.ids[res.rows[0]]) == 5


def test_save_load_round_trip_gives_the_same_results(built, tmp_path):
    index, _, emb = built
    index.save(tmp_path / "idx")
    loaded = ShopIndex.load(tmp_path / "idx", embedder=emb)
    for q in ("떡볶이", "매운 치킨", "순한 음식"):
        for method in ("rrf", "weighted"):
            a, b = index.search(q, k=5, method=method), loaded.search(q, k=5, method=method)
            assert a.rows.tolist() == b.rows.tolist()
            np.testing.assert_allclose(a.scores, b.scores, rtol=1e-6)
    assert loaded.fusion == index.fusion


def test_load_refuses_a_different_embedder(built, tmp_path):
    index, _, _ = built
    index.save(tmp_path / "idx")

    with pytest.raises(ValueError, match="built with hashing:128"):
        ShopIndex.load(tmp_path / "idx", embedder=HashingEmbedder(dim=64))


def test_incremental_rebuild_reembeds_only_changed_shops(built):
    index, stats, _ = built
    assert stats.n_embedded == len(SHOPS) and stats.n_reused == 0
    shops = [list(s) for s in SHOPS]
    shops[0][1] = "행복분식 본점"  # renamed: its embedded text changes
    shops[1][12] = [("참치김밥", 5000, "김밥", True), ("라면", 4000, "라면", False)]  # price only: same dense text
    shops.append([11, "새로운식당", "일식", "관악구", "행운동", 37.481, 126.953, *SHOPS[0][7:12],
                  [("돈까스", 8000, "돈까스", True)]])
    new_catalog = make_catalog([tuple(s) for s in shops])
    emb = HashingEmbedder()
    new_index, new_stats = ShopIndex.build(new_catalog, emb, previous=index)
    assert new_stats.n_embedded == 2 and new_stats.n_reused == len(SHOPS) - 1
    assert sorted(t.split(":")[0] for t in emb.embedded) == ["새로운식당", "행복분식 본점"]
    # the price change still reaches BM25's document
    assert "참치김밥 5,000원" in new_index.documents[1]
    np.testing.assert_array_equal(new_index.embeddings[2], index.embeddings[2])
    assert new_index.is_current(new_catalog) and not index.is_current(new_catalog)
    # BM25 re-uses the previous tokenisation of unchanged documents: same scores as a fresh build
    fresh, _ = ShopIndex.build(new_catalog, HashingEmbedder())
    for q in ("참치김밥", "행복분식 본점 떡볶이", "돈까스"):
        np.testing.assert_allclose(new_index.bm25.score(tokenize(q)), fresh.bm25.score(tokenize(q)), rtol=1e-5)


def test_fusion_config_is_kept_through_rebuilds(catalog):
    cfg = FusionConfig(method="rrf", alpha=0.3, rrf_k=10, depth=50)
    first, _ = ShopIndex.build(catalog, HashingEmbedder(), fusion=cfg)
    second, _ = ShopIndex.build(catalog, HashingEmbedder(), previous=first)
    assert second.fusion == cfg and dataclasses.asdict(second.fusion)["method"] == "rrf"


def test_sentence_transformers_spec_errors_clearly_when_missing(tmp_path):
    folder = tmp_path / "multilingual-e5-small"
    folder.mkdir()
    try:
        import sentence_transformers  # noqa: F401
    except ImportError:
        with pytest.raises(ImportError, match="sentence-transformers"):
            make_embedder(f"st:{folder}")
    with pytest.raises(FileNotFoundError, match="nothing is downloaded"):
        SentenceTransformerEmbedder(tmp_path / "absent")


def test_document_hash_is_stable():
    assert document_hash("a") == document_hash("a") != document_hash("b")


def test_ids_helper_matches_rows(catalog):
    assert ids(catalog, np.ones(len(catalog), dtype=bool)) == {s[0] for s in SHOPS}
