"""A pytest plugin for the two runs of tests/build/test_compiled_core.py (``-p compiled_compare_plugin``).

Both runs (pure tree, compiled copy) must draw the same hypothesis examples, so that "the
same result" means the same inputs: derandomized (examples derived from each test alone) and
no example database (a failure saved by one run would be replayed only in the next).
"""

from __future__ import annotations

import pytest
from hypothesis import settings


@pytest.hookimpl(trylast=True)  # after tests/conftest.py loaded the suite's profile
def pytest_configure(config: pytest.Config) -> None:
    settings.register_profile("compiled-compare", parent=settings.default, derandomize=True, database=None)
    settings.load_profile("compiled-compare")
