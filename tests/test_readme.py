"""The README's example runs as written, and the README starts with the two commands."""

from __future__ import annotations

import re
from pathlib import Path

README = Path(__file__).resolve().parent.parent / "README.md"


def test_readme_starts_with_the_two_commands():
    first = [line for line in README.read_text().splitlines() if line.strip()][:2]
    assert first[0].strip().startswith("make demo") and first[1].strip().startswith("make test")


def test_public_api_example_runs(capsys):
    text = README.read_text()
    section = text[text.index("## Public API") :]
    code = re.search(r"```python\n(.*?)```", section, re.S).group(1)
    exec(compile(code, "README.md", "exec"), {})
    printed = capsys.readouterr().out.splitlines()
    assert printed[0] == "['APPLIED', 'APPLIED']"  # the fill, then its FILLED status
    assert printed[1] == "['DUPLICATE', 'DUPLICATE']"
