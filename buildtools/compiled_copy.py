"""A compiled copy of the current tree, for the build test and the benchmark (issue 12, item 3).

The compiled core is never built in the working tree: a ``.so`` beside ``ledger.py`` is
imported instead of it and would hide every later edit of the source. Instead:

1. the current ``gridledger/`` (and pyproject.toml, whose [tool.mypy] mypyc reads) is copied
   to a directory of the caller's;
2. the extension modules for exactly those sources are taken from the cache
   ``build/compiled-core/<key>/`` (key: a hash of the core's sources, the modules it imports,
   the build settings and the toolchain), or compiled once in another copy by
   buildtools/mypyc_build.py (the same ``build_ext`` as ``pip install .``) and cached;
3. they are dropped into the copy, which then runs compiled with ``PYTHONPATH=<copy>``.

    python buildtools/compiled_copy.py DIR   # make DIR a compiled copy of the current tree
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import shlex
import shutil
import subprocess
import sys
import sysconfig
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CACHE = ROOT / "build" / "compiled-core"
BUILDER = Path(__file__).resolve().parent / "mypyc_build.py"
CORE_PACKAGES = ("domain", "ledger", "strategy")
EXT_SUFFIX = str(sysconfig.get_config_var("EXT_SUFFIX"))
KEEP_BUILDS = 3
BUILD_TIMEOUT_S = 1200  # a loaded 2-core machine has taken 100 s of wall time for 30 s of CPU


class BuildError(Exception):
    """mypyc or the C compiler could not build the core (the message has the tail of the log)."""


def missing_toolchain() -> str | None:
    """Why the core cannot be compiled here, or ``None``."""
    if importlib.util.find_spec("mypyc") is None:
        return "mypyc is not installed (it comes with mypy: pip install -e '.[dev]')"
    if importlib.util.find_spec("setuptools") is None:
        return "setuptools is not installed (pip install -e '.[dev]')"
    compiler = os.environ.get("CC") or str(sysconfig.get_config_var("CC") or "cc")
    words = shlex.split(compiler)
    if not words or shutil.which(words[0]) is None:
        return f"no C compiler ({compiler!r} not found)"
    return None


def copy_tree(dst: Path) -> None:
    """The current sources as they are now (other edits may land meanwhile: one snapshot)."""
    shutil.copytree(
        ROOT / "gridledger", dst / "gridledger", ignore=shutil.ignore_patterns("__pycache__", f"*{EXT_SUFFIX}")
    )
    shutil.copy2(ROOT / "pyproject.toml", dst / "pyproject.toml")


def cache_key(tree: Path) -> str:
    """What the extension modules depend on: the core's sources, the modules outside it that
    the core imports (their types are compiled in), the build settings and the toolchain."""
    import mypy.version

    digest = hashlib.sha256()
    package = tree / "gridledger"
    files = sorted(p for name in CORE_PACKAGES for p in (package / name).rglob("*.py"))
    files += [package / "__init__.py", package / "logs.py", tree / "pyproject.toml"]
    for path in files:
        digest.update(str(path.relative_to(tree)).encode())
        digest.update(path.read_bytes())
    digest.update(BUILDER.read_bytes())
    digest.update(f"{mypy.version.__version__} {sys.version} {EXT_SUFFIX}".encode())
    return digest.hexdigest()[:24]


def extensions(tree: Path) -> list[Path]:
    """The extension modules under ``tree`` (relative), outside build directories."""
    return sorted(
        p.relative_to(tree)
        for p in tree.rglob(f"*{EXT_SUFFIX}")
        if not {"build", ".mypy_cache"} & set(p.relative_to(tree).parts)
    )


def _build(scratch: Path) -> tuple[str, Path]:
    """Compile a fresh copy in ``scratch`` and cache its extension modules: (key, cache dir)."""
    src = scratch / "src"
    copy_tree(src)
    key = cache_key(src)
    proc = subprocess.run(
        [sys.executable, str(BUILDER), "--src", str(src)],
        capture_output=True,
        text=True,
        timeout=BUILD_TIMEOUT_S,
        env={**os.environ, "GRIDLEDGER_REQUIRE_COMPILED": "1"},
    )
    built = extensions(src)
    if proc.returncode != 0 or not built:
        tail = "\n".join((proc.stdout + proc.stderr).splitlines()[-30:])
        raise BuildError(f"mypyc could not build the core (exit {proc.returncode}):\n{tail}")
    CACHE.mkdir(parents=True, exist_ok=True)
    staging = CACHE / f".tmp-{os.getpid()}-{key}"
    shutil.rmtree(staging, ignore_errors=True)
    for rel in built:
        (staging / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(src / rel, staging / rel)
    (staging / "COMPLETE").write_text("".join(f"{rel}\n" for rel in built))
    final = CACHE / key
    try:
        staging.rename(final)  # atomic: a concurrent run sees all of it or none
    except OSError:  # another run cached the same key first: the same bytes
        shutil.rmtree(staging, ignore_errors=True)
    _prune()
    return key, final


def _prune() -> None:
    builds = sorted((p for p in CACHE.iterdir() if (p / "COMPLETE").is_file()), key=lambda p: p.stat().st_mtime)
    for old in builds[:-KEEP_BUILDS]:
        shutil.rmtree(old, ignore_errors=True)


def make_compiled_copy(dst: Path) -> Path:
    """Make ``dst`` (absent or empty) a compiled copy of the current tree; returns ``dst``.

    Raises ``BuildError`` when the core does not compile (check ``missing_toolchain`` first)."""
    copy_tree(dst)
    key = cache_key(dst)
    cached = CACHE / key
    if not (cached / "COMPLETE").is_file():
        with tempfile.TemporaryDirectory(prefix="gridledger-mypyc-") as scratch:
            built_key, cached = _build(Path(scratch))
        if built_key != key:  # the sources changed between the two copies: use the built snapshot
            shutil.rmtree(dst / "gridledger")
            copy_tree(dst)
            if cache_key(dst) != built_key:
                raise BuildError("the core's sources keep changing while they are copied; try again")
    for rel in (cached / "COMPLETE").read_text().split():
        (dst / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(cached / rel, dst / rel)
    os.utime(cached)  # recently used: kept by _prune
    return dst


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: python buildtools/compiled_copy.py DIR", file=sys.stderr)
        return 2
    dst = Path(argv[0]).resolve()
    if dst.exists() and any(dst.iterdir()):
        print(f"compiled copy: {dst} is not empty", file=sys.stderr)
        return 2
    missing = missing_toolchain()
    if missing:
        print(f"compiled copy: cannot compile here: {missing}", file=sys.stderr)
        return 2
    try:
        make_compiled_copy(dst)
    except BuildError as exc:
        print(f"compiled copy: {exc}", file=sys.stderr)
        return 1
    print(dst)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
