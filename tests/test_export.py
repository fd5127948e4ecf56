"""`archive export`: the wiki's snapshot JSON, a CDXJ index and a WACZ, from a real crawl."""

from __future__ import annotations

import hashlib
import io
import json
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from sites import Fixed, LocalSite, Redirect, html_page
from warcio.archiveiterator import ArchiveIterator
from warctools import Wayback, assert_warcio_check

ARCHIVE = str(Path(sys.executable).parent / "archive")
PARAGRAPH = (
    "The council published the audit of the harbour works on Tuesday, listing every contract "
    "signed since 2019 and the sums paid to each firm, with the engineers' notes on delays."
)


def archive(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [ARCHIVE, *args], capture_output=True, text=True, timeout=240, check=False
    )


@pytest.fixture
def exported_site(site: LocalSite, archive_home: Path, tmp_path: Path) -> LocalSite:
    """Three cited pages crawled twice (the second crawl writes revisits to a new file),
    one of them behind a redirect, one gone."""
    for n in (1, 2):
        site.set(f"/audit/{n}", Fixed(html_page(f"Harbour audit {n}", PARAGRAPH * 3).encode()))
    site.set("/old-audit", Redirect("/audit/2", 301))
    registry = tmp_path / "resources.yaml"
    registry.write_text(
        f"- id: audit-one\n  url: {site.url('/audit/1')}\n  title: Audit one\n"
        f"  tags: [harbour]\n  cited_by: [harbour-works]\n  fetch_status: error\n"
        f"- url: {site.url('/old-audit')}\n  title: Audit two, old address\n"
        f"- url: {site.url('/nowhere')}\n  title: A missing page\n",
        encoding="utf-8",
    )
    for args in (("--source", str(registry)), ("--all",)):
        result = archive("crawl", *args)
        assert result.returncode == 0, result.stderr[-2000:]
    return site


@pytest.mark.slow
def test_json_is_the_wikis_snapshot_with_our_state_and_reimports_unchanged(
    exported_site: LocalSite, tmp_path: Path
) -> None:
    out = tmp_path / "snapshot.json"
    result = archive("export", "json", "-o", str(out))
    assert result.returncode == 0, result.stderr
    assert "wrote" in result.stderr and "3 resources" in result.stderr
    entries = {e["url"]: e for e in json.loads(out.read_text(encoding="utf-8"))}
    one = entries[exported_site.url("/audit/1")]
    assert one["id"] == "audit-one" and one["stable_id"].startswith("sid_")
    assert (one["title"], one["tags"], one["cited_by"]) == (
        "Audit one",
        ["harbour"],
        ["harbour-works"],
    )
    assert one["fetch_status"] == "ok"  # ours, replacing the wiki's stale "error"
    assert one["last_fetched_at"].endswith("Z")
    block = one["archive"]
    assert block["link_state"] == "alive"
    assert block["preview"]["heading"].startswith("Cached Content Preview · HTTP 200 · Fetched ")
    assert block["preview"]["text"].startswith("The council published the audit")
    assert block["last_good_capture"]["capture_id"].startswith("cap_")
    moved = entries[exported_site.url("/old-audit")]
    assert moved["archive"]["final_url"] == exported_site.url("/audit/2")
    missing = entries[exported_site.url("/nowhere")]
    assert missing["archive"]["link_state"] in ("unknown", "gone")
    assert "last_good_capture" not in missing["archive"]

    again = archive("import", str(out))
    assert again.returncode == 0, again.stderr
    assert "0 new, 0 updated, 3 unchanged, 0 rejected" in again.stdout + again.stderr

    # standard output, filtered by state
    alive = archive("export", "json", "--state", "alive")
    assert [e["url"] for e in json.loads(alive.stdout)] == [exported_site.url("/audit/1")]


@pytest.mark.slow
def test_wacz_holds_the_warcs_an_index_pages_and_a_true_manifest(
    exported_site: LocalSite, archive_home: Path, tmp_path: Path
) -> None:
    target = tmp_path / "harbour.wacz"
    result = archive(
        "export",
        "wacz",
        "-o",
        str(target),
        "--ids",
        exported_site.url("/audit/1"),
        "--title",
        "Harbour audits",
    )
    assert result.returncode == 0, result.stderr
    assert "1 pages, 2 WARC files" in result.stderr  # the revisit's file and the original's
    assert "packing WARC files: 2/2" in result.stderr  # progress, for big archives
    unpacked = tmp_path / "unpacked"
    with zipfile.ZipFile(target) as wacz:
        names = wacz.namelist()
        for info in wacz.infolist():
            if info.filename.startswith("archive/"):
                assert info.compress_type == zipfile.ZIP_STORED  # seekable in place
        wacz.extractall(unpacked)
    assert {
        "datapackage.json",
        "datapackage-digest.json",
        "indexes/index.cdx",
        "pages/pages.jsonl",
    } <= set(names)

    # the manifest: every other file, with its true size and sha256; the digest file signs it
    manifest_bytes = (unpacked / "datapackage.json").read_bytes()
    manifest = json.loads(manifest_bytes)
    assert manifest["wacz_version"] == "1.1.1" and manifest["title"] == "Harbour audits"
    assert manifest["mainPageURL"] == exported_site.url("/audit/1")
    listed = {r["path"]: r for r in manifest["resources"]}
    assert set(listed) == set(names) - {"datapackage.json", "datapackage-digest.json"}
    for path, entry in listed.items():
        data = (unpacked / path).read_bytes()
        assert entry["bytes"] == len(data)
        assert entry["hash"] == "sha256:" + hashlib.sha256(data).hexdigest()
    digest = json.loads((unpacked / "datapackage-digest.json").read_text())
    assert digest == {
        "path": "datapackage.json",
        "hash": "sha256:" + hashlib.sha256(manifest_bytes).hexdigest(),
    }

    # the WARCs are the archive's own files, byte for byte, and sound
    warcs = sorted((unpacked / "archive").glob("*.warc.gz"))
    for path in warcs:
        assert path.read_bytes() == (archive_home / "warcs" / path.name).read_bytes()
    assert_warcio_check(warcs)

    # every index line points at the record it names
    lines = (unpacked / "indexes" / "index.cdx").read_text().splitlines()
    assert lines == sorted(lines)
    for line in lines:
        _, _, data = line.split(" ", 2)
        fields = json.loads(data)
        with open(unpacked / "archive" / fields["filename"], "rb") as fh:
            fh.seek(int(fields["offset"]))
            raw = fh.read(int(fields["length"]))
        record = next(iter(ArchiveIterator(io.BytesIO(raw))))
        assert record.rec_headers.get_header("WARC-Target-URI") == fields["url"]

    # the page list: the cited page, titled, with its text
    header, *pages = [
        json.loads(line) for line in (unpacked / "pages" / "pages.jsonl").read_text().splitlines()
    ]
    assert header["format"] == "json-pages-1.0" and header["hasText"] is True
    [page] = pages
    assert page["url"] == exported_site.url("/audit/1") and page["title"] == "Harbour audit 1"
    assert page["text"].startswith("The council published the audit")

    # and pywb replays the page from the exported files
    ts = "".join(ch for ch in page["ts"] if ch.isdigit())[:14]
    with Wayback(tmp_path / "pywb", warcs) as wb:
        replayed = wb.get(page["url"], ts)
    assert replayed.status == 200 and b"The council published the audit" in replayed.body


@pytest.mark.slow
def test_cdxj_and_a_missing_warc_file(
    exported_site: LocalSite, archive_home: Path, tmp_path: Path
) -> None:
    result = archive("export", "cdxj")
    assert result.returncode == 0, result.stderr
    lines = [line for line in result.stdout.splitlines() if line.strip()]
    assert lines == sorted(lines)
    urls = {json.loads(line.split(" ", 2)[2])["url"] for line in lines}
    assert {exported_site.url("/audit/1"), exported_site.url("/audit/2")} <= urls

    assert archive("export", "wacz").returncode == 2  # a WACZ needs -o
    empty = archive("export", "wacz", "-o", str(tmp_path / "none.wacz"), "--state", "blocked")
    assert empty.returncode == 1 and "no WARC file holds a capture" in empty.stderr
    assert not (tmp_path / "none.wacz").exists()
    victim = sorted((archive_home / "warcs").glob("*.warc.gz"))[0]
    victim.rename(victim.with_suffix(".moved"))
    broken = archive("export", "wacz", "-o", str(tmp_path / "x.wacz"))
    assert broken.returncode == 1
    assert f"missing from {archive_home / 'warcs'}: {victim.name}" in broken.stderr
    assert not (tmp_path / "x.wacz").exists() and not list(tmp_path.glob("x.wacz*"))
