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

import numpy as np

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
    return _folded_tokens(fold(text))


def _folded_tokens(folded: str) -> list[str]:
    if folded.isascii():
        _bound(_WORD_TERMS)
        return list(map(_WORD_TERMS.__getitem__, _ASCII_TOKEN.findall(folded)))
    if not _CJK_RUN.search(folded):
        return [term(t) for t in TOKEN.findall(folded)]
    out: list[str] = []
    for token in TOKEN.findall(folded):
        out.extend(bigrams(token) if is_cjk(token) else [term(token)])
    return out


class Numbering(dict):
    """Distinct values numbered 0, 1, … in the order they are first met."""

    def __missing__(self, value) -> int:
        self[value] = number = len(self)
        return number


# The bytes an ASCII token may hold (upper case folded to lower); every other byte becomes a
# space, except NUL, which ``many_tokens`` puts between texts.
_RUN_BYTES = bytes(
    c + 32 if 65 <= c <= 90 else c if (48 <= c <= 57 or 97 <= c <= 122 or c in b".,'\0") else 32
    for c in range(256))
_SEPARATOR = b"\0"


class _RunTerms(dict):
    """A run of token bytes between spaces → its terms: a word ("toys" → "toy"), none ("..."),
    or several ("e.g." → "e", "g"). Tokens never hold another byte, so the runs of a text
    give exactly the tokens of the whole text."""

    def __missing__(self, run: bytes) -> tuple[str, ...]:
        self[run] = found = tuple(map(_WORD_TERMS.__getitem__, _ASCII_TOKEN.findall(run.decode())))
        return found


_RUN_TERMS = _RunTerms()


def _bound(memory: dict) -> None:
    """Empty a memory of words grown too large (codes and numbers make it grow without end)."""
    if len(memory) > _WORD_TERMS_MAX:
        memory.clear()


def many_tokens(texts: list[str]) -> tuple[list[str], np.ndarray, np.ndarray]:
    """``tokens`` of many texts at once, for an index write: the distinct terms, every text's
    terms as int32 indexes into them (one text after the other), and how many each text has.

    The texts are joined and split into runs at C speed, and each run is looked up once, so
    a word costs a dictionary look-up instead of a regular expression's match. A text that
    does not fold to ASCII (CJK, Cyrillic …) is analysed alone by ``tokens``."""
    terms = Numbering()
    if not texts:
        return [], np.zeros(0, np.int32), np.zeros(0, np.intp)
    own: dict[int, list[int]] = {}  # texts analysed alone: their term indexes
    if not all(map(str.isascii, texts)):
        texts = list(texts)
        for i, text in enumerate(texts):
            if not text.isascii():
                folded = fold(text)
                if folded.isascii():
                    texts[i] = folded
                else:
                    texts[i] = ""
                    own[i] = [terms[t] for t in _folded_tokens(folded)]
    joined = "\0".join(texts).encode("ascii")
    if joined.count(_SEPARATOR) != len(texts) - 1:  # a text holds NUL itself
        joined = b"\0".join(t.replace("\0", " ").encode("ascii") for t in texts)
    # NUL stays a run of its own: spaces around it after the translation.
    runs = joined.replace(_SEPARATOR, b" \0 ").translate(_RUN_BYTES).split()
    _bound(_RUN_TERMS)
    _bound(_WORD_TERMS)
    found = Numbering({_SEPARATOR: 0})
    at = np.fromiter(map(found.__getitem__, runs), np.intp, len(runs))
    each = [_RUN_TERMS[run] for run in found]
    each[0] = ()
    sizes = np.fromiter(map(len, each), np.intp, len(each))
    flat = np.fromiter((terms[t] for run in each for t in run), np.int32, int(sizes.sum()))
    counts = sizes[at]
    ends = np.cumsum(counts)
    if sizes[1:].min(initial=1) == 1 and sizes.max(initial=0) == 1:  # one term a run
        out = flat[at[at != 0] - 1]
    else:
        firsts = np.cumsum(sizes) - sizes
        out = flat[np.repeat(firsts[at] - (ends - counts), counts) + np.arange(ends[-1:].sum())]
    bounds = np.append(ends[at == 0], len(out))
    per_text = np.diff(bounds, prepend=0)
    if own:
        where = [int(bounds[i] - per_text[i]) for i in own]
        out = np.insert(out, np.repeat(where, [len(v) for v in own.values()]),
                        np.array([t for v in own.values() for t in v], np.int32))
        per_text[list(own)] = [len(v) for v in own.values()]
    return list(terms), out.astype(np.int32, copy=False), per_text
