"""The house rules of the code base: short modules, short functions (rules tables and
frozen migrations aside). The import contracts are checked by `lint-imports` in CI."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("archive", "crawler", "settings")
MODULE_LINES = 400
FUNCTION_LINES = 60
#: Tables of phrases and names, data rather than code (see their docstrings).
RULES_TABLES = {"archive/extract/rules.py"}


def sources() -> list[Path]:
    return sorted(p for pkg in PACKAGES for p in (ROOT / pkg).rglob("*.py"))


def test_modules_are_short() -> None:
    long = {
        str(p.relative_to(ROOT)): n
        for p in sources()
        if (n := p.read_text(encoding="utf-8").count("\n")) > MODULE_LINES
    }
    assert set(long) <= RULES_TABLES, long


def test_functions_are_short() -> None:
    long = []
    for path in sources():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                assert node.end_lineno is not None
                lines = node.end_lineno - node.lineno + 1
                if lines > FUNCTION_LINES:
                    long.append(f"{path.relative_to(ROOT)}:{node.lineno} {node.name} ({lines})")
    assert not long, long
