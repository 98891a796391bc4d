"""The product never imports the test kit (issue 8): tests and benchmarks may, the product may not."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "gridledger"


def _imports(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return found


def test_no_product_module_imports_the_test_kit() -> None:
    offenders = []
    for path in sorted(PACKAGE.rglob("*.py")):
        if "testkit" in path.relative_to(PACKAGE).parts:
            continue
        bad = sorted(name for name in _imports(path) if name.startswith("gridledger.testkit"))
        if bad:
            offenders.append(f"{path.relative_to(PACKAGE)}: {', '.join(bad)}")
    assert offenders == []


def test_the_check_sees_an_import_of_the_test_kit(tmp_path: Path) -> None:
    probe = tmp_path / "probe.py"
    probe.write_text("from gridledger.testkit.synthetic import History\nimport gridledger.testkit.local_binance\n")
    assert {"gridledger.testkit.synthetic", "gridledger.testkit.local_binance"} <= _imports(probe)


MAX_MODULE_LINES = 400  # README: "no module outside the test kit is over 400 lines"


def _oversized(package: Path, limit: int = MAX_MODULE_LINES) -> list[str]:
    """Modules under ``package`` (the test kit excepted) longer than ``limit`` lines."""
    found = []
    for path in sorted(package.rglob("*.py")):
        rel = path.relative_to(package)
        if "testkit" in rel.parts:
            continue
        count = len(path.read_text(encoding="utf-8").splitlines())
        if count > limit:
            found.append(f"{rel}: {count} lines")
    return found


def test_no_product_module_is_over_400_lines() -> None:
    assert _oversized(PACKAGE) == []


def test_the_size_check_sees_a_long_module_but_not_the_test_kit(tmp_path: Path) -> None:
    (tmp_path / "short.py").write_text("x = 1\n" * MAX_MODULE_LINES)
    (tmp_path / "long.py").write_text("x = 1\n" * (MAX_MODULE_LINES + 1))
    (tmp_path / "testkit").mkdir()
    (tmp_path / "testkit" / "huge.py").write_text("x = 1\n" * 1000)
    assert _oversized(tmp_path) == [f"long.py: {MAX_MODULE_LINES + 1} lines"]
