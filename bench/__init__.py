"""Benchmarks of the AI Meeting server: ``python -m bench --help``."""
