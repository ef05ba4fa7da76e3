"""Embedded search: in-memory numpy columns over three narrow SQLite tables.

Each document is a row of ``idx_docs`` (its record), of ``idx_cols`` (what filters, facets and
sorts read: keyword value codes, dates, sort keys, the length of each text field) and of
``idx_text`` (its analysed text as integer term ids, numbered in ``idx_terms``). A search loads
the columns once per index generation (``search.columns``), finds and ranks text matches from
the term postings built from ``idx_text`` (``search.ranking``: a phrase is a run of consecutive
positions, scored as Elasticsearch scores it), filters, counts facets and orders with vectorised
passes, then reads the page's records. There is no full-text index to build or merge (FTS5 gave
the same answers at twice the disk and half the write speed): writing a document is three rows.

The columns are reloaded when another connection or process changed the index (a generation
counter in ``idx_meta``), inside the same read transaction as the query, so they always agree.
Every write is one transaction; with WAL readers keep seeing the previous complete index until
the commit.
"""

from __future__ import annotations

import sqlite3
import threading
from array import array
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path

import numpy as np

from search import jsonio
from search.analysis import TermCoder
from search.backend import BackendError, SearchBackend, add_highlights
from search.columns import FIELD_BITS, Columns, collector_paused, date_number
from search.documents import text_of
from search.fields import DATE_FIELDS, KEYWORD_FIELDS, MAPPING_VERSION, TEXT_FIELDS, Document
from search.query import Hit, Range, SearchRequest, SearchResult, Term, parse_text
from search.ranking import match

# The on-disk layout of this backend; a change of it or of the field model rebuilds the index.
SCHEMA_VERSION = f"{MAPPING_VERSION}.5"
_TEXT = list(TEXT_FIELDS)
_COLS = ["rowid", "id", "kind", "title_sort", "kw", "nums"]
_SCHEMA = [
    "CREATE TABLE IF NOT EXISTS idx_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS idx_values (code INTEGER PRIMARY KEY, field TEXT NOT NULL, "
    "value TEXT NOT NULL, UNIQUE (field, value))",
    "CREATE TABLE IF NOT EXISTS idx_terms (id INTEGER PRIMARY KEY, term TEXT NOT NULL UNIQUE)",
    # A record is stored as the JSON array of its values; its keys, in order, are its shape's,
    # kept once (records of a kind share a few shapes): half the bytes of the JSON object.
    "CREATE TABLE IF NOT EXISTS idx_shapes (code INTEGER PRIMARY KEY, keys TEXT NOT NULL UNIQUE)",
    "CREATE TABLE IF NOT EXISTS idx_docs (rowid INTEGER PRIMARY KEY, shape INTEGER NOT NULL, "
    "record TEXT NOT NULL)",
    # kw: int32 codes of the keyword values (the low FIELD_BITS name the field, idx_values the
    # value); nums: int32 terms in each text field, then each date as YYYYMMDD (0 if missing).
    "CREATE TABLE IF NOT EXISTS idx_cols (rowid INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE, "
    "kind TEXT NOT NULL, title_sort TEXT NOT NULL, kw BLOB NOT NULL, nums BLOB NOT NULL)",
    # terms: int32 term ids of the text fields one after the other (nums says where each ends).
    "CREATE TABLE IF NOT EXISTS idx_text (rowid INTEGER PRIMARY KEY, terms BLOB NOT NULL)",
]
_TABLES = ("idx_docs", "idx_cols", "idx_text", "idx_values", "idx_terms", "idx_shapes")
_INSERT = {
    "idx_docs": "INSERT INTO idx_docs (rowid, shape, record) VALUES (?, ?, ?)",
    "idx_cols": f"INSERT INTO idx_cols ({', '.join(_COLS)}) "
                f"VALUES ({', '.join('?' for _ in _COLS)})",
    "idx_text": "INSERT INTO idx_text (rowid, terms) VALUES (?, ?)",
}


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
            # A checkpointed write-ahead log is cut back to this, not kept at its largest.
            conn.execute("PRAGMA journal_size_limit=67108864")
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
        """Write documents in batches: those that exist lose their old rows first."""
        written = 0
        with self._write() as conn:
            writer = _Writer(conn, fresh=False)
            for batch in _batches(docs, 500):
                written += writer.write(batch)
        return written

    def delete(self, ids: Iterable[str]) -> int:
        removed = 0
        with self._write() as conn:
            for chunk in _batches(ids, 500):
                marks = ", ".join("?" for _ in chunk)
                old = [r for (r,) in conn.execute(
                    f"SELECT rowid FROM idx_cols WHERE id IN ({marks})", chunk)]
                removed += _delete_rows(conn, old)
        return removed

    def rebuild(self, docs: Iterable[Document]) -> int:
        """Fill fresh tables; readers keep the old ones until the commit."""
        with self._write() as conn:
            _drop_tables(conn)
            _create_tables(conn)
            writer = _Writer(conn, fresh=True)
            written = 0
            for batch in _batches(docs, 2000):
                written += writer.write(batch)
            writer.flush()
        # The whole index went through the log: move it into the file now (readers then read
        # the file, not a log the size of the index) and cut the log back.
        self._conn().execute("PRAGMA wal_checkpoint(TRUNCATE)")
        return written

    # --- reads -------------------------------------------------------------------------------

    def get(self, doc_id: str) -> dict | None:
        row = self._conn().execute(
            "SELECT s.keys, d.record FROM idx_cols c JOIN idx_docs d ON d.rowid = c.rowid "
            "JOIN idx_shapes s ON s.code = d.shape WHERE c.id = ?", (doc_id,)).fetchone()
        return _record(*row) if row else None

    def counts(self) -> dict[str, int]:
        # Counting 100,000 rows takes ~0.1 s; the generation changes with every write, so the
        # counts of one generation are counted once.
        conn = self._conn()
        generation = _meta(conn, "generation") or "0"
        cached = self._counts
        if cached is None or cached[0] != generation:
            rows = conn.execute("SELECT kind, COUNT(*) FROM idx_cols GROUP BY kind").fetchall()
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
            mask = _filter(conn, cols, mask, request.filters)
            facets = {name: cols.facet(conn, name, mask, request.facet_size)
                      for name in request.facets}
            page = _order(conn, cols, mask, scores, request, ranked=bool(parsed.groups))
            hits = _fetch(conn, cols, page, scores)
        if request.highlight and parsed.terms:
            # The text fields, derived again from the 20 records of the page, are not stored.
            add_highlights(hits, [text_of(h.record) for h in hits], parsed.terms)
        return SearchResult(int(mask.sum()), hits, facets, request.page, request.per_page)

    def _current_columns(self, conn: sqlite3.Connection) -> Columns:
        generation = _meta(conn, "generation") or "0"
        with self._columns_lock:
            if self._columns is None or self._columns.generation != generation:
                with collector_paused():
                    self._columns = Columns.load(conn, generation)
            return self._columns


# --- helpers -------------------------------------------------------------------------------------

class _FieldCodes(dict):
    """One keyword field's values → their codes; a value not met yet gets one from ``_Codes``."""

    def __init__(self, codes: _Codes, field: str) -> None:
        super().__init__()
        self.codes, self.field = codes, field

    def __missing__(self, value: str) -> int:
        self[value] = code = self.codes.new(self.field, value)
        return code


class _Codes:
    """Integer codes of keyword values (field, value), assigned once and kept in idx_values.

    A code names its field in its low bits (the field's index in KEYWORD_FIELDS), so loading
    the columns reads no value at all; a field's values are read when it is first used. For a
    fresh table (a rebuild) codes are numbered here and written in one batch at the end.
    """

    def __init__(self, conn: sqlite3.Connection, fresh: bool = False) -> None:
        self.conn, self.fresh = conn, fresh
        self.next: dict[str, int] = {}
        # Only the model's fields: another one fails loudly (KeyError) where it is written.
        self.fields = {name: _FieldCodes(self, name) for name in KEYWORD_FIELDS}

    def new(self, field: str, value: str) -> int:
        if not self.fresh:
            row = self.conn.execute("SELECT code FROM idx_values WHERE field = ? AND value = ?",
                                    (field, value)).fetchone()
            if row:
                return row[0]
        if (number := self.next.get(field)) is None:
            number = 1 if self.fresh else self.conn.execute(
                f"SELECT COALESCE(MAX(code >> {FIELD_BITS}), 0) + 1 FROM idx_values "
                "WHERE field = ?", (field,)).fetchone()[0]
        self.next[field] = number + 1
        code = number << FIELD_BITS | KEYWORD_FIELDS.index(field)
        if not self.fresh:
            self.conn.execute("INSERT INTO idx_values VALUES (?, ?, ?)", (code, field, value))
        return code

    def flush(self) -> None:
        if self.fresh:
            self.conn.executemany("INSERT INTO idx_values VALUES (?, ?, ?)",
                                  ((code, field, value) for field, known in self.fields.items()
                                   for value, code in known.items()))


class _Numbered(dict):
    """Values → integer codes kept in a table of (code, text). A fresh table (a rebuild) is
    numbered here and written at the end; otherwise a value not met yet is looked up (and
    added) once."""

    table, column = "", ""

    def __init__(self, conn: sqlite3.Connection, fresh: bool) -> None:
        super().__init__()
        self.conn, self.fresh = conn, fresh

    def text(self, value) -> str:
        return value

    def __missing__(self, value) -> int:
        if self.fresh:
            code = len(self) + 1
        else:
            code = self.conn.execute(
                f"INSERT INTO {self.table} ({self.column}) VALUES (?) ON CONFLICT DO UPDATE "
                f"SET {self.column} = excluded.{self.column} RETURNING rowid",
                (self.text(value),)).fetchone()[0]
        self[value] = code
        return code

    def flush(self) -> None:
        if self.fresh:
            self.conn.executemany(f"INSERT INTO {self.table} VALUES (?, ?)",
                                  ((code, self.text(v)) for v, code in self.items()))


class _TermIds(_Numbered):
    """Analysed term → its id in idx_terms."""

    table, column = "idx_terms", "term"


class _Shapes(_Numbered):
    """A record's keys, in order → the code of that shape in idx_shapes."""

    table, column = "idx_shapes", "keys"

    def text(self, keys: tuple[str, ...]) -> str:
        return jsonio.dumps(keys)


@lru_cache(maxsize=1024)
def _keys(text: str) -> tuple[str, ...]:
    return tuple(jsonio.loads(text))


def _record(keys: str, values: str) -> dict:
    return dict(zip(_keys(keys), jsonio.loads(values), strict=True))


class _Writer:
    """Documents → rows of the three tables, numbered after the last rowid."""

    def __init__(self, conn: sqlite3.Connection, fresh: bool) -> None:
        self.conn = conn
        self.codes, self.terms = _Codes(conn, fresh), _TermIds(conn, fresh)
        self.coder = TermCoder(self.terms)
        self.shapes = _Shapes(conn, fresh)
        self.next = conn.execute("SELECT COALESCE(MAX(rowid), 0) FROM idx_cols").fetchone()[0]

    def write(self, batch: list[Document]) -> int:
        """Write a batch; a document already written (before, or earlier in the batch) is
        replaced: the last one given wins."""
        batch = list({doc.id: doc for doc in batch}.values())
        marks = ", ".join("?" for _ in batch)
        _delete_rows(self.conn, [r for (r,) in self.conn.execute(
            f"SELECT rowid FROM idx_cols WHERE id IN ({marks})", [d.id for d in batch])])
        docs, cols, text = [], [], []
        for doc in batch:
            self.next += 1
            fields = [self.coder(doc.text.get(name, "")) for name in _TEXT]
            record = doc.record
            docs.append((self.next, self.shapes[tuple(record)],
                         jsonio.dumps(list(record.values()))))
            dates = (date_number(doc.dates.get(name)) or 0 for name in DATE_FIELDS)
            cols.append((self.next, doc.id, doc.kind, doc.title_sort, self._keywords(doc),
                         array("i", [*map(len, fields), *dates]).tobytes()))
            text.append((self.next, b"".join(f.tobytes() for f in fields)))
        for table, rows in (("idx_docs", docs), ("idx_cols", cols), ("idx_text", text)):
            self.conn.executemany(_INSERT[table], rows)
        return len(batch)

    def _keywords(self, doc: Document) -> bytes:
        fields = self.codes.fields
        flat = array("i", [fields["kind"][doc.kind]])
        for name, values in doc.keywords.items():
            if values and name != "kind":
                # map() over the dict's own lookup: no Python frame per value.
                flat.extend(map(fields[name].__getitem__,
                                values if len(values) == 1 else dict.fromkeys(values)))
        return flat.tobytes()

    def flush(self) -> None:
        self.codes.flush()
        self.terms.flush()
        self.shapes.flush()


def _delete_rows(conn: sqlite3.Connection, rowids: list[int]) -> int:
    if rowids:
        marks = ", ".join("?" for _ in rowids)
        for table in ("idx_docs", "idx_cols", "idx_text"):
            conn.execute(f"DELETE FROM {table} WHERE rowid IN ({marks})", rowids)
    return len(rowids)


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
    for table in ("idx_fts", *_TABLES):  # idx_fts: the full-text table of schema 5.3
        conn.execute(f"DROP TABLE IF EXISTS {table}")


def _filter(conn: sqlite3.Connection, cols: Columns, mask: np.ndarray,
            filters: Iterable[Term | Range]) -> np.ndarray:
    for f in filters:
        if isinstance(f, Term):
            mask &= cols.any_of(conn, f.field, f.values)
        else:
            mask &= cols.within(f.field, date_number(f.gte), date_number(f.lte))
    return mask


def _order(conn: sqlite3.Connection, cols: Columns, mask: np.ndarray, scores: np.ndarray,
           request: SearchRequest, ranked: bool) -> np.ndarray:
    """Positions of the requested page, in a total order (ties broken by id)."""
    candidates = np.flatnonzero(mask)
    if request.sort == "relevance" and ranked:
        # Equally relevant records: newest first, then by id.
        keys = [-scores[candidates], cols.sort_key(conn, "-date", candidates)]
    else:
        # Without text to rank by, "relevance" means newest first.
        keys = [cols.sort_key(conn, "-date" if request.sort == "relevance" else request.sort,
                              candidates)]
    wanted = request.offset + request.per_page
    top = cols.top(conn, keys, candidates, wanted)
    return candidates[top[request.offset : wanted]]


def _fetch(conn: sqlite3.Connection, cols: Columns, positions: np.ndarray,
           scores: np.ndarray) -> list[Hit]:
    rowids = [int(r) for r in cols.rowids[positions]]
    if not rowids:
        return []
    marks = ",".join("?" for _ in rowids)
    rows = conn.execute(
        f"SELECT d.rowid, c.id, c.kind, s.keys, d.record FROM idx_docs d "
        f"JOIN idx_cols c ON c.rowid = d.rowid JOIN idx_shapes s ON s.code = d.shape "
        f"WHERE d.rowid IN ({marks})", rowids
    ).fetchall()
    by_rowid = {row[0]: row for row in rows}
    hits = []
    for rowid, position in zip(rowids, positions, strict=True):
        _, doc_id, kind, keys, values = by_rowid[rowid]
        hits.append(Hit(doc_id, kind, _record(keys, values), float(scores[position])))
    return hits
