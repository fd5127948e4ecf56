"""Main-text extraction benchmark: our extractor against trafilatura and readability-lxml.

Run from the repository root::

    .venv/bin/python bench/extraction.py [--set scrapinghub|wcxb] [--tools ours,trafilatura]
                                         [--limit N] [--worst N] [--dump DIR] [--same-as DIR]
                                         [--split K]

Data: ``../shared/data/extraction/{scrapinghub,wcxb-dev}``; each set's SOURCE.md defines its
metric and the scorers below implement those definitions (ScrapingHub: 4-word shingles, case kept,
mean page precision/recall then F1; WCXB: lower-cased bag of words, mean per-page F1, snippets
matched case-insensitively as in the set's own evaluate.py).

Fairness:
- Every tool gets the page as a browser would decode it. The bytes are decoded once with our
  charset logic (``archive.extract.charset.decode``); the peers receive that string, ours receives
  the bytes and decodes them inside its timed ``extract`` call (so ours pays for decoding).
- trafilatura runs with ``include_comments=False``, as in the ScrapingHub benchmark's own runner
  (comments are not the article). "trafilatura-precision" adds ``favor_precision=True``.
- readability-lxml: ``Document(html).summary(html_partial=True)`` is timed; turning its HTML into
  text (block elements become line breaks) is the bench's adapter and is not timed.
- Ours also extracts metadata (title, author, date, ...) inside the timed call; the peers do not.
- ``--same-as DIR`` compares ours' texts with an earlier ``--dump DIR`` page by page (exit 1
  when any differs): the proof that a change to the extractor left its output as it was.
- ``--split K`` (WCXB, default 5) adds the split score (``bench/splits.py``): per page type,
  ours with its learned part trained on K-1 folds of sites and scored on the fold it did not
  see, against trafilatura on the same pages. That is the number to quote.
- One process, one thread, tools run page by page in turn so that they share machine conditions;
  each tool first extracts a small warm-up page, untimed, so that module imports are not timed.
"""

from __future__ import annotations

import argparse
import gzip
import json
import re
import sys
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from archive.extract import extract  # noqa: E402
from archive.extract.charset import decode  # noqa: E402

DATA = REPO.parent / "shared" / "data" / "extraction"
HEAD_CHARS = 3000  # what the wiki preview shows (docs/design.md §6)


# --- pages -------------------------------------------------------------------------------------


@dataclass
class Page:
    id: str
    url: str
    body: bytes
    truth: str
    without: list[str] = field(default_factory=list)
    with_: list[str] = field(default_factory=list)
    type: str = "article"  # WCXB's page type (ScrapingHub: all articles)

    @property
    def site(self) -> str:
        return (urlsplit(self.url).hostname or self.id).removeprefix("www.")


def load_scrapinghub(limit: int | None) -> list[Page]:
    root = DATA / "scrapinghub"
    truth = json.loads((root / "ground-truth.json").read_text(encoding="utf-8"))
    pages = []
    for key in sorted(truth)[:limit]:
        body = gzip.decompress((root / "html" / f"{key}.html.gz").read_bytes())
        pages.append(Page(key, truth[key]["url"], body, truth[key].get("articleBody") or ""))
    return pages


def load_wcxb(limit: int | None) -> list[Page]:
    root = DATA / "wcxb-dev"
    pages = []
    for path in sorted((root / "ground-truth").glob("*.json"))[:limit]:
        data = json.loads(path.read_text(encoding="utf-8"))
        gt = data.get("ground_truth") or {}
        kind = ((data.get("_internal") or {}).get("page_type") or {}).get("primary")
        body = gzip.decompress((root / "html" / f"{path.stem}.html.gz").read_bytes())
        pages.append(
            Page(
                path.stem,
                data.get("url") or "",
                body,
                gt.get("main_content") or "",
                gt.get("without") or [],
                gt.get("with") or [],
                kind or "unknown",
            )
        )
    return pages


# --- scorers -----------------------------------------------------------------------------------

_WORD = re.compile(r"\w+")


def _shingles(text: str, n: int = 4) -> Counter[tuple[str, ...]]:
    tokens = _WORD.findall(text or "")
    if len(tokens) < n:
        return Counter([tuple(tokens)] if tokens else [])
    return Counter(tuple(tokens[i : i + n]) for i in range(len(tokens) - n + 1))


def scrapinghub_counts(truth: str, pred: str) -> tuple[float, float, float]:
    """Normalised (tp, fp, fn) over 4-word shingles (ScrapingHub SOURCE.md)."""
    true_sh, pred_sh = _shingles(truth), _shingles(pred)
    tp = fp = fn = 0.0
    for key in true_sh.keys() | pred_sh.keys():
        t, p = true_sh.get(key, 0), pred_sh.get(key, 0)
        tp += min(t, p)
        fp += max(0, p - t)
        fn += max(0, t - p)
    total = tp + fp + fn
    return (tp / total, fp / total, fn / total) if total > 0 else (tp, fp, fn)


def _page_precision(tp: float, fp: float, fn: float) -> float:
    if fp == fn == 0:
        return 1.0
    return 0.0 if tp == fp == 0 else tp / (tp + fp)


def _page_recall(tp: float, fp: float, fn: float) -> float:
    if fp == fn == 0:
        return 1.0
    return 0.0 if tp == fn == 0 else tp / (tp + fn)


def scrapinghub_summary(counts: list[tuple[float, float, float]]) -> tuple[float, float, float]:
    """(F1, precision, recall): means of page scores, F1 from the two means."""
    precisions = [_page_precision(*c) for c in counts if c[0] + c[1] > 0]
    recalls = [_page_recall(*c) for c in counts if c[0] + c[2] > 0]
    p = sum(precisions) / len(precisions) if precisions else 0.0
    r = sum(recalls) / len(recalls) if recalls else 0.0
    return (2 * p * r / (p + r) if p + r else 0.0), p, r


def scrapinghub_page_f1(truth: str, pred: str) -> float:
    c = scrapinghub_counts(truth, pred)
    p, r = _page_precision(*c), _page_recall(*c)
    return 2 * p * r / (p + r) if p + r else 0.0


def wcxb_scores(truth: str, pred: str) -> tuple[float, float, float]:
    """(F1, precision, recall) of one page: lower-cased bag of words (WCXB SOURCE.md)."""
    ref = Counter(_WORD.findall(truth.lower()))
    got = Counter(_WORD.findall((pred or "").lower()))
    if not ref:
        return (1.0, 1.0, 1.0) if not got else (0.0, 0.0, 0.0)
    if not got:
        return 0.0, 0.0, 0.0
    overlap = sum((ref & got).values())
    p, r = overlap / sum(got.values()), overlap / sum(ref.values())
    return (2 * p * r / (p + r) if p + r else 0.0), p, r


def head_clean(pred: str, without: list[str]) -> bool:
    head = (pred or "")[:HEAD_CHARS].lower()
    return not any(snippet.lower() in head for snippet in without)


# --- tools -------------------------------------------------------------------------------------


def _html_to_text(fragment: str) -> str:
    from lxml import html as lxml_html

    if not fragment.strip():
        return ""
    root = lxml_html.fromstring(fragment)
    blocks = {
        "p",
        "div",
        "li",
        "br",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "tr",
        "blockquote",
        "pre",
        "section",
        "article",
        "table",
        "ul",
        "ol",
        "dd",
        "dt",
        "figcaption",
    }
    for el in root.iter():
        if isinstance(el.tag, str) and el.tag in blocks:
            el.tail = "\n" + (el.tail or "")
    return re.sub(r"\n\s*\n+", "\n\n", root.text_content()).strip()


def make_tools() -> dict[str, Callable[[Page, str], tuple[str, float]]]:
    """name -> fn(page, decoded_html) returning (text, seconds spent in the timed call)."""

    def ours(page: Page, _html: str) -> tuple[str, float]:
        start = time.perf_counter()
        result = extract(page.body, "text/html", page.url)
        return result.text, time.perf_counter() - start

    def trafilatura_default(page: Page, html: str) -> tuple[str, float]:
        import trafilatura

        start = time.perf_counter()
        text = trafilatura.extract(html, url=page.url, include_comments=False)
        return text or "", time.perf_counter() - start

    def trafilatura_precision(page: Page, html: str) -> tuple[str, float]:
        import trafilatura

        start = time.perf_counter()
        text = trafilatura.extract(html, url=page.url, include_comments=False, favor_precision=True)
        return text or "", time.perf_counter() - start

    def readability(page: Page, html: str) -> tuple[str, float]:
        from readability import Document

        start = time.perf_counter()
        try:
            summary = Document(html, url=page.url).summary(html_partial=True)
        except Exception:  # readability raises on some degenerate pages
            summary = ""
        elapsed = time.perf_counter() - start
        return _html_to_text(summary), elapsed

    return {
        "ours": ours,
        "trafilatura": trafilatura_default,
        "trafilatura-precision": trafilatura_precision,
        "readability": readability,
    }


# --- run ---------------------------------------------------------------------------------------


@dataclass
class Result:
    texts: dict[str, str] = field(default_factory=dict)
    seconds: float = 0.0


_WARM_UP = Page(
    "warm-up",
    "https://example.org/2020/01/01/warm-up-page",
    b"<html><head><title>Warm up</title></head><body><nav><a href='/'>Home</a></nav><article>"
    b"<h1>Warm up</h1><p>A first page that loads every tool's modules and compiles their"
    b" expressions before anything is timed, so that no tool pays for imports.</p></article>"
    b"</body></html>",
    "",
)


def run(pages: list[Page], tools: dict[str, Callable[[Page, str], tuple[str, float]]]) -> dict:
    results = {name: Result() for name in tools}
    warm_html, _ = decode(_WARM_UP.body, "text/html")
    for tool in tools.values():
        tool(_WARM_UP, warm_html)
    for page in pages:
        html, _ = decode(page.body, "text/html")
        for name, tool in tools.items():
            text, seconds = tool(page, html)
            results[name].texts[page.id] = text
            results[name].seconds += seconds
    return results


def report(set_name: str, pages: list[Page], results: dict[str, Result], worst: int) -> None:
    print(f"\n{set_name} ({len(pages)} pages)")
    head = f"{'tool':<22} {'F1':>6} {'prec':>6} {'recall':>6} {'ms/page':>8}"
    if set_name == "wcxb":
        head += f" {'head-clean':>10}"
    print(head)
    for name, res in results.items():
        ms = 1000 * res.seconds / max(1, len(pages))
        if set_name == "scrapinghub":
            counts = [scrapinghub_counts(p.truth, res.texts[p.id]) for p in pages]
            f1, prec, rec = scrapinghub_summary(counts)
            print(f"{name:<22} {f1:6.3f} {prec:6.3f} {rec:6.3f} {ms:8.1f}")
        else:
            scores = [wcxb_scores(p.truth, res.texts[p.id]) for p in pages]
            n = len(scores)
            f1 = sum(s[0] for s in scores) / n
            prec = sum(s[1] for s in scores) / n
            rec = sum(s[2] for s in scores) / n
            clean = sum(head_clean(res.texts[p.id], p.without) for p in pages) / n
            print(f"{name:<22} {f1:6.3f} {prec:6.3f} {rec:6.3f} {ms:8.1f} {clean:10.3f}")
    if worst:
        _print_worst(set_name, pages, results, worst)


def _print_worst(set_name: str, pages: list[Page], results: dict[str, Result], worst: int) -> None:
    """The pages where the first tool trails the best of the others, for failure study."""
    names = list(results)
    first = names[0]

    def f1(name: str, page: Page) -> float:
        text = results[name].texts[page.id]
        if set_name == "scrapinghub":
            return scrapinghub_page_f1(page.truth, text)
        return wcxb_scores(page.truth, text)[0]

    rows = []
    for page in pages:
        own = f1(first, page)
        others = max((f1(n, page) for n in names[1:]), default=own)
        dirty = set_name == "wcxb" and not head_clean(results[first].texts[page.id], page.without)
        rows.append((own - others if len(names) > 1 else own, own, others, dirty, page))
    rows.sort(key=lambda r: r[0])
    print(f"\nworst {worst} for {first} (own F1, best other F1, head dirty):")
    for _delta, own, others, dirty, page in rows[:worst]:
        print(f"  {page.id:<10} {own:.3f} {others:.3f} {'DIRTY' if dirty else '':<5} {page.url}")


def dump(directory: Path, set_name: str, results: dict[str, Result]) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    for name, res in results.items():
        out = directory / f"{set_name}-{name}.json"
        out.write_text(json.dumps(res.texts, ensure_ascii=False, indent=0), encoding="utf-8")


def same_as(directory: Path, set_name: str, texts: dict[str, str]) -> list[str]:
    """The ids of the pages whose text differs from ``directory``'s dump of ours (printed)."""
    before: dict[str, str] = json.loads(
        (directory / f"{set_name}-ours.json").read_text(encoding="utf-8")
    )
    # a page missing on either side counts as differing, except pages left out by --limit
    differ = sorted(key for key in texts if texts[key] != before.get(key))
    print(f"same as {directory}: {len(texts) - len(differ)}/{len(texts)} pages identical")
    if differ:
        print("  differ: " + " ".join(differ))
    return differ


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--set", choices=["scrapinghub", "wcxb"], help="one set only")
    parser.add_argument("--tools", default="ours,trafilatura,trafilatura-precision,readability")
    parser.add_argument("--limit", type=int, help="first N pages of each set")
    parser.add_argument("--worst", type=int, default=0, help="list the first tool's N worst pages")
    parser.add_argument("--dump", type=Path, help="write texts to DIR/<set>-<tool>.json")
    parser.add_argument(
        "--split",
        type=int,
        default=5,
        metavar="K",
        help="WCXB: also the split score, K folds by site (0: none)",
    )
    parser.add_argument(
        "--same-as", type=Path, metavar="DIR", help="compare ours with DIR/<set>-ours.json"
    )
    args = parser.parse_args(argv)

    available = make_tools()
    names = [n.strip() for n in args.tools.split(",") if n.strip()]
    unknown = [n for n in names if n not in available]
    if unknown:
        parser.error(f"unknown tools {unknown}; choose from {sorted(available)}")
    if args.same_as and "ours" not in names:
        parser.error("--same-as compares ours: include it in --tools")
    tools = {n: available[n] for n in names}
    loaders = {"scrapinghub": load_scrapinghub, "wcxb": load_wcxb}
    differ = 0
    for set_name in [args.set] if args.set else list(loaders):
        pages = loaders[set_name](args.limit)
        results = run(pages, tools)
        report(set_name, pages, results, args.worst)
        if set_name == "wcxb" and args.split and {"ours", "trafilatura"} <= set(names):
            import splits

            held_out = splits.held_out_texts(pages, args.split)
            peer = results["trafilatura"].texts
            splits.report(pages, args.split, held_out, peer, wcxb_scores, head_clean)
        if args.dump:
            dump(args.dump, set_name, results)
        if args.same_as:
            differ += len(same_as(args.same_as, set_name, results["ours"].texts))
    if differ:
        sys.exit(1)


if __name__ == "__main__":
    main()
