"""Highlight snippets, computed the same way for every backend.

Terms are matched with the analysis the index uses, but marks are placed on the original text, so
a folded match (``electrique`` for ``Électrique``) or a CJK bigram shows in the reader's script.
Output is HTML: the text escaped, matches wrapped in ``<mark>``.
"""

from __future__ import annotations

import unicodedata

from markupsafe import escape

from search.analysis import TOKEN, fold, is_cjk, term

FRAGMENT_CHARS = 180
MAX_FRAGMENTS = 2


def spans(text: str, terms: set[str]) -> list[tuple[int, int]]:
    """Character ranges of ``text`` (NFC) that match any of the terms, merged and sorted."""
    found: list[tuple[int, int]] = []
    for m in TOKEN.finditer(text):
        token, start = m.group(), m.start()
        if is_cjk(token):
            found.extend(_cjk_spans(token, start, terms))
        elif term(fold(token)) in terms:
            found.append((start, m.end()))
    return _merge(found)


def _cjk_spans(run: str, start: int, terms: set[str]) -> list[tuple[int, int]]:
    if len(run) == 1:
        return [(start, start + 1)] if fold(run) in terms else []
    return [
        (start + i, start + i + 2) for i in range(len(run) - 1) if fold(run[i : i + 2]) in terms
    ]


def _merge(found: list[tuple[int, int]]) -> list[tuple[int, int]]:
    merged: list[tuple[int, int]] = []
    for start, end in sorted(found):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    return merged


def highlight(text: str, terms: set[str], max_fragments: int = MAX_FRAGMENTS) -> list[str]:
    """Up to ``max_fragments`` HTML fragments of ``text`` around the matches; [] if none."""
    if not text or not terms:
        return []
    text = unicodedata.normalize("NFC", text)
    marks = spans(text, terms)
    fragments: list[str] = []
    covered = -1
    for start, _ in marks:
        if start < covered or len(fragments) >= max_fragments:
            continue
        lo, hi = _window(text, start)
        fragments.append(_render(text, lo, hi, marks))
        covered = hi
    return fragments


def _window(text: str, start: int) -> tuple[int, int]:
    """A fragment around a match, cut at spaces where there are any nearby."""
    if len(text) <= FRAGMENT_CHARS:
        return 0, len(text)
    lo = max(0, start - FRAGMENT_CHARS // 3)
    hi = min(len(text), lo + FRAGMENT_CHARS)
    if lo > 0 and (space := text.find(" ", lo, start)) != -1:
        lo = space + 1
    if hi < len(text) and (space := text.rfind(" ", start, hi)) > start:
        hi = space
    return lo, hi


def _render(text: str, lo: int, hi: int, marks: list[tuple[int, int]]) -> str:
    out = ["…" if lo > 0 else ""]
    pos = lo
    for start, end in marks:
        if end <= lo or start >= hi:
            continue
        start, end = max(start, lo), min(end, hi)
        out += [str(escape(text[pos:start])), "<mark>", str(escape(text[start:end])), "</mark>"]
        pos = end
    out += [str(escape(text[pos:hi])), "…" if hi < len(text) else ""]
    return "".join(out)
