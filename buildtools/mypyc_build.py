"""The compiled core (issue 12, item 3): gridledger's pure modules built with mypyc, or not at all.

``setup.py`` takes its extension modules and its ``build_ext`` from here; the compiled copy
that the build test and the benchmark use (buildtools/compiled_copy.py) is built through the
same code, outside the source tree:

    python buildtools/mypyc_build.py --src DIR   # compile DIR/gridledger's core in place (a copy!)

What gets compiled: ``gridledger/domain``, ``gridledger/ledger``, ``gridledger/strategy``,
the functional core that ``mypy --strict`` checks (.ci/gates). The ``.py`` files always ship
beside the extension modules: Python imports an extension module before a source file of
the same name, and falls back to the source where there is none.

When it compiles (``want_compiled``):

- ``GRIDLEDGER_PURE=1``: never (a pure install, e.g. to debug with pdb inside the ledger).
- an editable install (``pip install -e``): never; the backend (buildtools/backend.py) sets
  ``GRIDLEDGER_PURE=1``, because an in-place build would leave ``.so`` files beside the
  sources that silently shadow every later edit of them.
- otherwise (``pip install .``, ``pip wheel .``): yes, if mypy (mypyc) can be imported; the
  backend asks for it as a build requirement.

A failure anywhere (mypy cannot type-check the core, no C compiler, the compiler fails) warns
and installs the pure modules instead, so the install still succeeds; the all-or-nothing
clean-up below keeps a half-built core from mixing compiled and pure modules. With
``GRIDLEDGER_REQUIRE_COMPILED=1`` (CI, .ci/run) a failure is an error instead.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

# The functional core: pure, no I/O, mypy --strict (README "Architecture").
CORE_PACKAGES = ("gridledger/domain", "gridledger/ledger", "gridledger/strategy")
# The core's code goes into one shared library, gridledger_core__mypyc.<abi>.so, a top-level
# module beside the package (each compiled module is a small shim that loads it). Not inside
# the package: mypyc (2.4) gets a compiled package's __path__ and its headers wrong when the
# group name is dotted.
GROUP_NAME = "gridledger_core"

PURE_ENV = "GRIDLEDGER_PURE"
REQUIRE_ENV = "GRIDLEDGER_REQUIRE_COMPILED"


def _flag(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() in ("1", "true", "yes", "on")


def want_compiled() -> bool:
    return not _flag(PURE_ENV)


def required() -> bool:
    return _flag(REQUIRE_ENV)


def _warn(message: str) -> None:
    print(f"gridledger build: {message}", file=sys.stderr, flush=True)


def _fail_or_fall_back(what: str, exc: BaseException | None) -> None:
    detail = f": {exc}" if exc is not None and str(exc) else ""
    if required():
        raise SystemExit(f"gridledger build: {what}{detail} ({REQUIRE_ENV}=1: no pure fallback)")
    _warn(f"{what}{detail}; installing the pure-Python core instead (the same modules, uncompiled)")


def core_ext_modules() -> list[Any]:
    """mypyc's extension modules for the core, or ``[]`` (pure) when it cannot generate them.

    Run in the source tree: mypyc takes relative paths and reads the [tool.mypy] settings
    (the strict ones of the core) from the pyproject.toml it finds there.
    """
    if not want_compiled():
        return []
    try:
        from mypyc.build import mypycify
    except ImportError as exc:
        _fail_or_fall_back("mypyc (part of mypy) is not installed", exc)
        return []
    try:
        return list(
            mypycify(
                # Its own mypy cache: the type-check gate's .mypy_cache runs other options.
                ["--cache-dir", os.path.join("build", "mypyc-cache"), *CORE_PACKAGES],
                opt_level="3",
                group_name=GROUP_NAME,
                # One C file per module: the cores of the machine compile them side by side.
                multi_file=True,
            )
        )
    except (Exception, SystemExit) as exc:  # mypyc reports type errors with sys.exit(1)
        _fail_or_fall_back("mypyc could not compile the core", exc)
        return []


def fallback_build_ext() -> type:
    """``build_ext`` that installs the pure core when the C build fails (all or nothing)."""
    from setuptools.command.build_ext import build_ext

    class FallbackBuildExt(build_ext):  # type: ignore[misc]
        def build_extension(self, ext: Any) -> None:
            # mypyc's multi_file mode writes one C file per module into the shared library;
            # distutils compiles one extension's files one after the other: use every core.
            compiler = self.compiler
            jobs = os.cpu_count() or 1
            if jobs > 1 and len(ext.sources) > 1:
                serial = compiler.compile

                def compile_side_by_side(sources: list[str], *args: Any, **kwargs: Any) -> list[str]:
                    with ThreadPoolExecutor(jobs) as pool:
                        parts = list(pool.map(lambda source: serial([source], *args, **kwargs), sources))
                    return [obj for part in parts for obj in part]

                compiler.compile = compile_side_by_side
                try:
                    super().build_extension(ext)
                finally:
                    del compiler.compile  # the class's method again
            else:
                super().build_extension(ext)

        def run(self) -> None:
            try:
                super().run()
            except (Exception, SystemExit) as exc:  # CCompilerError, CompileError, no gcc (OSError)
                self._discard_outputs()
                _fail_or_fall_back("the C compiler could not build the core", exc)

        def _discard_outputs(self) -> None:
            # A half-built core would mix compiled and pure modules that share classes:
            # remove every extension this command may have written, then build none.
            for ext in self.extensions:
                with contextlib.suppress(OSError):
                    os.remove(self.get_ext_fullpath(ext.name))
            self.extensions = []
            self.distribution.ext_modules = []

    return FallbackBuildExt


# The setup.py commands that build: only they run mypyc. setuptools' PEP 517 backend runs
# setup.py for metadata too (egg_info, dist_info: before mypy is even installed as a build
# requirement); generating the C code type-checks the core, seconds better spent once.
BUILD_COMMANDS = frozenset({"build", "build_ext", "bdist_wheel", "bdist_egg", "install"})


def setup_kwargs(argv: list[str] | None = None) -> dict[str, Any]:
    """What setup.py passes to ``setuptools.setup`` (the rest is in pyproject.toml): the
    core's extension modules and the ``build_ext`` that falls back, or nothing (pure)."""
    commands = set(sys.argv[1:] if argv is None else argv)
    if not want_compiled() or not BUILD_COMMANDS & commands:
        return {}
    ext_modules = core_ext_modules()
    if not ext_modules:
        return {}
    return {"ext_modules": ext_modules, "cmdclass": {"build_ext": fallback_build_ext()}}


def compile_in_place(src: Path) -> list[Path]:
    """Compile the core of the tree at ``src`` (a copy: never the working tree) and put the
    extension modules beside its sources, through the same ``build_ext`` as a wheel; returns
    them. Raises SystemExit when it cannot (no pure fallback for a copy built on purpose)."""
    from setuptools import Distribution

    os.environ[REQUIRE_ENV] = "1"
    os.environ.pop(PURE_ENV, None)
    here = Path.cwd()
    os.chdir(src)
    try:
        dist = Distribution({"name": "gridledger-core", "ext_modules": core_ext_modules()})
        dist.cmdclass = {"build_ext": fallback_build_ext()}
        cmd = dist.get_command_obj("build_ext")
        cmd.inplace = True  # type: ignore[attr-defined]
        dist.run_command("build_ext")
    finally:
        os.chdir(here)
    suffix = _ext_suffix()
    return sorted(p for p in src.rglob(f"*{suffix}") if "build" not in p.relative_to(src).parts)


def _ext_suffix() -> str:
    import sysconfig

    return str(sysconfig.get_config_var("EXT_SUFFIX"))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="compile gridledger's pure core with mypyc, in place, in a copy")
    ap.add_argument("--src", required=True, type=Path, help="a copy of the source tree (with gridledger/)")
    args = ap.parse_args(argv)
    src: Path = args.src.resolve()
    if not (src / "gridledger" / "__init__.py").is_file():
        print(f"gridledger build: --src {src} has no gridledger/ package", file=sys.stderr)
        return 2
    built = compile_in_place(src)
    for path in built:
        print(path.relative_to(src))
    return 0 if built else 1


if __name__ == "__main__":
    sys.exit(main())
