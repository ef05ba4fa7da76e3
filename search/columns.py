"""Compact in-memory columns of the SQLite index: filters, facet counts and sort keys.

Documents are addressed by their position in rowid order. A keyword field is kept as two parallel
arrays (document position, value code) plus postings by value, so a filter is a union of
postings and a facet is one ``bincount`` over the entries of the matching documents.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass

import numpy as np

from search.fields import DATE_FIELDS, KEYWORD_FIELDS

_MISSING_LOW = np.int64(0)
_MISSING_HIGH = np.int64(99_999_999)


def date_number(value: str | None) -> int | None:
    """'2026-06-02' → 20260602, so dates compare and sort as integers."""
    return int(value[:10].replace("-", "")) if value else None


@dataclass
class KeywordColumn:
    vocab: list[str]
    codes: dict[str, int]
    doc: np.ndarray         # document position of each entry
    value: np.ndarray       # value code of each entry
    postings: np.ndarray    # document positions grouped by value code
    offsets: np.ndarray     # postings[offsets[c]:offsets[c + 1]] hold value code c

    @classmethod
    def build(cls, pairs: list[tuple[int, str]]) -> KeywordColumn:
        vocab = sorted({v for _, v in pairs})
        codes = {v: i for i, v in enumerate(vocab)}
        doc = np.fromiter((d for d, _ in pairs), dtype=np.int32, count=len(pairs))
        value = np.fromiter((codes[v] for _, v in pairs), dtype=np.int32, count=len(pairs))
        order = np.argsort(value, kind="stable")
        offsets = np.zeros(len(vocab) + 1, dtype=np.int64)
        np.cumsum(np.bincount(value, minlength=len(vocab)), out=offsets[1:])
        return cls(vocab, codes, doc, value, doc[order], offsets)

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
class Columns:
    generation: str
    rowids: np.ndarray
    id_rank: np.ndarray
    title_rank: np.ndarray
    keywords: dict[str, KeywordColumn]
    dates: dict[str, np.ndarray]

    @property
    def size(self) -> int:
        return len(self.rowids)

    @classmethod
    def load(cls, conn: sqlite3.Connection, generation: str) -> Columns:
        rows = conn.execute(
            f"SELECT rowid, id, title_sort, terms, {', '.join(DATE_FIELDS)} "
            "FROM idx_docs ORDER BY rowid"
        ).fetchall()
        pairs: dict[str, list[tuple[int, str]]] = {name: [] for name in KEYWORD_FIELDS}
        for position, row in enumerate(rows):
            for name, values in json.loads(row[3]).items():
                pairs[name].extend((position, v) for v in values)
        dates = {
            name: np.array([date_number(r[4 + i]) or 0 for r in rows], dtype=np.int64)
            for i, name in enumerate(DATE_FIELDS)
        }
        return cls(
            generation=generation,
            rowids=np.array([r[0] for r in rows], dtype=np.int64),
            id_rank=_ranks([r[1] for r in rows]),
            title_rank=_ranks([r[2] for r in rows]),
            keywords={name: KeywordColumn.build(p) for name, p in pairs.items()},
            dates=dates,
        )

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


def _ranks(values: list[str]) -> np.ndarray:
    order = sorted(range(len(values)), key=values.__getitem__)
    ranks = np.empty(len(values), dtype=np.int64)
    ranks[order] = np.arange(len(values), dtype=np.int64)
    return ranks
