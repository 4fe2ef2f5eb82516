"""Benchmarks of the ANPR hit-stream service (`python -m benchmarks.<name>`)."""
