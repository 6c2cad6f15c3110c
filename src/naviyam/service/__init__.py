"""The service layer: chat orchestration and start-up work."""
