"""Train the stray-block model (archive/extract/strays.json) on the WCXB dev pages.

Run from the repository root::

    .venv/bin/python bench/train_strays.py [--limit N] [--out archive/extract/strays.json]

Each short block the model judges (``strays.is_candidate``) is labelled content when its
words, in order, occur in the page's ground-truth main text. The model is a small gradient
boosted tree ensemble (logistic loss, histogram splits), fitted here in pure Python so that
neither training nor extraction needs numpy. ``bench/extraction.py --split K`` trains one per
fold of sites and scores the pages of the sites it did not see.
"""

from __future__ import annotations

import argparse
import bisect
import json
import math
import random
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from archive.extract import extract, strays  # noqa: E402
from archive.extract.text import WORDS  # noqa: E402

#: A model that keeps every block: used while collecting, so that nothing is judged yet.
KEEP_ALL = {"trees": [], "base": 10.0, "threshold": 0.0, "threshold_other": 0.0}
#: Below this probability a stray of an article is dropped: above one half, for precision
#: (chosen on ScrapingHub, which the model never sees: F1 0.96510 at 0.55, 0.96498 at 0.6).
#: At the head of other pages the short blocks are often the items themselves (names,
#: prices): there the cut is one half (cross-validated by site on WCXB: at 0.6 as many
#: content words went as stray words).
THRESHOLD = 0.55
THRESHOLD_OTHER = 0.5
Sample = tuple[list[float], int]


def _words(text: str) -> str:
    return " " + " ".join(WORDS.findall(text.lower())) + " "


def collect(pages: list) -> dict[str, list[Sample]]:
    """Page id -> the (features, label) of its candidate blocks."""
    out: dict[str, list[Sample]] = {}
    with strays.using(KEEP_ALL):
        for page in pages:
            strays.recording = []
            try:
                extract(page.body, "text/html", page.url)
                truth = _words(page.truth)
                out[page.id] = [
                    (x, int(_words(text).strip() != "" and _words(text) in truth))
                    for x, text in strays.recording
                ]
            finally:
                strays.recording = None
    return out


def _cuts(column: list[float], bins: int) -> list[float]:
    ordered = sorted(column)
    n = len(ordered)
    return sorted({ordered[min(n - 1, n * k // bins)] for k in range(1, bins)})


def _best_split(idx, binned, cuts, g, h, lam, min_leaf):  # type: ignore[no-untyped-def]
    G = sum(g[i] for i in idx)
    H = sum(h[i] for i in idx)
    parent = G * G / (H + lam)
    best = (0.0, -1, -1)
    for f, col in enumerate(binned):
        nb = len(cuts[f]) + 1
        hg, hh, hc = [0.0] * nb, [0.0] * nb, [0] * nb
        for i in idx:
            b = col[i]
            hg[b] += g[i]
            hh[b] += h[i]
            hc[b] += 1
        gl = hl = 0.0
        cl = 0
        for b in range(nb - 1):
            gl, hl, cl = gl + hg[b], hl + hh[b], cl + hc[b]
            if cl < min_leaf or len(idx) - cl < min_leaf:
                continue
            gain = gl * gl / (hl + lam) + (G - gl) ** 2 / (H - hl + lam) - parent
            if gain > best[0]:
                best = (gain, f, b)
    return best, G, H


def fit(
    samples: list[Sample],
    trees: int = 60,
    depth: int = 3,
    rate: float = 0.15,
    min_leaf: int = 30,
    seed: int = 0,
) -> dict:
    """A gradient boosted ensemble of ``trees`` trees of ``depth`` on (features, label)."""
    X = [x for x, _ in samples]
    y = [label for _, label in samples]
    n, width = len(X), len(X[0])
    cuts = [_cuts([x[f] for x in X], 32) for f in range(width)]
    binned = [[bisect.bisect_left(cuts[f], x[f]) for x in X] for f in range(width)]
    mean = min(max(sum(y) / n, 1e-3), 1 - 1e-3)
    base = math.log(mean / (1 - mean))
    score = [base] * n
    rng = random.Random(seed)
    ensemble = []
    for _ in range(trees):
        p = [1 / (1 + math.exp(-s)) for s in score]
        grower = _Grower(
            binned,
            cuts,
            [p[i] - y[i] for i in range(n)],
            [max(p[i] * (1 - p[i]), 1e-6) for i in range(n)],
            depth,
            rate,
            min_leaf,
        )
        grower.grow([i for i in range(n) if rng.random() < 0.5], 0)
        ensemble.append(grower.nodes)
        for i in range(n):
            score[i] += _leaf(grower.nodes, X[i])
    return {
        "trees": ensemble,
        "base": round(base, 5),
        "threshold": THRESHOLD,
        "threshold_other": THRESHOLD_OTHER,
    }


class _Grower:
    """One tree grown on the gradients ``g`` and hessians ``h`` of the logistic loss."""

    def __init__(self, binned, cuts, g, h, depth, rate, min_leaf):  # type: ignore[no-untyped-def]
        self.binned, self.cuts, self.g, self.h = binned, cuts, g, h
        self.depth, self.rate, self.min_leaf = depth, rate, min_leaf
        self.nodes: list[list[float]] = []

    def grow(self, idx: list[int], level: int) -> int:
        (_gain, f, b), G, H = _best_split(
            idx, self.binned, self.cuts, self.g, self.h, 1.0, self.min_leaf
        )
        at = len(self.nodes)
        if level == self.depth or f < 0:
            self.nodes.append([round(-self.rate * G / (H + 1.0), 5)])
            return at
        self.nodes.append([float(f), self.cuts[f][b], 0, 0])
        col = self.binned[f]
        self.nodes[at][2] = self.grow([i for i in idx if col[i] <= b], level + 1)
        self.nodes[at][3] = self.grow([i for i in idx if col[i] > b], level + 1)
        return at


def _leaf(nodes: list[list[float]], x: list[float]) -> float:
    node = nodes[0]
    while len(node) > 1:
        node = nodes[int(node[2] if x[int(node[0])] <= node[1] else node[3])]
    return node[0]


def train(pages: list, collected: dict[str, list[Sample]] | None = None) -> dict:
    collected = collected if collected is not None else collect(pages)
    samples = [s for page in pages for s in collected.get(page.id, [])]
    return fit(samples)


def main(argv: list[str] | None = None) -> None:
    from bench.extraction import load_wcxb

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limit", type=int)
    parser.add_argument("--out", type=Path, default=strays.MODEL_PATH)
    args = parser.parse_args(argv)
    pages = load_wcxb(args.limit)
    model = train(pages)
    args.out.write_text(json.dumps(model, separators=(",", ":")) + "\n", encoding="utf-8")
    print(f"{args.out}: {len(model['trees'])} trees, {args.out.stat().st_size} bytes")


if __name__ == "__main__":
    main()
