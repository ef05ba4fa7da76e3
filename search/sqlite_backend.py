"""Embedded search: SQLite FTS5 for text, in-memory columns for filters, facets and sorting.

FTS5 finds and ranks the text matches (bm25 with the field boosts). Filters, facet counts and
sort keys come from compact numpy columns of every document's keyword and date values, so a
search is one FTS query plus a few vectorised passes instead of a SQL ``GROUP BY`` per facet.
The columns are reloaded when another connection or process changed the index (a generation
counter in ``idx_meta``), inside the same read transaction as the query, so they always agree.

Every write is one transaction and a rebuild drops and refills the tables in one transaction:
with WAL, readers keep seeing the previous complete index until the commit.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from search.analysis import index_text
from search.backend import BackendError, SearchBackend, add_highlights
from search.columns import Columns, date_number
from search.fields import DATE_FIELDS, KEYWORD_FIELDS, MAPPING_VERSION, TEXT_FIELDS, Document
from search.query import Hit, ParsedQuery, Range, SearchRequest, SearchResult, Term, parse_text

_TOKENIZER = "unicode61 remove_diacritics 0 tokenchars '.,'''"
_DATE_COLUMNS = ", ".join(f"{name} TEXT" for name in DATE_FIELDS)
_SCHEMA = f"""
CREATE TABLE IF NOT EXISTS idx_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS idx_docs (
    rowid INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE, kind TEXT NOT NULL,
    record TEXT NOT NULL, text TEXT NOT NULL, terms TEXT NOT NULL, title_sort TEXT NOT NULL,
    {_DATE_COLUMNS});
CREATE VIRTUAL TABLE IF NOT EXISTS idx_fts USING fts5({", ".join(TEXT_FIELDS)},
    tokenize="{_TOKENIZER}");
"""
_WEIGHTS = ", ".join(str(w) for w in TEXT_FIELDS.values())
_DOC_COLUMNS = ["id", "kind", "record", "text", "terms", "title_sort", *DATE_FIELDS]
_INSERT_DOC = (
    f"INSERT INTO idx_docs ({', '.join(_DOC_COLUMNS)}) "
    f"VALUES ({', '.join('?' for _ in _DOC_COLUMNS)}) "
    f"ON CONFLICT(id) DO UPDATE SET "
    + ", ".join(f"{c} = excluded.{c}" for c in _DOC_COLUMNS[1:])
    + " RETURNING rowid"
)
_INSERT_FTS = (
    f"INSERT INTO idx_fts (rowid, {', '.join(TEXT_FIELDS)}) "
    f"VALUES (?, {', '.join('?' for _ in TEXT_FIELDS)})"
)


class SqliteBackend(SearchBackend):
    name = "sqlite"

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._local = threading.local()
        self._columns: Columns | None = None
        self._columns_lock = threading.Lock()
        with self._write() as conn:
            self._ensure_schema(conn)

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
        version = _meta(conn, "mapping_version")
        if version is not None and int(version) != MAPPING_VERSION:
            # An index of another format would be misread: start empty; `index rebuild` refills.
            _drop_tables(conn)
            _create_tables(conn)
        conn.execute(
            "INSERT OR REPLACE INTO idx_meta VALUES ('mapping_version', ?)", (str(MAPPING_VERSION),)
        )

    # --- writes ------------------------------------------------------------------------------

    def upsert(self, docs: Iterable[Document]) -> int:
        written = 0
        with self._write() as conn:
            for doc in docs:
                _write_doc(conn, doc)
                written += 1
        return written

    def delete(self, ids: Iterable[str]) -> int:
        removed = 0
        with self._write() as conn:
            for doc_id in ids:
                row = conn.execute("SELECT rowid FROM idx_docs WHERE id = ?", (doc_id,)).fetchone()
                if row:
                    conn.execute("DELETE FROM idx_fts WHERE rowid = ?", row)
                    conn.execute("DELETE FROM idx_docs WHERE rowid = ?", row)
                    removed += 1
        return removed

    def rebuild(self, docs: Iterable[Document]) -> int:
        written = 0
        with self._write() as conn:
            _drop_tables(conn)
            _create_tables(conn)
            for doc in docs:
                _write_doc(conn, doc)
                written += 1
            conn.execute("INSERT INTO idx_fts (idx_fts) VALUES ('optimize')")
        return written

    # --- reads -------------------------------------------------------------------------------

    def get(self, doc_id: str) -> dict | None:
        row = self._conn().execute("SELECT record FROM idx_docs WHERE id = ?", (doc_id,)).fetchone()
        return json.loads(row[0]) if row else None

    def counts(self) -> dict[str, int]:
        rows = self._conn().execute("SELECT kind, COUNT(*) FROM idx_docs GROUP BY kind")
        return dict(rows.fetchall())

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
            "generation": int(generation or 0),
            "counts": counts,
            "total": sum(counts.values()),
        }

    def search(self, request: SearchRequest) -> SearchResult:
        parsed = parse_text(request.text)
        with self._read() as conn:
            cols = self._current_columns(conn)
            mask, scores = _match(conn, cols, parsed)
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

def _meta(conn: sqlite3.Connection, key: str) -> str | None:
    row = conn.execute("SELECT value FROM idx_meta WHERE key = ?", (key,)).fetchone()
    return row[0] if row else None


def _create_tables(conn: sqlite3.Connection) -> None:
    # One statement at a time: executescript() would commit the surrounding transaction.
    for statement in _SCHEMA.split(";"):
        if statement.strip():
            conn.execute(statement)


def _drop_tables(conn: sqlite3.Connection) -> None:
    conn.execute("DROP TABLE IF EXISTS idx_fts")
    conn.execute("DROP TABLE IF EXISTS idx_docs")


def _write_doc(conn: sqlite3.Connection, doc: Document) -> None:
    (rowid,) = conn.execute(_INSERT_DOC, _doc_row(doc)).fetchone()
    conn.execute("DELETE FROM idx_fts WHERE rowid = ?", (rowid,))
    conn.execute(_INSERT_FTS, (rowid, *_fts_row(doc)))


def _doc_row(doc: Document) -> tuple:
    terms = {name: doc.keyword_values(name) for name in KEYWORD_FIELDS}
    terms = {name: values for name, values in terms.items() if values}
    return (
        doc.id,
        doc.kind,
        json.dumps(doc.record, ensure_ascii=False, separators=(",", ":")),
        json.dumps(doc.text, ensure_ascii=False, separators=(",", ":")),
        json.dumps(terms, ensure_ascii=False, separators=(",", ":")),
        doc.title_sort,
        *(doc.dates.get(name) for name in DATE_FIELDS),
    )


def _fts_row(doc: Document) -> list[str]:
    return [index_text(doc.text.get(name, "")) for name in TEXT_FIELDS]


def _fts_query(groups: Iterable[Iterable[tuple[str, ...]]]) -> str:
    """FTS5 syntax built only from analysed terms, each phrase quoted."""
    def phrase(terms: tuple[str, ...]) -> str:
        return '"' + " ".join(terms).replace('"', '""') + '"'

    return " AND ".join("(" + " OR ".join(phrase(p) for p in group) + ")" for group in groups)


def _match(
    conn: sqlite3.Connection, cols: Columns, parsed: ParsedQuery
) -> tuple[np.ndarray, np.ndarray]:
    """Documents matching the text (all when there is none), and their relevance scores."""
    scores = np.zeros(cols.size, dtype=np.float64)
    if parsed.groups:
        rows = conn.execute(
            f"SELECT rowid, bm25(idx_fts, {_WEIGHTS}) FROM idx_fts WHERE idx_fts MATCH ?",
            (_fts_query(parsed.groups),),
        ).fetchall()
        mask = np.zeros(cols.size, dtype=bool)
        if rows:
            found = np.array(rows, dtype=np.float64)
            positions = cols.positions(found[:, 0].astype(np.int64))
            mask[positions] = True
            scores[positions] = -found[:, 1]  # bm25() is lower for better matches
    else:
        mask = np.ones(cols.size, dtype=bool)
    if parsed.excluded:
        rows = conn.execute(
            "SELECT rowid FROM idx_fts WHERE idx_fts MATCH ?",
            (_fts_query([parsed.excluded]),),
        ).fetchall()
        if rows:
            mask[cols.positions(np.array([r[0] for r in rows], dtype=np.int64))] = False
    return mask, scores


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
        primary = -scores[candidates]
    else:
        # Without text to rank by, "relevance" means newest first.
        sort = "-date" if request.sort == "relevance" else request.sort
        primary = cols.sort_key(sort, candidates)
    wanted = request.offset + request.per_page
    top = _top(primary, cols.id_rank[candidates], wanted)
    return candidates[top[request.offset : wanted]]


def _top(primary: np.ndarray, tiebreak: np.ndarray, k: int) -> np.ndarray:
    """Indices of the k smallest (primary, tiebreak) pairs, sorted; partitions before sorting."""
    if k < len(primary):
        kth = np.partition(primary, k - 1)[k - 1]
        idx = np.flatnonzero(primary <= kth)
    else:
        idx = np.arange(len(primary))
    return idx[np.lexsort((tiebreak[idx], primary[idx]))][:k]


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
        hits.append(Hit(doc_id, kind, json.loads(record), float(scores[position])))
        texts.append(json.loads(text))
    return hits, texts
