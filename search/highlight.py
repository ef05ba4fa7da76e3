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


# Word token → its term ("" for a CJK run): a page of hits repeats the same words, and this
# runs for every word of every hit's text.
_TERMS: dict[str, str] = {}
_TERMS_KEPT = 200_000


def spans(text: str, terms: set[str]) -> list[tuple[int, int]]:
    """Character ranges of ``text`` (NFC) that match any of the terms, merged and sorted."""
    if text.isascii() and not _may_hold(text.lower(), terms):
        return []
    found: list[tuple[int, int]] = []
    for m in TOKEN.finditer(text):
        token = m.group()
        if (analysed := _TERMS.get(token)) is None:
            if len(_TERMS) >= _TERMS_KEPT:
                _TERMS.clear()
            analysed = _TERMS[token] = "" if is_cjk(token) else term(fold(token))
        if analysed in terms:
            found.append((m.start(), m.end()))
        elif not analysed:
            found.extend(_cjk_spans(token, m.start(), terms))
    return _merge(found)


def _may_hold(lowered: str, terms: set[str]) -> bool:
    """Whether an ASCII text can hold one of the terms: a word whose term is t holds t
    without its last letter ("batteries" → "battery", "children's" → "children")."""
    return any((t[:-1] or t) in lowered for t in terms)


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
