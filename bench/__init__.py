"""Benchmarks: they print figures side by side; nothing here is asserted."""
