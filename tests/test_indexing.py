"""A crawl's index write made by worker processes gives the index a write in process gives."""

from __future__ import annotations

import sqlite3
import threading
import time
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context

import pytest

from search import indexing
from search.indexing import documents, index_records
from search.query import SearchRequest
from search.records import content_hash
from search.sqlite_backend import SqliteBackend
from search.store import RecordStore
from tests.conftest import notification
from tests.test_search_contract import corpus

FACETS = ("country", "area", "hs", "kind", "related")
REQUESTS = [
    SearchRequest(facets=FACETS, per_page=100),
    SearchRequest(text="lithium batteries", facets=FACETS),
    SearchRequest(text="\"safety requirements\" chargers", facets=FACETS),
    SearchRequest(text="toys", sort="-date"),
    SearchRequest(text="电池", sort="title"),
]


def commit(store: RecordStore, records: list[dict]) -> list[str]:
    crawl = store.start_crawl("test")
    store.stage(crawl, records)
    return store.finish_crawl(crawl).changed


def answers(backend: SqliteBackend, ids: list[str]) -> list:
    out = [[backend.get(i) for i in ids]]
    for request in REQUESTS:
        result = backend.search(request)
        out.append((result.total, [(h.id, round(h.score or 0, 9)) for h in result.hits],
                    result.facets))
    return out


def changed_record(record: dict) -> dict:
    new = {**record, "title": record["title"] + " for e-bikes 电池组", "hs_codes": ["871160"]}
    return {**new, "content_hash": content_hash(new)}


@pytest.fixture(scope="module")
def pool():
    with ProcessPoolExecutor(2, mp_context=get_context("spawn")) as workers:
        yield workers


def test_worker_made_batches_write_the_index_a_process_writes(tmp_path, pool, monkeypatch):
    monkeypatch.setattr(indexing, "CHUNK", 7)  # several chunks, and a last one cut short
    store = RecordStore(tmp_path / "store.db")
    records = corpus(61) + [notification("G/TBT/N/CHN/9", title="锂电池 充电器 Lithium")]
    pooled = SqliteBackend(tmp_path / "pooled.db")
    inline = SqliteBackend(tmp_path / "inline.db")
    try:
        for round_ in (records, [  # then changes, into tables that hold terms and values
            changed_record(r) for r in records[::3]
        ]):
            changed = commit(store, round_)
            assert len(changed) >= 2 * indexing.CHUNK
            assert index_records(store, pooled, changed, pool) == len(changed)
            inline.upsert(documents(store.get_many(changed)))
            everything = [r["id"] for r in records]
            assert answers(pooled, everything) == answers(inline, everything)
        assert pooled.search(SearchRequest(text="e-bikes")).total == len(records[::3])
    finally:
        pooled.close()
        inline.close()
        store.close()


def test_a_pooled_write_reads_the_store_only_once_it_holds_the_index(tmp_path, pool, monkeypatch):
    """Records are read for the index inside its write transaction: a newer version committed
    while the write waited for the index is the one indexed, never the older one over it."""
    monkeypatch.setattr(indexing, "CHUNK", 5)
    store = RecordStore(tmp_path / "store.db")
    backend = SqliteBackend(tmp_path / "index.db")
    records = corpus(20)
    changed = commit(store, records)
    holder = sqlite3.connect(tmp_path / "index.db", isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")  # another writer holds the index
    done: list[int] = []
    writer = threading.Thread(target=lambda: done.append(
        index_records(store, backend, changed, pool)))
    writer.start()
    time.sleep(1.5)  # long enough for workers that read eagerly to have read
    commit(store, [changed_record(r) for r in records])
    holder.execute("COMMIT")
    writer.join(timeout=60)
    try:
        assert done == [len(records)]
        titles = {backend.get(r["id"])["title"] for r in records}
        assert all(t.endswith("for e-bikes 电池组") for t in titles), titles
    finally:
        holder.close()
        backend.close()
        store.close()
