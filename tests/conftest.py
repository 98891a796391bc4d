import os
import sys

from hypothesis import HealthCheck, settings

sys.path.insert(0, os.path.dirname(__file__))

# Property tests run a meaningful number of examples by default; GRIDLEDGER_HYPOTHESIS=thorough
# runs many more (not part of make test).
settings.register_profile("default", max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("thorough", max_examples=2000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile(os.environ.get("GRIDLEDGER_HYPOTHESIS", "default"))
