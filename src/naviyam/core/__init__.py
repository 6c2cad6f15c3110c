"""What every part of the service shares (the clock first); imports nothing of ours but ``config`` and ``db``."""
