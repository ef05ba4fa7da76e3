"""Provenance a professional can rely on: a fact is verified only when a qualifying source —
the authority, the legislation, the scheme owner, a recognised body — is quoted at its official
address; copies on unrelated hosts are only where it was read; document dumps and blogs never
verify. One record per body; every reference points somewhere; every market answers for its
product groups. The rules (``search.provenance``, ``search.kbcheck``) run here on examples and
on every curated record."""

from __future__ import annotations

import json

import pytest

from crawlers.spiders.curated import CURATED, CuratedSpider
from crawlers.spiders.iecee_members import IeceeMembersSpider
from search import kbcheck
from search.coverage import declared_gaps
from search.markets import MARKETS
from search.matcher import Knowledge
from search.provenance import host_kind, read_from_copy, record_problems, verifies
from search.records import load_record
from tests.replay import replay

OFFICIAL = {"url": "https://eur-lex.europa.eu/eli/dir/2014/35/oj", "publisher": "EUR-Lex",
            "publisher_kind": "legislation", "verified_on": "2026-12-03",
            "quote": "This Directive shall apply to electrical equipment designed for use with a "
                     "voltage rating of between 50 and 1 000 V for alternating current"}


@pytest.fixture(scope="module")
def records() -> list[dict]:
    return [load_record(item["kind"], item) for item in replay(CuratedSpider)[1]]


# --- the rules ---------------------------------------------------------------------------------

@pytest.mark.parametrize("url, kind", [
    ("https://www.scribd.com/document/1/x", "dumps"), ("https://vdocuments.site/x", "dumps"),
    ("https://slideplayer.com/slide/1/", "dumps"), ("https://cegate.pages.dev/x", "copies"),
    ("https://staging03.jewelosman.com/x", "copies"), ("https://laweuro.com/?p=1", "copies"),
    ("https://someone.blogspot.com/2020/x", "blogs"), ("https://eur-lex.europa.eu/x", None),
    ("https://www.legislation.gov.uk/uksi/2016/1101", None), (None, None),
])
def test_hosts_are_sorted_by_the_data(url, kind):
    assert host_kind(url) == kind


def test_a_quoted_qualifying_source_at_the_official_address_verifies():
    assert verifies(OFFICIAL)
    assert verifies({**OFFICIAL, "read_at": "https://laweuro.com/?p=4010"})  # a copy read


@pytest.mark.parametrize("change", [
    {"publisher_kind": "consultancy"}, {"publisher_kind": None}, {"quote": ""},
    {"verified_on": None}, {"url": "https://cegate.pages.dev/lvd"},
    {"read_at": "https://www.scribd.com/document/1/lvd"},
    {"read_at": "https://someone.blogspot.com/lvd"},
])
def test_anything_less_does_not(change):
    assert not verifies({**OFFICIAL, **change})


def _record(kind: str, sources: list[dict], verified: bool = True, **fields) -> dict:
    return {"kind": kind, "id": "x", "verified": verified, "sources": sources, **fields}


def test_record_rules():
    assert record_problems(_record("scheme", [OFFICIAL])) == []
    assert record_problems(_record("scheme", [{**OFFICIAL, "publisher_kind": "press"}]))
    copy_as_url = {"url": "https://laweuro.com/?p=1", "publisher_kind": "consultancy"}
    assert record_problems(_record("scheme", [copy_as_url], verified=False))  # only read_at
    dump_as_authority = {**OFFICIAL, "url": "https://www.scribd.com/doc/1"}
    assert any("cannot be" in p for p in record_problems(_record("body", [dump_as_authority],
                                                                  verified=False)))
    uk = {**OFFICIAL, "url": "https://www.legislation.gov.uk/uksi/2016/1101"}
    assert record_problems(_record("regulation", [uk], jurisdiction="EU"))  # no EUR-Lex
    assert record_problems(_record("regulation", [uk], jurisdiction="GB")) == []
    assert not record_problems(_record("scheme", [copy_as_url | {"url": "https://x.gov/a"}],
                                       verified=False))


def test_read_from_a_copy_is_said_only_for_another_host():
    assert read_from_copy({**OFFICIAL, "read_at": "https://laweuro.com/?p=1"})
    assert not read_from_copy({**OFFICIAL, "read_at": OFFICIAL["url"] + "?lang=en"})
    assert not read_from_copy(OFFICIAL)


def test_two_records_of_one_body_are_found_whatever_their_spelling():
    bodies = [{"id": "a", "name": "UL LLC", "country": "US"},
              {"id": "b", "name": "UL, LLC (Underwriters Laboratories)", "country": "US"},
              {"id": "c", "name": "UL LLC", "country": "CA"},
              {"id": "d", "name": "CSA Group Testing & Certification Inc.", "country": "CA"}]
    assert kbcheck.duplicate_bodies(bodies) == [
        "bodies a, b: one body ('ul', US) in several records"]


# --- every curated record ----------------------------------------------------------------------

def test_no_verified_fact_without_a_quote_from_a_qualifying_source(records):
    assert kbcheck.provenance_problems(records) == []


def test_one_record_per_body(records):
    assert kbcheck.duplicate_bodies(kbcheck.of_kind(records, "body")) == []


def test_one_body_on_the_site_whichever_sources_name_it(records):
    """The IECEE listings name bodies the curated files hold too (IRAM, OVE, CEBEC …): the
    knowledge the site shows merges them, keeping every role and source."""
    # The store keeps one record per id: a body on both listings is one record there too.
    listed = list({r["id"]: r for r in (load_record(item["kind"], item)
                                        for item in replay(IeceeMembersSpider)[1])}.values())
    kb = Knowledge([*records, *listed])
    assert kbcheck.duplicate_bodies(kb.bodies) == []
    assert len(kb.bodies) + len(kb.body_alias) == len(kbcheck.of_kind(records + listed, "body"))
    for gone, kept in kb.body_alias.items():
        body = next(b for b in kb.bodies if b["id"] == kept)
        original = next(r for r in records + listed if r["id"] == gone)
        assert set(original["roles"]) <= set(body["roles"]) and gone in body["merged_ids"]


def test_every_reference_points_to_a_record(records):
    assert kbcheck.link_problems(records) == []


def _declared() -> dict[str, list[str]]:
    headers = {p.name: json.loads(p.read_text(encoding="utf-8")) for p in CURATED.glob("*.json")}
    return declared_gaps({k: {kk: v for kk, v in h.items() if kk != "records"}
                          for k, h in headers.items()})


def test_every_market_answers_for_its_product_groups(records):
    """A scheme, a cited "none", or — where the stored sources say nothing either way — a
    gap a curated file declares with what was searched; a declared gap a record has since
    answered is out of date."""
    schemes = kbcheck.of_kind(records, "scheme")
    declared = _declared()
    assert kbcheck.missing_groups(schemes, declared) == {}
    assert kbcheck.stale_gaps(schemes, declared) == []
    complete = [m for m in MARKETS if not kbcheck.missing_groups(schemes).get(m)]
    assert len(complete) >= 40  # the others have their gaps declared, not hidden
