"""Preview extraction in worker processes, each bounded in memory, time and input.

A page is untrusted input: 50 MB of tiny elements, 100,000-deep nesting or a 20,000-page
PDF must cost one worker some seconds, never the crawl its memory or its end. pebble's
ProcessPool runs each extraction in a worker process, kills a worker that overruns its
time budget and starts another; an rlimit set in each worker turns a runaway allocation
into a MemoryError there. A preview that could not be made is still a result: its
``extractor`` says why, and the capture is kept.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import resource
import signal
from concurrent.futures import CancelledError, Future
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass

from pebble import ProcessExpired, ProcessPool

from archive.capture.preview import Preview, extract_preview
from archive.config import Config

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Bounds:
    """What one extraction may use."""

    workers: int
    memory: int
    timeout: float
    max_input: int
    max_pdf_pages: int

    @classmethod
    def of(cls, config: Config) -> Bounds:
        return cls(
            workers=config.extract_workers or os.cpu_count() or 1,
            memory=config.extract_memory,
            timeout=config.extract_timeout,
            max_input=config.extract_max_input,
            max_pdf_pages=config.extract_max_pdf_pages,
        )


def _size(n: int) -> str:
    for unit, size in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if n >= size:
            return f"{n / size:g} {unit}"
    return f"{n} bytes"


def no_preview(reason: str) -> Preview:
    """The preview of a page extraction gave up on: no text, and why in ``extractor``."""
    from archive.extract import EXTRACTOR, EXTRACTOR_VERSION

    return Preview(extractor=f"{EXTRACTOR}/{EXTRACTOR_VERSION}: {reason}"[:64])


def _start_worker(memory: int) -> None:
    """In each worker, before any page: the address-space cap, and SIGTERM as it should be
    (the crawl's forkserver ignores it, archive.crawl.warm_up): pebble stops a worker with
    it, and one sent to the whole process group stops the workers with the crawl."""
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGTERM})
    resource.setrlimit(resource.RLIMIT_AS, (memory, memory))


def bounded_preview(
    body: bytes, content_type: str | None, url: str | None, bounds: Bounds
) -> Preview:
    """The preview of the first ``max_input`` bytes of ``body`` (in a worker)."""
    try:
        return extract_preview(
            body[: bounds.max_input], content_type, url, max_pdf_pages=bounds.max_pdf_pages
        )
    except MemoryError:
        return no_preview(f"over the {_size(bounds.memory)} memory cap")


class PreviewPool:
    """Worker processes that turn response bodies into previews, a page at a time each."""

    def __init__(self, bounds: Bounds) -> None:
        self.bounds = bounds
        # forkserver, not fork: the crawler has threads (Twisted's, the WARC writer's), and
        # a forked child inherits their locks held.
        self._pool = ProcessPool(
            max_workers=bounds.workers,
            initializer=_start_worker,
            initargs=(bounds.memory,),
            context=multiprocessing.get_context("forkserver"),
        )
        #: submitted and not done: a stop cancels them (pebble leaves queued ones waiting)
        self._waiting: set[Future[Preview]] = set()

    def submit(self, body: bytes, content_type: str | None, url: str | None) -> Future[Preview]:
        future: Future[Preview] = self._pool.schedule(
            bounded_preview,
            args=(body, content_type, url, self.bounds),
            timeout=self.bounds.timeout,
        )
        self._waiting.add(future)
        future.add_done_callback(self._waiting.discard)
        return future

    @property
    def waiting(self) -> int:
        """Pages submitted whose preview is not made yet."""
        return len(self._waiting)

    def outcome(self, future: Future[Preview], url: str | None) -> Preview:
        """The finished ``future``'s preview, or one saying why there is none. Raises
        CancelledError for a page the pool was stopped before it was done with."""
        try:
            return future.result()
        except CancelledError:
            raise
        except FutureTimeout:
            logger.warning("no preview of %s: extraction took over %g s", url, self.bounds.timeout)
            return no_preview(f"over the {self.bounds.timeout:g} s time budget")
        except ProcessExpired as exc:
            if exc.exitcode == -signal.SIGTERM:  # stopped with the crawl, not by its page
                raise CancelledError from exc
            logger.warning("no preview of %s: its extraction worker died (%s)", url, exc)
            return no_preview(f"worker died (exit {exc.exitcode})")
        except MemoryError:
            return no_preview(f"over the {_size(self.bounds.memory)} memory cap")
        except Exception as exc:  # a page we cannot read is data, not a failed run
            logger.warning("no preview of %s: %r", url, exc)
            return no_preview(f"failed: {type(exc).__name__}")

    def close(self, wait: bool = True) -> None:
        """Stop the workers: after the queued pages (``wait``), or at once."""
        if wait:
            self._pool.close()
        else:
            self._pool.stop()
            for future in list(self._waiting):
                future.cancel()
        self._pool.join()
