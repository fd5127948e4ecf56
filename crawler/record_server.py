"""The recorder process (crawler/recorder.py is the crawl's side): it opens the record
path (``crawler.record_path``) and answers the crawl's calls in the order they were made.

Neither Twisted nor the crawl's modules: the forkserver preloads this module and the
record path's, and the sooner it has, the sooner the recorder can open the store.
"""

from __future__ import annotations

import gc
import logging
import os
import pickle
import signal
import sys
from multiprocessing.connection import Connection
from typing import TYPE_CHECKING, Any

from archive.crawl.opening import Opening

if TYPE_CHECKING:  # imported in the recorder process only, once it runs
    from crawler.record_path import RecordPath

logger = logging.getLogger(__name__)

#: as Scrapy's log lines, which the recorder's warnings appear among
_LOG_FORMAT = "%(asctime)s [%(name)s] %(levelname)s: %(message)s"
#: the answer the worker sends once it has opened the record path, before any call's
OPENED = 0
#: calls answered even once writes are refused: the job's row says how the crawl ended
_UNGUARDED = frozenset({"finish_job"})


def named(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"


def _portable(exc: BaseException) -> BaseException:
    """``exc``, or a RuntimeError saying the same when it does not pickle."""
    try:
        pickle.dumps(exc)
    except Exception:  # noqa: BLE001 - any exception at all must reach the crawl
        return RuntimeError(named(exc))
    return exc


def serve(conn: Connection, opening: Opening) -> None:
    """The recorder process: open the record path, answer calls until told or EOF."""
    # The crawl decides when the recorder stops: a Ctrl-C or SIGTERM sent to the whole
    # process group must not cut a write short. The crawl's end, however it came, is EOF.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    logging.basicConfig(level=logging.WARNING, format=_LOG_FORMAT)
    from crawler.record_path import RecordPath  # preloaded by the forkserver

    try:
        path = RecordPath(opening)
    except Exception as exc:  # noqa: BLE001 - said to the crawl, which fails with it
        conn.send((OPENED, False, _portable(exc)))
        return
    conn.send((OPENED, True, path.job_id))
    # What the process holds now (modules, SQLAlchemy's tables) lives as long as it does:
    # out of the cyclic collector's view, which would walk it again at every collection.
    gc.freeze()
    status = 0
    try:
        _answer_calls(conn, path)
    except BaseException:  # a bug: said, and the crawl sees the exit status
        logger.exception("the recorder failed")
        status = 1
    try:
        path.close()
    except Exception:  # noqa: BLE001 - said, and the crawl sees the exit status
        logger.exception("the recorder could not close its WARC file")
        status = 1
    # Everything the recorder wrote is closed and flushed: skip the interpreter's teardown
    # of SQLAlchemy, warcio and the rest, a fifth of a second the crawl's end waits for.
    logging.shutdown()
    sys.stderr.flush()
    os._exit(status)


#: captures whose rows wait at most for one commit (a bound on what a commit holds)
GROUP = 64


def _answer_calls(conn: Connection, path: RecordPath) -> None:
    """Answer calls in order until the crawl says it is done (None) or is gone (EOF).

    A capture's answer waits for the commit of its row: the rows recorded meanwhile are
    committed together when no call is waiting any more, or after GROUP of them."""
    held: list[Any] = []  # answers of recorded captures, sent once committed
    while True:
        if held and (len(held) >= GROUP or not conn.poll()):
            if not _commit(conn, path, held):
                return
            held = []
        try:
            message = conn.recv()
        except EOFError:
            message = None
        if message is None:
            _commit(conn, path, held)
            return
        call_id, method, args = message
        if method in _UNGUARDED and held:  # the job's row after the captures' rows
            if not _commit(conn, path, held):
                return
            held = []
        try:
            fn = getattr(path, method)
            value = fn(*args) if method in _UNGUARDED else path.guarded(fn, *args)
            answer = (call_id, True, value)
        except Exception as exc:  # noqa: BLE001 - every failure is the caller's to see
            answer = (call_id, False, _portable(exc))
        if method == "record_fetch" and answer[1]:
            held.append(answer)
        elif not _send(conn, answer):
            return


def _commit(conn: Connection, path: RecordPath, held: list[Any]) -> bool:
    """Commit the held captures' rows and send their answers (their failure, if the commit
    fails); False once the crawl is gone."""
    try:
        # once a write has failed: the rows of the captures flushed before it
        refused = path.guarded(path.commit) if path.refused is None else path.commit()
    except Exception as exc:  # noqa: BLE001 - each capture's caller sees it
        failure = _portable(exc)
        held = [(call_id, False, failure) for call_id, _, _ in held]
    else:
        held = [
            (call_id, False, _portable(refused[outcome.capture_id]))
            if outcome.capture_id in refused
            else (call_id, ok, outcome)
            for call_id, ok, outcome in held
        ]
    return all(_send(conn, answer) for answer in held)


def _send(conn: Connection, answer: Any) -> bool:
    """Send one answer; False when the crawl is gone (nothing to answer)."""
    try:
        conn.send(answer)
    except OSError:
        return False
    except Exception as exc:  # noqa: BLE001 - an answer that does not pickle
        conn.send((answer[0], False, RuntimeError(f"unsendable answer: {exc!r}")))
    return True
