"""Text matching and relevance for the SQLite backend.

FTS5 decides which documents match (phrases, AND, OR, exclusions). Relevance is BM25 computed
with numpy over the in-memory columns: for each phrase, its inverse document frequency times a
saturated, length-normalised "term frequency" that is the sum of the boosts of the fields the
phrase occurs in (title 3, keywords 2, body 1). FTS5's own ``bm25()`` is exact but costs
about 1.4 µs a matching row, 140 ms for a word found in every record; these few set lookups and
vector operations cost a fraction of that, whatever the number of matches.

As in FTS5's bm25, a phrase found in more than half of all records gets a floor idf of 1e-6:
it barely ranks. Its field frequencies are only looked up for result sets small enough to be
worth it; a query made only of such words over many records is ordered by the tie-breakers
(newest first).
"""

from __future__ import annotations

import math
import sqlite3
from collections.abc import Iterable

import numpy as np

from search.columns import Columns
from search.fields import TEXT_FIELDS
from search.query import ParsedQuery

K1, B = 1.2, 0.75
IDF_FLOOR = 1e-6
COMMON_SHARE = 0.5
COMMON_SCORED_UP_TO = 20_000


def fts_phrase(terms: tuple[str, ...]) -> str:
    """A quoted FTS5 phrase built only from analysed terms."""
    return '"' + " ".join(terms).replace('"', '""') + '"'


def fts_query(groups: Iterable[Iterable[tuple[str, ...]]]) -> str:
    return " AND ".join("(" + " OR ".join(fts_phrase(p) for p in g) + ")" for g in groups)


def match(conn: sqlite3.Connection, cols: Columns, parsed: ParsedQuery
          ) -> tuple[np.ndarray, np.ndarray]:
    """Documents matching the text (all when there is none), and their relevance scores."""
    scores = np.zeros(cols.size, dtype=np.float64)
    if parsed.groups:
        mask = _mask(conn, cols, fts_query(parsed.groups))
        if mask.any():
            _score(conn, cols, parsed, mask, scores)
    else:
        mask = np.ones(cols.size, dtype=bool)
    if parsed.excluded:
        mask &= ~_mask(conn, cols, fts_query([parsed.excluded]))
    return mask, scores


def _rowids(conn: sqlite3.Connection, query: str) -> np.ndarray:
    # One string from SQLite and one parse in numpy: no Python object per matching row.
    (joined,) = conn.execute(
        "SELECT group_concat(rowid) FROM idx_fts WHERE idx_fts MATCH ?", (query,)
    ).fetchone()
    return np.fromstring(joined, dtype=np.int64, sep=",") if joined else np.empty(0, np.int64)


def _mask(conn: sqlite3.Connection, cols: Columns, query: str) -> np.ndarray:
    mask = np.zeros(cols.size, dtype=bool)
    mask[cols.positions(_rowids(conn, query))] = True
    return mask


def _count(conn: sqlite3.Connection, query: str) -> int:
    sql = "SELECT count(*) FROM idx_fts WHERE idx_fts MATCH ?"
    return conn.execute(sql, (query,)).fetchone()[0]


def _score(conn: sqlite3.Connection, cols: Columns, parsed: ParsedQuery, mask: np.ndarray,
           scores: np.ndarray) -> None:
    phrases = list(dict.fromkeys(p for group in parsed.groups for p in group))
    query = fts_query(parsed.groups)
    norm = K1 * (1 - B + B * cols.lengths / max(cols.lengths.mean(), 1.0))
    for phrase in phrases:
        found = int(mask.sum()) if len(phrases) == 1 else _count(conn, fts_phrase(phrase))
        common = found > COMMON_SHARE * cols.size
        if found == 0 or (common and found > COMMON_SCORED_UP_TO):
            continue
        idf = max(math.log((cols.size - found + 0.5) / (found + 0.5)), IDF_FLOOR)
        tf = _field_frequency(conn, cols, phrase, query)
        scores += idf * tf * (K1 + 1) / (tf + norm)


def _field_frequency(conn: sqlite3.Connection, cols: Columns, phrase: tuple[str, ...],
                     query: str) -> np.ndarray:
    """Per matching document, the summed boosts of the fields that contain the phrase.

    ANDed with the whole query, so FTS5 only walks the phrase where the query matched.
    """
    tf = np.zeros(cols.size, dtype=np.float64)
    for field, boost in TEXT_FIELDS.items():
        in_field = f"{field} : {fts_phrase(phrase)} AND ({query})"
        tf[cols.positions(_rowids(conn, in_field))] += boost
    return tf
