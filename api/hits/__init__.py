"""Hits: consumed from the hits topic into the store, queried, acknowledged and streamed."""
