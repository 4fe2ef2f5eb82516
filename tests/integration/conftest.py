"""Integration tests run against the real broker; its fixtures live in tests/conftest.py."""
