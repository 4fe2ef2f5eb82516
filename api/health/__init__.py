"""Camera health: a pure per-camera state machine fed from reads, heartbeats and gateway events."""
