"""Benchmarks of the ANPR hit-stream service (`python -m benchmarks.<name>`, `make bench`).

The harness only: it starts the stack, drives it with the load simulator (`simulator/`, the
package behind `anpr simulate`), measures and writes `benchmarks/results/`. Not shipped in the
wheel or the image, and nothing shipped imports it (an import-linter contract).
"""
