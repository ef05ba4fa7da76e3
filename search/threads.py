"""The threads a large search shares its work with: two per process.

numpy lets go of the interpreter while it works through large arrays, so a search over a
million documents can count its facets, or score a common word's halves, on both cores. The
pool is small and its tasks never submit to it: a task never waits on another task.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

T = TypeVar("T")
R = TypeVar("R")

_pool: tuple[int, ThreadPoolExecutor] | None = None
_lock = threading.Lock()


def pool() -> ThreadPoolExecutor:
    """This process's pool (a forked server worker starts its own)."""
    global _pool
    with _lock:
        if _pool is None or _pool[0] != os.getpid():
            _pool = (os.getpid(), ThreadPoolExecutor(2, thread_name_prefix="search"))
        return _pool[1]


def begin(work: Callable[[T], R], items: Sequence[T]) -> Callable[[], list[R]]:
    """Start ``work`` on every item: all but the first in the pool, the first here (a request
    never only waits on other requests' work). The call returned gives the results, in
    order, once they are done; the caller may do something else meanwhile."""
    if len(items) < 2:
        results = [work(item) for item in items]
        return lambda: results
    futures = [pool().submit(work, item) for item in items[1:]]
    first = work(items[0])
    return lambda: [first, *(f.result() for f in futures)]


def each(work: Callable[[T], R], items: Sequence[T]) -> list[R]:
    """``work`` of every item, in order, shared with the pool (``begin``)."""
    return begin(work, items)()
