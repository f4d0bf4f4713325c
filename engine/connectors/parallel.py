"""Reading several resources at once on worker threads, as one stream of (resource, record).

Workers take resources from a shared queue, so `workers` bounds concurrency whatever
the number of resources. Records reach the caller through a bounded queue (a slow
consumer slows the readers instead of filling memory). The first error a worker hits
stops the others and is raised to the caller; closing the stream early stops them too.
Pacing is not handled here: connectors share one RateLimiter between their reads.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any

Record = dict[str, Any]
_POLL = 0.05


class _Done:
    pass


def read_concurrently(read: Callable[[str], Iterable[Record]], resources: Sequence[str], *,
                      workers: int = 4, buffer: int = 1000) -> Iterator[tuple[str, Record]]:
    if workers < 1:
        raise ValueError(f"workers must be at least 1, got {workers}")
    todo: queue.SimpleQueue[str] = queue.SimpleQueue()
    for resource in resources:
        todo.put(resource)
    out: queue.Queue[tuple[str, Record] | BaseException | _Done] = queue.Queue(maxsize=buffer)
    stop = threading.Event()

    def put(item: tuple[str, Record] | BaseException | _Done) -> bool:
        while not stop.is_set():
            try:
                out.put(item, timeout=_POLL)
                return True
            except queue.Full:
                continue
        return False

    def work() -> None:
        try:
            while not stop.is_set():
                try:
                    resource = todo.get_nowait()
                except queue.Empty:
                    return
                for record in read(resource):
                    if not put((resource, record)):
                        return
        except BaseException as exc:  # handed to the consumer, which re-raises it
            put(exc)
        finally:
            put(_Done())

    count = min(workers, len(resources))
    threads = [threading.Thread(target=work, name=f"source-reader-{i}", daemon=True) for i in range(count)]
    for thread in threads:
        thread.start()
    try:
        finished = 0
        while finished < count:
            item = out.get()
            if isinstance(item, _Done):
                finished += 1
            elif isinstance(item, BaseException):
                raise item
            else:
                yield item
    finally:
        stop.set()
        for thread in threads:
            thread.join()
