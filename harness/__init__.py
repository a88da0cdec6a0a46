"""What the tests and the benchmarks both drive: a real server process on a free port, headless
Chromium, a loopback-only network namespace, the browser SDK in a page, spoken sentences, and the
chat history checker.

Both ``tests/`` and ``bench/`` import from here, and this package imports from neither, so
imports run one way: tests → harness, bench → harness.
"""
