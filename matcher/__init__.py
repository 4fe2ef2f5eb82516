"""The hotlist matcher: a pure matching core (`HotlistIndex`, `build_hit`) and its Kafka loop."""
