"""Rules for telling a page's main content from its boilerplate, kept as data.

The algorithm lives in ``dom.py`` (cleaning) and ``content.py`` (choosing the main text); this
module only says *what* to look for. Each rule names the case that motivated it; the cases
pinned in ``tests/test_extract.py`` are marked ``[test: name]``.
"""

from __future__ import annotations

import re
from typing import NamedTuple

# --- elements that never carry readable text -------------------------------------------------

# Dropped with their content. <noscript> is decided separately (dom.py): a page saved with
# JavaScript off shows it, and some forums (Discourse) put the whole thread there.
DROP_TAGS = frozenset(
    {
        "script",
        "style",
        "template",
        "svg",
        "math",
        "canvas",
        "iframe",
        "object",
        "embed",
        "video",
        "audio",
        "source",
        "track",
        "map",
        "area",
        "head",
        "link",
        "meta",
        "title",
        "input",
        "select",
        "option",
        "optgroup",
        "datalist",
        "textarea",
        "button",
        "dialog",
        "frame",
        "frameset",
        "applet",
        "picture",
        "img",
        "base",
        "param",
        "menu",
        "menuitem",
        "figcaption",
    }
)

# Site chrome by element or ARIA role. <header>/<footer> only count as chrome outside an
# article: inside one they hold the headline and byline. [test: all_navigation]
CHROME_TAGS = frozenset({"nav", "aside", "form"})
CHROME_ROLES = frozenset(
    {
        "navigation",
        "banner",
        "contentinfo",
        "complementary",
        "search",
        "dialog",
        "alertdialog",
        "menubar",
        "menu",
        "toolbar",
    }
)

# Roles whose content is never the page's text, whatever its link density.
BANNER_ROLES = frozenset({"contentinfo", "dialog", "alertdialog", "search"})

# --- hidden elements ---------------------------------------------------------------------------

# A browser shows none of these; pages carry mobile menus, modal copies and tracking text in them.
HIDDEN_STYLE = re.compile(r"display\s*:\s*none|visibility\s*:\s*hidden", re.I)
HIDDEN_CLASSES = frozenset(
    {
        "hidden",
        "hide",
        "d-none",
        "is-hidden",
        "invisible",
        "visually-hidden",
        "visuallyhidden",
        "sr-only",
        "screen-reader-text",
        "screen-reader-only",
        "element-invisible",
        "u-hidden",
        "a11y-hidden",
        "offscreen",
        "assistive-text",
        "skip-link",
        "skiplink",
    }
)

# Utility-CSS classes that show an element from some screen width on ("md:block",
# "lg:flex", "xl1400:grid"): with one of them, a "hidden" class only hides it on phones.
RESPONSIVE_SHOW = re.compile(
    r"^[a-z0-9]+:(?:block|flex|grid|inline|inline-block|inline-flex|table|contents)$"
)
# A page showing less text than this once hidden elements are gone is read with them.
MIN_VISIBLE_CHARS = 200
MIN_HIDDEN_RESCUE_CHARS = 1000  # ... if that gives a page's worth of text, not a notice
# Hidden elements with this much text (and few links) are kept: content revealed by scripts.
HIDDEN_PROSE_CHARS = 1000
# Form controls whose end tag is often missing, making the parser nest the page inside them.
UNCLOSED_TAGS = frozenset({"button", "select", "textarea", "label"})

# --- boilerplate by class or id ----------------------------------------------------------------

# Matched against each class token and the id, split into words at "-", "_" and camelCase, so
# "cookie-banner", "cookieBanner" and "cookie_banner" all read ["cookie", "banner"]. A word
# list matches when all its words appear in order, adjacent, in one token.
#
# Link lists: menus, breadcrumbs, share bars, related-article lists, tag clouds. These names
# also turn up on content ("content-nav-section" around each section of a guide), so a match
# only counts on an element that reads like a link list: mostly links, or little text.
LINK_LIST_WORDS: tuple[tuple[str, ...], ...] = (
    # navigation and menus [test: cbs_menu]
    ("nav",),
    ("navbar",),
    ("navigation",),
    ("menu",),
    ("megamenu",),
    ("breadcrumb",),
    ("breadcrumbs",),
    ("skip", "link"),
    ("skip", "links"),
    ("toolbar",),
    ("masthead",),
    ("site", "header"),
    ("global", "header"),
    ("site", "footer"),
    ("global", "footer"),
    ("footer",),
    ("sitemap",),
    # sharing and social
    ("share",),
    ("sharing",),
    ("social",),
    ("addthis",),
    ("sharethis",),
    # related, recommended and popular lists
    ("related",),
    ("recommended",),
    ("recommendations",),
    ("more", "stories"),
    ("most", "popular"),
    ("trending",),
    ("read", "next"),
    ("up", "next"),
    ("you", "may", "like"),
    ("also", "like"),
    ("recent",),
    # side columns, tag lists
    ("sidebar",),
    ("side", "bar"),
    ("widget", "area"),
    ("rail",),
    ("tags",),
    ("tag", "list"),
    ("post", "tags"),
    ("entry", "tags"),
)
LINK_LIST_STEMS: tuple[str, ...] = (
    "share",
    "social",
    "related",
    "breadcrumb",
    "sidebar",
    "footer",
    "navbar",
    "navigation",
    "recommend",
)
# An element named like a link list is removed when this share of its text is link text, or
# when it has less non-link text than this.
LINK_LIST_MIN_DENSITY = 0.3
# ... and whatever its size when it is all links.
LINK_LIST_ALL_LINKS = 0.8
LINK_LIST_MAX_TEXT = 300

# Consent managers and cookie banners [test: cookie_banner]: removed whatever their size
# (dom._is_consent_dialog). Not "cmp": Adobe's page components are named "cmp-container".
CONSENT_WORDS: tuple[tuple[str, ...], ...] = (
    ("cookie",),
    ("cookies",),
    ("consent",),
    ("gdpr",),
    ("onetrust",),
    ("cookiebot",),
    ("cookielaw",),
    ("didomi",),
    ("usercentrics",),
    ("truste",),
)
# Banners and boxes: boilerplate whatever their link density.
BANNER_WORDS: tuple[tuple[str, ...], ...] = (
    *CONSENT_WORDS,
    ("privacy", "banner"),
    ("cc", "banner"),
    ("cc", "window"),
    # newsletters, sign-up boxes, paywall prompts
    ("newsletter",),
    ("subscribe",),
    ("subscription", "box"),
    ("signup",),
    ("sign", "up"),
    ("paywall",),
    ("registration", "wall"),
    ("upsell",),
    ("outbrain",),
    ("taboola",),
    # comments (forum threads keep theirs: content.is_forum)
    ("comments",),
    ("comment", "list"),
    ("comment", "respond"),
    ("disqus",),
    # advertising
    ("advert",),
    ("advertisement",),
    ("adsbygoogle",),
    ("sponsored",),
    ("gpt", "ad"),
    # modals, pop-ups, overlays
    ("modal",),
    ("popup",),
    ("overlay",),
    ("lightbox",),
    ("offcanvas",),
    ("off", "canvas"),
    # author boxes after the article, photo credits
    # the end matter of articles: references, disclaimers, affiliate disclosures
    ("footnote",),
    ("footnotes",),
    ("disclaimer",),
    ("disclosure",),
    ("bio",),
    # the poster's badge on forum posts: titles, post counts, join dates, signatures
    ("signature",),
    ("user", "extras"),
    ("user", "title"),
    ("user", "stats"),
    ("flair",),
    ("author", "bio"),
    ("author", "box"),
    ("about", "author"),
    ("credit",),
    ("print", "only"),
)
# Word stems matched at the start of a word, for compounds written without a separator
# ("commentlist", "socialicons", "relatedposts"). "commentary" is prose, not comments.
BANNER_STEMS: tuple[str, ...] = (
    "comment",
    "newsletter",
    "cookie",
    "subscribe",
    "advert",
    "sponsor",
    "popup",
    "modal",
    "consent",
)
STEM_EXCEPTIONS = frozenset({"commentary", "commentaries", "commentator", "shared", "socialism"})

# A token starting with one of these describes a layout state, not the element itself:
# "has-sidebar", "with-ads", "no-comments", "is-sticky-nav" sit on content wrappers.
MODIFIER_PREFIXES = frozenset({"has", "with", "no", "without", "is", "show", "enable", "js"})

# Containers the cleaning never removes whole, whatever their class says ("body.has-sidebar").
PROTECTED_TAGS = frozenset({"html", "body", "main", "article"})

# The length from which a block's text (links excluded) counts as prose rather than a label,
# menu item or byline: used to protect the article's wrappers and to find the article.
PROSE_MIN_CHARS = 100
PROSE_MIN_ROW_CHARS = 20

# A class/id match is not trusted when the element holds this share of the page's text: a
# layout wrapper named "page-with-sidebar" or "ad-free-layout" is not boilerplate.
MAX_REMOVED_SHARE = 0.5

# --- page types --------------------------------------------------------------------------------

# On a discussion thread the "comments" are the content: comment rules are not applied.
# Platform URL conventions (Discourse /t/slug/id, XenForo /threads/, phpBB viewtopic,
# vBulletin showthread, Stack Exchange /questions/id, Reddit /comments/id/, Flarum /d/id-slug).
FORUM_URL = re.compile(
    r"/t/[^/]+/\d+|/threads?/|showthread|viewtopic|/topic/\d|/questions/\d+|/comments/\w+/"
    r"|forum|/discussions?/\d|/d/\d+-|thread-\d+|showtopic|/boards/",
    re.I,
)
FORUM_TYPES = frozenset({"DiscussionForumPosting", "QAPage"})
FORUM_GENERATORS = re.compile(
    r"^(?:Discourse|vBulletin|XenForo|phpBB|MyBB|Invision|NodeBB|Flarum|Vanilla|SMF"
    r"|Simple Machines)",
    re.I,
)

# --- metadata ----------------------------------------------------------------------------------

ARTICLE_TYPES = frozenset(
    {
        "Article",
        "NewsArticle",
        "BlogPosting",
        "TechArticle",
        "ScholarlyArticle",
        "Report",
        "ReportageNewsArticle",
        "AnalysisNewsArticle",
        "OpinionNewsArticle",
        "LiveBlogPosting",
        "SocialMediaPosting",
        "DiscussionForumPosting",
        "Review",
        "Recipe",
        "HowTo",
    }
)
DATE_META_KEYS = (
    "article:published_time",
    "og:published_time",
    "datepublished",
    "date",
    "pubdate",
    "publishdate",
    "publish-date",
    "publish_date",
    "dc.date",
    "dc.date.issued",
    "dcterms.date",
    "citation_publication_date",
    "citation_date",
    "sailthru.date",
    "parsely-pub-date",
    "article.published",
    "published_time",
)
DATE_XPATH = (
    "//*[@itemprop='datePublished'] | //time[@datetime][@pubdate] | "
    "(//article//time[@datetime])[1] | (//time[@datetime])[1]"
)
AUTHOR_XPATHS = (
    "//*[@rel='author' or @itemprop='author'][not(self::link) and not(self::meta)]",
    "//*[contains(@class, 'author-name') or contains(@class, 'byline__name')"
    " or contains(@class, 'author__name')]",
    "//*[contains(concat(' ', normalize-space(@class), ' '), ' byline ')]",
)
BYLINE_PREFIX = re.compile(r"^(?:by|von|par|por|di|door)\s+", re.I)
BYLINE = re.compile(r"^\s*(?:by|von|par|por|di|door|posted|published|updated)\b", re.I)

# --- main content containers -------------------------------------------------------------------

# Class/id word sequences (same matching as BOILERPLATE_WORDS) that name the article body in
# common CMS themes: WordPress "entry-content", news "article-body"/"story-body", blogs
# "post-content". itemprop="articleBody" (schema.org microdata) counts as well.
CONTENT_WORDS: tuple[tuple[str, ...], ...] = (
    ("article", "body"),
    ("articlebody",),
    ("article", "content"),
    ("article", "text"),
    ("articletext",),
    ("entry", "content"),
    ("entry", "body"),
    ("post", "content"),
    ("post", "body"),
    ("post", "text"),
    ("post", "entry"),
    ("story", "body"),
    ("story", "content"),
    ("story", "text"),
    ("body", "text"),
    ("content", "body"),
    ("blog", "content"),
    ("blog", "post", "content"),
    ("single", "content"),
    ("rich", "text"),
    ("field", "body"),
    ("text", "content"),
)
# <main> is the scope of the content unless it holds less than this share of the page's text.
MIN_MAIN_SHARE = 0.2
# A named container is trusted when it holds this share of the page's prose.
NAMED_CONTENT_SHARE = 0.3
# A page looks like an article when its publisher says so (schema.org Article types,
# og:type "article") or its address does: a date path, a news/blog section, a long slug.
ARTICLE_URL = re.compile(
    r"/(?:19|20)\d\d/\d\d?/|/(?:blog|blogs|news|article|articles|story|stories|post|posts|opinion"
    r"|guides?|insights?|learn|features?)/|\d{5,}|/[^/?#]*\w+-\w+-\w+-\w+[^/?#]*/?(?:$|[?#])",
    re.I,
)

# A page that does not say it is an article still is one when a single <article> element holds
# this share of the text of <main> (or <body>) [test: cookie_banner].
LONE_ARTICLE_SHARE = 0.8
LONE_ARTICLE_PROSE = 0.5  # ... and is mostly prose (not a list of linked items)

# Without a named container, the article grows from its densest paragraphs to the parent while
# the parent adds few links and mostly prose (or only a little text); it is taken if its prose
# is at least ARTICLE_PROSE_DENSITY of all the text in <main> (or <body>).


class Growth(NamedTuple):
    max_link_density: float  # of what the parent adds, unless that is tiny
    min_prose_share: float  # of what the parent adds, unless that is short
    free_chars: int  # "short"
    tiny_chars: int  # "tiny": a "Share" link, a date


ARTICLE_GROWTH = Growth(max_link_density=0.3, min_prose_share=0.5, free_chars=200, tiny_chars=0)
# a thread's posts come with poster badges, dates and buttons between them
THREAD_GROWTH = Growth(max_link_density=0.4, min_prose_share=0.2, free_chars=400, tiny_chars=100)
ARTICLE_PROSE_DENSITY = 0.3
# ... or, on a page declared an article, if it holds this share of the page's prose.
DECLARED_ARTICLE_PROSE_SHARE = 0.6
# Inside an article, blocks mostly of links to the site's own pages are menus and related
# stories; links to other sites are sources and products, often the content itself. Measured:
# ScrapingHub F1 0.966 -> 0.967, WCXB 0.8604 -> 0.8619 against a plain link-density cut.
MAX_OWN_LINK_DENSITY = 0.7
# Before the first paragraph and after the last, half links is enough: that is where the
# related-article and tag lists are; between paragraphs a linked list is more often content.
EDGE_MAX_LINK_DENSITY = 0.5
# Text before a page's headline is dropped only when it is at most this share of the text.
MAX_LEAD_SHARE = 0.3
# In an article, text before the headline is dropped when it is at most this share of the text
# (news tickers above the story); a later heading repeating the title is a promo, not the start.
MAX_HEADLINE_LEAD_SHARE = 0.3
# Before the first paragraph, lines this short are bylines and datelines.
META_MAX_WORDS = 5
# ... and lines with a date or a time up to this long are datelines.
DATELINE_MAX_WORDS = 12
DATELINE = re.compile(
    r"\b(?:19|20)\d\d\b|\b\d{1,2}:\d\d\b|\b(?:jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec)"
    r"[a-z]*\.? \d{1,2}\b|\b\d{1,2} (?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\b"
    r"|\b\d+ (?:min|mins|minutes|hours?|days?) (?:ago|read)\b",
    re.I,
)
# The wiki shows this much of a preview (docs/design.md §6).
PREVIEW_CHARS = 3000
# strays.py: list items, table rows, definitions and code are items of the content, which the
# stray-block model does not judge.
ITEM_TAGS = frozenset({"li", "tr", "dd", "dt", "pre"})
# A block this long seen twice in an article is a repeat (captions, galleries).
REPEAT_MIN_CHARS = 100
# In an article, photo captions and credits: not text a reader cites. (On product and listing
# pages "card-caption" holds the item names, so this only applies to articles.)
FIGURE_CONTENT_TAGS = frozenset({"table", "pre", "blockquote", "ul", "ol", "dl"})
CAPTION_WORDS: tuple[tuple[str, ...], ...] = (
    ("caption",),
    ("captions",),
    ("credit",),
    ("photo", "credit"),
)
# Named blocks of the same kind holding this share of the prose each are parts of one article.
TWIN_PROSE_SHARE = 0.05
CONTENT_ITEMPROPS = frozenset({"articleBody", "text", "reviewBody", "description"})

# --- interface text ----------------------------------------------------------------------------

# Whole short blocks that are a site's interface, not its content: buttons, prompts, labels.
# Matched against the block's lower-cased text without trailing punctuation; a block only
# qualifies when it has at most UI_MAX_WORDS words, so prose quoting such a phrase is safe.
UI_MAX_WORDS = 8
_UI_PHRASE = (
    r"(?:"
    # skipping and navigating
    r"skip to (?:the )?(?:main )?(?:content|navigation|search|footer)|skip navigation"
    r"|jump to (?:navigation|search|content|main content)|back to top|scroll to top|go to top"
    r"|previous(?: (?:post|article|page))?|next(?: (?:post|article|page))?|older posts|newer posts"
    r"|page \d+ of \d+|menu|close|open menu|toggle navigation|search"
    # accounts
    r"|(?:sign|log) ?(?:in|up|out)(?: now| today| for free)?|register|create (?:an|your) account"
    r"|my account|account|you are not logged in|log in to (?:reply|comment)"
    # newsletters and follow prompts
    r"|subscribe(?: now| today| for free)?|sign up for (?:our|the) newsletter|newsletter"
    r"|join (?:our|the) (?:mailing list|newsletter|community)|follow us(?: on \w+)?"
    r"|stay connected(?: with (?:me|us))?|connect with us"
    # advertising
    r"|advertisement|advertising|sponsored(?: content)?|ad|ads|continue reading below"
    # sharing
    r"|share(?: this)?(?: (?:article|post|page|story|on \w+))?|tweet|pin it|email|print"
    r"|copy link|link copied|facebook|twitter|linkedin|whatsapp|pinterest|reddit|x"
    # more
    r"|read more|learn more|see more|view more|view all(?: \w+)?|show more|show less|load more"
    r"|continue reading|click to expand|see all(?: \w+)?|more|expand|collapse"
    # shopping
    r"|add to (?:cart|bag|basket|wish ?list|compare)|buy now|shop now|quick (?:view|shop)"
    r"|choose options|select options|out of stock|sold out|notify me(?: when available)?"
    r"|no products in the cart|continue shopping|view cart|checkout|compare"
    # loading and reading time
    r"|loading(?: \w+)?|please wait|\d+ min(?:ute)?s? read|reading time:? \d+ min(?:ute)?s?"
    # forum and comment controls
    r"|reply|quote|report|like|likes|permalink|save|embed|parent|original poster|op"
    r"|reply with quote|click to expand|joined|offline|online"
    # related and tag lists
    r"|related(?: (?:posts|articles|stories|content))?|you may also like|recommended(?: for you)?"
    r"|popular posts|trending(?: now)?|tags?|categories|filed under|posted in"
    r"|table of contents|on this page|in this article|related news|more (?:in|from|on) [\w ]{1,30}"
    # galleries and captions
    r"|caption|toggle caption|hide caption|(?:image|photo|slide) \d+ (?:of|/) \d+|\d+ of \d+"
    r"|enlarge (?:this )?image|view (?:the )?gallery|photo|photos"
    # headings of link lists: other stories, searches, categories, brands
    r"|(?:trending|popular|top|recent) searches|you might (?:also )?like"
    r"|(?:other|more) (?:posts|articles|stories|recipes) you (?:may|might|will) (?:enjoy|like|love)"
    r"|more(?: \w+){0,3} (?:from|in|on|like) (?:this|the|our) [\w ]{1,30}|more \w+"
    r"|(?:product|shop by|browse by|all) categor(?:y|ies)|featured (?:brands|categories)"
    r"|shop by \w+"
    r"|our guides|quick links|useful links|recently viewed|more to explore"
    r"|what(?:'|’)?s trending(?: \w+){0,3}|(?:current|sale|regular|list|original) price"
    r"|see price in (?:cart|bag)|follow (?:the )?(?:author|us|me)|(?:learn how to )?get started"
    # controls of shops and documentation
    r"|select (?:an? )?(?:size|colou?r|option|style|variant)|filters?(?: (?:&|and) sort)?"
    r"|sort(?: by)?"
    r"|notify me when (?:back in stock|available)|tell me more|find out more|discover more"
    r"|expand (?:all|description)|collapse all|subscribe to (?:get access|read more|continue)"
    r")"
)
# A block of several such phrases run together ("Jump to navigationJump to search") is one too.
UI_PHRASES = re.compile(rf"{_UI_PHRASE}(?:[\s|·•/,]*{_UI_PHRASE})*", re.I)
UI_STRIP = ".:!?…»›>|•·-–—*#()[] "
# A price in a label ("$99.99", "549,99 €", "CAD 60").
_CURRENCY = r"(?:[$€£¥]|(?:USD|EUR|GBP|CAD|AUD|NZD|CHF|JPY|INR|SEK|NOK|DKK)\b)"
PRICE = re.compile(rf"{_CURRENCY}\s?\d[\d.,]*|\d[\d.,]*\s?{_CURRENCY}")

# On forums: the poster's badge next to each post (XenForo, vBulletin, phpBB, Discourse,
# Stack Exchange), not part of what was said.
POST_META = re.compile(
    r"(?:joined|join date|registered|member since|posts|threads|messages|reaction score|points"
    r"|trophy points|reputation|location|likes received|solutions|rep|karma)\b\s*:?"
    r"|#\d+$|(?:new|junior|senior|well-known|active|registered|full|super|valued|veteran|elite"
    r"|respected|established|distinguished|platinum|gold|silver|bronze)?\s*member$"
    r"|(?:premium|supporting|lifetime|vip|gold|platinum) member$|reply with quote\b"
    r"|(?:thread starter|start date|original poster|op|moderator|administrator|staff member)\b"
    r"|improve this (?:question|answer)|share|follow|asked\b|answered\b"
    r"|modified\b|viewed \d|\d+ (?:replies|views|likes|posts)$",
    re.I,
)

# Notices about the page, its thread or the reader's account, not the page's text: matched at
# the start of a block of at most NOTICE_MAX_WORDS words.
NOTICE_MAX_WORDS = 50
NOTICES = re.compile(
    r"(?:not open for further replies|this (?:topic|thread|discussion) (?:was|has been|is)"
    r" (?:automatically )?(?:closed|locked|archived)"
    r"|you must (?:log ?in|sign ?in|be logged in|register)|(?:please )?(?:log ?in|sign ?in)"
    r" (?:or|and) register|create an account or (?:sign|log) ?in|register a new account"
    r"|already have an account|don't have an account|join (?:now )?to see|you(?:'re| are) browsing"
    r" .{1,60} as a guest|this (?:article|story|content) is (?:exclusive|only available) to"
    r"|would you like to receive notifications|loading(?: paragraph)?\.\.\.|[\w.-]+(?: and \d+"
    r" others?)? likes? this\b|(?:new )?replies are no longer allowed"
    # legal lines, reading times, author bios
    r"|copyright\s*(?:©|\(c\)|\d{4})|©|\(c\) \d{4}|all rights reserved"
    r"|(?:[^|]{1,40}\|\s*)?\d+ min(?:ute)?s? read$"
    r"|[\w.'-]+(?: [\w.'-]+){1,2} (?:is|was) an? (?:[\w-]+ ){0,3}(?:writer|editor|reporter"
    r"|journalist|correspondent|contributor|columnist|producer)\b"
    # consent, affiliate and payment notices
    r"|by (?:using|continuing|clicking|signing up|subscribing)\b.{0,80}"
    r"\byou (?:agree|accept|consent)"
    r"|(?:this|our) (?:website|site|page|post|article) (?:uses|contains|may contain) affiliate"
    r"|we (?:may )?earn (?:a )?(?:small )?commission|as an amazon associate"
    r"|your payment information is|welcome (?:back )?to [^.!?]{1,40}!$"
    r")",
    re.I,
)
# A block that is only a question that sells ("Ready to get pests out of your home?").
SALES_QUESTION = re.compile(
    r"(?:want|ready|looking for|need|struggling|interested in|tired of)\b[^?.!]{0,60}\?",
    re.I,
)
# Promotions of a shop's terms, anywhere in a block of at most PROMOTION_MAX_WORDS words.
PROMOTION_MAX_WORDS = 30
PROMOTIONS = re.compile(
    r"free (?:standard |express )?(?:shipping|delivery|returns)|livraison (?:offerte|gratuite)"
    r"|ships by \w+|returns? (?:&|and) exchanges|flat rate|earn rewards|money[- ]back guarantee"
    r"|get (?:up to )?[$€£]\d|get (?:a )?free\b"
    r"|join our (?:[\w ]{1,30} )?(?:program|programme|club|mailing list|newsletter)"
    r"|join (?:our|the|my) (?:[\w ]{1,30} )?(?:facebook|discord|slack|telegram|whatsapp)"
    r" (?:group|community|server|channel)|(?:straight|directly|delivered) (?:in|to) your inbox"
    r"|(?:sign up for|subscribe to) our newsletter|(?:pick-?up|collect) in[- ]store",
    re.I,
)
# Bylines outside articles: "By The Currency editors".
SHORT_BYLINE = re.compile(r"(?:by|written by|words by)\s+[^.!?]{2,50}$", re.I)
BYLINE_MAX_WORDS = 6
# A row of links set apart by bars or dots ("new | past | comments | ask") is a menu.
MENU_MIN_SEPARATORS = 3
MENU_MIN_LINK_DENSITY = 0.6
# A block repeating one short phrase ("Book Now * Book Now * ...") is a ticker.
TICKER_MIN_REPEATS = 4

# --- product pages -----------------------------------------------------------------------------

# A product page is one declared so, or addressed like one (/product/, /p/, Amazon /dp/,
# Walmart /ip/, eBay /itm/, Steam /app/); pages declaring a list of items are listings.
PRODUCT_URL = re.compile(r"/products?/|/p/|/dp/|/ip/|/itm/|/item/|/app/\d|/store/detail", re.I)
LISTING_TYPES = frozenset({"ItemList", "CollectionPage", "SearchResultsPage", "OfferCatalog"})
# What a product page shows besides the product: customer reviews and ratings, and other
# products (recommendations, recently viewed, "customers also bought").
SHOP_EXTRA_WORDS: tuple[tuple[str, ...], ...] = (
    ("review",),
    ("reviews",),
    ("rating",),
    ("ratings",),
    ("testimonial",),
    ("testimonials",),
    ("recommendation",),
    ("recommendations",),
    ("recommended",),
    ("similar",),
    ("also", "viewed"),
    ("also", "bought"),
    ("recently", "viewed"),
    ("upsell",),
    ("cross", "sell"),
    ("crosssell",),
    ("carousel",),
    ("slider",),
    ("you", "may", "also", "like"),
    ("related",),
    ("bazaarvoice",),
    ("yotpo",),
    ("trustpilot",),
    ("okendo",),
    ("judgeme",),
    ("stamped",),
    ("loox",),
)
SHOP_EXTRA_STEMS: tuple[str, ...] = ("review", "rating", "recommend", "carousel")
# ... removed unless one holds this share of the page's text (a layout wrapper): on big shops
# the reviews are most of the page.
MAX_NAMED_SHARE = 0.9

# --- calls to action ---------------------------------------------------------------------------

# Elements a theme names as buttons ("btn btn--accent", "ui_button", "cta-link") are the site's
# controls when their text is this short: "Speak to an expert", "Book Your Free Demo".
BUTTON_WORDS: tuple[tuple[str, ...], ...] = (
    ("btn",),
    ("button",),
    ("cta",),
    ("call", "to", "action"),
)
BUTTON_MAX_CHARS = 40
# A block whose text is at least this share link text is one link (a button, a label).
WHOLE_LINK_DENSITY = 0.9
# A thread's category label under its title: one link of at most this many words.
THREAD_LABEL_MAX_WORDS = 4
# A short block that is one link starting with one of these verbs asks the reader to do
# something ("Get a Quote", "Schedule a demo", "View in list"): the site's prompt, not its text.
CTA_MAX_WORDS = 6
# fmt: off
CTA_VERBS = frozenset({
    "book", "schedule", "request", "get", "start", "contact", "talk", "speak", "try", "tell",
    "notify", "view", "watch", "buy", "shop", "explore", "download", "claim", "apply", "join",
    "register", "create", "discover", "browse", "order", "call", "chat", "find", "unlock",
    "subscribe", "sign", "log", "login", "signup", "see", "show", "hide", "expand", "filter",
    "sort", "select", "choose", "compare", "save", "install", "follow", "share",
})
# fmt: on


# --- metadata ----------------------------------------------------------------------------------

#: A title field longer than this holds a paragraph, not a title (LinkedIn's og:title on
#: articles): the page's <title> is used instead. Real headlines stay well under it.
TITLE_MAX_CHARS = 200
