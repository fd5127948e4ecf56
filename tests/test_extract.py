"""Preview extraction: what a reader of the wiki sees for a captured page, PDF or text file."""

from __future__ import annotations

import gzip
import io
from pathlib import Path

import pytest
from pypdf import PdfReader, PdfWriter
from sites import minimal_pdf

from archive.extract import EXTRACTOR, Extraction, extract, extract_file

FIXTURES = Path(__file__).parent / "fixtures" / "extract"


def fixture(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


# --- HTML: main text --------------------------------------------------------------------------


def test_news_page_behind_a_long_menu_starts_with_the_first_sentence():
    # CBS local station pages open with dozens of menu links in plain <div>/<ul> lists (not
    # <nav>), and wrap the article in "page-content and-w-sidebar".
    url = "https://sanfrancisco.cbslocal.com/2019/11/19/berkeley-bike-lanes/"
    result = extract(fixture("cbs_menu.html"), "text/html; charset=utf-8", url)
    assert result.kind == "html"
    assert result.text.startswith(
        "BERKELEY (CBS SF) — The Berkeley City Council voted 7-2 on Tuesday night"
    )
    assert "What happens next" in result.text  # subheadings stay, in order
    assert result.text.index("Construction is expected") < result.text.index("What happens next")
    for menu_item in ("Bay Area Top News", "East Bay News", "Most Viewed", "Privacy Policy"):
        assert menu_item not in result.text
    assert "\n\n" in result.text  # paragraphs are separated by a blank line


def test_cookie_banner_and_newsletter_box_are_not_the_text():
    result = extract(fixture("cookie_banner.html"), "text/html")
    assert result.text.startswith("A sourdough starter is a living culture")
    assert "tang." in result.text
    assert "cookie" not in result.text.lower()
    assert "newsletter" not in result.text.lower()


def test_page_of_only_navigation_gives_no_text():
    result = extract(fixture("all_navigation.html"), "text/html")
    assert result.kind == "html"
    assert len(result.text) < 40


def test_article_keeps_its_sources_and_drops_links_to_more_stories():
    paragraph = (
        "<p>The survey of 2,000 households found that repairs were delayed by an average of "
        "eleven weeks, a figure the housing office disputes in its own annual report.</p>"
    )
    html = (
        '<html><head><meta property="og:type" content="article"><title>Repairs</title></head>'
        "<body><article><h1>Repairs</h1>" + paragraph * 2 + "<ul>"
        '<li><a href="https://stats.example.org/housing-2024">Housing survey 2024</a></li>'
        '<li><a href="https://gov.example.net/report.pdf">Housing office annual report</a></li>'
        "</ul>" + paragraph + '<ul><li><a href="/2024/05/rents-rise">Rents rise again</a></li>'
        '<li><a href="https://news.test/2024/05/new-flats">New flats open</a></li></ul>'
        + paragraph
        + "</article></body></html>"
    )
    result = extract(html.encode(), "text/html", "https://news.test/2024/06/repairs")
    assert "Housing survey 2024" in result.text
    assert "Rents rise again" not in result.text
    assert "New flats open" not in result.text


PROSE = (
    "Our technicians inspect the whole building before any treatment starts, note every sign of "
    "activity and explain the plan in writing, with the products used and the dates of visits."
)


def _page(body: str, head: str = "") -> bytes:
    return (
        f"<html><head><title>Pest control</title>{head}</head><body>{body}</body></html>".encode()
    )


def test_service_page_prompts_and_buttons_stay_out_of_the_preview():
    body = (
        "<main><h1>Pest control</h1>"
        '<p><a class="btn btn--accent" href="/quote">Speak to an expert</a></p>'
        f"<p>{PROSE}</p>"
        '<p><a href="/book">Book Your Free Inspection</a></p>'
        "<p>Ready to get pests out of your home?</p>"
        f"<p>{PROSE.replace('building', 'garden')}</p>"
        "<p>Free shipping on all refill kits over $50</p>"
        '<div class="ticker">Book Now * Book Now * Book Now * Book Now * Book Now</div>'
        "<p>By using this site, you agree to its terms and privacy statement.</p>"
        "<p>Copyright © 2024 Pest Co. All rights reserved.</p></main>"
    )
    text = extract(_page(body), "text/html", "https://pests.test/services/control").text
    assert text.startswith("Pest control\n\nOur technicians inspect the whole building")
    assert "the whole garden" in text
    for prompt in ("Speak to an expert", "Book", "Ready to", "Free shipping", "agree", "©"):
        assert prompt not in text


def test_thread_keeps_its_posts_not_notices_nor_the_category_label():
    post = "<div class='post'><p>{}</p></div>"
    body = (
        "<main><h1>Which first telescope?</h1><a href='/c/beginners'>Beginners</a>"
        + post.format(
            "I would like a telescope for the planets and the moon, on a budget of "
            "about four hundred euros, and I live in a city with a lot of light."
        )
        + "<div>Reply With Quote</div><div>Posts: 116<br>Joined: Feb 2019</div>"
        + post.format(
            "A small Dobsonian gives the most aperture for that money and shows the "
            "planets well even from a city balcony; avoid the cheap refractors."
        )
        + "<p>Not open for further replies.</p>"
        + "<p>You must log in or register to reply here.</p></main>"
    )
    text = extract(_page(body), "text/html", "https://forum.test/threads/first-telescope.12/").text
    assert "budget of about four hundred euros" in text
    assert "small Dobsonian" in text
    for chrome in ("Beginners", "Reply With Quote", "Posts: 116", "further replies", "log in"):
        assert chrome not in text


def test_answers_stay_and_the_comments_under_them_go():
    comment = (
        '<li itemprop="comment" itemscope itemtype="https://schema.org/Comment">'
        "<span>Have you tried turning the breaker off and on again, and did it help?</span></li>"
    )
    body = (
        '<div itemscope itemtype="https://schema.org/QAPage"><div itemprop="mainEntity" '
        'itemscope itemtype="https://schema.org/Question"><h1>Why is neutral not hot?</h1>'
        f"<p>{PROSE}</p><ul>{comment}</ul>"
        '<div itemscope itemtype="https://schema.org/Answer"><p>The neutral is bonded to earth '
        "at the panel, so its potential stays close to ground while it carries the return "
        f"current of every load on the circuit.</p><ul>{comment}</ul></div></div></div>"
    )
    text = extract(_page(body), "text/html", "https://qa.test/questions/42/why").text
    assert "bonded to earth" in text
    assert "breaker off and on" not in text


def test_shop_page_description_wins_over_its_reviews():
    review = (
        "<div class='review'><p>I bought this pack for day hikes and it has been great so far, "
        "the straps are comfortable and the pockets hold everything I need for a long day.</p>"
        "</div>"
    )
    body = (
        "<main><h1>Trail 25 Pack</h1><div class='description'><p>A 25-litre daypack with a "
        "ventilated back panel, a hydration sleeve and a rain cover stowed in the lid.</p>"
        "<p>Made of recycled nylon, it weighs 900 grams and fits torsos of 40 to 50 cm.</p></div>"
        f"<section class='product-reviews'>{review * 6}</section></main>"
    )
    text = extract(_page(body), "text/html", "https://shop.test/product/227955/trail-25").text
    assert "ventilated back panel" in text
    assert "recycled nylon" in text
    assert "day hikes" not in text


def test_hidden_copies_and_data_are_not_text():
    # a service page (no article): its main region holds a raw copy of the text for machines,
    # a script's data and a "republish this page" box
    body = (
        f"<main><h1>Pest control</h1><p>{PROSE}</p>"
        f"<p>{PROSE.replace('building', 'garden')}</p>"
        f'<pre hidden aria-hidden="true"># Pest control\n\n{PROSE * 8}</pre>'
        '<div><span hidden>{"layout": 2, "buttonText": "Buy now", "title": "'
        + "x"
        * 1200
        + '"}</span></div>'
        "<textarea readonly>&lt;h1&gt;Pest control&lt;/h1&gt;&lt;p&gt;"
        + PROSE * 3
        + "</textarea></main>"
    )
    text = extract(_page(body), "text/html", "https://pests.test/services").text
    assert text.count("Our technicians") == 2
    assert "#" not in text and "<h1>" not in text and "buttonText" not in text


def test_metadata_from_json_ld_opengraph_and_markup():
    result = extract(fixture("article_metadata.html"), "text/html", "https://harbour.test/p?id=7")
    assert result.title == "The tide tables of 1890"
    assert result.author == "Mary Ellis"
    assert result.published_date == "2021-03-04"
    assert result.language == "en-GB"
    assert result.description == "How a harbour master kept the tide tables in 1890."
    assert result.canonical_url == "https://harbour.test/history/tide-tables-1890"
    assert result.text.startswith("Every morning the harbour master")
    assert result.extractor == EXTRACTOR and result.extractor_version


def test_cbs_page_metadata_from_meta_tags():
    result = extract(fixture("cbs_menu.html"), "text/html")
    assert result.title == "Berkeley council approves new bike lanes on Telegraph Avenue"
    assert result.published_date == "2019-11-19"
    assert result.language == "en-US"
    assert (
        result.canonical_url == "https://sanfrancisco.cbslocal.com/2019/11/19/berkeley-bike-lanes/"
    )


def test_malformed_html_and_garbage_do_not_break_extraction():
    body = (
        b"<html><body><div><p>Unclosed paragraph about the river crossing, which was built in "
        b"1874 and rebuilt twice after floods.<div><span>\xff\xfe\x00garbage <b>bold <i>mixed</b>"
        b" tags</i><table><tr><td>cell<p>Another paragraph that never closes its tags either, "
        b"and runs on for a while to look like prose.<<<>>>&&&;"
    )
    result = extract(body, "text/html")
    assert "river crossing" in result.text
    assert "never closes its tags" in result.text
    for junk in (b"\x00\x01\x02" * 100, b"<" * 5000, b"<html><body></body>", b"<?xml?>"):
        assert isinstance(extract(junk, "text/html"), Extraction)


def test_text_after_an_early_closing_body_tag_is_read_as_a_browser_does():
    # a theme's header template closes </body></html>, then the article follows
    body = (
        "<html><head><title>Six types of HR outsourcing</title></head><body>"
        "<header><a href='/'>Home</a></header></body></html>"
        f"<main><article><h1>Six types of HR outsourcing</h1><p>{PROSE}</p></article></main>"
        "</body></html>"
    ).encode()
    text = extract(body, "text/html", "https://hr.test/blog/hr/six-types").text
    assert text.startswith("Our technicians inspect the whole building")


def test_deeply_nested_markup_does_not_overflow():
    depth = 1500  # page builders nest deeper than libxml2's default limit of 256
    body = (
        b"<html><body>"
        + b"<div>" * depth
        + b"<p>Deep text, many divs down.</p>"
        + b"</div>" * depth
    )
    result = extract(body, "text/html")
    assert "Deep text, many divs down." in result.text


def test_empty_body():
    assert extract(b"", "text/html").text == ""
    assert extract(b"", None).kind == "none"
    assert extract(b"   \n", "text/html").text == ""


# --- charsets ---------------------------------------------------------------------------------

WINDOWS_1252_TEXT = "“Café” prices rose to 5 € — naïve déjà vu, said the maître d’."


def _cp1252_page(meta: str = "") -> bytes:
    html = (
        f"<html><head>{meta}<title>Prices</title></head><body><article>"
        f"<p>{WINDOWS_1252_TEXT} The rest of this paragraph is long enough to be read as prose "
        "by any extractor worth its salt, and it goes on a little more.</p></article></body></html>"
    )
    return html.encode("windows-1252")


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        (_cp1252_page(), "text/html; charset=windows-1252"),
        (_cp1252_page(), "text/html; charset=ISO-8859-1"),  # browsers read Latin-1 as 1252
        (_cp1252_page('<meta charset="windows-1252">'), "text/html"),
        (
            _cp1252_page(
                '<meta http-equiv="Content-Type" content="text/html; charset=iso-8859-1">'
            ),
            None,
        ),
        (_cp1252_page(), "text/html"),  # no declaration at all
    ],
)
def test_windows_1252_page_is_decoded_right(body, content_type):
    result = extract(body, content_type)
    assert WINDOWS_1252_TEXT in result.text
    assert result.charset == "windows-1252"


def test_utf8_body_behind_a_stale_latin1_label_is_read_as_utf8():
    body = '<meta charset="iso-8859-1"><p>Crème brûlée for 5 €.</p>'.encode()
    result = extract(body, "text/html")
    assert "Crème brûlée for 5 €." in result.text
    assert result.charset == "utf-8"


def test_byte_order_mark_wins():
    body = "\ufeff<p>Ünïcödé with a BOM.</p>".encode("utf-16-le")
    result = extract(body, "text/html; charset=iso-8859-1")
    assert "Ünïcödé with a BOM." in result.text


def test_utf16_label_without_a_byte_order_mark_reads_as_utf8():
    body = '<meta charset="utf-16"><p>Crème brûlée for 5 €.</p>'.encode()
    result = extract(body, "text/html")
    assert "Crème brûlée for 5 €." in result.text
    assert result.charset == "utf-8"


def test_shift_jis_is_reported_by_its_label():
    body = "<p>日本語のテキストです。</p>".encode("shift_jis")
    result = extract(body, "text/html; charset=Shift_JIS")
    assert "日本語のテキストです。" in result.text
    assert result.charset == "shift_jis"


def test_plain_text_has_no_meta_prescan():
    body = '<meta charset="koi8-r"> Café crème, déjà vu.'.encode("windows-1252")
    result = extract(body, "text/plain")
    assert "Café crème, déjà vu." in result.text
    assert result.charset == "windows-1252"


# --- other kinds ------------------------------------------------------------------------------


def test_plain_text_is_itself():
    body = "Line one.\r\nLine two — ça va.\r\n\r\nSecond paragraph.\n".encode()
    result = extract(body, "text/plain; charset=utf-8")
    assert result.kind == "text"
    assert result.text == "Line one.\nLine two — ça va.\n\nSecond paragraph."
    assert result.charset == "utf-8"


def test_image_has_no_preview():
    result = extract(b"\x89PNG\r\n\x1a\n" + b"\x00" * 64, "image/png")
    assert result.kind == "none"
    assert result.text == ""


def test_kind_is_sniffed_when_the_content_type_is_missing_or_generic():
    assert extract(fixture("cookie_banner.html"), None).kind == "html"
    assert extract(fixture("cookie_banner.html"), "application/octet-stream").kind == "html"
    assert extract(minimal_pdf("Sniffed PDF text.", "Sniffed"), None).kind == "pdf"
    assert extract(b"\x89PNG\r\n\x1a\n\x00\x00", "application/octet-stream").kind == "none"


def test_pdf_text_and_title():
    result = extract(
        minimal_pdf(
            "Revenue grew by ten percent.",
            title="Annual Report 2020",
            author="Ada Byron",
            created="D:20200514093000Z",
        ),
        "application/pdf",
    )
    assert result.kind == "pdf"
    assert "Revenue grew by ten percent." in result.text
    assert result.title == "Annual Report 2020"
    assert result.author == "Ada Byron"
    assert result.published_date == "2020-05-14"


def test_broken_and_encrypted_pdfs_give_empty_text():
    assert extract(b"%PDF-1.4\n garbage garbage", "application/pdf").text == ""
    truncated = minimal_pdf("Cut short.", "T")[:200]
    assert isinstance(extract(truncated, "application/pdf"), Extraction)

    writer = PdfWriter()
    writer.append(PdfReader(io.BytesIO(minimal_pdf("Top secret text.", "Secret"))))
    writer.encrypt(user_password="hunter2", owner_password="owner", algorithm="RC4-128")
    buffer = io.BytesIO()
    writer.write(buffer)
    result = extract(buffer.getvalue(), "application/pdf")
    assert result.kind == "pdf"
    assert result.text == ""


# --- local files ------------------------------------------------------------------------------


def test_extract_file_by_suffix(tmp_path: Path):
    page = tmp_path / "page.html.gz"
    page.write_bytes(gzip.compress(fixture("cookie_banner.html")))
    assert extract_file(page).text.startswith("A sourdough starter")

    pdf = tmp_path / "report.pdf"
    pdf.write_bytes(minimal_pdf("Local file text.", "Report"))
    assert "Local file text." in extract_file(pdf).text

    note = tmp_path / "note.txt"
    note.write_bytes(b"Just a note.\n")
    assert extract_file(note).text == "Just a note."

    broken = tmp_path / "broken.html.gz"
    broken.write_bytes(b"not gzip at all")
    assert extract_file(broken).text == ""


# --- one reading of the page ------------------------------------------------------------------

_PARAGRAPH = (
    "The council voted on Tuesday to extend the bike lanes along the avenue, after two years "
    "of trials that the city's own report calls a success for riders and shops alike."
)


def test_a_share_bar_inside_a_paragraph_leaves_the_paragraph_whole():
    html = (
        "<html><body><header><a href='/'>Home</a> <a href='/news'>News</a></header><article>"
        f"<h1>Lanes</h1><p>{_PARAGRAPH} <span class='share-links'><a href='/s'>Share</a>"
        f"<a href='/t'>Tweet</a></span> The work starts in May.</p><p>{_PARAGRAPH}</p>"
        "</article><footer>© 2024 City News</footer></body></html>"
    )
    text = extract(html.encode(), "text/html", "https://news.example.org/2024/05/lanes").text
    assert f"{_PARAGRAPH} The work starts in May." in text
    assert "Share" not in text and "Tweet" not in text and "Home" not in text


@pytest.mark.parametrize(
    "inner",
    [
        "<p>Before <span class='social-share'><a href='/x'>Share</a></span> after.</p>",
        "<div>Run before <div class='related-links'><a href='/r'>More</a></div> run after.</div>",
        "<div>Lead <nav><a href='/a'>A</a></nav><b>bold</b> tail <aside>Ad</aside></div>",
        "<ul><li>One <a class='btn-share' href='/s'>Share</a></li><li>Two</li></ul>",
    ],
)
def test_removing_chrome_gives_the_blocks_a_fresh_reading_would(inner: str):
    # the page is rendered once; what chrome removal changes is rendered again, locally
    from archive.extract import dom, tree
    from archive.extract.mass import after_removal, measure

    page = f"<div id='page'><p>{_PARAGRAPH}</p>{inner}<p>{_PARAGRAPH}</p></div>"
    doc = tree.parse(f"<html><body>{page}</body></html>")
    assert doc is not None
    body = dom.body_of(doc)
    mass = measure(body, "example.org")
    changed = dom.strip_boilerplate(doc, mass)
    incremental = after_removal(mass, body, changed, "example.org")
    fresh = measure(body, "example.org")
    assert [(b.text, b.tag, b.link_chars) for b in incremental.blocks] == [
        (b.text, b.tag, b.link_chars) for b in fresh.blocks
    ]
    assert incremental.prose == fresh.prose


def test_a_preview_runs_no_other_extractor():
    # trafilatura's reading of the container doubled the cost of a preview
    import subprocess
    import sys

    page = f"<html><body><article><p>{_PARAGRAPH}</p></article></body></html>".encode()
    code = (
        "import sys; from archive.extract import extract; "
        f"extract({page!r}, 'text/html'); print('trafilatura' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_the_stray_model_is_small_and_shipped_with_the_package():
    from archive.extract import strays

    assert strays.MODEL_PATH.stat().st_size < 100_000
    assert strays.MODEL_PATH.parent.name == "extract"


@pytest.mark.parametrize(
    "stray",
    [
        "<div>ADVERTISEMENT</div>",
        "<p><a href='/news/other'>RELATED: Council approves budget</a></p>",
        "<div><a href='/subscribe'>Subscribe to our newsletter</a></div>",
    ],
)
def test_short_strays_between_an_articles_paragraphs_are_not_its_text(stray: str):
    # articles repeat no paragraph: a repeated one is a gallery's or layout's copy
    paragraphs = [f"{_PARAGRAPH} ({n} of 3)" for n in (1, 2, 3)]
    html = (
        "<html><head><title>Lanes</title></head><body><article><h1>Lanes</h1>"
        f"<p>{paragraphs[0]}</p>{stray}<p>{paragraphs[1]}</p><p>{paragraphs[2]}</p>"
        "</article></body></html>"
    )
    text = extract(html.encode(), "text/html", "https://news.example.org/2024/05/lanes").text
    assert text == "\n\n".join(paragraphs)


def test_a_page_of_nothing_but_short_lines_keeps_them():
    html = "<html><body><div>Opening hours</div><div>Mon to Fri, 9 to 5</div></body></html>"
    text = extract(html.encode(), "text/html", "https://shop.example.org/hours").text
    assert "Mon to Fri, 9 to 5" in text
