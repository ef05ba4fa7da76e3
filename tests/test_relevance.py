"""One relevance (#14): the SQLite backend ranks as the Elasticsearch query does.

On the bundled snapshot (``marketpass load-snapshot`` into SQLite, the same stored records
indexed into a real Elasticsearch) the top 10 of realistic queries must share at least 8 records
in at least 80 % of them. A small hand-made index checks the scoring piece by piece on both
backends: per-field BM25 with the fields' boosts, a phrase scored by its best field rather than
the sum of its fields, term frequency, field length, phrases, OR groups and the tie-breakers.
"""

from __future__ import annotations

import uuid

import numpy as np
import pytest

from search.documents import to_document
from search.query import SearchRequest
from search.settings import index_path
from search.sqlite_backend import SqliteBackend
from search.store import RecordStore
from tests.conftest import doc, notification

# Product words, members, phrases, Chinese words, a symbol prefix, an HS chapter, short and
# long queries; each finds at least 10 records in the bundled data.
QUERIES = [
    "battery", "toys", "vehicles", '"motor vehicles"', "food", "cosmetics", '"medical devices"',
    "electrical equipment", "radio equipment", "charger", "refrigerators", "lamps", "tyres",
    "textiles", "meat", "fish", "steel", "wood", "labelling", "packaging", '"food safety"',
    '"conformity assessment"', '"technical regulation"', '"energy efficiency"', "certification",
    "accreditation", "testing laboratory", "Kenya", "China", "Saudi Arabia", "Japan", "GCC",
    "IECEE", "ISO/IEC 17025", "食品", "食品安全", "标准", "G/SPS/N", "85",
    "mandatory certification of electrical products",
]
SHARED, SHARE = 8, 0.8


@pytest.fixture(scope="module")
def both(snapshot_db, es_url):
    """The snapshot's SQLite index, and the same stored records in a real Elasticsearch."""
    from search.es_backend import ElasticsearchBackend

    es = ElasticsearchBackend(es_url, prefix=f"test-relevance-{uuid.uuid4().hex[:8]}")
    es.rebuild(to_document(r) for r in RecordStore(snapshot_db).records())
    sqlite = SqliteBackend(index_path(snapshot_db))
    yield sqlite, es
    sqlite.close()
    for index in es.client.indices.get(index=f"{es.alias}-*"):
        es.client.indices.delete(index=index)
    es.client.close()


def top(backend, text: str, n: int = 10) -> list[str]:
    return [h.id for h in backend.search(SearchRequest(text=text, per_page=n,
                                                       highlight=False)).hits]


def test_the_queries_find_ten_records_alike_on_both_backends(both):
    sqlite, es = both
    for text in QUERIES:
        request = SearchRequest(text=text, per_page=1, highlight=False)
        assert sqlite.search(request).total == es.search(request).total >= 10, text


def test_the_top_ten_share_eight_records_on_the_bundled_data(both):
    sqlite, es = both
    shared = {text: len(set(top(sqlite, text)) & set(top(es, text))) for text in QUERIES}
    apart = {text: n for text, n in shared.items() if n < SHARED}
    assert len(QUERIES) == 40
    assert len(QUERIES) - len(apart) >= SHARE * len(QUERIES), apart


@pytest.mark.parametrize("text", ["electrical", "electric appliances", "toys"])
def test_nomenclature_lines_rank_below_the_knowledge_base(both, text):
    """An HS line's short title ("Electrical energy") would outrank every scheme: HS records
    weigh half, on both backends alike."""
    for backend in both:
        hits = top(backend, text, 5)
        assert hits and not hits[0].startswith("hs:"), (backend.name, hits)
    assert top(both[0], text) == top(both[1], text)


# --- the scoring piece by piece, on a hand-made index -----------------------------------------

def fridge(symbol: str, title: str, description: str, date: str) -> dict:
    return notification(symbol, title=title, description=description, distribution_date=date)


FRIDGES = [
    fridge("G/TBT/N/USA/1", "Refrigerators", "General provisions", "2025-03-01"),
    # The same title, mentioned in the body too, but older: a phrase counts its best field,
    # not the sum of its fields, so this one ties with USA/1 and comes after it.
    fridge("G/TBT/N/USA/2", "Refrigerators", "Refrigerators of every size", "2025-02-01"),
    fridge("G/TBT/N/USA/3", "Refrigerators, freezers and cooling cabinets", "General",
           "2025-01-01"),
    fridge("G/TBT/N/USA/4", "General provisions", "Refrigerators and refrigerators again",
           "2024-12-01"),
    fridge("G/TBT/N/USA/5", "General provisions", "Refrigerators and other appliances",
           "2024-11-01"),
    fridge("G/TBT/N/USA/6", "Freezers", "General provisions on refrigerators", "2024-10-01"),
]


@pytest.fixture
def fridges(es_backend, tmp_path):
    sqlite = SqliteBackend(tmp_path / "index.db")
    for backend in (sqlite, es_backend):
        backend.upsert(doc(r) for r in FRIDGES)
    yield sqlite, es_backend
    sqlite.close()


def test_best_field_boosts_frequency_and_length_rank_alike(fridges):
    for backend in fridges:
        assert top(backend, "refrigerators") == [
            "G/TBT/N/USA/1", "G/TBT/N/USA/2",  # short title: tied, newest first
            "G/TBT/N/USA/3",                   # a longer title
            "G/TBT/N/USA/4",                   # twice in the body
            "G/TBT/N/USA/5", "G/TBT/N/USA/6"]  # once in a body as long: newest first


@pytest.mark.parametrize("text", ["refrigerators", '"general provisions"', "general",
                                  "refrigerators OR freezers", "refrigerators general",
                                  "refrigerators -freezers", '"refrigerators and"'])
def test_sqlite_gives_the_scores_elasticsearch_gives(fridges, text):
    sqlite, es = (backend.search(SearchRequest(text=text, highlight=False))
                  for backend in fridges)
    assert [h.id for h in sqlite.hits] == [h.id for h in es.hits] != []
    for ours, theirs in zip(sqlite.hits, es.hits, strict=True):
        assert np.float32(ours.score) == np.float32(theirs.score), (text, ours.id)


def test_scores_follow_writes(fridges):
    """What the ranking keeps (term statistics, phrase scores) belongs to one generation: a
    write changes every record's score, on SQLite as on Elasticsearch."""
    sqlite, es = fridges
    before = sqlite.search(SearchRequest(text="refrigerators")).hits[0].score
    added = fridge("G/TBT/N/USA/7", "Refrigerators", "Refrigerators", "2025-04-01")
    for backend in fridges:
        backend.upsert([doc(added)])
    ours, theirs = (b.search(SearchRequest(text="refrigerators")).hits for b in fridges)
    assert [h.id for h in ours] == [h.id for h in theirs] and ours[0].id == "G/TBT/N/USA/7"
    assert [np.float32(h.score) for h in ours] == [np.float32(h.score) for h in theirs]
    assert ours[1].score != before  # USA/1, scored again with the new statistics
