"""Defaults for the archive and the ``resources`` spider.

Plain module constants, as Scrapy settings are: a deployment overrides them in
its own settings module, a run with ``-s NAME=value``, a shell with ``ARCHIVE_*``
environment variables (see ``settings/env.py``).
"""

from __future__ import annotations

# --- the store ------------------------------------------------------------
#: Folder holding all state: the SQLite store, warcs/, logs/.
ARCHIVE_HOME = "./data"
#: Any SQLAlchemy URL; empty means SQLite at $ARCHIVE_HOME/archive.sqlite3.
ARCHIVE_DATABASE_URL = ""
#: Salt of the hashids that make stable ids and capture ids. Changing it changes
#: the ids given to *new* resources only; stored ids are never recomputed.
ARCHIVE_HASHIDS_SALT = "cited-archive"

# --- crawling manners -----------------------------------------------------
ARCHIVE_OPERATOR = "cited-archive operator"
ARCHIVE_CONTACT_URL = "https://example.org/archive-contact"
ARCHIVE_OBEY_ROBOTS = True
#: Loopback, private and link-local targets are refused unless this is on.
ARCHIVE_ALLOW_PRIVATE = False
ARCHIVE_DOWNLOAD_DELAY = 1.0
ARCHIVE_CONCURRENCY_PER_HOST = 2
ARCHIVE_TIMEOUT = 60.0
#: Bodies above this are cut and archived with ``WARC-Truncated: length``.
ARCHIVE_MAX_BODY_SIZE = 50 * 1024 * 1024

# --- page requisites --------------------------------------------------------
#: Fetch what each archived page loads (stylesheets, images, fonts, scripts, frames...).
ARCHIVE_REQUISITES = True
#: At most this many requisites per page; the rest are left out (and the cut recorded).
ARCHIVE_REQUISITES_MAX = 200
#: No further requisites of a page once those fetched for it reach this many bytes.
ARCHIVE_REQUISITES_MAX_BYTES = 100 * 1024 * 1024

# --- browser capture -------------------------------------------------------
#: Capture every page with headless Chromium (``archive crawl --browser``).
ARCHIVE_BROWSER = False
#: Hosts whose pages are always captured with the browser: comma-separated patterns,
#: ``example.org`` (and its subdomains) or ``*.example.org`` (only its subdomains).
ARCHIVE_BROWSER_HOSTS = ""
#: Capture a page again with the browser, in the same crawl, when its HTTP capture's
#: preview is a script shell (little text, a "requires JavaScript" notice, an empty app root).
ARCHIVE_BROWSER_FALLBACK = True
#: A page whose preview has more characters than this is never taken for a script shell.
ARCHIVE_BROWSER_SHELL_TEXT = 300
#: The Chromium the browser capture drives (Debian's ``chromium`` package).
ARCHIVE_BROWSER_EXECUTABLE = "/usr/bin/chromium"
#: Seconds a page may take in the browser: loading, scripts, scrolling, the network going quiet.
ARCHIVE_BROWSER_TIMEOUT = 30.0
#: The full-page screenshot stops at this many pixels from the top.
ARCHIVE_BROWSER_SCREENSHOT_MAX_HEIGHT = 10000

# --- previews -------------------------------------------------------------
#: Extraction worker processes; 0 means one per core.
ARCHIVE_EXTRACT_WORKERS = 0
#: Address-space cap of each worker (an rlimit): a page that needs more gets no preview.
ARCHIVE_EXTRACT_MEMORY = 1024 * 1024 * 1024
#: Seconds one page's extraction may take before its worker is replaced.
ARCHIVE_EXTRACT_TIMEOUT = 30.0
#: Only the first this many bytes of a page's decoded body are extracted from.
ARCHIVE_EXTRACT_MAX_INPUT = 10 * 1024 * 1024
#: Only the first this many pages of a PDF are extracted from.
ARCHIVE_EXTRACT_MAX_PDF_PAGES = 200
#: Leave previews for ``archive extract --pending`` instead of extracting during the crawl.
ARCHIVE_DEFER_PREVIEWS = False

# --- WARC files -----------------------------------------------------------
ARCHIVE_WARC_PREFIX = "archive"
#: A WARC file is closed and a new one started once it passes this size.
ARCHIVE_WARC_MAX_SIZE = 1024 * 1024 * 1024
#: Each record's gzip level: 0-3 are ISA-L's (fast; 2 is about 10x zlib's 6 for files
#: about 15 % larger), 4-9 zlib's (6 is what gzip(1), wget and Heritrix write).
ARCHIVE_WARC_GZIP_LEVEL = 2

# --- scale out: many workers on one frontier -----------------------------------
#: A Redis URL (``redis://HOST:PORT/N``): ``archive crawl`` becomes one worker of the crawl
#: shared there (scrapy-redis). Empty: the single-machine crawl. Needs a PostgreSQL store.
ARCHIVE_FRONTIER_URL = ""
#: What the frontier's keys start with: one Redis database can hold several archives.
ARCHIVE_FRONTIER_PREFIX = "cited-archive"
#: Seconds a worker's lease on a resource (and on a host's slot) lasts without renewal:
#: a worker that dies loses its leases this long after, and another worker takes them.
ARCHIVE_FRONTIER_LEASE = 60.0
#: This worker's name in the frontier, its job row and its WARC file names
#: (empty: ``<hostname>-<pid>``).
ARCHIVE_WORKER_NAME = ""

# --- replay -------------------------------------------------------------------
#: The Python that runs the replay server (pywb, which cannot share an environment with
#: scrapy-redis). Empty: this interpreter when it imports pywb, else the project's
#: ``.venv-replay/bin/python``.
ARCHIVE_REPLAY_PYTHON = ""

# --- the wiki's server -------------------------------------------------------
#: Where ``archive push wiki`` sends the wiki's citation_content rows (or --server URL).
ARCHIVE_WIKI_SERVER = ""
#: Its API key, sent as a bearer token: give it in the environment, never on a command line.
ARCHIVE_WIKI_KEY = ""

# --- reports and the viewer -------------------------------------------------
#: Where the web viewer answers: replay addresses in reports point there, and both
#: servers answer to its host name.
ARCHIVE_VIEWER_URL = "http://127.0.0.1:8600"
#: The Wayback Machine availability API that ``archive report --wayback`` asks.
ARCHIVE_WAYBACK_API = "https://archive.org/wayback/available"

#: Start the crawl's clock at this ISO instant instead of now (testing, replays).
ARCHIVE_CLOCK = ""

#: Log every failed request with Scrapy's own lines and tracebacks, not one line per
#: unreachable host (``archive crawl -v``).
ARCHIVE_LOG_TRACEBACKS = False

# --- scheduling -----------------------------------------------------------
#: Days until an alive resource is due again.
ARCHIVE_REFRESH_DAYS = 30.0
#: Days until due again, by resource type (others: ARCHIVE_REFRESH_DAYS).
ARCHIVE_REFRESH_DAYS_BY_TYPE: dict[str, float] = {"paper": 90.0, "reference": 14.0}
#: Seconds before the first retry of a failed fetch; doubled for each further one.
ARCHIVE_RETRY_BACKOFF = 2.0
#: A 429/503 asking to wait longer than this is not retried in this run.
ARCHIVE_RETRY_AFTER_MAX = 120.0
