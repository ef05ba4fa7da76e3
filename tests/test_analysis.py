"""Text analysis: folding, tokens, CJK bigrams (the terms both backends index)."""

import random
import sqlite3
import string
from array import array
from contextlib import closing

import pytest

from search import analysis
from search.analysis import _ASCII_TOKEN, TOKEN, bigrams, fold, stem, term, tokens
from search.documents import to_document
from search.fields import TEXT_FIELDS
from search.sqlite_backend import SqliteBackend
from tests.conftest import notification


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


@pytest.mark.parametrize("text", [
    "Children's toys and VEHICLES: batteries, glass, buses",
    "Lithium 电池组 for e-bikes (43.040.10); Électrique, Straße",
    "", "   ", "8507.60 lithium-ion batteries' packs",
])
def test_remembered_words_give_the_terms_a_fresh_analysis_gives(text, monkeypatch):
    """Words are analysed once and remembered: a word met again (any case), and every word
    after the memory is emptied for growing too large, gets the term analysis gives it."""
    for variant in (text, text.upper(), text):
        if fold(variant).isascii():
            assert tokens(variant) == [term(w) for w in TOKEN.findall(fold(variant))]
    remembered = tokens(text)
    monkeypatch.setattr(analysis, "_WORD_TERMS_MAX", 0)
    assert tokens(text) == remembered == tokens(text)
    assert len(analysis._WORD_TERMS) <= len(set(TOKEN.findall(fold(text))))


def test_an_indexed_text_is_stored_as_its_terms(tmp_path):
    """The embedded index keeps a text as term ids: decoded, they are exactly its terms."""
    record = notification("G/TBT/N/EU/1", title="Children's TOYS: batteries 电池组",
                          description="Lithium-ion packs; Électrique",
                          products="Chargers, power banks and e-bikes' BATTERIES")
    backend = SqliteBackend(tmp_path / "i.db")
    try:
        backend.upsert([to_document(record)])
    finally:
        backend.close()
    with closing(sqlite3.connect(tmp_path / "i.db")) as db:
        names = dict(db.execute("SELECT id, term FROM idx_terms"))
        (blob,) = db.execute("SELECT terms FROM idx_text").fetchone()
    doc = to_document(record)
    expected = [t for name in TEXT_FIELDS for t in tokens(doc.text.get(name, ""))]
    assert {"toy", "电池", "bank", "battery"} <= set(expected)
    assert [names[i] for i in array("i", blob)] == expected


def test_fold_is_idempotent():
    for text in ("Électrique ＵＳＢ Straße", "锂电池", "plain"):
        assert fold(fold(text)) == fold(text)


def test_the_ascii_fast_path_finds_exactly_the_general_tokens():
    rng = random.Random(20261126)
    alphabet = string.ascii_letters + string.digits + " .,'’-_/()\"\t\n;:*"
    for _ in range(5000):
        folded = fold("".join(rng.choice(alphabet) for _ in range(rng.randint(0, 40))))
        assert _ASCII_TOKEN.findall(folded) == TOKEN.findall(folded)


def _tokens_of_many(texts):
    terms, indexes, counts = analysis.many_tokens(texts)
    flat = [terms[i] for i in indexes]
    assert sum(counts) == len(flat) and len(counts) == len(texts)
    ends = [sum(counts[: i + 1]) for i in range(len(texts))]
    return [flat[end - n : end] for end, n in zip(ends, counts, strict=True)]


@pytest.mark.parametrize("texts", [
    [], [""], ["", ""], ["\0"], ["a\0b", "c"], ["e.g. 1.2,3 1.2'3 a1.2 x's ... ,'"],
    ["Toys", "锂电池", "Straße", "игрушки", "plain", "电池 and 池", ""],
    ["电池", "电池", "Électrique"], ["ＵＳＢ", "children’s toys"],
])
def test_many_texts_at_once_give_each_text_its_tokens(texts):
    assert _tokens_of_many(texts) == [tokens(t) for t in texts]


def test_many_texts_at_once_match_one_at_a_time_on_random_texts(monkeypatch):
    """The batch analysis of an index write (joined texts split into runs) and ``tokens``
    agree on anything: separators, punctuation inside numbers, NUL, any script."""
    rng = random.Random(20261205)
    pieces = [*string.ascii_letters, *string.digits, *" .,'’-_/()\"\t\n;:\0", "e.g.", "1.2,3",
              "x's", "...", "é", "É", "ß", "电池", "锂", "игр", "ＵＳＢ", "Toys", "BATTERIES"]
    for round_ in range(1500):
        if round_ == 750:  # the remembered runs emptied once they grow too many
            monkeypatch.setattr(analysis, "_WORD_TERMS_MAX", 5)
        texts = ["".join(rng.choice(pieces) for _ in range(rng.randint(0, 12)))
                 for _ in range(rng.randint(0, 8))]
        assert _tokens_of_many(texts) == [tokens(t) for t in texts], texts


def test_many_texts_keep_the_memory_of_words_bounded(monkeypatch):
    """Codes and numbers make a corpus's words grow without end: the batch analysis empties
    its memories past the limit, as ``tokens`` does."""
    monkeypatch.setattr(analysis, "_WORD_TERMS_MAX", 1000)
    for batch in range(20):
        texts = [f"code {batch}-{i} ref {batch}x{i}" for i in range(300)]
        analysis.many_tokens(texts)
        assert len(analysis._WORD_TERMS) <= 1000 + 1200 and len(analysis._RUN_TERMS) <= 1000 + 1200
    assert _tokens_of_many(texts) == [tokens(t) for t in texts]
