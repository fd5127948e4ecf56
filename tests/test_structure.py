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


#: what the crawl's process loads: every component the project's settings name
CRAWL_PROCESS = """
import sys
from scrapy.utils.misc import load_object
import archive.cli, archive.crawl, crawler.recorder, settings
names = [*settings.DOWNLOADER_MIDDLEWARES, *settings.ITEM_PIPELINES, *settings.EXTENSIONS]
for name in names + [settings.DOWNLOAD_HANDLERS["http"]]:
    load_object(name)
import crawler.spiders.resources
print(sorted({m.split(".")[0] for m in sys.modules}))
"""


def test_the_crawl_process_never_imports_the_store() -> None:
    """The store is the recorder process's: SQLAlchemy's import alone is a quarter of a
    second of the crawl's start, on the core that runs Scrapy."""
    import subprocess
    import sys

    done = subprocess.run(
        [sys.executable, "-c", CRAWL_PROCESS], capture_output=True, text=True, check=True
    )
    loaded = done.stdout
    assert "'scrapy'" in loaded and "'crawler'" in loaded
    assert "'sqlalchemy'" not in loaded and "'alembic'" not in loaded
