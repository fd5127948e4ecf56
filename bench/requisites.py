"""Pages whose requisites are all on the benchmark's own server.

Each page is taken out of everything it loads (its stylesheets, scripts, images, frames,
``style`` attributes and ``<style>`` elements, which point to the internet) and given a
generated set on the local server instead, the shape of a small site's:

- ``/req/site.css``, shared: ``@import``s ``/req/base.css``, has a ``url()`` background
  and a ``@font-face``;
- ``/req/app.js``, shared;
- 3 to 8 images, about half of them from a pool that all pages draw from, the rest the
  page's own.

Inline scripts go too (wget finds ``<img src=...>`` in a script's strings), and so do
``<meta name=robots>`` and ``http-equiv`` tags (wget obeys a ``nofollow`` there even for
requisites). Every page is checked with ``html_requisites``: it loads exactly its set.
"""

from __future__ import annotations

import random
from collections.abc import Mapping

from lxml import etree
from lxml.html import document_fromstring, fragment_fromstring, tostring

from archive.extract.charset import decode
from archive.extract.requisites import css_requisites, html_requisites

LOADING = ("src", "srcset", "lowsrc", "dynsrc", "poster", "data", "background", "style", "code")
GONE = "//link | //style | //script | //base | //meta[@http-equiv or @charset or @name='robots']"
SHARED_IMAGES = 20
BASE = "http://127.0.0.1"  # any will do: every requisite is an absolute path


def _binary(rng: random.Random, head: bytes, size: int) -> bytes:
    return head + rng.randbytes(size - len(head))


def _site_files(rng: random.Random) -> dict[str, bytes]:
    png = b"\x89PNG\r\n\x1a\n"
    files = {
        "/req/site.css": (
            b'@import url("/req/base.css");\n'
            b'@font-face { font-family: "Body"; src: url("/req/body.woff2") format("woff2"); }\n'
            b'body { font-family: "Body", serif; background: url("/req/bg.png") repeat-x; }\n'
            + b"".join(b".c%d { margin: %dpx; color: #%06x; }\n" % (i, i, i) for i in range(400))
        ),
        "/req/base.css": b"".join(b"h%d { font-size: %dpx; }\n" % (i % 6, i) for i in range(300)),
        "/req/body.woff2": _binary(rng, b"wOF2", 40_000),
        "/req/bg.png": _binary(rng, png, 8_000),
        "/req/app.js": b"".join(
            b"function f%d(x) { return x * %d + document.title.length; }\n" % (i, i)
            for i in range(1200)
        ),
    }
    for i in range(SHARED_IMAGES):
        files[f"/req/shared-{i}.png"] = _binary(rng, png, rng.randint(2_000, 30_000))
    return files


def with_local_requisites(
    pages: Mapping[str, bytes], seed: int = 0
) -> tuple[dict[str, bytes], dict[str, list[str]]]:
    """The site: ``pages`` rewritten as above and their requisites, by path; and the
    requisites each page loads (paths, counting those its stylesheet loads)."""
    rng = random.Random(seed)
    files = _site_files(rng)
    css = css_requisites(files["/req/site.css"], BASE + "/req/site.css", "text/css")
    shared = ["/req/site.css", "/req/app.js", *(f.url.removeprefix(BASE) for f in css)]
    loads: dict[str, list[str]] = {}
    for path, body in pages.items():
        text, _ = decode(body, "text/html")
        doc = document_fromstring(text)
        for el in doc.xpath(GONE):
            el.drop_tree()
        for el in doc.iter(etree.Element):
            for name in LOADING:
                el.attrib.pop(name, None)
        head, body_el = doc.find("head"), doc.find("body")
        if head is None:
            head = etree.Element("head")
            doc.insert(0, head)
        if body_el is None:
            body_el = etree.SubElement(doc, "body")
        head.insert(0, fragment_fromstring('<meta charset="utf-8">'))
        head.append(fragment_fromstring('<link rel="stylesheet" href="/req/site.css">'))
        head.append(fragment_fromstring('<script src="/req/app.js" defer></script>'))
        count = rng.randint(3, 8)
        images = [f"/req/shared-{rng.randrange(SHARED_IMAGES)}.png" for _ in range(count // 2)]
        name = path.rsplit("/", 1)[-1].split(".")[0]
        for i in range(count - len(images)):
            images.append(f"/req/{name}-{i}.png")
            files[images[-1]] = _binary(rng, b"\x89PNG\r\n\x1a\n", rng.randint(5_000, 80_000))
        for src in reversed(images):
            body_el.insert(0, fragment_fromstring(f'<img src="{src}" alt="">'))
        files[path] = tostring(doc, encoding="utf-8", doctype="<!DOCTYPE html>")
        loads[path] = [*shared, *dict.fromkeys(images)]
        found = {f.url.removeprefix(BASE) for f in html_requisites(files[path], BASE + path)}
        expected = {"/req/site.css", "/req/app.js", *images}
        if found != expected:
            raise AssertionError(f"{path} loads {sorted(found ^ expected)} besides its own set")
    return files, loads
