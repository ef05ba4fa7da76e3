"""The knowledge base as the curated spider reads it: valid, cited, linked, and covering every
market. A failure names the records and what is missing, so the data can be fixed from it."""

from __future__ import annotations

from collections import Counter

import pytest

from crawlers.spiders.curated import CURATED, CuratedSpider
from search import normalise as norm
from search.markets import MARKETS, UNION_MEMBERS, markets_for, members_of
from search.records import RecordError, load_record
from tests.replay import replay

PROVENANCE = {"source": "curated", "source_url": "https://www.iecee.org/",
              "fetched_at": "2026-11-26"}


@pytest.fixture(scope="module")
def items() -> list[dict]:
    return replay(CuratedSpider)[1]


@pytest.fixture(scope="module")
def records(items) -> list[dict]:
    return [load_record(item["kind"], item) for item in items]


def of_kind(records: list[dict], kind: str) -> list[dict]:
    return [r for r in records if r["kind"] == kind]


def _rejected(item: dict) -> str | None:
    try:
        load_record(item["kind"], item)
    except RecordError as exc:
        return f"{item['kind']} {item.get('id')}: {exc.messages}"
    return None


# --- the files as they stand ------------------------------------------------------------------

def test_every_curated_record_is_valid(items):
    assert {p.name for p in CURATED.glob("*.json")}, "no curated files"
    assert [problem for item in items if (problem := _rejected(item))] == []


def _citation_problem(record: dict) -> str | None:
    urls = [s["url"] for s in record["sources"] if s.get("url")]
    if not urls:
        return f"{record['kind']} {record['id']}: no source URL"
    # A verified record says when it was checked; further sources it cites may be undated
    # background (the page marks them "not checked yet").
    if record["verified"] and not any(s.get("verified_on") for s in record["sources"]):
        return f"{record['kind']} {record['id']}: verified, but no source has a verified_on"
    return None


def test_every_record_cites_a_source_and_says_whether_it_was_verified(records):
    assert [p for r in records if (p := _citation_problem(r))] == []


def test_no_two_records_of_a_kind_share_an_id(items):
    counts = Counter((item["kind"], item.get("id")) for item in items)
    assert sorted(key for key, n in counts.items() if n > 1) == []


def test_no_curated_record_takes_the_id_of_another_sources_record(items):
    """Two sources writing one id overwrite each other at every crawl (meti_pse writes
    ``jp-denan``; a curated regulation of the Act needs an id of its own)."""
    from crawlers.run import SPIDERS

    others = {item["id"] for name, spider in SPIDERS.items()
              if name not in ("curated", "hs_nomenclature")
              for item in replay(spider)[1] if item.get("id")}
    assert sorted({item["id"] for item in items} & others) == []


def test_schemes_and_regulations_point_at_each_other(records):
    scheme_ids = {r["id"] for r in of_kind(records, "scheme")}
    regulation_ids = {r["id"] for r in of_kind(records, "regulation")}
    dangling = [f"scheme {s['id']} → regulation {reg}" for s in of_kind(records, "scheme")
                for reg in s["regulations"] if reg not in regulation_ids]
    dangling += [f"regulation {r['id']} → scheme {s}" for r in of_kind(records, "regulation")
                 for s in r["schemes"] if s not in scheme_ids]
    assert dangling == []


def test_every_market_has_schemes_of_its_own(records):
    markets = {s["market"] for s in of_kind(records, "scheme")}
    assert sorted(set(MARKETS) - markets) == []


# --- markets and unions -----------------------------------------------------------------------

def test_the_markets_are_sixty_or_more_normalised_codes():
    assert len(MARKETS) == len(set(MARKETS)) >= 60
    assert [norm.country(m) for m in MARKETS] == list(MARKETS)
    rcep = {"AU", "BN", "KH", "CN", "ID", "JP", "KR", "LA", "MY", "MM", "NZ", "PH", "SG", "TH",
            "VN"}
    g20 = {"AR", "AU", "BR", "CA", "CN", "FR", "DE", "IN", "ID", "IT", "JP", "KR", "MX", "RU",
           "SA", "ZA", "TR", "GB", "US", "EU"}
    gcc = {"SA", "AE", "KW", "QA", "OM", "BH"}
    assert rcep | g20 | gcc <= set(MARKETS)


def test_union_members_inherit_the_unions_schemes():
    assert len(UNION_MEMBERS["EU"]) == 27
    assert markets_for("Germany") == ["DE", "EU"]
    assert markets_for("KZ") == ["KZ", "EAEU"]
    assert markets_for("Kuwait, the State of") == ["KW", "GCC"]
    assert markets_for("SA") == ["SA", "GCC"]
    assert markets_for("GCC") == ["GCC"]  # a union is a market of its own
    assert markets_for("TW") == ["TW"]
    assert members_of("Eurasian Economic Union") == {"RU", "BY", "KZ", "AM", "KG"}
    assert members_of("US") == frozenset()


# --- the schema the files are written against -------------------------------------------------

def _load(kind: str, **fields) -> dict:
    return load_record(kind, {**PROVENANCE, **fields})


def test_a_scheme_may_state_that_a_market_has_none_for_a_group():
    record = _load("scheme", id="ng-toys-none", market="NG", name="No toy scheme",
                   mandatory="none", product_groups=["toys"],
                   changes=[{"date": "2026-03", "summary": "Consultation opened",
                             "url": "https://son.gov.ng/"}],
                   unverified_fields=["authority", "scope"])
    assert record["mandatory"] == "none" and record["changes"][0]["date"] == "2026-03"
    with pytest.raises(RecordError, match="product_groups"):
        _load("scheme", id="x", market="NG", name="x", product_groups=["furniture"])
    with pytest.raises(RecordError, match="unverified_fields"):
        _load("scheme", id="x", market="NG", name="x", unverified_fields=["colour"])


def test_products_are_named_in_the_six_languages_only():
    record = _load("product", id="charger", group="chargers",
                   names={"en": ["charger"], "zh": ["充电器"], "ar": ["شاحن"]},
                   hs_codes=["8504.40"], categories=["OFF"])
    assert record["hs_codes"] == ["850440"]
    with pytest.raises(RecordError, match="languages"):
        _load("product", id="charger", group="chargers", names={"de": ["Ladegerät"]})


def test_arrangement_parties_and_body_roles_are_checked():
    record = _load("arrangement", id="eaeu-x", name="x", type="regional",
                   parties=[{"country": "Eurasian Economic Union", "since": "2015"}])
    assert record["parties"][0]["country"] == "EAEU"
    with pytest.raises(RecordError, match="parties"):
        _load("arrangement", id="x", name="x", type="regional", parties=[{"country": "XX"}])
    assert _load("body", id="b", name="b", country="CN", roles=["NCB", "IAF MLA signatory"]
                 )["roles"] == ["ncb", "iaf_mla_signatory"]
    with pytest.raises(RecordError, match="roles"):
        _load("body", id="b", name="b", country="CN", roles=["laboratory"])


def test_a_product_is_found_by_any_of_its_names_in_any_language(tmp_path):
    from search.documents import to_document
    from search.query import SearchRequest
    from search.sqlite_backend import SqliteBackend

    charger = _load("product", id="product-charger", group="chargers",
                    names={"en": ["charger", "power adapter"], "zh": ["充电器"],
                           "fr": ["chargeur"], "ar": ["شاحن"]}, hs_codes=["850440"])
    backend = SqliteBackend(tmp_path / "p.db")
    backend.upsert([to_document(charger)])
    for words in ("充电器", "chargeur", "power adapter", "شاحن", "850440"):
        assert [h.id for h in backend.search(SearchRequest(text=words)).hits] == [
            "product-charger"], words
