"""What a call to the recorder process (crawler/recorder.py) can fail with, importable
without the record path's SQLAlchemy: the crawl's process sees these, the recorder raises
them."""


class RecorderDied(Exception):
    """The recorder process ended before the crawl closed it (killed, out of memory)."""


class WriteFailed(Exception):
    """A WARC file or the store could not be written (a full disk, a read-only folder);
    its message says which file and why, in one line."""


class PreviewUnknown(Exception):
    """An unchanged page whose earlier preview cannot be reused: it is extracted again."""
