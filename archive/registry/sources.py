"""Reading resource lists: the wiki's YAML registry, JSON snapshot and citation-archive
files, CSV, plain text.

Every reader yields ``Row``s that remember where they came from (a line number),
so a bad row can be reported precisely; a file that cannot be parsed at all
raises ``MalformedFile`` naming the file, line and reason.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from archive.registry.citations import citation_rows, is_citation_archive

#: Keys whose values are ids: kept as the exact text written, never read as numbers.
_ID_KEYS = {"id", "stable_id"}


@dataclass
class Row:
    line: int
    data: Any


class MalformedFile(Exception):
    def __init__(self, path: Path | str, line: int | None, reason: str) -> None:
        self.path, self.line, self.reason = str(path), line, reason
        where = f"{path}:{line}" if line else str(path)
        super().__init__(f"{where}: {reason}")


# libyaml's loader is 10x faster; the pure-Python one is the same API.
_Loader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _LineLoader(_Loader):  # type: ignore[valid-type,misc]
    """SafeLoader that records each mapping's line and keeps ids as written
    (YAML would read ``id: 0123456701234567`` as an octal number)."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        mapping = super().construct_mapping(node, deep=deep)
        for key_node, value_node in node.value:
            if key_node.value in _ID_KEYS and isinstance(value_node, yaml.ScalarNode):
                mapping[key_node.value] = value_node.value
        mapping["__line__"] = node.start_mark.line + 1
        return mapping

    def construct_document(self, node: yaml.Node) -> Any:
        if isinstance(node, yaml.SequenceNode):  # lines of the top-level items, mappings or not
            self.item_lines = [child.start_mark.line + 1 for child in node.value]
        return super().construct_document(node)

    item_lines: list[int] = []


def _rows_of(items: Any, path: Path, line: int | None = 1) -> list[Any]:
    if is_citation_archive(items):  # the wiki's per-page citation file
        try:
            return citation_rows(items)
        except ValueError as exc:
            raise MalformedFile(path, line, str(exc)) from exc
    if isinstance(items, dict):
        for key in ("resources", "items", "data"):
            if isinstance(items.get(key), list):
                return items[key]
    if not isinstance(items, list):
        raise MalformedFile(path, line, "expected a list of resources at the top level")
    return items


#: ``key: value`` where the value is a plain scalar (not quoted, not a flow collection).
_PLAIN_VALUE = re.compile(r"^(\s*(?:- )?[A-Za-z_][\w.-]*:[ \t]+)([^'\"\[{|>&*!#\s].*?)\s*$")
#: ``key: |`` or ``key: >-``: the lines below are literal text, never touched.
_BLOCK_SCALAR = re.compile(r":[ \t]+[|>][-+0-9]*[ \t]*(#.*)?$")


def _quote_colon_values(path: Path, text: str, warnings: list[str]) -> str:
    """Quote values like ``title: Part 1: A Study`` that strict YAML refuses.

    Hand-edited registries are full of titles with an unquoted ``: ``. A plain
    scalar can never contain one, so quoting it is the one repair that cannot
    change what was meant; it is made and reported instead of refusing the file.
    """
    lines = text.split("\n")
    block_indent: int | None = None
    for number, line in enumerate(lines, 1):
        indent = len(line) - len(line.lstrip())
        if block_indent is not None:
            if not line.strip() or indent > block_indent:
                continue
            block_indent = None
        if _BLOCK_SCALAR.search(line):
            block_indent = indent
            continue
        match = _PLAIN_VALUE.match(line)
        if not match:
            continue
        value, _, comment = match.group(2).partition(" #")
        value = value.rstrip()
        if ": " in value or value.endswith(":"):
            lines[number - 1] = (
                match.group(1)
                + json.dumps(value, ensure_ascii=False)
                + (f" #{comment}" if comment else "")
            )
            warnings.append(
                f"{path}:{number}: quoted a value containing ': ' (invalid in plain YAML)"
            )
    return "\n".join(lines)


def _load_yaml(path: Path, text: str, warnings: list[str]) -> tuple[Any, list[int]]:
    loader = _LineLoader(_quote_colon_values(path, text, warnings))
    try:
        return loader.get_single_data(), loader.item_lines
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else None
        reason = f"invalid YAML: {exc.problem or exc.context}"
        if exc.context and exc.context_mark and exc.problem:
            reason += f" ({exc.context} started at line {exc.context_mark.line + 1})"
        raise MalformedFile(path, line, reason) from exc
    except yaml.YAMLError as exc:
        raise MalformedFile(path, None, f"invalid YAML: {exc}") from exc
    finally:
        loader.dispose()


def read_yaml(path: Path, text: str, warnings: list[str]) -> Iterator[Row]:
    doc, item_lines = _load_yaml(path, text, warnings)
    if doc is None:
        return
    items = _rows_of(doc, path)
    lines = item_lines if items is doc else []
    for index, item in enumerate(items):
        line = lines[index] if index < len(lines) else 0
        if isinstance(item, dict):
            line = item.pop("__line__", line)
        yield Row(line, item)


def read_json(path: Path, text: str, warnings: list[str]) -> Iterator[Row]:
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise MalformedFile(
            path, exc.lineno, f"invalid JSON: {exc.msg} (column {exc.colno})"
        ) from exc
    items = _rows_of(doc, path)
    lines = _json_item_lines(text) if isinstance(doc, list) else []
    for index, item in enumerate(items):
        yield Row(lines[index] if index < len(lines) else 0, item)


def _json_item_lines(text: str) -> list[int]:
    """Line where each element of a top-level JSON array starts (json gives no positions)."""
    decoder = json.JSONDecoder()
    lines: list[int] = []
    pos = text.index("[") + 1
    line = text.count("\n", 0, pos) + 1
    while True:
        while pos < len(text) and text[pos] in " \t\r\n,":
            line += text[pos] == "\n"
            pos += 1
        if pos >= len(text) or text[pos] == "]":
            return lines
        lines.append(line)
        _, end = decoder.raw_decode(text, pos)
        line += text.count("\n", pos, end)
        pos = end


def read_csv(path: Path, text: str, warnings: list[str]) -> Iterator[Row]:
    reader = csv.DictReader(io.StringIO(text, newline=""), strict=True)
    try:
        fields = reader.fieldnames or []
    except csv.Error as exc:
        raise MalformedFile(path, 1, f"invalid CSV: {exc}") from exc
    if "url" not in [f.strip().lower() for f in fields]:
        raise MalformedFile(path, 1, "CSV has no 'url' column")
    try:
        for record in reader:
            if None in record:  # more cells than headers
                record.pop(None)
            data = {k.strip().lower(): v for k, v in record.items() if k and v not in (None, "")}
            for key in ("tags", "cited_by", "authors"):
                if isinstance(data.get(key), str):
                    data[key] = [
                        p.strip() for p in data[key].replace("|", ";").split(";") if p.strip()
                    ]
            yield Row(reader.line_num, data)
    except csv.Error as exc:
        raise MalformedFile(path, reader.line_num, f"invalid CSV: {exc}") from exc


def read_text(path: Path, text: str, warnings: list[str]) -> Iterator[Row]:
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if line and not line.startswith("#"):
            yield Row(number, {"url": line})


_READERS = {".yaml": read_yaml, ".yml": read_yaml, ".json": read_json, ".csv": read_csv}


def read_rows(path: Path, warnings: list[str] | None = None) -> list[Row]:
    """All rows of a resource list; raises MalformedFile before anything is imported.
    Repairs made on the way are described in ``warnings``."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise MalformedFile(path, None, f"cannot read: {exc.strerror}") from exc
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        raise MalformedFile(path, line, "not UTF-8 text") from exc
    reader = _READERS.get(path.suffix.lower()) or _sniff(text)
    return list(reader(path, text, [] if warnings is None else warnings))


def _sniff(text: str) -> Any:
    head = text.lstrip()[:1]
    if head in ("[", "{"):
        return read_json
    first = text.lstrip().splitlines()[0] if text.strip() else ""
    if first.startswith("- ") or first.startswith("---"):
        return read_yaml
    if "," in first and "url" in first.lower():
        return read_csv
    return read_text
