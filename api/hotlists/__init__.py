"""Hotlists on the API: the book folded from the hotlists topic, the writes, matcher status."""
