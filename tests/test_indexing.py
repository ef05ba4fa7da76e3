"""A crawl's index write made by worker processes gives the index a write in process gives."""

from __future__ import annotations

import sqlite3
import threading
import time
from array import array
from concurrent.futures import ProcessPoolExecutor
from dataclasses import replace
from multiprocessing import get_context

import pytest

from search import indexing
from search.analysis import tokens
from search.columns import date_number
from search.documents import to_document
from search.fields import DATE_FIELDS, TEXT_FIELDS
from search.indexing import documents, index_records
from search.query import SearchRequest
from search.records import content_hash
from search.sqlite_backend import _FIELD_MARK, SqliteBackend, prepare
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


def _decoded(batch) -> list[tuple]:
    """Each document of a batch as plain values: its terms per text field, its keyword marks
    (as a set: readers select them by field), its dates."""
    text, kw = array("i", batch.text), array("i", batch.kw)
    out, start, kw_start = [], 0, 0
    for i, doc_id in enumerate(batch.ids):
        nums = list(array("i", batch.nums[i]))
        lens, dates = nums[: len(TEXT_FIELDS)], nums[len(TEXT_FIELDS):]
        assert len(dates) == len(DATE_FIELDS) and start + sum(lens) == batch.text_ends[i]
        fields = []
        for n in lens:
            fields.append([batch.terms[t] for t in text[start : start + n]])
            start += n
        marks = [batch.marks[m] for m in kw[kw_start : batch.kw_ends[i]]]
        assert len(marks) == len(set(marks))  # a value given twice is held once
        kw_start = batch.kw_ends[i]
        out.append((doc_id, batch.kinds[i], fields, set(marks), dates))
    return out


def _expected(docs) -> list[tuple]:
    last = {d.id: d for d in docs}
    out = []
    for d in last.values():
        marks = {_FIELD_MARK["kind"] + d.kind} | {
            _FIELD_MARK[name] + v for name, values in d.keywords.items() if name != "kind"
            for v in values}
        out.append((d.id, d.kind, [tokens(d.text.get(name, "")) for name in TEXT_FIELDS],
                    marks, [date_number(d.dates.get(name)) or 0 for name in DATE_FIELDS]))
    return out


def test_a_batch_holds_each_documents_terms_marks_and_dates():
    """``prepare`` analyses a whole batch at once: decoded, each document holds exactly what
    it would analysed alone (mixed scripts, repeated values, an id given twice)."""
    docs = [to_document(r) for r in corpus(40)]
    docs[3] = replace(docs[3], text={**docs[3].text, "title": "锂电池 Straße игрушки e.g. 1.2,3"})
    docs[5] = replace(docs[5], keywords={**docs[5].keywords, "hs": ["850760", "850760", "8507"]})
    docs[7] = replace(docs[7], text={}, keywords={}, dates={})
    docs.append(replace(docs[0], text={"title": "the last one given wins"}))
    assert _decoded(prepare(docs)) == _expected(docs)
    assert _decoded(prepare([])) == []


def test_a_batch_refuses_a_keyword_field_the_index_does_not_know():
    doc = to_document(corpus(1)[0])
    with pytest.raises(KeyError, match="colour"):
        prepare([replace(doc, keywords={**doc.keywords, "colour": ["red"]})])
