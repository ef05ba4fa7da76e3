"""Embedded search: SQLite FTS5 finds text matches, numpy columns do everything else.

FTS5 (over the analysed text, stored once in ``idx_docs`` as its external content) decides which
documents match. Ranking (``search.ranking``), filters, facet counts and sort keys work on
compact in-memory numpy columns (``search.columns``), so a search is a few FTS lookups plus
vectorised passes instead of per-row SQL functions and a ``GROUP BY`` per facet.

The columns are reloaded when another connection or process changed the index (a generation
counter in ``idx_meta``), inside the same read transaction as the query, so they always agree.
Every write is one transaction; a rebuild drops and refills the tables in one transaction, so
with WAL readers keep seeing the previous complete index until the commit.
"""

from __future__ import annotations

import sqlite3
import threading
from array import array
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from itertools import chain
from pathlib import Path

import numpy as np

from search import jsonio
from search.analysis import tokens
from search.backend import BackendError, SearchBackend, add_highlights
from search.columns import Columns, date_number
from search.fields import DATE_FIELDS, KEYWORD_FIELDS, MAPPING_VERSION, TEXT_FIELDS, Document
from search.query import Hit, Range, SearchRequest, SearchResult, Term, parse_text
from search.ranking import match

# The on-disk layout of this backend; a change of it or of the field model rebuilds the index.
SCHEMA_VERSION = f"{MAPPING_VERSION}.3"
_TOKENIZER = "unicode61 remove_diacritics 0 tokenchars '.,'''"
_TEXT = list(TEXT_FIELDS)
_DOC_COLUMNS = ["id", "kind", "record", "text", *_TEXT, *(f"{n}_len" for n in _TEXT), "kw",
                "terms", "title_sort", *DATE_FIELDS]
_SCHEMA = [
    "CREATE TABLE IF NOT EXISTS idx_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS idx_values (code INTEGER PRIMARY KEY, field TEXT NOT NULL, "
    "value TEXT NOT NULL, UNIQUE (field, value))",
    f"CREATE TABLE IF NOT EXISTS idx_docs (rowid INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE, "
    f"kind TEXT NOT NULL, record TEXT NOT NULL, text TEXT NOT NULL, "
    f"{', '.join(f'{n} TEXT NOT NULL' for n in _TEXT)}, "
    f"{', '.join(f'{n}_len INTEGER NOT NULL' for n in _TEXT)}, kw BLOB NOT NULL, "
    f"terms BLOB NOT NULL, title_sort TEXT NOT NULL, "
    f"{', '.join(f'{n} TEXT' for n in DATE_FIELDS)})",
    f"CREATE VIRTUAL TABLE IF NOT EXISTS idx_fts USING fts5({', '.join(_TEXT)}, "
    f"content='idx_docs', content_rowid='rowid', tokenize=\"{_TOKENIZER}\")",
    # Analysed terms as integers: idx_docs.terms holds each document's text as their ids, from
    # which the ranking builds its postings (search.columns.TermStream).
    "CREATE TABLE IF NOT EXISTS idx_terms (id INTEGER PRIMARY KEY, term TEXT NOT NULL UNIQUE)",
]
_WRITE_DOC = (
    f"INSERT INTO idx_docs ({', '.join(_DOC_COLUMNS)}) "
    f"VALUES ({', '.join('?' for _ in _DOC_COLUMNS)}) ON CONFLICT(id) DO UPDATE SET "
    + ", ".join(f"{c} = excluded.{c}" for c in _DOC_COLUMNS[1:])
)
_FTS_COLUMNS = ", ".join(_TEXT)
_FTS_MARKS = ", ".join("?" for _ in _TEXT)


class SqliteBackend(SearchBackend):
    name = "sqlite"

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._local = threading.local()
        self._columns: Columns | None = None
        self._columns_lock = threading.Lock()
        self._counts: tuple[str, dict[str, int]] | None = None
        # Opening an index of the current format writes nothing: a write bumps the generation,
        # and every serving worker would reload its columns after any command opened the file.
        if not self._schema_current():
            with self._write() as conn:
                self._ensure_schema(conn)

    def _schema_current(self) -> bool:
        try:
            return _meta(self._conn(), "schema_version") == SCHEMA_VERSION
        except sqlite3.OperationalError:  # a new file: no tables yet
            return False

    # --- connections -------------------------------------------------------------------------

    def _conn(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(self.path, timeout=60, isolation_level=None)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            self._local.conn = conn
        return conn

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        conn = self._conn()
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield conn
            conn.execute(
                "INSERT INTO idx_meta VALUES ('generation', '1') ON CONFLICT(key) "
                "DO UPDATE SET value = CAST(value AS INTEGER) + 1"
            )
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise

    @contextmanager
    def _read(self) -> Iterator[sqlite3.Connection]:
        conn = self._conn()
        conn.execute("BEGIN")
        try:
            yield conn
        finally:
            conn.execute("COMMIT")

    def close(self) -> None:
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None

    def _ensure_schema(self, conn: sqlite3.Connection) -> None:
        _create_tables(conn)
        version = _meta(conn, "schema_version")
        if version is not None and version != SCHEMA_VERSION:
            # An index of another format would be misread: start empty; `index rebuild` refills.
            _drop_tables(conn)
            _create_tables(conn)
        conn.execute("INSERT OR REPLACE INTO idx_meta VALUES ('schema_version', ?)",
                     (SCHEMA_VERSION,))

    # --- writes ------------------------------------------------------------------------------

    def upsert(self, docs: Iterable[Document]) -> int:
        """Write documents in batches: forget the old text of those that exist, write the
        rows, then index every row of the batch in one statement."""
        written = 0
        with self._write() as conn:
            codes, terms = _Codes(conn), _TermIds(conn)
            for batch in _batches(docs, 500):
                rows = _doc_rows(batch, codes, terms)
                marks = ", ".join("?" for _ in rows)
                ids = [row[0] for row in rows]
                old = conn.execute(f"SELECT rowid, {_FTS_COLUMNS} FROM idx_docs "
                                   f"WHERE id IN ({marks})", ids).fetchall()
                # An external-content FTS table must be told the old text to forget.
                conn.executemany(f"INSERT INTO idx_fts (idx_fts, rowid, {_FTS_COLUMNS}) "
                                 f"VALUES ('delete', ?, {_FTS_MARKS})", old)
                conn.executemany(_WRITE_DOC, rows)
                conn.execute(f"INSERT INTO idx_fts (rowid, {_FTS_COLUMNS}) SELECT rowid, "
                             f"{_FTS_COLUMNS} FROM idx_docs WHERE id IN ({marks})", ids)
                written += len(rows)
        return written

    def delete(self, ids: Iterable[str]) -> int:
        removed = 0
        with self._write() as conn:
            for doc_id in ids:
                old = conn.execute(
                    f"SELECT rowid, {_FTS_COLUMNS} FROM idx_docs WHERE id = ?", (doc_id,)
                ).fetchone()
                if old:
                    conn.execute(f"INSERT INTO idx_fts (idx_fts, rowid, {_FTS_COLUMNS}) "
                                 f"VALUES ('delete', ?, {_FTS_MARKS})", old)
                    conn.execute("DELETE FROM idx_docs WHERE rowid = ?", (old[0],))
                    removed += 1
        return removed

    def rebuild(self, docs: Iterable[Document]) -> int:
        """Fill fresh tables in bulk and build the full-text index once at the end."""
        with self._write() as conn:
            _drop_tables(conn)
            _create_tables(conn)
            codes, terms = _Codes(conn, fresh=True), _TermIds(conn, fresh=True)
            written = 0
            for batch in _batches(docs, 2000):
                conn.executemany(_WRITE_DOC, _doc_rows(batch, codes, terms))
                written += len(batch)
            codes.flush()
            terms.flush()
            conn.execute("INSERT INTO idx_fts (idx_fts) VALUES ('rebuild')")
        return written

    # --- reads -------------------------------------------------------------------------------

    def get(self, doc_id: str) -> dict | None:
        row = self._conn().execute("SELECT record FROM idx_docs WHERE id = ?", (doc_id,)).fetchone()
        return jsonio.loads(row[0]) if row else None

    def counts(self) -> dict[str, int]:
        # Counting 100,000 rows takes ~0.1 s; the generation changes with every write, so the
        # counts of one generation are counted once.
        conn = self._conn()
        generation = _meta(conn, "generation") or "0"
        cached = self._counts
        if cached is None or cached[0] != generation:
            rows = conn.execute("SELECT kind, COUNT(*) FROM idx_docs GROUP BY kind").fetchall()
            cached = self._counts = (generation, dict(rows))
        return dict(cached[1])

    def generation(self) -> str:
        return _meta(self._conn(), "generation") or "0"

    def status(self) -> dict:
        try:
            counts = self.counts()
            generation = _meta(self._conn(), "generation")
        except sqlite3.Error as exc:
            raise BackendError(f"SQLite index {self.path} cannot be read: {exc}") from exc
        return {
            "backend": self.name,
            "location": str(self.path),
            "mapping_version": MAPPING_VERSION,
            "schema_version": SCHEMA_VERSION,
            "generation": int(generation or 0),
            "counts": counts,
            "total": sum(counts.values()),
        }

    def search(self, request: SearchRequest) -> SearchResult:
        parsed = parse_text(request.text)
        with self._read() as conn:
            cols = self._current_columns(conn)
            mask, scores = match(conn, cols, parsed)
            mask = _filter(cols, mask, request.filters)
            facets = {name: cols.facet(name, mask, request.facet_size) for name in request.facets}
            page = _order(cols, mask, scores, request, ranked=bool(parsed.groups))
            hits, texts = _fetch(conn, cols, page, scores)
        if request.highlight:
            add_highlights(hits, texts, parsed.terms)
        return SearchResult(int(mask.sum()), hits, facets, request.page, request.per_page)

    def _current_columns(self, conn: sqlite3.Connection) -> Columns:
        generation = _meta(conn, "generation") or "0"
        with self._columns_lock:
            if self._columns is None or self._columns.generation != generation:
                self._columns = Columns.load(conn, generation)
            return self._columns


# --- helpers -------------------------------------------------------------------------------------

class _Codes:
    """Integer codes of keyword values (field, value), assigned once and kept in idx_values.

    For a fresh table (a rebuild) codes are numbered here and written in one batch at the end.
    """

    def __init__(self, conn: sqlite3.Connection, fresh: bool = False) -> None:
        self.conn, self.fresh = conn, fresh
        self.known: dict[tuple[str, str], int] = {}

    def __call__(self, field: str, value: str) -> int:
        key = (field, value)
        if (code := self.known.get(key)) is None:
            code = self.known[key] = len(self.known) + 1 if self.fresh else self._stored(key)
        return code

    def _stored(self, key: tuple[str, str]) -> int:
        return self.conn.execute(
            "INSERT INTO idx_values (field, value) VALUES (?, ?) ON CONFLICT DO UPDATE "
            "SET value = excluded.value RETURNING code", key
        ).fetchone()[0]

    def flush(self) -> None:
        if self.fresh:
            self.conn.executemany("INSERT INTO idx_values VALUES (?, ?, ?)",
                                  ((code, f, v) for (f, v), code in self.known.items()))


class _Numbering(dict):
    """Terms and their ids; a term not seen yet gets the next id."""

    def __missing__(self, term: str) -> int:
        self[term] = code = len(self) + 1
        return code


class _TermIds:
    """Integer ids of analysed terms, kept in idx_terms; new terms get the next free ids.

    For a fresh table (a rebuild) ids are numbered here and written in one batch at the end;
    otherwise the terms of each batch are looked up (and added) first.
    """

    def __init__(self, conn: sqlite3.Connection, fresh: bool = False) -> None:
        self.conn, self.fresh = conn, fresh
        self.known: dict[str, int] = _Numbering() if fresh else {}

    def learn(self, analysed: Iterable[list[str]]) -> None:
        if self.fresh:
            return
        known = self.known
        new = list(dict.fromkeys(t for terms in analysed for t in terms if t not in known))
        self.conn.executemany("INSERT OR IGNORE INTO idx_terms (term) VALUES (?)",
                              ((t,) for t in new))
        for chunk in _batches(new, 500):
            marks = ", ".join("?" for _ in chunk)
            known.update(self.conn.execute(
                f"SELECT term, id FROM idx_terms WHERE term IN ({marks})", chunk))

    def encode(self, analysed: list[list[str]]) -> bytes:
        # map() over the dict's own lookup: no Python frame per term (millions in a rebuild).
        return array("i", map(self.known.__getitem__, chain.from_iterable(analysed))).tobytes()

    def flush(self) -> None:
        if self.fresh:
            self.conn.executemany("INSERT INTO idx_terms VALUES (?, ?)",
                                  ((code, t) for t, code in self.known.items()))


_FIELD_INDEX = {name: i for i, name in enumerate(KEYWORD_FIELDS)}


def _doc_rows(batch: list[Document], codes: _Codes, terms: _TermIds) -> list[tuple]:
    analysed = [[tokens(d.text.get(name, "")) for name in _TEXT] for d in batch]
    terms.learn(field for fields in analysed for field in fields)
    return [_doc_row(d, a, codes, terms.encode(a)) for d, a in zip(batch, analysed, strict=True)]


def _doc_row(doc: Document, analysed: list[list[str]], codes: _Codes, term_ids: bytes) -> tuple:
    known = codes.known  # looked up inline: this loop runs a million times in a rebuild
    flat = [_FIELD_INDEX["kind"], codes("kind", doc.kind)]
    for name, values in doc.keywords.items():
        if values and name != "kind":
            index = _FIELD_INDEX[name]  # a field outside the model fails loudly here
            for value in (values if len(values) == 1 else dict.fromkeys(values)):
                flat += (index, known.get((name, value)) or codes(name, value))
    pairs = array("i", flat)
    return (
        doc.id,
        doc.kind,
        jsonio.dumps(doc.record),
        jsonio.dumps(doc.text),
        *(" ".join(terms) for terms in analysed),
        *(len(terms) for terms in analysed),
        pairs.tobytes(),
        term_ids,
        doc.title_sort,
        *(doc.dates.get(name) for name in DATE_FIELDS),
    )


def _batches(items: Iterable, size: int) -> Iterator[list]:
    batch: list = []
    for item in items:
        batch.append(item)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


def _meta(conn: sqlite3.Connection, key: str) -> str | None:
    row = conn.execute("SELECT value FROM idx_meta WHERE key = ?", (key,)).fetchone()
    return row[0] if row else None


def _create_tables(conn: sqlite3.Connection) -> None:
    # One statement at a time: executescript() would commit the surrounding transaction.
    for statement in _SCHEMA:
        conn.execute(statement)


def _drop_tables(conn: sqlite3.Connection) -> None:
    for table in ("idx_fts", "idx_docs", "idx_values", "idx_terms"):
        conn.execute(f"DROP TABLE IF EXISTS {table}")


def _filter(cols: Columns, mask: np.ndarray, filters: Iterable[Term | Range]) -> np.ndarray:
    for f in filters:
        if isinstance(f, Term):
            mask &= cols.any_of(f.field, f.values)
        else:
            mask &= cols.within(f.field, date_number(f.gte), date_number(f.lte))
    return mask


def _order(
    cols: Columns, mask: np.ndarray, scores: np.ndarray, request: SearchRequest, ranked: bool
) -> np.ndarray:
    """Positions of the requested page, in a total order (ties broken by id)."""
    candidates = np.flatnonzero(mask)
    if request.sort == "relevance" and ranked:
        # Equally relevant records: newest first, then by id.
        keys = [-scores[candidates], cols.sort_key("-date", candidates)]
    else:
        # Without text to rank by, "relevance" means newest first.
        keys = [cols.sort_key("-date" if request.sort == "relevance" else request.sort,
                              candidates)]
    wanted = request.offset + request.per_page
    top = _top([*keys, cols.id_rank[candidates]], wanted)
    return candidates[top[request.offset : wanted]]


def _top(keys: list[np.ndarray], k: int) -> np.ndarray:
    """Indices of the k smallest rows by the keys (first key first), partitioning first."""
    while len(keys) > 1 and len(keys[0]) and keys[0].min() == keys[0].max():
        keys = keys[1:]  # a key that is equal everywhere orders nothing
    primary = keys[0]
    if k < len(primary):
        kth = np.partition(primary, k - 1)[k - 1]
        idx = np.flatnonzero(primary <= kth)
    else:
        idx = np.arange(len(primary))
    return idx[np.lexsort([key[idx] for key in reversed(keys)])][:k]


def _fetch(
    conn: sqlite3.Connection, cols: Columns, positions: np.ndarray, scores: np.ndarray
) -> tuple[list[Hit], list[dict]]:
    rowids = [int(r) for r in cols.rowids[positions]]
    if not rowids:
        return [], []
    marks = ",".join("?" for _ in rowids)
    rows = conn.execute(
        f"SELECT rowid, id, kind, record, text FROM idx_docs WHERE rowid IN ({marks})", rowids
    ).fetchall()
    by_rowid = {row[0]: row for row in rows}
    hits, texts = [], []
    for rowid, position in zip(rowids, positions, strict=True):
        _, doc_id, kind, record, text = by_rowid[rowid]
        hits.append(Hit(doc_id, kind, jsonio.loads(record), float(scores[position])))
        texts.append(jsonio.loads(text))
    return hits, texts
