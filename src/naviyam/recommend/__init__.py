"""Recommendation: Layer 1 candidate funnels and merge, features, Wide & Deep ranker, engine.

Layer 1 entry point: :class:`naviyam.recommend.layer1.CandidateGenerator`.
"""
