"""Benchmarks: durable-tasks measured side by side with bare Temporal on the same servers.

Run `make bench` (or `python -m bench.run --help`); `bench/README.md` says what is measured and
how to read the table.
"""
