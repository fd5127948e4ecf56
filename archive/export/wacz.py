"""Packages for other tools: a CDXJ index and a WACZ.

- ``cdxj``: the index of every record of the WARC files, by cdxj-indexer (the indexer of
  the WACZ tools, and the one the replay's index is built with), sorted, for pywb or any
  CDXJ reader.
- ``wacz``: WARC files, their CDXJ index, a page list with each page's title and text,
  and the datapackage manifest with every file's sha256, as ReplayWeb.page opens it
  (WACZ 1.1.1). The WARC files go in whole, as written: what was on the wire, unchanged,
  so an export of some resources may carry records of others sharing their files.
"""

from __future__ import annotations

import hashlib
import json
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from io import BytesIO, TextIOWrapper
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, defer

from archive.export.selection import Selection
from archive.export.snapshot import iso
from archive.inspect.payload import originals_of
from archive.store.db import chunks
from archive.store.models import Capture, Resource
from archive.warc.reader import write_cdxj
from archive.warc.records import software

__all__ = ["NothingToExport", "WaczReport", "warc_files_for", "write_cdxj", "write_wacz"]

WACZ_VERSION = "1.1.1"


# --- WACZ ------------------------------------------------------------------------------------


Progress = Callable[[str, int, int], None]  # (stage, done, total)


class NothingToExport(ValueError):
    """The selection holds no captures to package."""


@dataclass
class WaczReport:
    pages: int
    warc_files: int
    bytes: int


def warc_files_for(session: Session, resources: list[Resource], warc_dir: Path) -> list[Path]:
    """The WARC files holding the resources' captures and the originals their revisits
    point to (a revisit replays from the original's payload)."""
    captures: list[Capture] = []
    for chunk in chunks([r.resource_id for r in resources]):
        captures.extend(
            session.scalars(
                select(Capture)
                .where(Capture.resource_id.in_(chunk))
                .options(defer(Capture.full_text), defer(Capture.full_text_preview))
            )
        )
    located = captures + list(originals_of(session, captures).values())
    names = {locator.filename for c in located if (locator := c.locator) is not None}
    paths = [warc_dir / name for name in sorted(names)]
    missing = [p.name for p in paths if not p.exists()]
    if missing:
        raise FileNotFoundError(
            f"{len(missing)} WARC file(s) named by the store are missing from {warc_dir}: "
            + ", ".join(missing[:3])
            + ("…" if len(missing) > 3 else "")
            + " (run `archive verify`)"
        )
    return paths


def pages(session: Session, resources: list[Resource]) -> Iterator[dict[str, Any]]:
    """One page per resource with a good capture: the cited URL at that capture's time,
    titled and with its text, so that ReplayWeb.page lists and searches it."""
    for res in resources:
        good = session.get(Capture, res.last_ok_capture_id) if res.last_ok_capture_id else None
        if good is None or not good.warc_date:
            continue
        page: dict[str, Any] = {
            "id": good.capture_id,
            "url": res.url,
            "ts": good.warc_date,
            "title": good.page_title or res.title or res.url,
        }
        if good.full_text:
            page["text"] = good.full_text
        yield page


def write_wacz(
    session: Session,
    selection: Selection,
    warc_dir: Path,
    target: Path,
    title: str | None = None,
    progress: Progress | None = None,
) -> WaczReport:
    """Write ``target`` (see the module doc); written beside it, then renamed into place."""
    resources = selection.resources(session)
    warcs = warc_files_for(session, resources, warc_dir)
    if not warcs:  # a WACZ holds at least one WARC file
        raise NothingToExport(
            f"no WARC file holds a capture of the {len(resources)} selected resources"
        )
    page_list = list(pages(session, resources))
    tmp = target.with_name(target.name + ".part")
    try:
        with zipfile.ZipFile(tmp, "w", allowZip64=True) as wacz:
            for done, path in enumerate(warcs, 1):
                # stored: already gzipped per record, and seekable in place
                wacz.write(path, f"archive/{path.name}", compress_type=zipfile.ZIP_STORED)
                if progress:
                    progress("pack", done, len(warcs))
            index = BytesIO()
            text = TextIOWrapper(index, "utf-8", write_through=True)
            write_cdxj(warcs, text)
            text.flush()
            _add(wacz, "indexes/index.cdx", index.getvalue())
            _add(wacz, "pages/pages.jsonl", _pages_jsonl(page_list))
            manifest = _datapackage(wacz, title or "cited-archive export", page_list, progress)
            _add(wacz, "datapackage.json", manifest)
            digest = {"path": "datapackage.json", "hash": _sha256(manifest)}
            _add(wacz, "datapackage-digest.json", json.dumps(digest, indent=2).encode())
        tmp.replace(target)
    finally:
        tmp.unlink(missing_ok=True)
    return WaczReport(len(page_list), len(warcs), target.stat().st_size)


def _add(wacz: zipfile.ZipFile, name: str, data: bytes) -> None:
    info = zipfile.ZipInfo(name, datetime.now(UTC).timetuple()[:6])
    info.compress_type = zipfile.ZIP_DEFLATED
    wacz.writestr(info, data)


def _pages_jsonl(page_list: list[dict[str, Any]]) -> bytes:
    header: dict[str, Any] = {"format": "json-pages-1.0", "id": "pages", "title": "Cited pages"}
    if any("text" in p for p in page_list):
        header["hasText"] = True
    lines = [json.dumps(header)] + [json.dumps(p, ensure_ascii=False) for p in page_list]
    return ("\n".join(lines) + "\n").encode("utf-8")


def _datapackage(
    wacz: zipfile.ZipFile,
    title: str,
    page_list: list[dict[str, Any]],
    progress: Progress | None = None,
) -> bytes:
    resources = []
    infos = wacz.infolist()
    for done, info in enumerate(infos, 1):
        if progress:
            progress("hash", done, len(infos))
        digest = hashlib.sha256()
        with wacz.open(info) as stream:
            while chunk := stream.read(1 << 20):
                digest.update(chunk)
        resources.append(
            {
                "name": Path(info.filename).name.lower(),
                "path": info.filename,
                "hash": f"sha256:{digest.hexdigest()}",
                "bytes": info.file_size,
            }
        )
    package: dict[str, Any] = {
        "profile": "data-package",
        "resources": resources,
        "title": title,
        "created": iso(datetime.now(UTC)),
        "software": software(),
        "wacz_version": WACZ_VERSION,
    }
    if len(page_list) == 1:
        package["mainPageURL"] = page_list[0]["url"]
        package["mainPageDate"] = page_list[0]["ts"]
    return json.dumps(package, indent=2).encode("utf-8")


def _sha256(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()
