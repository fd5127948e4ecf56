"""Exports: the wiki's snapshot JSON, a CDXJ index, a WACZ package (design.md §9).

- ``snapshot``: one entry per resource in the wiki's JSON snapshot format (id, stable_id,
  url, title, type, tags, the fields the wiki gave us, ``fetch_status``, ``last_fetched_at``)
  plus an ``archive`` block: link state, final URL, the last good capture and its preview,
  the way the wiki shows it. The wiki reads its citations' state back from this file;
  ``archive import`` ignores the ``archive`` block, so the file also re-imports cleanly.
- ``cdxj``: the index of every record of the WARC files, by cdxj-indexer (the indexer of
  the WACZ tools), sorted, for pywb or any CDXJ reader.
- ``wacz``: WARC files, their CDXJ index, a page list with each page's title and text,
  and the datapackage manifest with every file's sha256, as ReplayWeb.page opens it
  (WACZ 1.1.1). The WARC files go in whole, as written: what was on the wire, unchanged,
  so an export of some resources may carry records of others sharing their files.
"""

from __future__ import annotations

import hashlib
import json
import zipfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from io import BytesIO, TextIOWrapper
from pathlib import Path
from typing import IO, Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from archive.db import chunks
from archive.models import Capture, LinkState, Resource
from archive.present import cut_at_word, preview_block
from archive.reports import capture_facts
from archive.warc.records import software

WACZ_VERSION = "1.1.1"

# The wiki's fetch_status vocabulary (ok / dead / paywall / error) for our link states.
FETCH_STATUS = {
    LinkState.ALIVE: "ok",
    LinkState.REDIRECTED: "ok",
    LinkState.PAYWALLED: "paywall",
    LinkState.GONE: "dead",
    LinkState.DEAD: "dead",
    LinkState.BLOCKED: "error",
}


@dataclass
class Selection:
    """Which resources an export covers (all by default)."""

    ids: list[str] | None = None
    states: list[str] | None = None
    type: str | None = None

    def resources(self, session: Session) -> list[Resource]:
        query = select(Resource).order_by(Resource.resource_id)
        if self.ids:
            query = query.where(Resource.resource_id.in_(self.ids))
        if self.states:
            query = query.where(Resource.link_state.in_(self.states))
        if self.type:
            query = query.where(Resource.type == self.type)
        return list(session.scalars(query))


def iso(when: datetime | None) -> str | None:
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ") if when else None


# --- the wiki's snapshot ---------------------------------------------------------------------


def snapshot(session: Session, selection: Selection, full_text: bool = False) -> Iterator[dict]:
    """The selected resources as the wiki's snapshot entries (see the module doc)."""
    resources = selection.resources(session)
    latest, _ = capture_facts(session, [r.resource_id for r in resources])
    for res in resources:
        entry: dict[str, Any] = {
            "id": res.resource_id,
            "stable_id": res.stable_id,
            "url": res.url,
        }
        for key in ("title", "type"):
            if getattr(res, key):
                entry[key] = getattr(res, key)
        entry["tags"] = list(res.tags or [])
        if res.cited_by:
            entry["cited_by"] = list(res.cited_by)
        # the fields the wiki gave us, kept; ours replace its fetch status once we checked
        entry.update({k: v for k, v in (res.meta or {}).items() if k != "stable_id_aliases"})
        if res.last_checked_at is not None:
            entry["fetch_status"] = FETCH_STATUS.get(res.link_state, "error")
            entry["last_fetched_at"] = iso(res.last_checked_at)
        entry["archive"] = _archive_block(session, res, latest.get(res.resource_id), full_text)
        yield entry


def _archive_block(session: Session, res: Resource, latest: Any, full_text: bool) -> dict[str, Any]:
    """``latest``: the resource's last capture, as ``reports.capture_facts`` gives it."""
    block: dict[str, Any] = {
        "link_state": res.link_state,
        "state_since": iso(res.state_since),
        "next_check": iso(res.next_due_at),
    }
    if latest is not None and latest.final_url and latest.final_url != res.url:
        block["final_url"] = latest.final_url
    good = session.get(Capture, res.last_ok_capture_id) if res.last_ok_capture_id else None
    if good is not None:
        block["last_good_capture"] = {
            "capture_id": good.capture_id,
            "fetched_at": iso(good.fetched_at),
            "http_status": good.http_status,
            "content_type": good.content_type,
            "warc_file": good.warc_file,
            "warc_offset": good.warc_offset,
        }
        text = good.full_text or ""
        preview: dict[str, Any] = {
            # "Cached Content Preview · HTTP 200 · Fetched Apr 9, 2026 · 6 KB", as shown
            "heading": preview_block(good).split("\n", 1)[0],
            "title": good.page_title,
            "author": good.author,
            "published_date": good.published_date,
            "content_length": len(text.encode("utf-8")),
            "text": text if full_text else cut_at_word(text),
        }
        preview["truncated"] = len(preview["text"]) < len(text)
        block["preview"] = preview
    return block


def write_snapshot(entries: Iterable[dict], out: IO[str]) -> int:
    """A JSON array, one entry per line group, streamed (no whole-file buffer)."""
    count = 0
    out.write("[")
    for entry in entries:
        out.write(",\n" if count else "\n")
        out.write(json.dumps(entry, ensure_ascii=False, indent=2))
        count += 1
    out.write("\n]\n" if count else "]\n")
    return count


# --- CDXJ ------------------------------------------------------------------------------------


def write_cdxj(paths: list[Path], out: IO[str]) -> None:
    """cdxj-indexer's sorted index of ``paths``; ``filename`` is each file's name."""
    from cdxj_indexer.main import CDXJIndexer

    CDXJIndexer(out, [str(p) for p in paths], sort=True, post_append=True).process_all()


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
    ids = [r.resource_id for r in resources]
    names: set[str] = set()
    originals: set[str] = set()
    for chunk in chunks(ids):
        rows = session.execute(
            select(Capture.warc_file, Capture.revisit_of).where(Capture.resource_id.in_(chunk))
        )
        for warc_file, revisit_of in rows:
            if warc_file:
                names.add(warc_file)
            if revisit_of:
                originals.add(revisit_of)
    for chunk in chunks(sorted(originals)):
        names.update(
            f
            for f in session.scalars(select(Capture.warc_file).where(Capture.capture_id.in_(chunk)))
            if f
        )
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
    header = {"format": "json-pages-1.0", "id": "pages", "title": "Cited pages"}
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
