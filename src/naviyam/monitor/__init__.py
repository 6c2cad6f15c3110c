"""Monitoring: daily metrics from the database, degradation alerts, charts (seed 47.C)."""
