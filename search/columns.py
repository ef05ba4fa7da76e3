"""Compact in-memory columns of the SQLite index: filters, facet counts, sort and rank inputs.

Documents are addressed by their position in rowid order. Each document stores its keyword
values as a blob of int32 value codes (a code's low bits name its field; ``idx_values`` its
value), so loading every document's values is one concatenation, not a Python loop over values. A
keyword field, built when a request first uses it, is then two parallel arrays (document
position, value code) plus postings by value: a filter is a union of postings and a facet is one
``bincount`` over the entries of the matching documents.

The text fields are there too, for BM25 (``search.ranking``): each field's length, and, built
on the first text search, the postings of every term (``TermStream``): where it occurs, in
which document and field, so term and phrase frequencies are a few array operations.
"""

from __future__ import annotations

import ctypes
import gc
import sqlite3
import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import partial

import numpy as np

from search import threads
from search.fields import DATE_FIELDS, KEYWORD_FIELDS, TEXT_FIELDS

_MISSING_HIGH = np.int64(99_999_999)
# A keyword value's code holds its field's index in KEYWORD_FIELDS in these low bits.
FIELD_BITS = 5
if len(KEYWORD_FIELDS) > 1 << FIELD_BITS:
    raise RuntimeError("more keyword fields than FIELD_BITS can name: widen it")


@contextmanager
def collector_paused() -> Iterator[None]:
    """Loading the columns or the term postings makes a hundred thousand row tuples, none in
    a cycle: without the pause, each of the collections they set off walks every object of the
    process (4× the load's time in a process holding the records)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()
        _trim()


def _trim() -> None:
    """Give the C heap's free pages back: a load's row tuples and blobs, freed, would stay in
    the process's resident memory (about 100 MB at a million documents)."""
    if _LIBC is not None:
        _LIBC.malloc_trim(0)


try:
    _LIBC = ctypes.CDLL("libc.so.6")
    # Each serving thread would get a heap of its own, each keeping what its searches freed
    # (80 MB more per worker at a million documents): two heaps for all threads.
    _LIBC.mallopt(-8, 2)  # M_ARENA_MAX
except (OSError, AttributeError):
    _LIBC = None


def date_number(value: str | None) -> int | None:
    """'2026-06-02' → 20260602, so dates compare and sort as integers."""
    return int(value[:10].replace("-", "")) if value else None


@dataclass
class KeywordColumn:
    vocab: list[str]        # values in sorted order; a value's code is its index here
    codes: dict[str, int]
    value: np.ndarray       # value code of each entry, the entries in document order
    starts: np.ndarray      # int32: a document's entries are [starts[d]:starts[d + 1]]
    postings: np.ndarray    # document positions grouped by value code
    offsets: np.ndarray     # postings[offsets[c]:offsets[c + 1]] hold value code c

    @classmethod
    def build(cls, doc: np.ndarray, stored: np.ndarray, names: dict[int, str], size: int
              ) -> KeywordColumn:
        """From entries (ascending document positions, with stored database value codes) of
        ``size`` documents to a column with dense sorted codes."""
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
        starts = np.searchsorted(doc, np.arange(size + 1)).astype(np.int32)
        return cls(vocab, {v: i for i, v in enumerate(vocab)}, value, starts, doc[by_value],
                   offsets)

    def any_of(self, values: tuple[str, ...], size: int) -> np.ndarray:
        mask = np.zeros(size, dtype=bool)
        for v in values:
            mask[self.holding(v)] = True
        return mask

    def holding(self, value: str) -> np.ndarray:
        """The positions of the documents holding the value, ascending."""
        if (code := self.codes.get(value)) is None:
            return self.postings[:0]
        return self.postings[self.offsets[code] : self.offsets[code + 1]]

    def counts(self, mask: np.ndarray, limit: int) -> list[tuple[str, int]]:
        jobs, finish = self.counting(mask, limit)
        return finish([job() for job in jobs])

    def counting(self, mask: np.ndarray, limit: int) -> Counting:
        """The counts of the values in the masked documents as jobs (each the counts of a
        range of value codes, about ENTRIES_PER_JOB entries, which other threads may run) and
        what makes the answer of their results: most frequent first, equal counts in value
        order, so the answer is deterministic."""
        if not self.vocab:
            return [], lambda counted: []
        if np.count_nonzero(mask) * 8 > len(mask):
            # The mask read along each value's postings and summed per value (no selection:
            # picking a random half of the entries costs more than reading all; every value
            # of the column has postings).
            cuts = np.searchsorted(self.offsets, np.arange(
                0, len(self.postings), ENTRIES_PER_JOB)[1:], side="right") - 1
            bounds = np.unique(np.r_[0, cuts, len(self.vocab)]).tolist()
            jobs = [partial(self._along, mask, lo, hi)
                    for lo, hi in zip(bounds[:-1], bounds[1:], strict=True)]
        else:
            jobs = [partial(self._gathered, mask)]

        def finish(counted: list[np.ndarray]) -> list[tuple[str, int]]:
            total = np.concatenate(counted).astype(np.int64)
            nonzero = np.flatnonzero(total)
            order = nonzero[np.lexsort((nonzero, -total[nonzero]))][:limit]
            return [(self.vocab[c], int(total[c])) for c in order]
        return jobs, finish

    def _along(self, mask: np.ndarray, lo: int, hi: int) -> np.ndarray:
        """Entries of the value codes lo … hi - 1 in the masked documents."""
        begin = int(self.offsets[lo])
        return np.add.reduceat(mask[self.postings[begin : self.offsets[hi]]].view(np.uint8),
                               self.offsets[lo:hi] - begin, dtype=np.uint32)

    def _gathered(self, mask: np.ndarray) -> np.ndarray:
        """Entries of each value code in few masked documents: their runs of entries gathered
        directly."""
        docs = np.flatnonzero(mask)
        begin, lengths = self.starts[docs], (self.starts[docs + 1] - self.starts[docs])
        shift = np.repeat(begin - (np.cumsum(lengths) - lengths), lengths)
        entries = np.arange(int(lengths.sum()), dtype=np.int64) + shift
        return np.bincount(self.value[entries], minlength=len(self.vocab))


# A facet's counts are jobs of about this many of the column's entries each.
ENTRIES_PER_JOB = 1_000_000
Counting = tuple[list[Callable[[], np.ndarray]],
                 Callable[[list[np.ndarray]], list[tuple[str, int]]]]


@dataclass
class TermStream:
    """Postings of the analysed terms of every text field, as integer ids (``idx_terms``).

    For each term, in ascending order, where it occurs: its slot (the document's position *
    fields + the field's index) and its position in that field. A phrase is a run of
    consecutive positions in one slot. Both are kept in two bytes an occurrence: a slot's
    low 16 bits, with its high bits once for each run of occurrences that share them (a
    slot grows with the document, so a term's slots have at most one run per 21,845
    documents); a position, while every field is shorter than 65,000 terms (four bytes
    otherwise). At a million documents that is 90 million occurrences, 360 MB instead of 720
    in every serving process.
    """

    offsets: np.ndarray     # the postings of term id t are [offsets[t]:offsets[t + 1]]
    positions: np.ndarray   # uint16 (or uint32): the place in the field
    low: np.ndarray         # uint16: the slot's low 16 bits
    runs: np.ndarray        # int64: where each run of equal high bits begins
    highs: np.ndarray       # int32: the high bits of each run, shifted in place
    term_runs: np.ndarray   # the runs of term id t are [term_runs[t]:term_runs[t + 1]]

    @classmethod
    def build(cls, blobs: list[bytes], lengths: np.ndarray) -> TermStream:
        ids = np.frombuffer(b"".join(blobs), dtype=np.int32)
        flat = lengths.ravel()
        if len(ids) != flat.sum():
            raise ValueError("the stored term ids do not match the stored field lengths")
        # One sort of (term id, slot, position) keys orders the postings. Every array the
        # size of the keys is made a slice at a time or kept: at a million documents each
        # such array costs more to allocate (a second and more) than the sort, and a gather
        # in random order over one more than that.
        longest = int(flat.max()) if flat.size else 0
        wide = longest >= POSITION_LIMIT
        shift = max(1, longest.bit_length())  # a key's position bits: no more than needed
        slot_bits = max(1, int(flat.size).bit_length())
        terms = int(ids.max()) + 1 if len(ids) else 1
        if terms.bit_length() + slot_bits + shift > 63:
            raise ValueError("too many documents and terms for one segment's postings")
        keys = ids.astype(np.int64)
        keys <<= slot_bits + shift
        _add_slots_and_positions(keys, flat, shift)
        keys.sort()
        offsets = np.searchsorted(keys, np.arange(terms + 1, dtype=np.int64) << (
            slot_bits + shift))
        positions = np.empty(len(keys), dtype=np.uint32 if wide else np.uint16)
        low = np.empty(len(keys), dtype=np.uint16)
        new_run = np.empty(len(keys), dtype=bool)  # a new term or new high bits of its slot
        low_bits = min(LOW_BITS, slot_bits)
        run_shift = shift + low_bits  # what is above: the term id and the slot's high bits
        for start in range(0, len(keys), _STEP):
            stop, after = min(start + _STEP, len(keys)), max(start, 1)
            part = keys[start:stop]
            positions[start:stop] = part & ((1 << shift) - 1)
            low[start:stop] = (part >> shift) & ((1 << low_bits) - 1)
            new_run[after:stop] = (keys[after:stop] >> run_shift) != \
                (keys[after - 1 : stop - 1] >> run_shift)
        new_run[:1] = True
        runs = np.flatnonzero(new_run)
        highs = (keys[runs] >> shift) & ((1 << slot_bits) - 1) & ~((1 << low_bits) - 1)
        return cls(offsets, positions, low, runs, highs.astype(np.int32),
                   np.searchsorted(runs, offsets))

    @property
    def shift(self) -> int:
        """Bits a position takes in a (slot, position) key."""
        return 8 * self.positions.itemsize

    def postings(self, term_id: int) -> tuple[np.ndarray, np.ndarray]:
        """Positions and slots (int32) of a term's occurrences (none for an unknown id)."""
        if not 0 <= term_id < len(self.offsets) - 1:
            return self.positions[:0], self.low[:0].astype(np.int32)
        start, end = int(self.offsets[term_id]), int(self.offsets[term_id + 1])
        first, last = int(self.term_runs[term_id]), int(self.term_runs[term_id + 1])
        slots = self.low[start:end].astype(np.int32)
        if last - first == 1:  # most terms: one run, its high bits once
            slots |= self.highs[first]
        elif last > first:
            slots |= np.repeat(self.highs[first:last], np.diff(self.runs[first:last], append=end))
        return self.positions[start:end], slots

    def occurrences(self, term_id: int) -> int:
        if not 0 <= term_id < len(self.offsets) - 1:
            return 0
        return int(self.offsets[term_id + 1] - self.offsets[term_id])

    def slot_counts(self, term_id: int, lo: int = 0, hi: int | None = None
                    ) -> tuple[np.ndarray, np.ndarray]:
        """The distinct slots (int32, ascending) holding a term and its occurrences in each,
        found on the two-byte low bits: only the distinct slots are put together again.
        ``lo`` and ``hi`` take the term's occurrences [lo:hi] only (cut where a slot begins,
        ``slot_cut``)."""
        hi = self.occurrences(term_id) if hi is None else hi
        if hi <= lo:
            return np.zeros(0, np.int32), np.zeros(0, np.int64)
        start = int(self.offsets[term_id]) + lo
        low = self.low[start : start + hi - lo]
        runs, highs = self._runs(term_id, start, len(low))
        change = np.empty(len(low), dtype=bool)
        change[:1] = True
        np.not_equal(low[1:], low[:-1], out=change[1:])
        change[runs] = True  # the same low bits under other high bits: another slot
        first = np.flatnonzero(change)
        slots = low[first].astype(np.int32)
        if highs.any():  # each run begins a slot: its slots are those up to the next run's
            slots |= np.repeat(highs, np.diff(np.searchsorted(first, runs), append=len(first)))
        return slots, np.diff(first, append=len(low))

    def _runs(self, term_id: int, start: int, length: int) -> tuple[np.ndarray, np.ndarray]:
        """The runs of high bits over the occurrences [start:start + length] of a term: where
        each begins (from 0, the first at 0) and its high bits."""
        first, last = int(self.term_runs[term_id]), int(self.term_runs[term_id + 1])
        runs = self.runs[first:last] - start
        keep = slice(max(int(np.searchsorted(runs, 0, side="right")) - 1, 0),
                     int(np.searchsorted(runs, length)))
        runs = runs[keep].copy()
        runs[:1] = 0  # the run holding the first occurrence, begun earlier or there
        return runs, self.highs[first:last][keep]

    def slot_cut(self, term_id: int, at: int) -> int:
        """The first of the term's occurrences from ``at`` on that begins a slot (all of them
        when none does): occurrences cut there leave every slot's whole on one side."""
        total, start = self.occurrences(term_id), int(self.offsets[term_id])
        low = self.low[start : start + total]
        step = 1024
        while 0 < at < total:  # a slot holds a field's occurrences: seldom more than a step
            window = low[at - 1 : at + step]
            changed = np.flatnonzero(window[1:] != window[:-1])
            if len(changed):
                return at + int(changed[0])
            # Equal low bits can still be another slot where a run begins: a later cut is
            # as good.
            at, step = at + step, step * 4
        return min(max(at, 0), total)


# A term with this many occurrences in a segment or more is counted in two halves at once.
PARALLEL_OCCURRENCES = 400_000
# A slot's bits kept per occurrence (the rest once per run); fewer only in tests.
LOW_BITS = 16
# Fields this long or longer take four bytes a position (a phrase's position plus its offset
# must stay below 2 ** 16).
POSITION_LIMIT = 65_000


_STEP = 1 << 22


def _add_slots_and_positions(keys: np.ndarray, lengths: np.ndarray, shift: int) -> None:
    """``keys |= slot << shift | position in the field`` for every occurrence, the slots
    (fields of documents, ``lengths`` terms each) in order, about _STEP occurrences at a time."""
    first = np.zeros(len(lengths) + 1, dtype=np.int64)
    np.cumsum(lengths, out=first[1:])
    bounds = np.unique(np.r_[np.searchsorted(first, np.arange(0, first[-1], _STEP)),
                             len(lengths)])
    for begin, end in zip(bounds[:-1].tolist(), bounds[1:].tolist(), strict=True):
        counts = lengths[begin:end]
        slots = np.repeat(np.arange(begin, end, dtype=np.int64), counts)
        within = np.arange(len(slots), dtype=np.int64) - np.repeat(
            first[begin:end] - first[begin], counts)
        keys[first[begin] : first[end]] |= (slots << shift) | within


# Ties among more documents than this are broken with every id read once for the generation.
TIES_READ = 20_000
# A generation's columns reuse those of an earlier one (its rows, less those deleted since,
# plus the rows written since) while the rows written since stay below this share of the
# earlier rows (and this many), and the deleted below a quarter; past that, all are reloaded.
DELTA_SHARE = 8
DELTA_MIN = 20_000


@dataclass
class Segment:
    """The index rows with rowids in (``after``, ``last``] as one generation held them, in
    rowid order. Rowids only grow (a replaced document gets a new row), so a later generation
    holds these rows less the ones deleted since; what is read lazily (text, ids, titles) is
    read from the rows still there, a deleted row's place left empty."""

    after: int
    rowids: np.ndarray
    lengths: np.ndarray     # (documents, text fields) int32: analysed terms per field
    dates: dict[str, np.ndarray]
    _keywords: dict[str, KeywordColumn] = field(default_factory=dict)
    _text: TermStream | None = None
    _strings: dict[str, list[str]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def size(self) -> int:
        return len(self.rowids)

    @property
    def last(self) -> int:
        return int(self.rowids[-1]) if len(self.rowids) else self.after

    @classmethod
    def load(cls, conn: sqlite3.Connection, after: int = 0) -> Segment:
        """The rows after a rowid: dates and text lengths, one pass over ``idx_cols``."""
        rows = conn.execute("SELECT rowid, nums FROM idx_cols WHERE rowid > ? "
                            "ORDER BY rowid", (after,)).fetchall()
        rowids, nums = zip(*rows, strict=True) if rows else ((), ())
        numbers = np.frombuffer(b"".join(nums), dtype=np.int32).reshape(
            len(rows), len(TEXT_FIELDS) + len(DATE_FIELDS))
        return cls(
            after=after,
            rowids=np.array(rowids, dtype=np.int64),
            lengths=np.ascontiguousarray(numbers[:, : len(TEXT_FIELDS)]),
            dates={name: np.ascontiguousarray(numbers[:, len(TEXT_FIELDS) + i])
                   for i, name in enumerate(DATE_FIELDS)},
        )

    def keyword(self, conn: sqlite3.Connection, name: str) -> KeywordColumn:
        """A keyword field's column, built from the rows' value codes when first used (the
        codes of every field are not kept: 90 MB at a million documents). Value codes are
        never reused, so the names read at any later generation include these rows'."""
        if (column := self._keywords.get(name)) is None:
            self.build_keywords(conn, (name,))
            column = self._keywords[name]
        return column

    def build_keywords(self, conn: sqlite3.Connection, names: Iterable[str]) -> None:
        """Build the columns of these fields not built yet, from one read of the codes."""
        names = tuple(names)
        if all(n in self._keywords for n in names):  # most searches: nothing to build
            return
        with self._lock, collector_paused():
            missing = [n for n in dict.fromkeys(names) if n not in self._keywords]
            if not missing:
                return
            rows = conn.execute("SELECT rowid, kw FROM idx_cols WHERE rowid > ? AND "
                                "rowid <= ? ORDER BY rowid", (self.after, self.last)).fetchall()
            rowids, kw = zip(*rows, strict=True) if rows else ((), ())
            codes = np.frombuffer(b"".join(kw), dtype=np.int32)
            ends = np.cumsum(np.fromiter((len(b) // 4 for b in kw), np.int64, len(kw)))
            del rows, kw
            places, held = self._places(rowids)
            fields = codes & ((1 << FIELD_BITS) - 1)
            for name in missing:
                selected = np.flatnonzero(fields == KEYWORD_FIELDS.index(name))
                if held is not None:  # only rows of this segment
                    selected = selected[held[np.searchsorted(ends, selected, side="right")]]
                doc = places[np.searchsorted(ends, selected, side="right")]
                values = dict(conn.execute(
                    "SELECT code, value FROM idx_values WHERE field = ?", (name,)))
                self._keywords[name] = KeywordColumn.build(doc, codes[selected], values,
                                                           self.size)

    def _places(self, rowids: tuple[int, ...]) -> tuple[np.ndarray, np.ndarray | None]:
        """The positions of rows read back (all of them, in order, or fewer: rows deleted
        since), and which of the rows read are this segment's (None: all)."""
        if len(rowids) == self.size:
            return np.arange(self.size, dtype=np.int32), None
        read = np.array(rowids, dtype=np.int64)
        at = np.minimum(np.searchsorted(self.rowids, read), max(self.size - 1, 0))
        held = self.rowids[at] == read if self.size else np.zeros(len(read), dtype=bool)
        return at.astype(np.int32), held

    def text(self, conn: sqlite3.Connection) -> TermStream:
        """The term postings, built on the first text search: a search with filters only (a
        list page, a feed) does not wait for them."""
        with self._lock:
            if self._text is None:
                with collector_paused():
                    rows = conn.execute(
                        "SELECT rowid, terms FROM idx_text WHERE rowid > ? AND rowid <= ? "
                        "ORDER BY rowid", (self.after, self.last)).fetchall()
                    rowids, blobs = zip(*rows, strict=True) if rows else ((), ())
                    del rows
                    places, held = self._places(rowids)
                    lengths = self.lengths
                    if held is not None:  # rows deleted since: their places empty
                        blobs = [b for b, keep in zip(blobs, held.tolist(), strict=True) if keep]
                        lengths = np.zeros_like(lengths)
                        lengths[places[held]] = self.lengths[places[held]]
                    self._text = TermStream.build(list(blobs), lengths)
            return self._text

    def strings(self, conn: sqlite3.Connection, name: str) -> list[str]:
        """Every row's id or title_sort ("" for a row deleted since), read once."""
        if (values := self._strings.get(name)) is None:
            with self._lock:
                if (values := self._strings.get(name)) is None:
                    rows = conn.execute(
                        f"SELECT rowid, {name} FROM idx_cols WHERE rowid > ? AND rowid <= ? "
                        "ORDER BY rowid", (self.after, self.last)).fetchall()
                    places, held = self._places(tuple(r for r, _ in rows))
                    if held is None:
                        values = [v for _, v in rows]
                    else:  # rows deleted since: their places empty
                        values = [""] * self.size
                        for i, keep, (_, v) in zip(places.tolist(), held.tolist(), rows,
                                                   strict=True):
                            if keep:
                                values[i] = v
                    self._strings[name] = values
        return values


class TextView:
    """A generation's term postings: those of its segments one after the other (a segment's
    slots after the previous one's), and which documents are live. Statistics derived from
    them (``cache``) belong to the generation."""

    def __init__(self, parts: list[tuple[TermStream, int]], live: np.ndarray | None) -> None:
        self.parts = parts      # (postings, first slot)
        self.live = live        # per document, None when all are
        self.shift = max(stream.shift for stream, _ in parts)
        self.cache: dict = {}
        self.lock = threading.Lock()

    def postings(self, term_id: int) -> tuple[np.ndarray, np.ndarray]:
        found = [(p, s, first) for stream, first in self.parts
                 for p, s in [stream.postings(term_id)] if len(p)]
        if len(found) == 1 and found[0][2] == 0:
            return found[0][0], found[0][1]
        if not found:
            return self.parts[0][0].postings(-1)
        return (np.concatenate([p for p, _, _ in found]),
                np.concatenate([s + first for _, s, first in found]))

    def slot_counts(self, term_id: int) -> tuple[np.ndarray, np.ndarray]:
        """The distinct slots holding a term, ascending, and its occurrences in each; a
        segment's share of a common term's occurrences counted in two halves at once."""
        pieces = []
        for stream, first in self.parts:
            total = stream.occurrences(term_id)
            cut = stream.slot_cut(term_id, total // 2) if total >= PARALLEL_OCCURRENCES else 0
            pieces += [(stream, first, lo, hi) for lo, hi in ((0, cut), (cut, total)) if hi > lo]
        found = threads.each(
            lambda piece: piece[0].slot_counts(term_id, piece[2], piece[3]), pieces)
        if len(found) == 1 and pieces[0][1] == 0:
            return found[0]
        if not found:
            return self.parts[0][0].slot_counts(-1)
        return (np.concatenate([slots + p[1] for (slots, _), p in zip(found, pieces, strict=True)]),
                np.concatenate([counts for _, counts in found]))


@dataclass
class Columns:
    """One generation of the index as the searches read it: the segments' columns side by
    side (document positions run on from one segment to the next), with the documents
    deleted since the first segment was loaded out of every answer (``live``)."""

    generation: str
    segments: list[Segment]
    base_generation: str    # the generation the first segment was loaded at
    dead: np.ndarray | None = None  # positions of first-segment rows deleted since
    _keywords: dict[str, KeywordColumn | JoinedKeyword] = field(default_factory=dict)
    _text: TextView | None = None
    _strings: dict[str, list[str]] = field(default_factory=dict)
    _title_rank: np.ndarray | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        segments = self.segments
        self.starts = np.cumsum([0] + [s.size for s in segments])
        self.size = int(self.starts[-1])
        if len(segments) == 1:
            self.rowids, self.lengths, self.dates = (
                segments[0].rowids, segments[0].lengths, segments[0].dates)
        else:
            self.rowids = np.concatenate([s.rowids for s in segments])
            self.lengths = np.concatenate([s.lengths for s in segments])
            self.dates = {name: np.concatenate([s.dates[name] for s in segments])
                          for name in DATE_FIELDS}
        self.live = None
        if self.dead is not None and len(self.dead):
            self.live = np.ones(self.size, dtype=bool)
            self.live[self.dead] = False
            # A deleted document has no text: BM25's field statistics leave it out.
            self.lengths = self.lengths.copy() if len(segments) == 1 else self.lengths
            self.lengths[self.dead] = 0

    @classmethod
    def load(cls, conn: sqlite3.Connection, generation: str) -> Columns:
        """Every row, read in one pass (``conn`` in a read transaction of ``generation``)."""
        return cls(generation, [Segment.load(conn)], generation)

    def advance(self, conn: sqlite3.Connection, generation: str) -> Columns | None:
        """The columns of a later generation made from these: their first segment less the
        rows deleted since, plus the rows written since; None when the index's log of
        deletions does not reach back to that segment, or when so much changed that loading
        everything again is the better choice."""
        base = self.segments[0]
        meta = dict(conn.execute("SELECT key, value FROM idx_meta WHERE key IN "
                                 "('gone_since', 'logged_through')"))
        if (int(generation) < int(self.base_generation)
                or int(meta.get("gone_since", generation)) > int(self.base_generation)
                or meta.get("logged_through") != generation):  # a write that logged nothing
            return None
        gone = np.array([r for (r,) in conn.execute(
            "SELECT rowid FROM idx_gone WHERE generation > ? AND rowid <= ?",
            (int(self.base_generation), base.last))], dtype=np.int64)
        if len(gone) * 4 > base.size:
            return None
        limit = max(DELTA_MIN, base.size // DELTA_SHARE)
        (count,) = conn.execute("SELECT COUNT(*) FROM idx_cols WHERE rowid > ?",
                                (base.last,)).fetchone()
        if count > limit:
            return None
        segments = [base]
        if count:
            segments.append(Segment.load(conn, after=base.last))
        dead = np.searchsorted(base.rowids, gone)
        return Columns(generation, segments, self.base_generation,
                       dead[base.rowids[np.minimum(dead, base.size - 1)] == gone])

    def prepare(self, conn: sqlite3.Connection, names: Iterable[str]) -> None:
        """Build the keyword columns a search will use, each segment reading its codes once."""
        for segment in self.segments:
            segment.build_keywords(conn, names)

    def keyword(self, conn: sqlite3.Connection, name: str) -> KeywordColumn | JoinedKeyword:
        if (column := self._keywords.get(name)) is None:
            parts = [s.keyword(conn, name) for s in self.segments]
            column = parts[0] if len(parts) == 1 else JoinedKeyword(
                list(zip(parts, self.starts[:-1].tolist(), strict=True)))
            self._keywords[name] = column
        return column

    def text(self, conn: sqlite3.Connection) -> TextView:
        """The term postings of the generation (each segment's built on its first text
        search). ``conn`` must be in the read transaction these columns were made for."""
        if self._text is None:
            parts = [(segment.text(conn), start * len(TEXT_FIELDS))
                     for segment, start in zip(self.segments, self.starts.tolist(), strict=False)]
            with self._lock:
                if self._text is None:
                    self._text = TextView(parts, self.live)
        return self._text

    def live_mask(self) -> np.ndarray:
        """A fresh mask of the documents this generation holds."""
        return np.ones(self.size, dtype=bool) if self.live is None else self.live.copy()

    def any_of(self, conn: sqlite3.Connection, name: str, values: tuple[str, ...]
               ) -> np.ndarray:
        return self.keyword(conn, name).any_of(values, self.size)

    def holding(self, conn: sqlite3.Connection, name: str, value: str) -> np.ndarray:
        """The documents holding a field's value (positions, ascending; the deleted among
        them too: their scores are never read)."""
        return self.keyword(conn, name).holding(value)

    def within(self, name: str, low: int | None, high: int | None) -> np.ndarray:
        column = self.dates[name]
        mask = column > 0
        if low is not None:
            mask &= column >= low
        if high is not None:
            mask &= column <= high
        return mask

    def sort_key(self, conn: sqlite3.Connection, sort: str, candidates: np.ndarray
                 ) -> np.ndarray:
        """Ascending key for a sort name; documents without the value come last either way."""
        name, descending = sort.lstrip("-"), sort.startswith("-")
        if name == "title":
            key = self.title_rank(conn)[candidates]
            return -key if descending else key
        column = self.dates[name][candidates]
        missing = column == 0
        key = -column if descending else column.copy()
        key[missing] = _MISSING_HIGH
        return key

    def strings(self, conn: sqlite3.Connection, name: str) -> list[str]:
        """Every document's id or title_sort."""
        if (values := self._strings.get(name)) is None:
            parts = [s.strings(conn, name) for s in self.segments]
            values = parts[0] if len(parts) == 1 else [v for part in parts for v in part]
            self._strings[name] = values
        return values

    def title_rank(self, conn: sqlite3.Connection) -> np.ndarray:
        if self._title_rank is None:
            ranks = _ranks(self.strings(conn, "title_sort"))
            with self._lock:
                self._title_rank = ranks
        return self._title_rank

    def top(self, conn: sqlite3.Connection, keys: list[np.ndarray], candidates: np.ndarray,
            k: int) -> np.ndarray:
        """Indices (into ``candidates``) of the k first by the keys (first key first), equal
        keys by id: the ids are compared only within runs of equal keys among the first k."""
        while len(keys) > 1 and len(keys[0]) and keys[0].min() == keys[0].max():
            keys = keys[1:]  # a key that is equal everywhere orders nothing
        primary = keys[0]
        if k < len(primary):
            kth = np.partition(primary, k - 1)[k - 1]
            idx = np.flatnonzero(primary <= kth)
        else:
            idx = np.arange(len(primary))
        idx = idx[np.lexsort([key[idx] for key in reversed(keys)])]
        sorted_keys = np.stack([key[idx] for key in keys])
        starts = np.flatnonzero(np.r_[True, (sorted_keys[:, 1:] != sorted_keys[:, :-1]).any(0)])
        ends = np.r_[starts[1:], len(idx)]
        for start, end in zip(starts, ends, strict=True):
            if start >= k:
                break
            if end - start > 1:
                ids = self.ids_at(conn, candidates[idx[start:end]])
                idx[start:end] = idx[start:end][np.argsort(np.array(ids, dtype=object),
                                                           kind="stable")]
        return idx[:k]

    def ids_at(self, conn: sqlite3.Connection, positions: np.ndarray) -> list[str]:
        """The ids of documents (live ones), read by rowid: every id of a million documents
        would take 60 MB of strings in each process, for the few that break ties."""
        if len(positions) > TIES_READ:
            ids = self.strings(conn, "id")
            return [ids[p] for p in positions.tolist()]
        rowids = self.rowids[positions].tolist()
        found: dict[int, str] = {}
        for start in range(0, len(rowids), 500):
            chunk = rowids[start : start + 500]
            found.update(conn.execute(
                f"SELECT rowid, id FROM idx_cols WHERE rowid IN ({', '.join('?' * len(chunk))})",
                chunk))
        return [found[r] for r in rowids]


class JoinedKeyword:
    """A keyword field over several segments: each segment's column at its first position."""

    def __init__(self, parts: list[tuple[KeywordColumn, int]]) -> None:
        self.parts = parts

    def any_of(self, values: tuple[str, ...], size: int) -> np.ndarray:
        mask = np.zeros(size, dtype=bool)
        for v in values:
            mask[self.holding(v)] = True
        return mask

    def holding(self, value: str) -> np.ndarray:
        return np.concatenate([column.holding(value) + start for column, start in self.parts])

    def counts(self, mask: np.ndarray, limit: int) -> list[tuple[str, int]]:
        jobs, finish = self.counting(mask, limit)
        return finish([job() for job in jobs])

    def counting(self, mask: np.ndarray, limit: int) -> Counting:
        """Each segment's jobs (``KeywordColumn.counting``), their counts summed by value."""
        ends = [start for _, start in self.parts[1:]] + [len(mask)]
        plans = [column.counting(mask[start:end], len(column.vocab))
                 for (column, start), end in zip(self.parts, ends, strict=True)]

        def finish(counted: list[np.ndarray]) -> list[tuple[str, int]]:
            total: dict[str, int] = {}
            for jobs, finish_part in plans:
                for value, n in finish_part(counted[: len(jobs)]):
                    total[value] = total.get(value, 0) + n
                counted = counted[len(jobs):]
            # As one column orders them: most frequent first, equal counts in value order.
            return sorted(total.items(), key=lambda item: (-item[1], item[0]))[:limit]
        return [job for jobs, _ in plans for job in jobs], finish


def _ranks(values: list[str]) -> np.ndarray:
    order = sorted(range(len(values)), key=values.__getitem__)
    ranks = np.empty(len(values), dtype=np.int64)
    ranks[order] = np.arange(len(values), dtype=np.int64)
    return ranks
