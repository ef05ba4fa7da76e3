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

import os
import re
import sqlite3
import threading
from array import array
from collections.abc import Callable, Iterable, Iterator, Sized
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path
from typing import NamedTuple

import numpy as np

from search import jsonio, sqlite_file, threads
from search.analysis import many_tokens
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
    # The rows each write deleted, by the generation it made: a reader holding the columns of
    # an earlier generation brings them forward with these and the rows written since
    # (``Columns.advance``) instead of loading everything. idx_meta's gone_since: the log
    # holds every deletion of the generations after it.
    "CREATE TABLE IF NOT EXISTS idx_gone (generation INTEGER NOT NULL, rowid INTEGER NOT NULL)",
    "CREATE INDEX IF NOT EXISTS idx_gone_generation ON idx_gone (generation)",
]
_TABLES = ("idx_docs", "idx_cols", "idx_text", "idx_values", "idx_terms", "idx_shapes",
           "idx_gone")
# The log of deletions is cut back to half of this when it grows past it (a reader whose
# columns are older than what is left loads everything again).
GONE_KEPT = 200_000
BATCH = 2000  # documents a batch of a rebuild
# A rebuild of this many documents or more is written by a second process (the ~0.15 s it
# takes to start is then under 5 % of the write).
BESIDE_FROM = 40_000
_INSERT = {
    "idx_docs": "INSERT INTO idx_docs (rowid, shape, record) VALUES (?, ?, ?)",
    "idx_cols": f"INSERT INTO idx_cols ({', '.join(_COLS)}) "
                f"VALUES ({', '.join('?' for _ in _COLS)})",
    "idx_text": "INSERT INTO idx_text (rowid, terms) VALUES (?, ?)",
}


class Batch(NamedTuple):
    """Documents as the writer stores them: strings, bytes and integers only, so that the
    batches of a large write can be made in worker processes (``search.indexing``) and written
    here at a fraction of a ``Document``'s cost. A batch numbers its distinct terms and keyword
    values itself; the one writer maps each distinct one to its id once, and a batch's term
    positions to ids in one numpy gather."""

    ids: list[str]
    kinds: list[str]
    title_sorts: list[str]
    keys: list[str]       # per document: the JSON array of its record's keys, in order (shape)
    values: list[str]     # per document: the JSON array of its record's values
    nums: list[bytes]     # per document: int32 terms in each text field, then dates (YYYYMMDD)
    terms: list[str]      # the batch's distinct terms
    text: bytes           # int32 indexes into terms: each document's terms, one after the other
    text_ends: list[int]  # where each document's terms end in text
    marks: list[str]      # the batch's distinct keyword values, each prefixed by its field
    kw: bytes             # int32 indexes into marks: each document's keyword values
    kw_ends: list[int]


# A keyword value's mark: one character naming the field, then the value.
_FIELD_MARK = {name: chr(i) for i, name in enumerate(KEYWORD_FIELDS)}


class _FieldMarks(dict):
    """One keyword field's values in a batch → their indexes in the batch's marks (shared by
    every field): a value is looked up as it is, with the hash its string already holds."""

    def __init__(self, mark: str, marks: list[str]) -> None:
        super().__init__()
        self.mark, self.marks = mark, marks

    def __missing__(self, value: str) -> int:
        self[value] = number = len(self.marks)
        self.marks.append(self.mark + value)
        return number


class Gathered(NamedTuple):
    """A batch before its texts are analysed (``finish`` makes the ``Batch``): what only the
    documents can give, read out of them, so that the analysis can be made by another
    process (``search.sqlite_beside``) at the cost of sending plain strings."""

    ids: list[str]
    kinds: list[str]
    title_sorts: list[str]
    keys: list[str]
    values: list[str]
    texts: list[str]      # each document's text fields, one document after the other
    dates: list[int]      # each document's dates (YYYYMMDD, 0 if missing), likewise
    marks: list[str]
    kw: bytes
    kw_ends: list[int]


def prepare(docs: Iterable[Document]) -> Batch:
    """The batch of these documents (picklable, for a worker process); of two with the same
    id, the last one given wins."""
    return finish(gather(docs))


def gather(docs: Iterable[Document]) -> Gathered:
    docs = list({doc.id: doc for doc in docs}.values())
    marks, kw, kw_ends = _keyword_marks(docs)
    return Gathered([d.id for d in docs], [d.kind for d in docs], [d.title_sort for d in docs],
                    [_shape(tuple(d.record)) for d in docs],
                    [jsonio.dumps(list(d.record.values())) for d in docs],
                    [doc.text.get(name, "") for doc in docs for name in _TEXT],
                    [date_number(doc.dates.get(name)) or 0 for doc in docs
                     for name in DATE_FIELDS],
                    marks, kw, kw_ends)


@lru_cache(maxsize=1024)
def _shape(keys: tuple[str, ...]) -> str:
    """A record's keys as JSON: a few shapes for many records, each made once (and one string
    each, which a pickled batch then holds once)."""
    return jsonio.dumps(keys)


def finish(batch: Gathered) -> Batch:
    """Analyse a gathered batch's texts: its terms, and the numbers of each document."""
    n = len(batch.ids)
    terms, text, counts = many_tokens(batch.texts)
    per_field = counts.reshape(n, len(_TEXT))
    nums = np.hstack([per_field, np.array(batch.dates, np.int64).reshape(n, len(DATE_FIELDS))])
    row = nums.shape[1] * 4
    packed = nums.astype(np.int32).tobytes()
    return Batch(batch.ids, batch.kinds, batch.title_sorts, batch.keys, batch.values,
                 [packed[start : start + row] for start in range(0, len(packed), row)],
                 terms, text.tobytes(), np.cumsum(per_field.sum(axis=1)).tolist(), batch.marks,
                 batch.kw, batch.kw_ends)


def _keyword_marks(docs: list[Document]) -> tuple[list[str], bytes, list[int]]:
    """The batch's distinct keyword marks, and each document's (distinct) as int32 indexes
    into them (one document after the other) and where each document's marks end. A
    document's marks are in the order of its keywords (readers select them by field)."""
    marks: list[str] = []
    fields = {name: _FieldMarks(mark, marks) for name, mark in _FIELD_MARK.items()}
    kinds = fields.pop("kind")  # the document's kind, not a keyword it was given
    found: list[int] = []
    add, extend, ends = found.append, found.extend, []
    try:
        for doc in docs:
            add(kinds[doc.kind])
            for name, values in doc.keywords.items():
                if not values or name == "kind":
                    continue
                if len(values) == 1:  # most are
                    add(fields[name][values[0]])
                else:  # a value given twice to one document is held once
                    extend(map(fields[name].__getitem__, dict.fromkeys(values)))
            ends.append(len(found))
    except KeyError as error:  # fails loudly here, where it is written
        raise KeyError(f"unknown keyword field: {error.args[0]}") from None
    return marks, array("i", found).tobytes(), ends


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
            conn = self._conn()
            return (_meta(conn, "schema_version") == SCHEMA_VERSION
                    and _meta(conn, "gone_since") is not None)
        except sqlite3.OperationalError:  # a new file: no tables yet
            return False

    # --- connections -------------------------------------------------------------------------

    def _conn(self) -> sqlite3.Connection:
        """This thread's connection to the file the index is in now (opened anew when a
        rebuild moved the index to a new file, between transactions)."""
        local = self._local
        conn = getattr(local, "conn", None)
        if conn is not None and not conn.in_transaction and local.file != self.file():
            conn.close()
            conn = None
        if conn is None:
            conn, local.file = self._open()
            # A checkpointed write-ahead log is cut back to this, not kept at its largest.
            conn.execute("PRAGMA journal_size_limit=67108864")
            local.conn = conn
        return conn

    def file(self) -> Path:
        """The file the index is in: the one its path links to (each rebuild writes a new
        file and links the path to it), or the path itself (none rebuilt yet)."""
        try:
            return self.path.parent / os.readlink(self.path)
        except OSError:  # not a link (or nothing there yet)
            return self.path

    def _open(self) -> tuple[sqlite3.Connection, Path]:
        for _ in range(10):
            file = self.file()
            try:  # the path itself may be made; a linked file only opened, never made again
                return sqlite_file.connect(file, create=file == self.path), file
            except sqlite3.OperationalError:
                if file.exists():
                    raise
                # removed by a rebuild between reading the link and opening: read it again
        raise BackendError(f"SQLite index {self.path}: its file keeps being replaced")

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        with _committed(self._locked()) as conn:
            yield conn

    def _locked(self) -> sqlite3.Connection:
        """This thread's connection in a write transaction on the file the index is in. A
        write that waited for the lock while a rebuild replaced the file begins again on the
        new one (the rebuild lets the old file's lock go only once the path links there)."""
        while True:
            conn = self._conn()
            conn.execute("BEGIN IMMEDIATE")
            if self._local.file == self.file():
                return conn
            conn.execute("ROLLBACK")

    @contextmanager
    def _rebuilding(self) -> Iterator[sqlite3.Connection]:
        """Where a rebuild writes its tables, the index's write lock held from the start (no
        write slips between the caller's read of the record store and the new index). An
        index with its file to itself is replaced by a new file (``_replacing``); one sharing
        its file with the record store gets new tables in it, in one transaction."""
        old = self._locked()
        if _shares_file(old):
            with _committed(old) as conn:
                yield conn
            self.checkpoint()  # the whole index went through the log: into the file now
        else:
            with self._replacing(old) as conn:
                yield conn

    @contextmanager
    def _replacing(self, old: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
        """A connection to a new, empty file that becomes the index when the block ends
        without error. Its pages are written once (no log: ``connect_new``) and readers keep
        the old file meanwhile; they move to the new one at their next transaction, and the
        old one is removed (its readers keep it open until then). ``old`` holds the old
        file's write lock until the switch; writes that waited for it then go to the new
        file. On error the new file is removed: the index stays as it was."""
        old_file, switched = self._local.file, False
        try:
            generation = int(_meta(old, "generation") or 0)
            last_rowid = max(int(_meta(old, "last_rowid") or 0), old.execute(
                "SELECT COALESCE(MAX(rowid), 0) FROM idx_cols").fetchone()[0])
            _remove(self._files(), keep=old_file)  # what killed rebuilds left
            file = self.path.with_name(f"{self.path.name}.{generation + 1}")
            conn = sqlite_file.connect_new(file)
            try:
                # The numbering's and the ids' indexes kept in memory while they grow: a third
                # less time a document than with the default 2 MB.
                conn.execute("PRAGMA cache_size=-65536")
                conn.execute("BEGIN")
                _create_tables(conn)
                conn.executemany("INSERT INTO idx_meta VALUES (?, ?)", [
                    ("schema_version", SCHEMA_VERSION), ("generation", str(generation)),
                    ("last_rowid", str(last_rowid))])
                yield conn
                _written(conn)
                conn.execute("COMMIT")
                conn.execute("PRAGMA journal_mode=WAL")  # as every reader and writer opens it
            finally:
                conn.close()
            sqlite_file.sync(file)
            self._link(file)
            switched = True
        except BaseException:
            if not switched:
                _remove(self._files(), keep=old_file)
            raise
        finally:
            old.execute("ROLLBACK")
        self.close()
        # The old file (a link renamed over the path removed the path's own file already).
        _remove([*_companions(old_file), *([old_file] if old_file != self.path else [])],
                keep=file)

    def _files(self) -> list[Path]:
        """The index's files of this and earlier rebuilds (with their logs)."""
        pattern = re.compile(re.escape(self.path.name) + r"\.\d+(-wal|-shm|-journal)?")
        return [p for p in self.path.parent.iterdir() if pattern.fullmatch(p.name)]

    def _link(self, file: Path) -> None:
        """Point the path at ``file`` in one step: a link renamed over the old name. Raises
        only before the switch."""
        link = self.path.with_name(f"{self.path.name}.link")
        link.unlink(missing_ok=True)
        link.symlink_to(file.name)
        link.replace(self.path)
        try:
            sqlite_file.sync(self.path.parent)  # the new name made durable
        except OSError:  # switched all the same
            pass

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
            _forget_gone(conn)
        elif _meta(conn, "gone_since") is None:  # an index written before the log was kept
            _forget_gone(conn)
            conn.execute("INSERT OR REPLACE INTO idx_meta SELECT 'last_rowid', "
                         "CAST(COALESCE(MAX(rowid), 0) AS TEXT) FROM idx_cols")
        conn.execute("INSERT OR REPLACE INTO idx_meta VALUES ('schema_version', ?)",
                     (SCHEMA_VERSION,))

    # --- writes ------------------------------------------------------------------------------

    # Batches may be made elsewhere (worker processes) and written with upsert_prepared.
    prepare = staticmethod(prepare)

    def upsert(self, docs: Iterable[Document]) -> int:
        return self.upsert_prepared(map(prepare, chunked(docs, 500)))

    def upsert_prepared(self, batches: Iterable[Batch]) -> int:
        """Write batches (``prepare``): documents that exist lose their old rows."""
        written = 0
        with self._write() as conn:
            writer = _Writer(conn, fresh=False)
            for batch in batches:
                written += writer.write(batch)
        return written

    def delete(self, ids: Iterable[str]) -> int:
        removed = 0
        with self._write() as conn:
            for chunk in chunked(ids, 500):
                marks = ", ".join("?" for _ in chunk)
                old = [r for (r,) in conn.execute(
                    f"SELECT rowid FROM idx_cols WHERE id IN ({marks})", chunk)]
                removed += _delete_rows(conn, old)
        return removed

    def rebuild(self, docs: Iterable[Document], size: int | None = None) -> int:
        """Write these documents to a new file that then replaces the index; readers keep the
        old one until the switch. A large rebuild (its ``size`` given, or ``docs`` a sized
        collection) is written by a second process while this one prepares the batches
        (``search.sqlite_beside``), given a second core."""
        if size is None and isinstance(docs, Sized):
            size = len(docs)
        if size is not None and size >= BESIDE_FROM and _cores() > 1:
            from search.sqlite_beside import ChildUnavailable, rebuild_beside

            try:
                return rebuild_beside(self.path, docs, size)
            except ChildUnavailable:  # nothing read yet: written here instead
                pass
        with collector_paused(), self._rebuilding() as conn:  # as rebuild_beside does
            return fill(conn, map(prepare, chunked(docs, BATCH)))

    def checkpoint(self) -> None:
        """After a rebuild the whole index went through the log: move it into the file now
        (readers then read the file, not a log the size of the index) and cut the log back."""
        self._conn().execute("PRAGMA wal_checkpoint(TRUNCATE)")

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
            cols.prepare(conn, [*request.facets, *(f.field for f in request.filters
                                                    if isinstance(f, Term)), "kind"])
            mask, scores = match(conn, cols, parsed)
            mask = _filter(conn, cols, mask, request.filters)
            total = int(np.count_nonzero(mask))
            counting = _count_facets(cols, mask, request, total)
            page = _order(conn, cols, mask, scores, request, ranked=bool(parsed.groups))
            hits = _fetch(conn, cols, page, scores)
            facets = counting()
        if request.highlight and parsed.terms:
            # The text fields, derived again from the 20 records of the page, are not stored.
            add_highlights(hits, [text_of(h.record) for h in hits], parsed.terms)
        return SearchResult(total, hits, facets, request.page, request.per_page)

    def _current_columns(self, conn: sqlite3.Connection) -> Columns:
        """The columns of the generation ``conn``'s read transaction sees. A transaction that
        began before the held columns' generation was written begins again: columns are only
        ever brought forward, and what a segment builds lazily must be read at its own
        generation or a later one."""
        generation = _meta(conn, "generation") or "0"
        with self._columns_lock:
            cols = self._columns
            if cols is not None and int(generation) < int(cols.generation):
                conn.execute("COMMIT")
                conn.execute("BEGIN")
                generation = _meta(conn, "generation") or "0"
            if cols is None or cols.generation != generation:
                with collector_paused():
                    cols = cols and cols.advance(conn, generation)
                    if cols is None:
                        self._columns = None  # the old columns' memory free for the new
                        cols = Columns.load(conn, generation)
                self._columns = cols
            return cols


# --- helpers -------------------------------------------------------------------------------------

class _Numbering(dict):
    """Values → integer codes kept in a table (``known`` reads them). ``add`` numbers the
    values a batch brings that are not known yet (reading the codes a table that was not empty
    holds) and writes the new ones at once: a large rebuild's writer then has no numbering
    left to write after the last batch."""

    table = ""

    def __init__(self, conn: sqlite3.Connection, fresh: bool) -> None:
        super().__init__()
        self.conn, self.fresh = conn, fresh
        # A table empty when the write began holds only what this write numbered, all here
        # (the write holds the database's one write lock): nothing to look up.
        self.complete = fresh or conn.execute(
            f"SELECT 1 FROM {self.table} LIMIT 1").fetchone() is None

    def add(self, values: Iterable[str]) -> None:
        """Number the values (distinct) not numbered yet."""
        missing = [v for v in values if v not in self]
        if not missing:
            return
        if not self.complete:
            for start in range(0, len(missing), 500):
                self.update(self.known(missing[start : start + 500]))
            missing = [v for v in missing if v not in self]
        added = [(v, self.code(v)) for v in missing]
        self.update(added)
        self.write(added)

    def known(self, values: list[str]) -> Iterable[tuple[str, int]]:
        raise NotImplementedError

    def code(self, value: str) -> int:
        raise NotImplementedError

    def write(self, added: list[tuple[str, int]]) -> None:
        raise NotImplementedError


class _Codes(_Numbering):
    """Keyword value marks (Batch.marks) → codes in idx_values. A code names its field in its
    low bits (the field's index in KEYWORD_FIELDS), so loading the columns reads no value; a
    field's values are read when it is first used."""

    table = "idx_values"

    def __init__(self, conn: sqlite3.Connection, fresh: bool) -> None:
        super().__init__(conn, fresh)
        self.next_in: dict[int, int] = {}  # per field

    def known(self, keys: list[str]) -> Iterable[tuple[str, int]]:
        by_field: dict[str, list[str]] = {}
        for key in keys:
            by_field.setdefault(key[0], []).append(key[1:])
        for mark, values in by_field.items():
            marks = ", ".join("?" for _ in values)
            rows = self.conn.execute(
                f"SELECT value, code FROM idx_values WHERE field = ? AND value IN ({marks})",
                (KEYWORD_FIELDS[ord(mark)], *values))
            yield from ((mark + value, code) for value, code in rows)

    def code(self, key: str) -> int:
        field = ord(key[0])
        if (number := self.next_in.get(field)) is None:
            number = 1 if self.fresh else self.conn.execute(
                f"SELECT COALESCE(MAX(code >> {FIELD_BITS}), 0) + 1 FROM idx_values "
                "WHERE field = ?", (KEYWORD_FIELDS[field],)).fetchone()[0]
        self.next_in[field] = number + 1
        return number << FIELD_BITS | field

    def write(self, added: list[tuple[str, int]]) -> None:
        self.conn.executemany("INSERT INTO idx_values (code, field, value) VALUES (?, ?, ?)",
                              ((code, KEYWORD_FIELDS[ord(key[0])], key[1:])
                               for key, code in added))


class _Table(_Numbering):
    """Values numbered 1, 2, … in a table of (code, text)."""

    code_column, text_column = "", ""

    def __init__(self, conn: sqlite3.Connection, fresh: bool) -> None:
        super().__init__(conn, fresh)
        self.next = 1 if fresh else conn.execute(
            f"SELECT COALESCE(MAX({self.code_column}), 0) + 1 FROM {self.table}").fetchone()[0]

    def known(self, values: list[str]) -> Iterable[tuple[str, int]]:
        marks = ", ".join("?" for _ in values)
        return self.conn.execute(
            f"SELECT {self.text_column}, {self.code_column} FROM {self.table} "
            f"WHERE {self.text_column} IN ({marks})", values)

    def code(self, value: str) -> int:
        self.next += 1
        return self.next - 1

    def write(self, added: list[tuple[str, int]]) -> None:
        self.conn.executemany(
            f"INSERT INTO {self.table} ({self.text_column}, {self.code_column}) VALUES (?, ?)",
            added)


class _TermIds(_Table):
    """Analysed term → its id in idx_terms."""

    table, code_column, text_column = "idx_terms", "id", "term"


class _Shapes(_Table):
    """A record's keys (the JSON array, in order) → the code of that shape in idx_shapes."""

    table, code_column, text_column = "idx_shapes", "code", "keys"


@lru_cache(maxsize=1024)
def _keys(text: str) -> tuple[str, ...]:
    return tuple(jsonio.loads(text))


def _record(keys: str, values: str) -> dict:
    return dict(zip(_keys(keys), jsonio.loads(values), strict=True))


class _Writer:
    """Rows → the three tables, numbered after the last rowid ever given (idx_meta's
    last_rowid: a rowid is never given twice, so readers tell new rows by their rowid)."""

    def __init__(self, conn: sqlite3.Connection, fresh: bool) -> None:
        self.conn = conn
        self.codes, self.terms = _Codes(conn, fresh), _TermIds(conn, fresh)
        self.shapes = _Shapes(conn, fresh)
        self.next = max(
            conn.execute("SELECT COALESCE(MAX(rowid), 0) FROM idx_cols").fetchone()[0],
            int(_meta(conn, "last_rowid") or 0))
        # Fresh tables hold only what this writer wrote: only those ids are looked up.
        self.written: set[str] | None = set() if fresh else None

    def write(self, batch: Batch) -> int:
        """Write a batch; a document already written is replaced. The documents written, or,
        in fresh tables, those the tables did not hold yet."""
        n = len(batch.ids)
        replaced = batch.ids  # those that may be in the tables
        if self.written is not None:
            replaced = [i for i in replaced if i in self.written]
            self.written.update(batch.ids)
            n -= len(replaced)
        if replaced:
            marks = ", ".join("?" for _ in replaced)
            _delete_rows(self.conn, [r for (r,) in self.conn.execute(
                f"SELECT rowid FROM idx_cols WHERE id IN ({marks})", replaced)])
        text = _translated(self.terms, batch.terms, batch.text)
        kw = _translated(self.codes, batch.marks, batch.kw)
        self.shapes.add(dict.fromkeys(batch.keys))
        rowids = range(self.next + 1, self.next + len(batch.ids) + 1)
        self.next = rowids.stop - 1
        rows = {
            "idx_docs": (rowids, map(self.shapes.__getitem__, batch.keys), batch.values),
            "idx_cols": (rowids, batch.ids, batch.kinds, batch.title_sorts,
                         _pieces(kw, batch.kw_ends), batch.nums),
            "idx_text": (rowids, _pieces(text, batch.text_ends)),
        }
        for table, columns in rows.items():
            self.conn.executemany(_INSERT[table], zip(*columns, strict=True))
        self.conn.execute("INSERT OR REPLACE INTO idx_meta VALUES ('last_rowid', ?)",
                          (str(self.next),))
        return n


def fill(conn: sqlite3.Connection, batches: Iterable[Batch]) -> int:
    """Replace the tables (in a write) by the documents of these batches."""
    _drop_tables(conn)
    _create_tables(conn)
    _forget_gone(conn)
    writer = _Writer(conn, fresh=True)
    return sum(map(writer.write, batches))


def _translated(numbering: _Numbering, vocabulary: list[str], indexes: bytes) -> np.ndarray:
    """A batch's indexes into its vocabulary → the numbering's codes, in one gather."""
    numbering.add(vocabulary)
    codes = np.fromiter(map(numbering.__getitem__, vocabulary), np.int32, len(vocabulary))
    return codes[np.frombuffer(indexes, np.int32)]


def _pieces(values: np.ndarray, ends: list[int]) -> Iterator[bytes]:
    start = 0
    for end in ends:
        yield values[start:end].tobytes()
        start = end


def _delete_rows(conn: sqlite3.Connection, rowids: list[int]) -> int:
    """Delete rows (in a write), logged under the generation the write makes."""
    if rowids:
        marks = ", ".join("?" for _ in rowids)
        conn.execute(
            "INSERT INTO idx_gone SELECT (SELECT COALESCE(MAX(CAST(value AS INTEGER)), 0) + 1 "
            f"FROM idx_meta WHERE key = 'generation'), rowid FROM idx_cols "
            f"WHERE rowid IN ({marks})", rowids)
        conn.execute("INSERT INTO idx_meta VALUES ('last_rowid', ?) ON CONFLICT(key) DO UPDATE "
                      "SET value = MAX(CAST(value AS INTEGER), CAST(excluded.value AS INTEGER))",
                      (str(max(rowids)),))
        for table in ("idx_docs", "idx_cols", "idx_text"):
            conn.execute(f"DELETE FROM {table} WHERE rowid IN ({marks})", rowids)
    return len(rowids)


def _cores() -> int:
    """The cores this process may run on."""
    if hasattr(os, "sched_getaffinity"):  # Linux
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def chunked(items: Iterable, size: int) -> Iterator[list]:
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


def _forget_gone(conn: sqlite3.Connection) -> None:
    """Columns of a generation before the one this write makes cannot be brought forward
    (the tables were made anew): the log of deletions starts with this write."""
    conn.execute("DELETE FROM idx_gone")
    conn.execute("INSERT OR REPLACE INTO idx_meta SELECT 'gone_since', COALESCE(MAX("
                 "CAST(value AS INTEGER)), 0) + 1 FROM idx_meta WHERE key = 'generation'")


def _mark_logged(conn: sqlite3.Connection) -> None:
    """Record that the generation this write makes logged its deletions. A write that did
    not (code from before the log, another tool) left logged_through behind the generation:
    no columns older than this write are brought forward past it."""
    generation = int(_meta(conn, "generation") or 0)
    if int(_meta(conn, "logged_through") or -1) != generation:
        conn.execute("INSERT OR REPLACE INTO idx_meta VALUES ('gone_since', ?)",
                     (str(generation + 1),))
    conn.execute("INSERT OR REPLACE INTO idx_meta VALUES ('logged_through', ?)",
                 (str(generation + 1),))


def _trim_gone(conn: sqlite3.Connection) -> None:
    """Past GONE_KEPT logged deletions, forget the oldest generations' down to half."""
    (count,) = conn.execute("SELECT COUNT(*) FROM idx_gone").fetchone()
    if count <= GONE_KEPT:
        return
    (cut,) = conn.execute("SELECT generation FROM idx_gone ORDER BY generation DESC "
                          "LIMIT 1 OFFSET ?", (GONE_KEPT // 2,)).fetchone()
    conn.execute("DELETE FROM idx_gone WHERE generation <= ?", (cut,))
    conn.execute("UPDATE idx_meta SET value = ? WHERE key = 'gone_since' "
                 "AND CAST(value AS INTEGER) < ?", (str(cut), cut))


@contextmanager
def _committed(conn: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """A write transaction's end: committed as a new generation, or rolled back on error."""
    try:
        yield conn
        _written(conn)
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise


def _shares_file(conn: sqlite3.Connection) -> bool:
    """Whether the index's file holds other tables than its own (the record store's)."""
    return conn.execute(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'idx\\_%' "
        "ESCAPE '\\' AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' LIMIT 1").fetchone() is not None


def _written(conn: sqlite3.Connection) -> None:
    """What every write does before its commit: a new generation, its deletions logged."""
    _trim_gone(conn)
    _mark_logged(conn)
    conn.execute("INSERT INTO idx_meta VALUES ('generation', '1') ON CONFLICT(key) "
                 "DO UPDATE SET value = CAST(value AS INTEGER) + 1")


def _companions(file: Path) -> list[Path]:
    """The files SQLite keeps beside a database file."""
    return [file.with_name(file.name + suffix) for suffix in ("-wal", "-shm", "-journal")]


def _remove(files: Iterable[Path], keep: Path) -> None:
    kept = {keep, *_companions(keep)}
    for file in files:
        if file not in kept:
            file.unlink(missing_ok=True)


def _create_tables(conn: sqlite3.Connection) -> None:
    # One statement at a time: executescript() would commit the surrounding transaction.
    for statement in _SCHEMA:
        conn.execute(statement)


def _drop_tables(conn: sqlite3.Connection) -> None:
    for table in ("idx_fts", *_TABLES):  # idx_fts: the full-text table of schema 5.3
        conn.execute(f"DROP TABLE IF EXISTS {table}")


# Facet counts over this many documents or more are counted beside the page's ordering and
# reading, in jobs of about a million entries (numpy lets go of the interpreter while it
# gathers and sums).
PARALLEL_FACETS = 50_000


def _count_facets(cols: Columns, mask: np.ndarray, request: SearchRequest, total: int
                  ) -> Callable[[], dict[str, list[tuple[str, int]]]]:
    """What gives each facet's counts; over many documents their jobs are begun in other
    threads. The columns are built (``Columns.prepare``), so counting reads no database."""
    plans = {name: cols.keyword(None, name).counting(mask, request.facet_size)
             for name in request.facets}
    jobs = [job for found, _ in plans.values() for job in found]
    if total < PARALLEL_FACETS:
        results = [job() for job in jobs]
        return lambda: _facets(plans, results)
    counted = threads.begin(lambda job: job(), jobs)
    return lambda: _facets(plans, counted())


def _facets(plans: dict, results: list[np.ndarray]) -> dict[str, list[tuple[str, int]]]:
    """Each facet's answer from its jobs' results (in the order of ``plans``)."""
    facets = {}
    for name, (jobs, finish) in plans.items():
        facets[name], results = finish(results[: len(jobs)]), results[len(jobs):]
    return facets


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
