"""The benchmark harness: ``python -m bench SCENARIO``. See docs/performance.md."""
