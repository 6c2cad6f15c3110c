"""Feedback, model registry, incremental training, A/B, promotion."""
