"""Monitoring: daily metrics from the database, degradation alerts, charts."""
