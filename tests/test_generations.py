"""A serving process brings its columns forward after another process writes the index (the
rows deleted and the rows written since) and answers exactly as a process loading it anew."""

from __future__ import annotations

import os
import random
import sqlite3

import numpy as np
import pytest

from search import columns, ranking, sqlite_backend, threads
from search.query import Range, SearchRequest, Term
from search.records import content_hash
from search.sqlite_backend import SqliteBackend
from tests.conftest import doc, notification
from tests.test_search_contract import corpus

FACETS = ("country", "area", "hs", "kind", "status")
REQUESTS = [
    SearchRequest(facets=FACETS, per_page=50),
    SearchRequest(text="lithium batteries", facets=FACETS, per_page=50),
    SearchRequest(text='"safety requirements" chargers', facets=FACETS),
    SearchRequest(text="toys OR vacuum -chargers", per_page=50),
    SearchRequest(text="regulation", sort="title", page=2),
    SearchRequest(text="regulation", sort="-deadline", per_page=30),
    SearchRequest(filters=(Term("hs", ("8507",)),), sort="title", per_page=40),
    SearchRequest(filters=(Range("date", gte="2025-03-01", lte="2025-09-30"),),
                  facets=("country",), sort="deadline", per_page=40),
    SearchRequest(text="电池 OR revised", facets=FACETS, per_page=50),
]


def answers(backend: SqliteBackend) -> list:
    out = []
    for request in REQUESTS:
        result = backend.search(request)
        out.append((result.total, [(h.id, h.score) for h in result.hits], result.facets))
    return out


def fresh_answers(path) -> list:
    reader = SqliteBackend(path)
    try:
        return answers(reader)
    finally:
        reader.close()


def revised(record: dict, n: int) -> dict:
    new = {**record, "title": f"{record['title']} revised {n} 电池组 for vacuum cleaners",
           "hs_codes": ["850811"] if n % 2 else record.get("hs_codes", [])}
    return {**new, "content_hash": content_hash(new)}


@pytest.fixture
def index(tmp_path):
    path = tmp_path / "index.db"
    records = corpus(300)
    served, writer = SqliteBackend(path), SqliteBackend(path)  # two connections, as two processes
    writer.upsert(doc(r) for r in records)
    answers(served)  # the serving side holds the columns (and the postings) of this generation
    yield path, served, writer, records
    served.close()
    writer.close()


def test_after_writes_and_deletions_the_brought_forward_columns_answer_as_fresh_ones(index):
    path, served, writer, records = index
    rng = random.Random(7)
    live = {r["id"]: r for r in records}
    for step in range(12):
        changed = [revised(live[i], step) for i in rng.sample(sorted(live), 4)]
        added = [notification(f"G/TBT/N/KOR/{step * 10 + k}", title=f"Vacuum cleaners {step}",
                               description="Safety requirements for lithium batteries",
                               distribution_date=f"2026-0{1 + step % 9}-1{k}",
                               hs_codes=["850811"]) for k in range(3)]
        writer.upsert(doc(r) for r in changed + added)
        live.update((r["id"], r) for r in changed + added)
        if step % 3 == 2:
            gone = rng.sample(sorted(live), 4)
            writer.delete(gone)
            for i in gone:
                del live[i]
        got = answers(served)
        cols = served._columns
        # Brought forward, not loaded anew (64 of 300 rows gone stays below the quarter).
        assert cols.base_generation != cols.generation, step
        assert got == fresh_answers(path)
    assert served.search(SearchRequest(per_page=1)).total == len(live)
    assert len(served._columns.segments) == 2 and served._columns.live is not None


def test_a_deleted_last_row_never_lends_its_rowid_to_a_new_document(index):
    path, served, writer, records = index
    writer.delete([records[-1]["id"]])  # the highest rowid of the served columns is gone
    answers(served)
    writer.upsert([doc(notification("G/TBT/N/KOR/999", title="Vacuum cleaners"))])
    result = served.search(SearchRequest(text="vacuum"))
    assert [h.id for h in result.hits] == ["G/TBT/N/KOR/999"]
    assert answers(served) == fresh_answers(path)


def test_columns_older_than_the_log_of_deletions_are_loaded_anew(index, monkeypatch):
    path, served, writer, records = index
    monkeypatch.setattr(sqlite_backend, "GONE_KEPT", 4)
    for i, record in enumerate(records[:12]):
        writer.upsert([doc(revised(record, i))])  # each replacement logs its old row
    assert answers(served) == fresh_answers(path)
    cols = served._columns
    assert cols.base_generation == cols.generation and len(cols.segments) == 1


def test_past_the_share_of_new_rows_everything_is_loaded_anew(index, monkeypatch):
    path, served, writer, records = index
    monkeypatch.setattr(columns, "DELTA_MIN", 10)
    writer.upsert(doc(revised(r, 1)) for r in records[:5])
    answers(served)
    assert len(served._columns.segments) == 2
    writer.upsert(doc(revised(r, 2)) for r in records[5:40])
    assert answers(served) == fresh_answers(path)
    assert len(served._columns.segments) == 1


def test_a_rebuild_by_another_process_is_loaded_anew(index):
    path, served, writer, records = index
    writer.rebuild(doc(revised(r, 3)) for r in records[:50])
    assert answers(served) == fresh_answers(path)
    cols = served._columns
    assert cols.base_generation == cols.generation and cols.size == 50


def test_fields_too_long_for_two_byte_positions_give_the_same_answers(index, monkeypatch):
    """Positions take four bytes when a field is 65,000 terms long or more: the phrases, the
    frequencies and so the answers are those of the two-byte postings."""
    path, served, writer, records = index
    two_bytes = fresh_answers(path)
    assert served._columns.segments[0]._text.positions.dtype == np.uint16
    monkeypatch.setattr(columns, "POSITION_LIMIT", 3)  # every title is longer than this
    reader = SqliteBackend(path)
    assert answers(reader) == two_bytes
    assert reader._columns.segments[0]._text.positions.dtype == np.uint32
    reader.close()


def test_ties_among_many_documents_are_broken_by_id_alike(index, monkeypatch):
    """Few tied documents have their ids read by rowid; many, from every id read once."""
    path, served, writer, records = index
    by_rowid = fresh_answers(path)
    monkeypatch.setattr(columns, "TIES_READ", 0)
    assert fresh_answers(path) == by_rowid


@pytest.mark.parametrize(("low_bits", "step"), [(16, 1 << 22), (3, 1 << 22), (1, 7), (16, 50)])
def test_term_postings_come_back_as_stored(monkeypatch, low_bits, step):
    """Slots split in low bits and runs of high bits, positions within their field, built a
    slice (``step``) at a time: every term's postings are the (slot, position) pairs of its
    occurrences, in order."""
    monkeypatch.setattr(columns, "LOW_BITS", low_bits)
    monkeypatch.setattr(columns, "_STEP", step)
    rng = np.random.default_rng(5)
    lengths = rng.integers(0, 9, size=(700, 3)).astype(np.int32)
    ids = rng.integers(0, 40, size=int(lengths.sum())).astype(np.int32)
    ids[::1500] = 41  # a rare term: a few runs
    ids[-1] = 42  # once, in the last slot: one run with high bits
    stream = columns.TermStream.build([ids.tobytes()], lengths)
    slot = np.repeat(np.arange(lengths.size), lengths.ravel())
    within = np.arange(len(ids)) - np.repeat(np.cumsum(lengths.ravel()) - lengths.ravel(),
                                             lengths.ravel())
    for term in range(-1, 44):
        positions, slots = stream.postings(term)
        at = np.flatnonzero(ids == term)
        assert slots.tolist() == slot[at].tolist()
        assert positions.tolist() == within[at].tolist()
    if low_bits < 16:  # both ways of putting the high bits back
        runs = np.diff(stream.term_runs)
        assert runs[41] <= 8 and stream.highs[stream.term_runs[41] + 1] and (runs > 8).any()


@pytest.mark.parametrize("low_bits", [16, 3, 1])
def test_a_terms_slots_counted_in_pieces_are_its_slots(monkeypatch, low_bits):
    """A term's occurrences cut where a slot begins (``slot_cut`` from any place): the pieces'
    distinct slots and counts, one after the other, are the term's."""
    monkeypatch.setattr(columns, "LOW_BITS", low_bits)
    rng = np.random.default_rng(11)
    lengths = rng.integers(0, 12, size=(500, 3)).astype(np.int32)
    lengths[7, 1] = 3000  # a field of one repeated term: a slot longer than a cut's window
    ids = rng.integers(0, 6, size=int(lengths.sum())).astype(np.int32)  # a few common terms
    before = int(lengths.ravel()[:22].sum())
    ids[before : before + 3000] = 6
    stream = columns.TermStream.build([ids.tobytes()], lengths)
    slot = np.repeat(np.arange(lengths.size), lengths.ravel())
    for term in range(-1, 8):
        whole_slots, whole_counts = np.unique(slot[ids == term], return_counts=True)
        assert stream.slot_counts(term)[0].tolist() == whole_slots.tolist()
        total = stream.occurrences(term)
        for at in {0, 1, 2, total // 3, total // 2, total - 1, total}:
            cut = stream.slot_cut(term, at)
            assert at <= cut <= total or total == 0
            pieces = [stream.slot_counts(term, 0, cut), stream.slot_counts(term, cut)]
            assert np.concatenate([p[0] for p in pieces]).tolist() == whole_slots.tolist()
            assert np.concatenate([p[1] for p in pieces]).tolist() == whole_counts.tolist()


def parallel_everywhere(monkeypatch):
    """Every search's work in pieces: common terms, phrases and facets split and run on the
    threads of the pool."""
    monkeypatch.setattr(columns, "PARALLEL_OCCURRENCES", 1)
    monkeypatch.setattr(ranking, "PARALLEL_SLOTS", 1)
    monkeypatch.setattr(columns, "ENTRIES_PER_JOB", 7)
    monkeypatch.setattr(sqlite_backend, "PARALLEL_FACETS", 0)


def test_every_term_scored_in_pieces_is_scored_alike(index, monkeypatch):
    """Each document once, with the best of its fields' scores, whichever piece holds them."""
    path, served, writer, records = index
    words = ["lithium", "batteries", "safety", "toys", "vacuum", "labelling"]
    rng = random.Random(5)
    writer.upsert(doc(notification(  # the same words in the title, description and products
        f"G/TBT/N/JPN/{900 + k}", title=" ".join(rng.choices(words, k=rng.randint(1, 4))),
        description=" ".join(rng.choices(words, k=rng.randint(1, 30))),
        products=" ".join(rng.choices(words, k=rng.randint(1, 3))))) for k in range(80))
    answers(served)
    conn = served._conn()
    cols = served._columns
    text = cols.text(conn)
    terms = [row[0] for row in conn.execute("SELECT term FROM idx_terms")]
    phrases = [(t,) for t in terms] + [("safety", "requirements"), ("lithium", "batteries")]
    whole = [ranking._best_fields(conn, cols, text, p) for p in phrases]
    parallel_everywhere(monkeypatch)
    text.cache.clear()
    for phrase, (docs, scores) in zip(phrases, whole, strict=True):
        got_docs, got_scores = ranking._best_fields(conn, cols, text, phrase)
        assert got_docs.tolist() == docs.tolist(), phrase
        assert got_scores.tolist() == scores.tolist(), phrase
    assert sum(len(d) > 1 for d, _ in whole) > 100
    several = [p for p in phrases if len(np.unique(text.slot_counts(
        ranking._term_id(conn, text, p[0]))[0] // len(ranking.BOOSTS))) < len(
        text.slot_counts(ranking._term_id(conn, text, p[0]))[0])]
    assert len(several) >= len(words)  # documents holding a term in several fields


def test_work_in_pieces_gives_the_same_answers(index, monkeypatch):
    """Scores to the bit, totals, pages and facets: alike when the work is cut in pieces, on
    one segment and on columns brought forward over several."""
    path, served, writer, records = index
    expected = fresh_answers(path)
    parallel_everywhere(monkeypatch)
    assert fresh_answers(path) == expected
    writer.upsert(doc(revised(r, 3)) for r in records[:20])
    writer.delete([r["id"] for r in records[20:25]])
    monkeypatch.undo()
    expected = fresh_answers(path)
    parallel_everywhere(monkeypatch)
    assert answers(served) == expected
    assert len(served._columns.segments) == 2


@pytest.mark.parametrize("low_bits", [16, 2])
def test_split_slots_give_the_same_answers(index, monkeypatch, low_bits):
    path, served, writer, records = index
    expected = fresh_answers(path)
    monkeypatch.setattr(columns, "LOW_BITS", low_bits)
    assert fresh_answers(path) == expected


@pytest.mark.parametrize("per_job", [1_000_000, 50, 1])
def test_facet_counts_by_any_path_are_the_counts(index, monkeypatch, per_job):
    """Few documents, some, most: three ways of counting, one answer; in one job or in
    jobs of a few values each."""
    path, served, writer, records = index
    monkeypatch.setattr(columns, "ENTRIES_PER_JOB", per_job)
    answers(served)
    cols = served._columns
    column = cols.keyword(served._conn(), "hs")
    rng = np.random.default_rng(3)
    for share in (0.01, 0.3, 0.9, 1.0):
        mask = rng.random(cols.size) < share
        naive: dict[str, int] = {}
        for position in np.flatnonzero(mask):
            record = served.get(served._columns.ids_at(served._conn(), np.array([position]))[0])
            for code in {c[:n] for c in record.get("hs_codes") or [] for n in (2, 4, 6)}:
                naive[code] = naive.get(code, 0) + 1
        got = dict(column.counts(mask, 10_000))
        assert got == naive, share
        jobs, _ = column.counting(mask, 10)
        assert (len(jobs) > 1) == (per_job < 1000 and share > 0.2)


def test_facets_counted_beside_the_ordering_give_the_same_counts(index, monkeypatch):
    """Over many documents the facets are counted in other threads while the page is read."""
    path, served, writer, records = index
    alone = answers(served)
    monkeypatch.setattr(sqlite_backend, "PARALLEL_FACETS", 0)
    assert answers(served) == alone
    assert threads._pool is not None and threads._pool[0] == os.getpid()


def test_a_request_older_than_the_held_columns_reads_the_newest(index, monkeypatch):
    """A request whose transaction began before another process's large write, served after
    a newer request loaded that write anew, begins again rather than bringing columns back."""
    path, served, writer, records = index
    monkeypatch.setattr(columns, "DELTA_MIN", 10)
    old = sqlite3.connect(path, isolation_level=None)
    old.execute("BEGIN")
    old.execute("SELECT value FROM idx_meta WHERE key = 'generation'").fetchone()  # snapshot
    writer.upsert(doc(revised(r, 5)) for r in records[:100])
    answers(served)  # the newest generation, loaded anew
    assert served._columns.base_generation == served._columns.generation
    newest = served._columns.generation
    cols = served._current_columns(old)
    old.execute("COMMIT")
    assert cols.generation == newest and served._columns.generation == newest
    assert answers(served) == fresh_answers(path)


def test_a_write_that_logged_no_deletion_is_never_brought_forward_past(index):
    """A writer of code from before the log (or another tool) deletes without logging: the
    columns are loaded anew, not brought forward with rows still live that are gone."""
    path, served, writer, records = index
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("BEGIN IMMEDIATE")
    (rowid,) = conn.execute("SELECT rowid FROM idx_cols WHERE id = ?",
                            (records[3]["id"],)).fetchone()
    for table in ("idx_docs", "idx_cols", "idx_text"):
        conn.execute(f"DELETE FROM {table} WHERE rowid = ?", (rowid,))
    conn.execute("UPDATE idx_meta SET value = CAST(value AS INTEGER) + 1 "
                 "WHERE key = 'generation'")
    conn.execute("COMMIT")
    conn.close()
    assert answers(served) == fresh_answers(path)
    assert served._columns.base_generation == served._columns.generation
    writer.upsert([doc(revised(records[4], 6))])  # a logged write after it
    assert answers(served) == fresh_answers(path)


def test_an_index_from_before_the_log_never_gives_a_rowid_twice(tmp_path):
    path = tmp_path / "old.db"
    writer = SqliteBackend(path)
    records = corpus(30)
    writer.upsert(doc(r) for r in records)
    conn = sqlite3.connect(path, isolation_level=None)  # as the code before the log left it
    conn.execute("DROP TABLE idx_gone")
    conn.execute("DELETE FROM idx_meta WHERE key IN ('gone_since', 'last_rowid', "
                 "'logged_through')")
    conn.close()
    writer.close()
    served, writer = SqliteBackend(path), SqliteBackend(path)  # the upgrade
    answers(served)
    writer.delete([records[-1]["id"]])  # the highest rowid
    writer.upsert([doc(notification("G/TBT/N/KOR/77", title="Vacuum cleaners"))])
    assert [h.id for h in served.search(SearchRequest(text="vacuum")).hits] == ["G/TBT/N/KOR/77"]
    assert answers(served) == fresh_answers(path)


def test_a_field_of_many_terms_among_many_term_ids_is_indexed():
    """Positions take four bytes past 65,000 terms a field; the sort key takes only the bits
    the longest field needs, so many documents and term ids still fit."""
    rng = np.random.default_rng(9)
    lengths = rng.integers(0, 4, size=(20_000, 3)).astype(np.int32)
    lengths[7, 2] = 70_000
    ids = rng.integers(0, 300_000, size=int(lengths.sum())).astype(np.int32)
    stream = columns.TermStream.build([ids.tobytes()], lengths)
    assert stream.positions.dtype == np.uint32
    slot = np.repeat(np.arange(lengths.size), lengths.ravel())
    for term in (int(ids[0]), int(ids[-1]), int(ids[len(ids) // 2])):
        at = np.flatnonzero(ids == term)
        assert stream.postings(term)[1].tolist() == slot[at].tolist()
