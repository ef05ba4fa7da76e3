"""Text analysis shared by the SQLite backend, highlighting and the Elasticsearch analyzer.

It mirrors Elasticsearch's standard tokenizer followed by ``cjk_width``, ``lowercase``,
``asciifolding``, ``english_possessive``, the ``minimal_english`` stemmer and ``cjk_bigram``:
words are folded for width, case and accents, English possessives and plurals are reduced
("vehicles" → "vehicle", "batteries" → "battery"), and runs of Chinese, Japanese or Korean
characters become overlapping bigrams (a lone character stays a unigram). The terms are made
here for both backends (Elasticsearch receives them already analysed), which is what lets one
contract suite hold for both.
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


def stem(word: str) -> str:
    """English plural → singular, as Lucene's EnglishMinimalStemmer (S-stemmer) does it:
    "vehicles" → "vehicle", "batteries" → "battery", "toys" → "toy"; "glass", "bus", "shoes",
    "series" and words of less than three letters stay as they are."""
    n = len(word)
    if n < 3 or word[-1] != "s" or word[-2] in "us":
        return word
    if word[-2] == "e":
        if n > 3 and word[-3] == "i" and word[-4] not in "ae":
            return word[:-3] + "y"
        if word[-3] in "iaoe":
            return word
    return word[:-1]


def term(token: str) -> str:
    """The indexed term of a word token (a CJK run is split by ``bigrams`` instead): the
    possessive and the plural go ("children's" → "children", "vehicles" → "vehicle")."""
    if token[-1:] != "s" or token[0].isdigit():
        return token
    return token[:-2] if token.endswith("'s") else stem(token)


def raw_tokens(text: str) -> Iterator[re.Match]:
    """Token matches in the folded text; CJK runs are left whole."""
    return TOKEN.finditer(fold(text))


class _WordTerms(dict):
    """Folded ASCII word → its term. An index write meets millions of words but a few tens of
    thousands of distinct ones: each is analysed once, and a text's words go to their terms
    through ``map`` (no Python frame per word)."""

    def __missing__(self, word: str) -> str:
        self[word] = found = term(word)
        return found


_WORD_TERMS = _WordTerms()
_WORD_TERMS_MAX = 500_000  # numbers and codes make the words of a corpus grow without end


def tokens(text: str) -> list[str]:
    """The indexed terms of a text, in order (CJK runs expanded into bigrams)."""
    folded = fold(text)
    if folded.isascii():
        if len(_WORD_TERMS) > _WORD_TERMS_MAX:
            _WORD_TERMS.clear()
        return list(map(_WORD_TERMS.__getitem__, _ASCII_TOKEN.findall(folded)))
    if not _CJK_RUN.search(folded):
        return [term(t) for t in TOKEN.findall(folded)]
    out: list[str] = []
    for token in TOKEN.findall(folded):
        out.extend(bigrams(token) if is_cjk(token) else [term(token)])
    return out
