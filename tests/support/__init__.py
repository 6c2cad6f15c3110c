"""Helpers the tests share: small known worlds and their factories (``tests/`` is on the import path)."""
