"""The control-room API (`anpr api`): hits and their stream, camera health, hotlists, registry,
audit."""
