"""Text analysis shared by the SQLite backend, highlighting and the Elasticsearch analyzer.

It mirrors Elasticsearch's standard tokenizer followed by ``cjk_width``, ``lowercase``,
``asciifolding`` and ``cjk_bigram``: words are folded for width, case and accents, and runs of
Chinese, Japanese or Korean characters become overlapping bigrams (a lone character stays a
unigram). Identical analysis on both sides is what lets one contract suite hold for both.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator

# Han, Hiragana, Katakana and Hangul: scripts written without spaces between words.
_CJK = (
    "\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uac00-\ud7af"
    "\u1100-\u11ff\u3130-\u318f\U00020000-\U0002fa1f"
)
# A token: a CJK run, a number with inner dots or commas (43.020, 8703.23), or a word.
TOKEN = re.compile(rf"[{_CJK}]+|\d+(?:[.,]\d+)+|[^\W_{_CJK}]+(?:['’][^\W_{_CJK}]+)*")
_CJK_RUN = re.compile(rf"[{_CJK}]+")
# TOKEN restricted to folded ASCII text (the common case), several times faster to run.
_ASCII_TOKEN = re.compile(r"\d+(?:[.,]\d+)+|[a-z0-9]+(?:'[a-z0-9]+)*")
# Letters that asciifolding maps to more than one character (or that NFKD does not decompose).
_SPECIAL_FOLDS = str.maketrans(
    {"ß": "ss", "æ": "ae", "œ": "oe", "ø": "o", "đ": "d", "ł": "l", "ı": "i", "þ": "th", "’": "'"}
)


def _combining_marks() -> dict[int, None]:
    # Built once: str.translate with this table strips accents at C speed.
    planes = (*range(0x0300, 0x2000), *range(0x2000, 0x3100), *range(0xA000, 0x10000),
              *range(0x10000, 0x1F000))
    return {cp: None for cp in planes if unicodedata.combining(chr(cp))}


_STRIP_MARKS = _combining_marks()


def fold(text: str) -> str:
    """Width, case and accent folding of a whole string."""
    if text.isascii():
        return text.lower()
    text = unicodedata.normalize("NFKC", text).lower().translate(_SPECIAL_FOLDS)
    stripped = unicodedata.normalize("NFD", text).translate(_STRIP_MARKS)
    return unicodedata.normalize("NFC", stripped)


def is_cjk(token: str) -> bool:
    return bool(_CJK_RUN.fullmatch(token))


def bigrams(run: str) -> list[str]:
    if len(run) == 1:
        return [run]
    return [run[i : i + 2] for i in range(len(run) - 1)]


def raw_tokens(text: str) -> Iterator[re.Match]:
    """Token matches in the folded text; CJK runs are left whole."""
    return TOKEN.finditer(fold(text))


def tokens(text: str) -> list[str]:
    """The indexed terms of a text, in order (CJK runs expanded into bigrams)."""
    folded = fold(text)
    if folded.isascii():
        return _ASCII_TOKEN.findall(folded)
    if not _CJK_RUN.search(folded):
        return TOKEN.findall(folded)
    out: list[str] = []
    for token in TOKEN.findall(folded):
        out.extend(bigrams(token) if is_cjk(token) else [token])
    return out


def index_text(text: str) -> str:
    """The text as the SQLite FTS5 table stores it: terms separated by single spaces."""
    return " ".join(tokens(text))
