"""Compact in-memory columns of the SQLite index: filters, facet counts, sort and rank inputs.

Documents are addressed by their position in rowid order. Each document stores its keyword
values as a blob of (field, value code) int32 pairs, so loading every document's values is one
concatenation and a reshape, not a Python loop over values. A keyword field is then two parallel
arrays (document position, value code) plus postings by value: a filter is a union of postings
and a facet is one ``bincount`` over the entries of the matching documents.

The text fields are there too, for BM25 (``search.ranking``): each field's length, and, built
on the first text search, the postings of every term (``TermStream``): where it occurs, in
which document and field, so term and phrase frequencies are a few array operations.
"""

from __future__ import annotations

import sqlite3
import threading
from dataclasses import dataclass, field

import numpy as np

from search.fields import DATE_FIELDS, KEYWORD_FIELDS, TEXT_FIELDS

_MISSING_HIGH = np.int64(99_999_999)


def date_number(value: str | None) -> int | None:
    """'2026-06-02' → 20260602, so dates compare and sort as integers."""
    return int(value[:10].replace("-", "")) if value else None


@dataclass
class KeywordColumn:
    vocab: list[str]        # values in sorted order; a value's code is its index here
    codes: dict[str, int]
    doc: np.ndarray         # document position of each entry
    value: np.ndarray       # value code of each entry
    postings: np.ndarray    # document positions grouped by value code
    offsets: np.ndarray     # postings[offsets[c]:offsets[c + 1]] hold value code c

    @classmethod
    def build(cls, doc: np.ndarray, stored: np.ndarray, names: dict[int, str]) -> KeywordColumn:
        """From entries with stored (database) value codes to a column with dense sorted codes."""
        present, dense = np.unique(stored, return_inverse=True)
        labels = [names[int(c)] for c in present]
        order = np.argsort(np.array(labels, dtype=object)) if labels else np.array([], int)
        rank = np.empty(len(order), dtype=np.int32)
        rank[order] = np.arange(len(order), dtype=np.int32)
        value = rank[dense] if len(dense) else dense.astype(np.int32)
        vocab = [labels[i] for i in order]
        by_value = np.argsort(value, kind="stable")
        offsets = np.zeros(len(vocab) + 1, dtype=np.int64)
        np.cumsum(np.bincount(value, minlength=len(vocab)), out=offsets[1:])
        return cls(vocab, {v: i for i, v in enumerate(vocab)}, doc, value, doc[by_value], offsets)

    def any_of(self, values: tuple[str, ...], size: int) -> np.ndarray:
        mask = np.zeros(size, dtype=bool)
        for v in values:
            if (code := self.codes.get(v)) is not None:
                mask[self.postings[self.offsets[code] : self.offsets[code + 1]]] = True
        return mask

    def counts(self, mask: np.ndarray, limit: int) -> list[tuple[str, int]]:
        counted = np.bincount(self.value[mask[self.doc]], minlength=len(self.vocab))
        nonzero = np.flatnonzero(counted)
        # Most frequent first; equal counts in value order, so the answer is deterministic.
        order = nonzero[np.lexsort((nonzero, -counted[nonzero]))][:limit]
        return [(self.vocab[c], int(counted[c])) for c in order]


@dataclass
class TermStream:
    """Postings of the analysed terms of every text field, as integer ids (``idx_terms``).

    The terms of every document's fields, in rowid order and the fields in ``TEXT_FIELDS``
    order, are numbered along one line with a gap after each field, so a phrase is a run of
    consecutive positions and never spans two fields. For each term, ``positions`` and
    ``slots`` hold in ascending order where it occurs and in which (document, field): the slot
    is the document's position * fields + the field's index.
    """

    offsets: np.ndarray     # the postings of term id t are [offsets[t]:offsets[t + 1]]
    positions: np.ndarray   # int32
    slots: np.ndarray       # int32
    # What the ranking derives once per generation (term statistics, length norms).
    cache: dict = field(default_factory=dict)

    @classmethod
    def build(cls, blobs: list[bytes], lengths: np.ndarray) -> TermStream:
        ids = np.frombuffer(b"".join(blobs), dtype=np.int32)
        if len(ids) != lengths.sum():
            raise ValueError("the stored term ids do not match the stored field lengths")
        slot = np.repeat(np.arange(lengths.size, dtype=np.int32), lengths.ravel())
        # One sort of (term id, place) keys orders the postings by term, then along the line.
        keys = ids.astype(np.int64)
        keys <<= 32
        keys |= np.arange(len(ids), dtype=np.int64)
        keys.sort()
        keys &= 0xFFFFFFFF
        slots = slot[keys]
        keys += slots  # one gap after each field
        counts = np.bincount(ids, minlength=1)
        offsets = np.zeros(len(counts) + 1, dtype=np.int64)
        np.cumsum(counts, out=offsets[1:])
        return cls(offsets, keys.astype(np.int32), slots)

    def postings(self, term_id: int) -> tuple[np.ndarray, np.ndarray]:
        """Positions and slots of a term's occurrences (none for an id beyond the known)."""
        if not 0 <= term_id < len(self.offsets) - 1:
            return self.positions[:0], self.slots[:0]
        start, end = self.offsets[term_id], self.offsets[term_id + 1]
        return self.positions[start:end], self.slots[start:end]


@dataclass
class Columns:
    generation: str
    rowids: np.ndarray
    id_rank: np.ndarray
    title_rank: np.ndarray
    lengths: np.ndarray     # (documents, text fields) int32: analysed terms per field
    keywords: dict[str, KeywordColumn]
    dates: dict[str, np.ndarray]
    _text: TermStream | None = None
    _text_lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def size(self) -> int:
        return len(self.rowids)

    @classmethod
    def load(cls, conn: sqlite3.Connection, generation: str) -> Columns:
        lengths = ", ".join(f"{name}_len" for name in TEXT_FIELDS)
        rows = conn.execute(
            f"SELECT rowid, id, title_sort, kw, {', '.join(DATE_FIELDS)}, {lengths} "
            "FROM idx_docs ORDER BY rowid"
        ).fetchall()
        width = 4 + len(DATE_FIELDS)
        columns = list(zip(*rows, strict=True)) if rows else [()] * (width + len(TEXT_FIELDS))
        names: dict[int, str] = dict(conn.execute("SELECT code, value FROM idx_values"))
        per_field = np.array([row[width:] for row in rows], dtype=np.int32)
        return cls(
            generation=generation,
            rowids=np.array(columns[0], dtype=np.int64),
            id_rank=_ranks(columns[1]),
            title_rank=_ranks(columns[2]),
            lengths=per_field.reshape(len(rows), len(TEXT_FIELDS)),
            keywords=_keyword_columns(columns[3], names),
            dates={name: np.array([date_number(d) or 0 for d in columns[4 + i]], dtype=np.int64)
                   for i, name in enumerate(DATE_FIELDS)},
        )

    def text(self, conn: sqlite3.Connection) -> TermStream:
        """The term postings, built on the first text search: a search with filters only (a
        list page, a feed) does not wait for them. ``conn`` must be in the read transaction
        these columns were loaded for."""
        with self._text_lock:
            if self._text is None:
                rows = conn.execute("SELECT terms FROM idx_docs ORDER BY rowid")
                blobs = [row[0] for row in rows]
                self._text = TermStream.build(blobs, self.lengths)
            return self._text

    def positions(self, rowids: np.ndarray) -> np.ndarray:
        return np.searchsorted(self.rowids, rowids)

    def any_of(self, name: str, values: tuple[str, ...]) -> np.ndarray:
        return self.keywords[name].any_of(values, self.size)

    def within(self, name: str, low: int | None, high: int | None) -> np.ndarray:
        column = self.dates[name]
        mask = column > 0
        if low is not None:
            mask &= column >= low
        if high is not None:
            mask &= column <= high
        return mask

    def facet(self, name: str, mask: np.ndarray, limit: int) -> list[tuple[str, int]]:
        return self.keywords[name].counts(mask, limit)

    def sort_key(self, sort: str, candidates: np.ndarray) -> np.ndarray:
        """Ascending key for a sort name; documents without the value come last either way."""
        name, descending = sort.lstrip("-"), sort.startswith("-")
        if name == "title":
            key = self.title_rank[candidates]
            return -key if descending else key
        column = self.dates[name][candidates]
        missing = column == 0
        key = -column if descending else column.copy()
        key[missing] = _MISSING_HIGH
        return key


def _keyword_columns(blobs: tuple[bytes, ...], names: dict[int, str]) -> dict[str, KeywordColumn]:
    counts = np.fromiter((len(b) // 8 for b in blobs), dtype=np.int64, count=len(blobs))
    pairs = np.frombuffer(b"".join(blobs), dtype=np.int32).reshape(-1, 2)
    doc = np.repeat(np.arange(len(blobs), dtype=np.int32), counts)
    columns = {}
    for index, name in enumerate(KEYWORD_FIELDS):
        selected = pairs[:, 0] == index
        columns[name] = KeywordColumn.build(doc[selected], pairs[selected, 1], names)
    return columns


def _ranks(values: tuple[str, ...]) -> np.ndarray:
    order = sorted(range(len(values)), key=values.__getitem__)
    ranks = np.empty(len(values), dtype=np.int64)
    ranks[order] = np.arange(len(values), dtype=np.int64)
    return ranks
