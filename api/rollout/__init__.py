"""The connection rollout: every camera's lifecycle events, and the report built on them."""
