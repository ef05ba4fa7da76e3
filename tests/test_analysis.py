"""Text analysis: folding, tokens, CJK bigrams (the terms both backends index)."""

import random
import string

import pytest

from search.analysis import _ASCII_TOKEN, TOKEN, TermCoder, bigrams, fold, stem, tokens


@pytest.mark.parametrize(("text", "expected"), [
    ("Équipements ÉLECTRIQUES", ["equipement", "electrique"]),  # a final s goes, any language
    ("Straße", ["strasse"]),
    ("ＵＳＢ Ｃｈａｒｇｅｒ", ["usb", "charger"]),          # full width → ASCII
    ("children’s toys", ["children", "toy"]),           # the possessive goes with the plural
    ("ICS 43.020; HS 8703.23, 1,000 units", ["ic", "43.020", "hs", "8703.23", "1,000", "unit"]),
    ("G/TBT/N/EU/1033/Add.1", ["g", "tbt", "n", "eu", "1033", "add", "1"]),
    ("锂电池充电器", ["锂电", "电池", "池充", "充电", "电器"]),
    ("USB充电器 and 锂", ["usb", "充电", "电器", "and", "锂"]),  # a lone CJK character stays
    ("", []),
])
def test_tokens(text, expected):
    assert tokens(text) == expected


@pytest.mark.parametrize(("word", "stemmed"), [
    ("vehicles", "vehicle"), ("batteries", "battery"), ("toys", "toy"), ("devices", "device"),
    ("glass", "glass"), ("bus", "bus"), ("shoes", "shoes"), ("does", "does"), ("series", "sery"),
    ("is", "is"), ("vehicle", "vehicle"),
])
def test_plurals_as_lucene_minimal_english_stems_them(word, stemmed):
    """The same reduction as Elasticsearch's minimal_english stemmer (EnglishMinimalStemmer)."""
    assert stem(word) == stemmed


def test_bigrams():
    assert bigrams("电池") == ["电池"] and bigrams("池") == ["池"]
    assert tokens("Lithium 电池组") == ["lithium", "电池", "池组"]


class _Numbering(dict):
    def __missing__(self, term):
        self[term] = code = len(self) + 1
        return code


@pytest.mark.parametrize("text", [
    "Children's toys and VEHICLES: batteries, glass, buses",
    "Lithium 电池组 for e-bikes (43.040.10); Électrique, Straße",
    "", "   ", "8507.60 lithium-ion batteries' packs",
])
def test_term_ids_are_the_tokens_numbered(text):
    """The index stores a text as term ids: decoded, they are exactly its analysed terms, and
    a word met again (any case, plural or possessive) gets its term's id."""
    ids = _Numbering()
    coder = TermCoder(ids)
    first, again = coder(text), coder(text.upper())
    names = {code: t for t, code in ids.items()}
    assert [names[c] for c in first] == tokens(text)
    assert list(again) == [ids[t] for t in tokens(text.upper())]


def test_fold_is_idempotent():
    for text in ("Électrique ＵＳＢ Straße", "锂电池", "plain"):
        assert fold(fold(text)) == fold(text)


def test_the_ascii_fast_path_finds_exactly_the_general_tokens():
    rng = random.Random(20261126)
    alphabet = string.ascii_letters + string.digits + " .,'’-_/()\"\t\n;:*"
    for _ in range(5000):
        folded = fold("".join(rng.choice(alphabet) for _ in range(rng.randint(0, 40))))
        assert _ASCII_TOKEN.findall(folded) == TOKEN.findall(folded)
