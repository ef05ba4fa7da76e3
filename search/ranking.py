"""Text matching and relevance for the SQLite backend: Elasticsearch's scores, to the bit.

The term postings decide which documents match (phrases, AND, OR, exclusions). The scores are
those the Elasticsearch query of ``search.es_backend`` gives, so both backends list the same
records in the same order:

- a phrase is a ``multi_match`` of type ``phrase`` over the text fields with their boosts: the
  best of its per-field scores (a dis_max without tie breaker), not their sum;
- the phrases of an OR group are summed (bool ``should``), and so are the groups (``must``);
- each per-field score is BM25 as Elasticsearch configures Lucene (``LegacyBM25Similarity``:
  k1 1.2, b 0.75 and (k1 + 1) in the weight) with that field's statistics: the documents that
  have the field, their average length, the documents holding each term in it; a phrase's idf is
  the sum of its terms' idfs and its frequency the number of times it occurs in the field;
- a field's length is rounded as Lucene stores it (one byte, ``SmallFloat.intToByte4``: exact
  below 40 terms, then coarser), and the arithmetic is float32 in Lucene's order, so equal
  scores are equal on both backends and ties are broken alike (newest first, then id).

Frequencies and the documents holding a term come from the term postings of the in-memory
columns (``search.columns.TextView``), so a search costs in proportion to the occurrences of
its terms; the statistics of each term and the field lengths' norms are kept for the generation.
"""

from __future__ import annotations

import math
import sqlite3

import numpy as np

from search import threads
from search.columns import Columns, TextView
from search.fields import KIND_WEIGHTS, TEXT_FIELDS
from search.query import ParsedQuery

F32 = np.float32
K1, B = F32(1.2), F32(0.75)
BOOSTS = [F32(boost) for boost in TEXT_FIELDS.values()]
CACHED_TERMS = 50_000
# A phrase in this many slots or more is scored in two halves at once.
PARALLEL_SLOTS = 200_000
CACHED_BYTES = 64 << 20  # phrase scores kept per generation, the least recently used dropped


def match(conn: sqlite3.Connection, cols: Columns, parsed: ParsedQuery
          ) -> tuple[np.ndarray, np.ndarray]:
    """Documents matching the text (all when there is none), and their relevance scores.

    A phrase matches where its terms follow each other in one field; a group matches where
    any of its phrases does; a document must match every group and no excluded phrase."""
    scores = np.zeros(cols.size, dtype=F32)
    mask = cols.live_mask()
    if not parsed.groups and not parsed.excluded:
        return mask, scores
    text = cols.text(conn)
    for group in parsed.groups:
        found = np.zeros(cols.size, dtype=bool)
        for phrase in group:
            found[_phrase(conn, cols, text, phrase)[0]] = True
        mask &= found
    if parsed.groups and mask.any():
        scores = _scores(conn, cols, text, parsed.groups)
        for kind, weight in KIND_WEIGHTS.items():
            scores[cols.holding(conn, "kind", kind)] *= F32(weight)
    for phrase in parsed.excluded:
        mask[_phrase(conn, cols, text, phrase)[0]] = False
    return mask, scores


# --- scores ------------------------------------------------------------------------------------

def _scores(conn: sqlite3.Connection, cols: Columns, text: TextView,
            groups: tuple[tuple[tuple[str, ...], ...], ...]) -> np.ndarray:
    """Lucene sums the clauses of a bool query in double precision and returns a float."""
    if len(groups) == 1 and len(groups[0]) == 1:  # one phrase: its scores, as they are
        return _phrase_scores(conn, cols, text, groups[0][0])
    phrases = {p: _phrase_scores(conn, cols, text, p) for g in groups for p in g}
    total = np.zeros(cols.size, dtype=np.float64)
    for group in groups:
        total += sum((phrases[p].astype(np.float64) for p in group), start=0.0).astype(F32)
    return total.astype(F32)


def _phrase_scores(conn: sqlite3.Connection, cols: Columns, text: TextView,
                   phrase: tuple[str, ...]) -> np.ndarray:
    """Per document, the best of the phrase's per-field BM25 scores (0 where it is absent).

    They depend on the generation only, so they are kept: a common word's, asked again, costs
    one scatter instead of a pass over its hundreds of thousands of occurrences."""
    docs, found = _phrase(conn, cols, text, phrase)
    best = np.zeros(cols.size, dtype=F32)
    best[docs] = found
    return best


def _phrase(conn: sqlite3.Connection, cols: Columns, text: TextView,
            phrase: tuple[str, ...]) -> tuple[np.ndarray, np.ndarray]:
    """The documents holding the phrase (ascending) and its best per-field score in each."""
    cache = text.cache.setdefault("phrases", {})
    with text.lock:
        found = cache.pop(phrase, None)
        if found is not None:
            cache[phrase] = found  # the most recently used last
            return found
    docs, scores = _best_fields(conn, cols, text, phrase)
    found = (docs.astype(np.int32), scores)
    with text.lock:
        if phrase not in cache:
            cache[phrase] = found
            kept = text.cache.get("phrase_bytes", 0) + found[0].nbytes + found[1].nbytes
            while kept > CACHED_BYTES and len(cache) > 1:  # the least recently used first
                old = cache.pop(next(iter(cache)))
                kept -= old[0].nbytes + old[1].nbytes
            text.cache["phrase_bytes"] = kept
    return found


def _best_fields(conn: sqlite3.Connection, cols: Columns, text: TextView,
                 phrase: tuple[str, ...]) -> tuple[np.ndarray, np.ndarray]:
    """The documents holding the phrase, and the best of its per-field scores in each; a
    common phrase's documents in two halves at once."""
    term_ids = [_term_id(conn, text, t) for t in phrase]
    slots, freqs = _frequencies(text, term_ids)
    pieces = _pieces(slots)
    split = threads.each(lambda piece: np.divmod(slots[piece], len(BOOSTS)), pieces)
    # A one-word phrase's slots are its term's: counted once for both.
    stats = [_term_stats(text, t, split if len(phrase) == 1 else None) for t in term_ids]
    slot_inverse, counts = _field_stats(cols, text)
    weights = np.array([boost * (F32(1) + K1) * _idf(counts[f], [df[f] for df in stats])
                        for f, boost in enumerate(BOOSTS)], dtype=F32)

    def best_of(i: int) -> tuple[np.ndarray, np.ndarray]:
        docs, fields = split[i]
        weight = weights[fields]
        score = weight - weight / (F32(1) + freqs[pieces[i]].astype(F32) *
                                   slot_inverse[slots[pieces[i]]])
        return _best(docs, score)

    found = threads.each(best_of, range(len(pieces)))
    if len(found) == 1:
        return found[0]
    return np.concatenate([d for d, _ in found]), np.concatenate([b for _, b in found])


def _pieces(slots: np.ndarray) -> list[slice]:
    """The slots in one piece, or in two cut between documents when there are many."""
    if len(slots) < PARALLEL_SLOTS:
        return [slice(None)]
    width = len(BOOSTS)
    cut = int(np.searchsorted(slots, (int(slots[len(slots) // 2]) // width + 1) * width))
    return [slice(0, cut), slice(cut, None)] if cut < len(slots) else [slice(None)]


def _best(docs: np.ndarray, score: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each document once, with the best of its slots' scores. The slots are sorted, so each
    document's fields are neighbours: the best of each run (at most one slot a field), taken
    from its last slot backwards."""
    if not len(docs):
        return docs, score
    first = _starts(docs)
    last = np.append(first[1:], len(docs)) - 1
    best, runs = score[last], last - first
    for back in range(1, len(BOOSTS)):
        longer = np.flatnonzero(runs >= back)
        best[longer] = np.maximum(best[longer], score[last[longer] - back])
    return docs[first], best


def _frequencies(text: TextView, term_ids: list[int]) -> tuple[np.ndarray, np.ndarray]:
    """The (document, field) slots holding the phrase, ascending, and how often each does."""
    if len(term_ids) == 1:
        return text.slot_counts(term_ids[0])
    positions, slots = text.postings(term_ids[0])
    keys = _keys(text, positions, slots)
    for offset, term_id in enumerate(term_ids[1:], start=1):
        following = _keys(text, *text.postings(term_id))
        if not len(following) or not len(keys):
            return slots[:0], slots[:0]
        at = np.minimum(np.searchsorted(following, keys + offset), len(following) - 1)
        found = following[at] == keys + offset
        keys, slots = keys[found], slots[found]
    return _runs(slots)


def _keys(text: TextView, positions: np.ndarray, slots: np.ndarray) -> np.ndarray:
    """(slot, position) as one ascending integer: a phrase's next term is at key + 1."""
    keys = slots.astype(np.int64)
    keys <<= text.shift
    keys |= positions
    return keys


def _runs(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The distinct values of a sorted array and how many times each occurs."""
    first = _starts(values)
    return values[first], np.diff(first, append=len(values))


def _starts(values: np.ndarray) -> np.ndarray:
    """Where each run of equal values of a sorted array begins."""
    change = np.empty(len(values), dtype=bool)
    change[:1] = True
    np.not_equal(values[1:], values[:-1], out=change[1:])
    return np.flatnonzero(change)


def _idf(count: int, doc_freqs: list[int]) -> np.float32:
    """Lucene's idf, per term in float32; a phrase's is their sum in double, as a float."""
    if not count or not all(doc_freqs):
        return F32(0)  # the phrase is in no document's field: nothing to weigh
    return F32(sum(float(F32(math.log(1 + (count - n + 0.5) / (n + 0.5)))) for n in doc_freqs))


def _term_id(conn: sqlite3.Connection, text: TextView, term: str) -> int:
    """A term's id, -1 when no document holds it."""
    cache = text.cache.setdefault("ids", {})
    if (term_id := cache.get(term)) is None:
        row = conn.execute("SELECT id FROM idx_terms WHERE term = ?", (term,)).fetchone()
        term_id = row[0] if row else -1
        if len(cache) >= CACHED_TERMS:
            cache.clear()
        cache[term] = term_id
    return term_id


def _term_stats(text: TextView, term_id: int,
                split: list[tuple[np.ndarray, np.ndarray]] | None) -> np.ndarray:
    """The number of documents holding the term in each field; ``split``, when given, are
    the distinct slots of its postings as (documents, fields), in pieces, already counted."""
    cache = text.cache.setdefault("terms", {})
    if (stats := cache.get(term_id)) is None:
        split = split or [np.divmod(_runs(text.postings(term_id)[1])[0], len(BOOSTS))]
        stats = np.zeros(len(BOOSTS), dtype=np.int64)
        for docs, fields in split:
            if text.live is not None:  # documents deleted since the columns were loaded
                fields = fields[text.live[docs]]
            # Counted field by field: faster than a bincount over a million small values.
            stats += [np.count_nonzero(fields == f) for f in range(len(BOOSTS))]
        if len(cache) >= CACHED_TERMS:
            cache.clear()
        cache[term_id] = stats
    return stats


# --- field lengths, as Lucene stores and reads them ---------------------------------------------

def _int4(value: int) -> int:
    """SmallFloat.longToInt4: a 4-bit mantissa with its shift."""
    bits = value.bit_length()
    if bits < 4:
        return value
    shift = bits - 4
    return ((value >> shift) & 0x07) | ((shift + 1) << 3)


def _from_int4(code: int) -> int:
    bits, shift = code & 0x07, (code >> 3) - 1
    return bits if shift == -1 else (bits | 0x08) << shift


_FREE = 255 - _int4(2**31 - 1)  # lengths below this are stored exactly (24)
# The length each of the 256 norm bytes stands for (SmallFloat.byte4ToInt), ascending.
LENGTH_TABLE = np.array([b if b < _FREE else _FREE + _from_int4(b - _FREE) for b in range(256)],
                        dtype=np.int64)


def norm_bytes(lengths: np.ndarray) -> np.ndarray:
    """SmallFloat.intToByte4 of each length: the largest stored length not above it (looked
    up in a table for the lengths of nearly every field: a search per length costs 70 ms at
    a million documents, once per generation)."""
    if lengths.size and int(lengths.max()) >= len(_SHORT_NORMS):
        return (np.searchsorted(LENGTH_TABLE, lengths, side="right") - 1).astype(np.uint8)
    return _SHORT_NORMS[lengths]


_SHORT_NORMS = (np.searchsorted(LENGTH_TABLE, np.arange(1 << 12), side="right") - 1
                ).astype(np.uint8)


def _field_stats(cols: Columns, text: TextView) -> tuple[np.ndarray, list[int]]:
    """Per slot, the inverse of BM25's length normalisation for its field's length, as
    Lucene caches it per norm byte (in float32, in its order); per field, the number of
    documents that have the field (Lucene's docCount: at least one term in it)."""
    if (cached := text.cache.get("fields")) is None:
        lengths = cols.lengths
        norm_inverse, counts = [], []
        for f in range(lengths.shape[1]):
            counts.append(count := int((lengths[:, f] > 0).sum()))
            average = F32(int(lengths[:, f].sum()) / count) if count else F32(1)
            table = B * LENGTH_TABLE.astype(F32) / average
            norm_inverse.append(F32(1) / (K1 * ((F32(1) - B) + table)))
        norms = norm_bytes(lengths)
        inverse = np.empty(lengths.shape, dtype=F32)  # a slot's, in slot order
        for f, table in enumerate(norm_inverse):
            inverse[:, f] = table[norms[:, f]]
        cached = (inverse.ravel(), counts)
        text.cache["fields"] = cached
    return cached
