"""The camera-facing gateway: validates, authenticates and durably publishes reads."""
