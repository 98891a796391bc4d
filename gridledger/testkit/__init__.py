"""Test kit: generated grid histories with their ground truth, and a local Binance-protocol server.

Tests and benchmarks use it; the product never imports it (``tests/test_layering.py`` checks).
"""
