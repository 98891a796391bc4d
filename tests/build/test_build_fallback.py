"""The build's decisions (buildtools/): when the core is compiled, and the pure fallback.

Fast and offline: tiny C extensions stand in for mypyc's output, and setuptools' own backend
hooks are replaced by recorders. The real compiled core is tested in test_compiled_core.py.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "buildtools"))
import backend  # noqa: E402  (buildtools/ is not a package)
import mypyc_build  # noqa: E402

EXT_SUFFIX = str(sysconfig.get_config_var("EXT_SUFFIX"))
HAVE_CC = shutil.which(str(sysconfig.get_config_var("CC") or "cc").split()[0]) is not None


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(mypyc_build.PURE_ENV, raising=False)
    monkeypatch.delenv(mypyc_build.REQUIRE_ENV, raising=False)


# ------------------------------------------------------------------ when it compiles
def test_only_building_commands_run_mypyc(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[str] = []
    monkeypatch.setattr(mypyc_build, "core_ext_modules", lambda: calls.append("mypyc") or ["ext"])
    # Metadata (setuptools runs setup.py for it before mypy is even installed): nothing.
    assert mypyc_build.setup_kwargs(["egg_info"]) == {}
    assert mypyc_build.setup_kwargs(["dist_info", "--output-dir", "x"]) == {}
    assert calls == []
    kwargs = mypyc_build.setup_kwargs(["bdist_wheel", "--dist-dir", "x"])
    assert kwargs["ext_modules"] == ["ext"] and "build_ext" in kwargs["cmdclass"] and calls == ["mypyc"]


def test_gridledger_pure_turns_compilation_off(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(mypyc_build, "core_ext_modules", lambda: pytest.fail("mypyc ran"))
    monkeypatch.setenv(mypyc_build.PURE_ENV, "1")
    assert mypyc_build.setup_kwargs(["bdist_wheel"]) == {}


def test_a_failed_mypyc_run_installs_the_pure_core(monkeypatch: pytest.MonkeyPatch, capsys: Any) -> None:
    import mypyc.build

    def type_errors(*args: Any, **kwargs: Any) -> list[Any]:
        raise SystemExit(1)  # what mypyc does when the core does not type-check

    monkeypatch.setattr(mypyc.build, "mypycify", type_errors)
    assert mypyc_build.setup_kwargs(["bdist_wheel"]) == {}
    assert "installing the pure-Python core instead" in capsys.readouterr().err
    monkeypatch.setenv(mypyc_build.REQUIRE_ENV, "1")
    with pytest.raises(SystemExit, match="no pure fallback"):
        mypyc_build.setup_kwargs(["bdist_wheel"])


def test_an_editable_install_is_always_pure(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: dict[str, str | None] = {}

    def record(*args: Any, **kwargs: Any) -> str:
        seen["pure"] = os.environ.get(mypyc_build.PURE_ENV)
        return "gridledger-0.1.0-0.editable-py3-none-any.whl"

    monkeypatch.setattr(backend._setuptools, "build_editable", record)
    monkeypatch.setenv(mypyc_build.REQUIRE_ENV, "1")  # CI's setting does not make it compile
    backend.build_editable("wheels")
    assert seen == {"pure": "1"}


def test_a_wheel_asks_for_mypy_unless_pure(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(backend._setuptools, "get_requires_for_build_wheel", lambda config_settings=None: ["wheel"])
    assert backend.get_requires_for_build_wheel() == ["wheel", backend.MYPYC_REQUIREMENT]
    monkeypatch.setenv(mypyc_build.PURE_ENV, "1")
    assert backend.get_requires_for_build_wheel() == ["wheel"]


# ------------------------------------------------------------------ the C build
def _build(tmp_path: Path, sources: dict[str, str], name: str = "tinyext") -> subprocess.CompletedProcess[str]:
    """Build ``name`` from ``sources`` with the project's build_ext, in place, in a child
    process (distutils keeps global state)."""
    for file, text in sources.items():
        (tmp_path / file).write_text(text)
    script = f"""
import sys
sys.path.insert(0, {str(ROOT / "buildtools")!r})
from setuptools import Distribution, Extension
import mypyc_build
dist = Distribution({{"name": "t", "ext_modules": [Extension({name!r}, sources={sorted(sources)!r})]}})
dist.cmdclass = {{"build_ext": mypyc_build.fallback_build_ext()}}
dist.get_command_obj("build_ext").inplace = True
dist.run_command("build_ext")
"""
    return subprocess.run([sys.executable, "-c", script], cwd=tmp_path, capture_output=True, text=True, timeout=300)


MODULE_C = """
#include <Python.h>
int tiny_answer(void);
static PyObject *answer(PyObject *self, PyObject *args) { return PyLong_FromLong(tiny_answer()); }
static PyMethodDef methods[] = {{"answer", answer, METH_NOARGS, ""}, {NULL, NULL, 0, NULL}};
static struct PyModuleDef mod = {PyModuleDef_HEAD_INIT, "tinyext", NULL, -1, methods};
PyMODINIT_FUNC PyInit_tinyext(void) { return PyModule_Create(&mod); }
"""
HELPER_C = "int tiny_answer(void) { return 42; }\n"


@pytest.mark.skipif(not HAVE_CC, reason="no C compiler")
def test_an_extension_of_several_c_files_builds_and_imports(tmp_path: Path) -> None:
    # mypyc's multi_file output: several C files in one extension, compiled side by side.
    proc = _build(tmp_path, {"a_module.c": MODULE_C, "b_helper.c": HELPER_C})
    assert proc.returncode == 0, proc.stderr
    check = subprocess.run(
        [sys.executable, "-c", "import tinyext; print(tinyext.answer())"], cwd=tmp_path, capture_output=True, text=True
    )
    assert check.stdout.strip() == "42", check.stderr


def test_a_compiler_failure_falls_back_to_pure_and_leaves_no_extension(tmp_path: Path) -> None:
    proc = _build(tmp_path, {"a_module.c": MODULE_C, "b_helper.c": "this is not C;\n"})
    assert proc.returncode == 0, proc.stderr
    assert "the C compiler could not build the core" in proc.stderr
    assert "installing the pure-Python core instead" in proc.stderr
    assert list(tmp_path.glob(f"*{EXT_SUFFIX}")) == []


def test_with_gridledger_require_compiled_a_compiler_failure_fails(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(mypyc_build.REQUIRE_ENV, "1")
    proc = _build(tmp_path, {"a_module.c": MODULE_C, "b_helper.c": "this is not C;\n"})
    assert proc.returncode != 0
    assert "GRIDLEDGER_REQUIRE_COMPILED=1: no pure fallback" in proc.stderr
