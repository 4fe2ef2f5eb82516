"""Cameras: registration, their health and their listing (routes and models)."""
