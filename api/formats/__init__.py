"""Vendor formats: the adapters the gateway offers and their per-format settings."""
