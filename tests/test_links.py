"""Notification ↔ scheme links over the bundled ePing notifications (the Gulf states' road-
vehicle regulations, notified jointly) and the record pages that show them."""

from __future__ import annotations

import pytest

from crawlers.spiders.wto_eping import WtoEpingSpider
from search.documents import to_document
from search.links import act_numbers, changing, may_change, notification_markets
from search.records import load_record
from search.sqlite_backend import SqliteBackend
from tests.replay import replay
from webapp import create_app

CURATED = {"source": "curated", "source_url": "https://www.gso.org.sa/",
           "fetched_at": "2026-11-26", "sources": [{"url": "https://www.gso.org.sa/"}]}


def scheme(sid: str, market: str, **fields) -> dict:
    return load_record("scheme", {**CURATED, "id": sid, "market": market, "name": sid,
                                  "mandatory": "mandatory", **fields})


def regulation(rid: str, jurisdiction: str, identifier: str, **fields) -> dict:
    return load_record("regulation", {**CURATED, "id": rid, "jurisdiction": jurisdiction,
                                      "identifier": identifier, "title": identifier, **fields})


@pytest.fixture(scope="module")
def notifications() -> dict[str, dict]:
    _, items = replay(WtoEpingSpider)
    return {r["id"]: r for r in (load_record(i["kind"], i) for i in items)}


GCC_VEHICLES = scheme("gcc-vehicles", "GCC", categories=["43.020"], hs_prefixes=["8703"],
                      regulations=["gcc-ece-141"])
ECE_141 = regulation("gcc-ece-141", "GCC", "ECE 141:2017", schemes=["gcc-vehicles"])


def test_a_joint_gulf_notification_concerns_every_member_and_the_gcc(notifications):
    markets = notification_markets(notifications["G/TBT/N/ARE/703"])
    assert {"AE", "SA", "KW", "BH", "OM", "QA", "YE", "GCC"} <= markets
    assert "EU" not in markets


def test_a_notification_links_to_schemes_of_its_market_by_hs_ics_or_name(notifications):
    eu_vehicles = scheme("eu-vehicles", "EU", categories=["43.020"], hs_prefixes=["87"])
    none = scheme("gcc-vehicles-none", "GCC", mandatory="none", categories=["43.020"])
    links = may_change(notifications["G/TBT/N/SAU/1079"], [GCC_VEHICLES, eu_vehicles, none],
                       [ECE_141])
    assert links == [{"id": "gcc-vehicles", "kind": "scheme", "title": "gcc-vehicles",
                      "reasons": [{"type": "hs", "values": ["8703"]}]}]
    ece = may_change(notifications["G/TBT/N/KWT/374/Rev.1"], [GCC_VEHICLES], [ECE_141])
    assert [(link["id"], [r["type"] for r in link["reasons"]]) for link in ece] == [
        ("gcc-vehicles", ["ics", "named"]), ("gcc-ece-141", ["named"])]


def test_what_is_changing_for_a_scheme_lists_its_markets_notifications_newest_first(
        notifications):
    found = changing(ECE_141, list(notifications.values()), [ECE_141])
    symbols = [f["id"] for f in found]
    # Every Gulf state notified the ECE 141 regulation; the eCall and TPMS ones do not name it.
    assert {"G/TBT/N/SAU/1011/Rev.1", "G/TBT/N/ARE/378/Rev.1", "G/TBT/N/YEM/94/Rev.1"} <= set(
        symbols)
    assert all("ECE 141:2017" in notifications[s]["title"] for s in symbols)
    dates = [f["date"] for f in found]
    assert dates == sorted(dates, reverse=True)


def test_a_regulation_is_named_by_its_act_number_in_any_script():
    assert act_numbers("Regulation (EU) 2023/1230") == ["2023/1230"]
    assert act_numbers("TR CU 004/2011") == ["004/2011"]
    assert act_numbers("Act No. 234 of 1961") == ["Act No. 234 of 1961"]
    tr = regulation("eaeu-tr-cu-004", "EAEU", "TR CU 004/2011")
    named = {"member": "RU", "title": "Изменения в ТР ТС 004/2011 о безопасности"}
    other = {"member": "RU", "title": "Изменения в ТР ТС 1004/2011"}
    foreign = {"member": "CN", "title": "Mentions TR CU 004/2011"}
    assert [link["reasons"] for link in may_change(named, [], [tr])] == [
        [{"type": "named", "values": ["TR CU 004/2011"]}]]
    assert may_change(other, [], [tr]) == [] and may_change(foreign, [], [tr]) == []


@pytest.fixture
def client(notifications, tmp_path, monkeypatch):
    backend = SqliteBackend(tmp_path / "t.db")
    backend.upsert([to_document(r) for r in [*notifications.values(), GCC_VEHICLES, ECE_141]])
    monkeypatch.setenv("MARKETPASS_DB", str(backend.path))
    return create_app({"TESTING": True, "BACKEND": backend}).test_client()


def test_the_scheme_page_says_what_is_changing_and_the_notification_what_it_may_change(client):
    page = client.get("/records/gcc-vehicles").get_data(as_text=True)
    assert "What is changing" in page and "G/TBT/N/SAU/1079" in page
    assert "Same HS codes: 8703" in page
    data = client.get("/api/v1/records/gcc-vehicles").get_json()
    assert "G/TBT/N/SAU/1079" in [n["id"] for n in data["what_is_changing"]]
    notice = client.get("/api/v1/records/G/TBT/N/SAU/1079").get_json()
    assert [link["id"] for link in notice["may_change"]] == ["gcc-vehicles"]
    page = client.get("/records/G/TBT/N/SAU/1079").get_data(as_text=True)
    assert "May change" in page and "/records/gcc-vehicles" in page
    assert "may_change" not in client.get("/api/v1/records/gcc-vehicles").get_json()


def test_a_scheme_page_shows_unknown_and_unconfirmed_facts_and_when_sources_were_checked(
        tmp_path, monkeypatch):
    checked = scheme("kr-kc", "KR", mark="KC", authority="unknown", verified=True,
                     unverified_fields=["mark"],
                     sources=[{"url": "https://www.kats.go.kr/", "verified_on": "2026-11-20"},
                              {"url": "https://www.rra.go.kr/"}])
    backend = SqliteBackend(tmp_path / "s.db")
    backend.upsert([to_document(checked)])
    monkeypatch.setenv("MARKETPASS_DB", str(backend.path))
    client = create_app({"TESTING": True, "BACKEND": backend}).test_client()
    page = client.get("/records/kr-kc").get_data(as_text=True)
    assert page.count("badge-unknown") >= 8  # authority, route, validity, lead time …
    assert 'class="fact-unverified"' in page and "Not confirmed by a source" in page
    assert "Lead time" in page and "Local representative" in page  # empty, still shown
    assert 'datetime="2026-11-20"' in page and "Not checked yet" in page
    assert "Not verified" not in page  # the record is verified; its gaps are marked one by one
