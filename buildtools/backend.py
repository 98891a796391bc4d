"""The PEP 517 build backend: setuptools' own, with two decisions about the compiled core.

- An editable install (``pip install -e``, what ``make test`` and ``make demo`` use) stays pure:
  mypyc would build in place, and a ``.so`` beside ``ledger.py`` is imported instead of it, so
  every later edit of the source would be silently ignored.
- A wheel (``pip install .``, ``pip wheel .``) asks for mypy as a build requirement, so that
  mypyc can compile the core; buildtools/mypyc_build.py falls back to the pure modules when
  that fails. ``GRIDLEDGER_PURE=1`` skips both the requirement and the compilation.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

from setuptools import build_meta as _setuptools
from setuptools.build_meta import *  # noqa: F403  (the hooks not overridden below)

sys.path.insert(0, str(Path(__file__).resolve().parent))
from mypyc_build import PURE_ENV, want_compiled

# The mypy that compiles the core: the version the dev extra type-checks it with.
MYPYC_REQUIREMENT = "mypy>=2.4"


def get_requires_for_build_wheel(config_settings: dict[str, Any] | None = None) -> list[str]:
    extra = [MYPYC_REQUIREMENT] if want_compiled() else []
    return [*_setuptools.get_requires_for_build_wheel(config_settings), *extra]


def build_editable(
    wheel_directory: str, config_settings: dict[str, Any] | None = None, metadata_directory: str | None = None
) -> str:
    os.environ[PURE_ENV] = "1"  # never compile in place (see the module docstring)
    return _setuptools.build_editable(wheel_directory, config_settings, metadata_directory)


def get_requires_for_build_editable(config_settings: dict[str, Any] | None = None) -> list[str]:
    os.environ[PURE_ENV] = "1"
    return list(_setuptools.get_requires_for_build_editable(config_settings))


def prepare_metadata_for_build_editable(metadata_directory: str, config_settings: dict[str, Any] | None = None) -> str:
    os.environ[PURE_ENV] = "1"
    return _setuptools.prepare_metadata_for_build_editable(metadata_directory, config_settings)
