import os
import sys

from hypothesis import HealthCheck, settings

sys.path.insert(0, os.path.dirname(__file__))

# Property tests run a meaningful number of examples by default; GRIDLEDGER_HYPOTHESIS=thorough
# runs many more (not part of make test).
settings.register_profile("default", max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("thorough", max_examples=2000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile(os.environ.get("GRIDLEDGER_HYPOTHESIS", "default"))


def pytest_sessionstart(session: object) -> None:
    """CI sets GRIDLEDGER_REQUIRE_BROWSER=1 (.ci/run): the browser tests skip locally when
    Chromium or Playwright is missing, but in CI a missing browser is an error, never a silent skip."""
    import importlib.util
    import shutil

    import pytest

    if not os.environ.get("GRIDLEDGER_REQUIRE_BROWSER"):
        return
    missing = []
    if shutil.which("chromium") is None:
        missing.append("Debian's chromium (apt-get install -y chromium)")
    if importlib.util.find_spec("playwright") is None:
        missing.append("the playwright package (pip install -e '.[dev]')")
    if missing:
        pytest.exit("GRIDLEDGER_REQUIRE_BROWSER is set but the browser tests cannot run: " + ", ".join(missing), 2)
