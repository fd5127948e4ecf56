"""The split score: what the extractor does on sites it was not tuned on.

The WCXB dev pages are cut into K folds by site (every page of a site in one fold, so no
site is on both sides). For each fold, what the extractor learns (the stray-block model,
``bench/train_strays.py``) is trained on the other folds' pages only, and the fold's pages
are extracted with it. Every page is thus scored once, by a model that never saw its site.
The peers learn nothing from the pages; their texts are those of the same run.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable

from train_strays import collect, train

from archive.extract import extract, strays


def fold_of(site: str, k: int) -> int:
    return zlib.crc32(site.encode()) % k


def held_out_texts(pages: list, k: int) -> dict[str, str]:
    """Page id -> ours' text, extracted with a model trained on the other folds' sites."""
    collected = collect(pages)
    texts: dict[str, str] = {}
    for fold in range(k):
        seen = [p for p in pages if fold_of(p.site, k) != fold]
        model = train(seen, collected)
        with strays.using(model):
            for page in pages:
                if fold_of(page.site, k) == fold:
                    texts[page.id] = extract(page.body, "text/html", page.url).text
    return texts


def report(
    pages: list,
    k: int,
    held_out: dict[str, str],
    peer: dict[str, str],
    scores: Callable[[str, str], tuple[float, float, float]],
    clean: Callable[[str, list[str]], bool],
) -> None:
    """Per page type and over all: ours held out by site against the peer (trafilatura)."""
    print(f"\nsplit score, {k} folds by site (ours: trained without the page's site)")
    print(
        f"{'type':<14} {'pages':>5} {'F1 ours':>8} {'F1 peer':>8} {'clean ours':>10} "
        f"{'clean peer':>10}"
    )
    groups: dict[str, list] = {}
    for page in pages:
        groups.setdefault(page.type, []).append(page)
    for name, group in sorted(groups.items()) + [("all", pages)]:
        n = len(group)
        ours = sum(scores(p.truth, held_out[p.id])[0] for p in group) / n
        theirs = sum(scores(p.truth, peer[p.id])[0] for p in group) / n
        c_ours = sum(clean(held_out[p.id], p.without) for p in group) / n
        c_theirs = sum(clean(peer[p.id], p.without) for p in group) / n
        print(f"{name:<14} {n:>5} {ours:8.3f} {theirs:8.3f} {c_ours:10.3f} {c_theirs:10.3f}")
    gaps = []
    for fold in range(k):
        group = [p for p in pages if fold_of(p.site, k) == fold]
        gap = sum(
            scores(p.truth, held_out[p.id])[0] - scores(p.truth, peer[p.id])[0] for p in group
        ) / max(1, len(group))
        gaps.append(f"{gap:+.3f}")
    print("F1 ours - peer by fold: " + " ".join(gaps))
