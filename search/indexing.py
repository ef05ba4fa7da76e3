"""Deriving search indexes from the record store."""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Executor, Future
from functools import lru_cache
from typing import Any

from search.backend import SearchBackend
from search.documents import to_document
from search.fields import Document
from search.store import RecordStore


def documents(records: Iterable[dict], progress: Callable[[int], None] | None = None
              ) -> Iterator[Document]:
    for n, record in enumerate(records, start=1):
        yield to_document(record)
        if progress and n % 1000 == 0:
            progress(n)


def rebuild(store: RecordStore, backend: SearchBackend,
            progress: Callable[[int], None] | None = None) -> int:
    """Fill a fresh index from every stored record; readers keep the old one until it is done.
    The outbox is then empty: the index holds everything the store had when it began."""
    pending = store.pending_index()
    count = backend.rebuild(documents(store.records(), progress),
                            size=sum(store.counts().values()))
    store.indexed(pending)  # what was committed before the rebuild began, it holds
    return count


def index_records(store: RecordStore, backend: SearchBackend, ids: list[str],
                  pool: Executor | None = None) -> int:
    """Bring the index up to date for records a crawl just changed: only those are written,
    however many (a write costs the same per document in a fresh index as in a full one).

    Given a pool of worker processes, a backend that writes prepared batches (SQLite) has
    them made there, each worker reading its chunk from the store: reading, building and
    analysing documents is most of a write's time, and the one writer is left the numbering
    and the SQL."""
    prepare = getattr(backend, "prepare", None)
    if pool is None or prepare is None or len(ids) < 2 * CHUNK:
        return backend.upsert(documents(store.get_many(ids)))
    chunks = [ids[start : start + CHUNK] for start in range(0, len(ids), CHUNK)]
    return backend.upsert_prepared(_in_order(pool, str(store.path), prepare, chunks))


CHUNK = 1000
AHEAD = 8  # chunks prepared ahead of the writer: enough to keep the workers busy


def _in_order(pool: Executor, location: str, prepare: Callable, chunks: list[list[str]]
              ) -> Iterator[Any]:
    """The prepared batches of the chunks, in order. A generator: the workers start reading
    the store only when the writer asks for the first batch, inside its write transaction, so
    no other write can commit a newer version of a record between their read and this write;
    and only AHEAD batches wait in memory at a time."""
    pending: deque[Future] = deque()
    for chunk in chunks:
        pending.append(pool.submit(prepared, location, prepare, chunk))
        if len(pending) >= AHEAD:
            yield pending.popleft().result()
    while pending:
        yield pending.popleft().result()


@lru_cache(maxsize=4)
def _reader(location: str) -> RecordStore:
    return RecordStore.reader(location)


def prepared(location: str, prepare: Callable[[Iterable[Document]], Any], ids: list[str]):
    """The prepared batch of these stored records (in a worker process: picklable
    arguments)."""
    return prepare(documents(_reader(location).get_many(ids)))


def reconcile(store: RecordStore, backend: SearchBackend) -> int:
    """Index what the store committed and the index does not hold yet (a crawl killed between
    its commit and its index write); the number of records brought in."""
    pending = store.pending_index()
    if pending:
        index_records(store, backend, pending)
        store.indexed(pending)
    return len(pending)


def drift(store: RecordStore, backend: SearchBackend) -> dict | None:
    """How the index differs from the store, or None: records waiting in the outbox, or other
    counts per kind. An empty store says nothing (an index built elsewhere, a test's)."""
    pending = len(store.pending_index())
    stored = store.counts()
    if not stored and not pending:
        return None
    held = backend.counts()
    if pending or stored != held:
        return {"pending": pending, "store": stored, "index": held}
    return None
