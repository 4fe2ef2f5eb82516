"""Integrators and tokens: issue, list, revoke and rotate (admin)."""
