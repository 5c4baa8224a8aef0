"""Benchmarks: `make bench` prints a markdown table and writes bench/results/latest.json."""
