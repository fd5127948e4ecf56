"""The recorder process, the crawl's side (crawler/record_server.py is the process's):
the record path (``crawler.record_path``) beside the crawl.

Scrapy's reactor thread and the record path in one process would share one GIL: every
millisecond spent in warcio, zlib and SQLAlchemy is one the downloads wait for. The
recorder runs in a process of its own, so the two use a core each. It answers calls in
the order they were made (one worker, one pipe), which keeps a capture's records in
order and its row after them.

Written here rather than on ``concurrent.futures.ProcessPoolExecutor``: the record path
is one stateful worker (an open WARC file, a store connection), and the executor's
worker keeps both ends of its call queue, so a crawl killed by SIGKILL would leave it
waiting forever with its WARC file open. This worker holds one end of a pipe: the end of
the crawl, however it came, is EOF there, and it closes its WARC file and exits.
"""

from __future__ import annotations

import logging
import multiprocessing
import queue
import threading
from multiprocessing.connection import Connection
from typing import Any

from twisted.internet.defer import Deferred

from archive.crawl.opening import Opening
from crawler.record_errors import RecorderDied
from crawler.record_server import OPENED, named, serve

logger = logging.getLogger(__name__)


class Recorder:
    """The crawl's side of the recorder process: calls go out in order, and each
    answer fires its Deferred on the reactor thread.

    It can be made before Scrapy loads (``archive.crawl`` does, so that the recorder opens
    the store, makes the job row and selects the crawl's resources meanwhile): the process
    starts from a thread, which waits for the forkserver's preload, and the answers wait
    for :meth:`attach`, as firing a Deferred needs the reactor that Scrapy installs."""

    def __init__(self, opening: Opening) -> None:
        # forkserver, not fork: the crawl has threads, whose locks a forked child inherits.
        # The server forks from a clean process, started with the recorder's modules loaded
        # before the crawl's own imports (``archive.crawl.warm_up``).
        context = multiprocessing.get_context("forkserver")
        self._conn, child = context.Pipe()
        self._process = context.Process(
            target=serve, args=(child, opening), name="archive-recorder"
        )
        self._calls: dict[int, Deferred[Any]] = {}
        self._last = OPENED
        self._lock = threading.Lock()
        #: one thread at a time waits for the process: two waiting at once would race for
        #: its exit status, and the loser would take it for alive
        self._joining = threading.Lock()
        #: what the sender thread sends (pickling and a full pipe block it, not the reactor)
        self._outbox: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self.died: str | None = None
        #: why the recorder could not open the archive (raised by :meth:`wait_opened`)
        self._open_error: BaseException | None = None
        self.on_death: Any = None
        #: the crawl's job row, once the recorder has opened the archive
        self.job_id: int | None = None
        self._opened = threading.Event()
        self._started = threading.Event()
        self._attached = threading.Event()
        self._reactor: Any = None
        self._closed = False
        self._threads = [
            threading.Thread(target=self._send, args=(child,), name="recorder-send", daemon=True),
            threading.Thread(target=self._receive, name="recorder-receive", daemon=True),
        ]
        for thread in self._threads:
            thread.start()

    def attach(self) -> None:
        """Fire the answers' Deferreds on the reactor thread from now on (call once
        Scrapy has installed its reactor: importing it earlier would install another)."""
        from twisted.internet import reactor

        self._reactor = reactor
        self._attached.set()

    def call(self, method: str, *args: Any) -> Deferred[Any]:
        """``RecordPath.<method>(*args)`` in the recorder: a Deferred of its result."""
        done: Deferred[Any] = Deferred()
        if self.died is not None:
            done.errback(RecorderDied(self.died))
            return done
        with self._lock:
            self._last += 1
            self._calls[self._last] = done
            self._outbox.put((self._last, method, args))
        return done

    def close(self, timeout: float | None = None) -> None:
        """Let the recorder finish the calls made so far, close its WARC file and exit
        (again: nothing). Answers that come when no crawl attached are dropped."""
        if self._closed:
            return
        self._closed = True
        self._attached.set()
        self._outbox.put(None)
        self._join(timeout)
        if self._process.is_alive():  # a write that hangs (a stalled network disk)
            logger.error("the recorder process did not finish within %s s; killed", timeout)
            self._process.kill()
            self._join(None)
        for thread in self._threads:
            thread.join(5)

    def wait_opened(self) -> int:
        """Block until the recorder has opened the archive (however long a migration of the
        store takes, said once after a few seconds): the job's id. Raises why it could not
        (the store's own error: a bad database URL says so as it would in this process)."""
        if not self._opened.wait(3):
            logger.info("opening the archive (a store made by an older version is migrated)")
            self._opened.wait()
        if self._open_error is not None:
            raise self._open_error
        if self.died is not None or self.job_id is None:
            raise RecorderDied(self.died or "the recorder did not open the archive")
        return self.job_id

    def _send(self, child: Connection) -> None:
        try:
            self._process.start()
        except Exception as exc:  # noqa: BLE001 - the forkserver is gone: said as a death
            self.died = f"the recorder could not start: {exc}"
            return
        finally:
            child.close()  # the process's end: once it exits, the receiver sees EOF
            self._started.set()
        while True:
            message = self._outbox.get()
            try:
                self._conn.send(message)
            except (OSError, ValueError):  # the worker is gone; the receiver says why
                return
            if message is None:
                return

    def _receive(self) -> None:
        while True:
            try:
                call_id, ok, value = self._conn.recv()
            except (EOFError, OSError):
                break
            if call_id == OPENED:
                if ok:
                    self.job_id = value
                    self._opened.set()
                    continue
                self._open_error = value
                self.died = f"the recorder could not open the archive: {named(value)}"
                break
            with self._lock:
                done = self._calls.pop(call_id)
            self._fire(done.callback if ok else done.errback, value)
        self._opened.set()
        self._join(5)
        code = self._process.exitcode
        if self.died is None and code != 0:
            self.died = f"the recorder process died (exit {code})"
        with self._lock:
            orphans, self._calls = list(self._calls.values()), {}
        if self.died is not None:
            for done in orphans:
                self._fire(done.errback, RecorderDied(self.died))
            if self.on_death is not None:
                self._fire(self.on_death, self.died)

    def _fire(self, fn: Any, value: Any) -> None:
        """``fn(value)`` on the reactor thread, once attached; dropped if none ever is."""
        self._attached.wait()
        if self._reactor is not None:
            self._reactor.callFromThread(fn, value)

    def _join(self, timeout: float | None) -> None:
        self._started.wait()
        with self._joining:
            if self._process.pid is not None:  # never started: nothing to wait for
                self._process.join(timeout)
