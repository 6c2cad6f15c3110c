"""Helpers the tests share: small known worlds and their factories, the fault tests' proxy and server handles (``tests/`` is on the import path)."""
