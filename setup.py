"""Build glue only: the package itself is described in pyproject.toml.

The extension modules of the compiled core (mypyc) and the ``build_ext`` that falls back to
the pure-Python core come from buildtools/mypyc_build.py; see its docstring for when the core
is compiled and when it stays pure.
"""

import sys
from pathlib import Path

from setuptools import setup

sys.path.insert(0, str(Path(__file__).resolve().parent / "buildtools"))
from mypyc_build import setup_kwargs

setup(**setup_kwargs())
