"""Every spider: metadata, recorded responses, parsing of the recorded data."""

from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import pytest
from scrapy.http import TextResponse
from scrapy.utils.test import get_crawler

from crawlers.pipelines import records_in
from crawlers.run import SPIDERS
from crawlers.spiders.base import ACCESS, CrawlError, MarketPassSpider
from crawlers.spiders.patterns import PATTERNS
from crawlers.spiders.wto_eping import WtoEpingSpider, _text
from search.records import KINDS, load_record
from tests.replay import replay


def spider_of(cls, **kwargs):
    return cls.from_crawler(get_crawler(cls), replay=True, **kwargs)


def response(path: Path) -> TextResponse:
    return TextResponse(url=path.as_uri(), body=path.read_bytes(), encoding="utf-8")


def records_of(results) -> list[dict]:
    """The records a callback yields (batches of a bulk file flattened), loaded."""
    return [load_record(record["kind"], record) for item in results if isinstance(item, dict)
            for record in records_in(item)]


def test_sources_are_found_by_scrapys_loader_without_a_list():
    from scrapy.settings import Settings
    from scrapy.spiderloader import SpiderLoader
    from scrapy.utils.project import get_project_settings  # noqa: F401 (settings module below)

    from crawlers import settings as crawler_settings

    settings = Settings()
    settings.setmodule(crawler_settings)
    assert sorted(SpiderLoader.from_settings(settings).list()) == sorted(SPIDERS)
    # Every module of ours but the bases is a source, named as its spider.
    modules = {p.stem for p in (Path(__file__).resolve().parent.parent / "crawlers" / "spiders")
               .glob("*.py")} - {"__init__", "base", "patterns"}
    assert modules == {n for n, cls in SPIDERS.items() if cls.__module__.startswith("crawlers.")}
    assert all(cls.__module__.endswith("." + name) for name, cls in SPIDERS.items())


@pytest.mark.parametrize("name", sorted(SPIDERS))
def test_every_spider_declares_itself_once_and_has_recordings(name):
    """What a source is (publisher, licence, address, access, kinds, schedule, minimum) is
    declared on its class, nowhere else: the manifest describes the recording only."""
    cls = SPIDERS[name]
    declared = cls.declaration()
    assert declared["publisher"] and declared["licence"] and declared["min_records"] >= 1
    curated = declared["access"] == "curated file"  # its records cite their own sources
    assert cls.source_url.startswith("https://") or (curated and not cls.source_url)
    # The access pattern is the base spider's, not a word the source could get wrong.
    assert issubclass(cls, PATTERNS[declared["access"]]) and "access" not in vars(cls)
    assert declared["summary"]
    assert declared["kinds"] and set(declared["kinds"]) <= set(KINDS)
    assert declared["schedule_days"] is None or declared["schedule_days"] > 0
    assert cls.__module__.endswith(name)
    manifest = spider_of(cls).manifest
    assert manifest["how"] and manifest["files"]
    assert not {"publisher", "licence"} & set(manifest)  # declared once, on the class
    assert manifest.get("recorded_at") or curated  # curated files are the source
    for filename in manifest["files"]:
        assert (cls.sources_dir() / filename).stat().st_size > 0


@pytest.mark.parametrize("name", sorted(SPIDERS))
def test_every_spider_yields_valid_records_of_its_declared_kinds(name):
    spider, items = replay(SPIDERS[name])
    records = records_of(items)
    assert len(records) == len(items) >= SPIDERS[name].min_records
    assert {r["kind"] for r in records} <= set(SPIDERS[name].kinds)
    assert all(r["source"] == name and r["source_url"] and r["fetched_at"] for r in records)
    assert spider.crawler.stats.get_value("marketpass/pages_ok")
    assert not spider.crawler.stats.get_value("marketpass/faults")


def test_each_access_pattern_has_its_base_spider():
    assert set(PATTERNS) == set(ACCESS)
    assert all(base.access == access and not getattr(base, "name", None)
               for access, base in PATTERNS.items())


def eping_records(recorded_only: bool = False) -> list[dict]:
    """Every replayed record; ``recorded_only``: those of the recorded ePing pages, not of the
    pages reconstructed from copies (``reconstructed_*``)."""
    spider = spider_of(WtoEpingSpider)
    out = []
    for filename in spider.manifest["files"]:
        if not (recorded_only and filename.startswith("reconstructed_")):
            out += records_of(spider.parse(response(spider.sources_dir() / filename)))
    return out


def test_eping_replay_yields_one_record_per_symbol():
    records = eping_records()
    symbols = [r["symbol"] for r in records]
    assert len(set(symbols)) == len(records) >= WtoEpingSpider.min_records
    assert len(eping_records(recorded_only=True)) == 25


def test_the_eping_snapshot_is_broad_and_every_record_has_its_source():
    """The bundled tracker data: many members, both agreements, chains of addenda, corrigenda
    and revisions with their base notification, each record citing the WTO's address."""
    records = eping_records()
    symbols = {r["symbol"] for r in records}
    assert len(records) >= 150
    assert len({r["member"] for r in records}) >= 30
    assert sum(r["area"] == "SPS" for r in records) >= 25
    assert {r["type"] for r in records} >= {"regular", "addendum", "corrigendum", "revision"}
    chains = {r["base_symbol"] for r in records if r["type"] != "regular"} & symbols
    assert len(chains) >= 10
    years = {r["distribution_date"][:4] for r in records if r["distribution_date"]}
    assert {str(y) for y in range(2020, 2027)} <= years
    assert all(r["source_url"].startswith("https://docs.wto.org/") for r in records)


def test_a_notification_read_on_a_copy_keeps_its_language_and_names_the_copy():
    records = {r["symbol"]: r for r in eping_records()}
    record = records["G/SPS/N/CAN/197/Add.1"]
    assert record["language"] == "zh" and record["title"].startswith("有关在非标准化糖果产品")
    assert record["base_symbol"] == "G/SPS/N/CAN/197" and record["area"] == "SPS"
    assert record["source_url"] == ("https://docs.wto.org/dol2fe/Pages/FE_Search/FE_S_S006.aspx"
                                    "?Query=(@Symbol=%20G/SPS/N/CAN/197/Add.1)&Language=ENGLISH"
                                    "&Context=FomerScriptedSearch&languageUIChanged=true")
    (copy,) = [link for link in record["links"] if link["label"].startswith("Copy read")]
    assert copy["url"] == "http://www.dongfa.net/noteshow.aspx?noteid=71468"
    assert "seen 2026-12-03" in copy["label"] and "www.dongfa.net" in record["note"]
    # What the copy does not give stays empty; no ePing id is made up.
    assert record["comment_deadline"] is None and record["hs_codes"] == []
    assert record["external_id"] is None
    joint = records["G/SPS/N/SAU/436/Add.2"]
    assert len(joint["joint_symbols"]) == 6 and joint["member_name"] == "Saudi Arabia, Kingdom of"


def test_eping_joint_notification_items_become_one_record_each():
    records = {r["symbol"]: r for r in eping_records()}
    joint = [r for r in records.values() if r["base_symbol"] in (
        "G/TBT/N/ARE/703", "G/TBT/N/BHR/780", "G/TBT/N/KWT/764", "G/TBT/N/OMN/603",
        "G/TBT/N/QAT/754", "G/TBT/N/SAU/1437", "G/TBT/N/YEM/351")]
    assert sorted(r["member"] for r in joint) == ["AE", "BH", "KW", "OM", "QA", "SA", "YE"]
    for r in joint:
        assert len(r["joint_symbols"]) == 6 and r["symbol"] not in r["joint_symbols"]
    saudi = records["G/TBT/N/SAU/1437"]
    assert saudi["member_name"] == "Saudi Arabia, Kingdom of"
    assert saudi["distribution_date"] == "2026-06-02" and saudi["comment_deadline"] == "2026-08-01"
    assert saudi["objectives"] == ["Protection of human health or safety (TBT)",
                                   "Quality requirements (TBT)", "Harmonization (TBT)"]
    assert saudi["ics_codes"] == ["43.020"]
    assert saudi["source_url"].startswith("https://docs.wto.org/")
    assert saudi["fetched_at"].startswith("2026-12-03")  # the day the snapshot was bundled


def test_eping_hs_codes_written_in_the_products_text_are_extracted():
    records = {r["symbol"]: r for r in eping_records()}
    assert records["G/TBT/N/SAU/1079"]["hs_codes"] == ["8703"]   # "HS Code: from 870310 to 870390"
    assert records["G/TBT/N/SAU/1129"]["hs_codes"] == ["8700"]   # "8700"
    assert records["G/TBT/N/SAU/1080"]["hs_codes"] == []         # "ICS 43.020" only


def test_eping_type_comes_from_the_symbol_when_missing():
    records = {r["symbol"]: r for r in eping_records()}
    revision = records["G/TBT/N/SAU/1011/Rev.1"]
    assert revision["type"] == "revision" and revision["base_symbol"] == "G/TBT/N/SAU/1011"
    assert records["G/TBT/N/SAU/1261"]["type"] == "regular"


def test_eping_skips_a_malformed_item_and_keeps_the_rest():
    spider = spider_of(WtoEpingSpider)
    good = json.loads((spider.sources_dir() / spider.manifest["files"][0]).read_text())["items"][7]
    bad = {**good, "documentSymbol": "not a symbol"}
    body = json.dumps({"items": [bad, good], "totalCount": 2}).encode()
    results = list(spider.parse(TextResponse(url="file:///x.json", body=body)))
    assert [r["symbol"] for r in results] == [good["documentSymbol"]]
    assert spider.crawler.stats.get_value("marketpass/items_skipped") == 1


@pytest.mark.parametrize("body", [b'{"results": []}', b'{"items": [{"id": 1', b"<html>busy</html>"])
def test_eping_logs_a_page_it_cannot_read_as_a_fault(body):
    spider = spider_of(WtoEpingSpider)
    assert list(spider.parse(TextResponse(url="file:///x.json", body=body))) == []
    stats = spider.crawler.stats
    assert stats.get_value("marketpass/faults") == 1
    assert "file:///x.json" in stats.get_value("marketpass/fault_log")[0]
    assert not stats.get_value("marketpass/pages_ok")


def test_eping_html_in_text_becomes_clean_text():
    assert _text("<p>Toys&nbsp;and <b>games</b></p>\n<br/>for  children") == \
        "Toys and games for children"


def test_eping_live_crawl_uses_the_keyed_api_or_else_the_keyless_list(monkeypatch):
    for var in ("MARKETPASS_EPING_KEY", "MARKETPASS_EPING_API_URL", "MARKETPASS_EPING_LIST_URL"):
        monkeypatch.delenv(var, raising=False)
    spider = WtoEpingSpider.from_crawler(get_crawler(WtoEpingSpider), since="2026-01-01")
    (keyless,) = spider.initial_requests()
    assert keyless.url.startswith("https://epingalert.org/api/v1/azureSearch/getAll?")
    # The keyless list is sorted newest first; the watermark ends its paging, not a parameter.
    assert "page=1" in keyless.url and "sortDirection=desc" in keyless.url
    assert "distributionDateFrom" not in keyless.url
    assert b"Ocp-Apim-Subscription-Key" not in keyless.headers
    monkeypatch.setenv("MARKETPASS_EPING_KEY", "secret")
    spider = WtoEpingSpider.from_crawler(get_crawler(WtoEpingSpider), since="2026-01-01")
    assert "distributionDateFrom=2026-01-01" in next(iter(spider.initial_requests())).url
    monkeypatch.setenv("MARKETPASS_EPING_KEY", "secret")
    spider = WtoEpingSpider.from_crawler(get_crawler(WtoEpingSpider), full=True, since="2026-01-01")
    (keyed,) = spider.initial_requests()
    assert keyed.url.startswith("https://api.wto.org/eping/notifications/search?")
    assert "distributionDateFrom" not in keyed.url  # --full ignores the watermark
    assert keyed.headers[b"Ocp-Apim-Subscription-Key"] == b"secret"


def test_eping_filters_on_our_side():
    spider, items = replay(WtoEpingSpider, members="SA,BH", area="TBT")
    own = [r for r in items if r["member"] in {"SA", "BH"}]
    assert own and spider.crawler.stats.get_value("marketpass/filtered_out") == len(
        eping_records()) - len(own)
    # A joint notification of SA or BH comes under its partners' symbols too: lists show it
    # under the first of them, which this crawl would otherwise not store.
    partners = {s for r in own for s in r["joint_symbols"]}
    copies = [r for r in items if r["member"] not in {"SA", "BH"}]
    assert copies and {r["symbol"] for r in copies} <= partners
    assert all(r["title"] == next(o["title"] for o in own if r["symbol"] in o["joint_symbols"])
               for r in copies)


def test_hs_nomenclature_replay():
    cls = SPIDERS["hs_nomenclature"]
    spider = spider_of(cls)
    sections_request = next(spider.parse_sections(response(cls.sources_dir() / "sections.csv"),
                                                  codes_url="file:///unused.csv"))
    sections = sections_request.cb_kwargs["sections"]
    assert len(sections) == 21
    records = records_of(spider.parse(response(cls.sources_dir() / "harmonized-system.csv"),
                                      sections=sections))
    assert len(records) >= cls.min_records
    by_code = {r["code"]: r for r in records}
    assert by_code["85"]["parent"] is None and by_code["85"]["level"] == 2
    lithium = by_code["850760"]
    assert lithium["parent"] == "8507" and lithium["section"] == "XVI"
    assert "lithium-ion" in lithium["description"].lower()
    assert lithium["section_name"]
    assert {r["level"] for r in records} == {2, 4, 6}


def test_eping_splits_document_links_joined_with_commas():
    links = {r["symbol"]: r["links"] for r in eping_records()}["G/TBT/N/ARE/543"]
    assert [link["url"].rsplit("/", 1)[-1] for link in links] == [
        "22_5350_00_e.pdf", "22_5350_00_x.pdf", "ARE543.DOCX"]


def test_a_link_field_with_several_addresses_keeps_every_valid_one():
    """Real ePing records put several addresses in one field, separated by spaces: the
    notification is kept with each address, and what is no address goes to the fault log."""
    from crawlers.spiders.wto_eping import WtoEpingSpider

    spider = spider_of(WtoEpingSpider)
    item = json.loads((spider.sources_dir() / spider.manifest["files"][0]).read_text())[
        "items"][0]
    item["notifiedDocumentLink"] = ("https://members.wto.org/a.pdf https://members.wto.org/b.docx"
                                    " see-annex  ,https://members.wto.org/a.pdf")
    item["linkToNotification"] = "https://docs.wto.org/x.pdf https://docs.wto.org/y.pdf"
    records = list(spider.parse_item(item))
    assert len(records) == 1
    urls = [link["url"] for link in records[0]["links"]]
    assert urls == ["https://members.wto.org/a.pdf", "https://members.wto.org/b.docx",
                    "https://docs.wto.org/x.pdf", "https://docs.wto.org/y.pdf"]
    assert records[0]["source_url"] == "https://docs.wto.org/x.pdf"
    assert load_record("notification", {k: v for k, v in records[0].items() if k != "kind"})
    assert any("see-annex" in f for f in spider.crawler.stats.get_value("marketpass/fault_log"))


def test_curated_records_cite_their_sources_and_say_whether_verified():
    from crawlers.spiders.curated import CuratedSpider

    _, items = replay(CuratedSpider)
    records = {r["id"]: r for r in records_of(items)}
    apec = records["apec-tel-mra"]
    assert apec["kind"] == "arrangement" and isinstance(apec["verified"], bool)
    assert apec["source_url"] == apec["sources"][0]["url"]
    # The newest date a source was checked on, else the file's compiled_on.
    checked = [s["verified_on"] for s in apec["sources"] if s["verified_on"]]
    assert apec["fetched_at"] == max(checked, default="2026-11-26")
    assert {"US", "CN", "TW", "HK"} <= {p["country"] for p in apec["parties"]}


def test_a_broken_curated_file_stops_the_crawl(tmp_path, monkeypatch):
    from crawlers.spiders.curated import CuratedSpider

    (tmp_path / "broken.json").write_text('{"records": []}')
    monkeypatch.setattr(CuratedSpider, "folder", tmp_path)
    with pytest.raises(CrawlError, match="not a curated file"):
        replay(CuratedSpider)


def test_bulk_export_rows_become_the_same_records_as_the_list_items():
    from crawlers.spiders.wto_eping_bulk import WtoEpingBulkSpider

    _, items = replay(WtoEpingBulkSpider)
    bulk = {r["symbol"]: r for r in records_of(items)}
    # The export was reconstructed from the recorded ePing pages only.
    listed = {r["symbol"]: r for r in eping_records(recorded_only=True)}
    assert bulk.keys() == listed.keys()
    for symbol, record in listed.items():
        for field in ("member", "type", "base_symbol", "distribution_date", "comment_deadline",
                      "title", "hs_codes", "ics_codes", "objectives", "joint_symbols"):
            assert bulk[symbol][field] == record[field], (symbol, field)


def test_bulk_export_columns_are_matched_by_name_in_any_order():
    from crawlers.spiders.wto_eping_bulk import column_map, item_of

    header = ("Title", "Final date for comments", "Notifying Member", "Document  Symbol", "HS")
    columns = column_map(header)
    item = item_of(("Toys", None, "Kenya", "G/TBT/N/KEN/1", "9503.00; 950300"), columns)
    assert item["documentSymbol"] == "G/TBT/N/KEN/1" and item["notifyingMember"] == "Kenya"
    assert item["hsCodes"] == [{"code": "950300"}]
    with pytest.raises(CrawlError, match="no column for documentSymbol"):
        column_map(("Title", "Member"))


def test_iecee_listing_rows_become_bodies():
    from crawlers.spiders.iecee_members import IeceeMembersSpider

    _, items = replay(IeceeMembersSpider)
    bodies = {r["id"]: r for r in records_of(items)}
    assert len(items) == 35 and len(bodies) == 30  # five bodies are on both listings
    # A row with an empty country cell continues the country above (Brazil's second NCB).
    assert bodies["iecee-ncb-br-ncc"]["country"] == "BR"
    cqc = bodies["iecee-ncb-cn-cqc"]
    assert cqc["roles"] == ["ncb"] and cqc["verified"] is False
    assert cqc["source_url"] in ("http://www.iecee.com/cbscheme/html/cbmtlacceptance.htm",
                                 "http://cgets.net/bbs/read-htm-tid-5816-fpage-2.html")
    # The United States cell of the PSB-era list named six NCBs.
    assert sum(b["country"] == "US" for b in bodies.values()) == 6


def test_iecee_parser_reads_other_layouts_and_reports_pages_without_a_listing():
    from crawlers.spiders.iecee_members import IeceeMembersSpider

    spider = spider_of(IeceeMembersSpider)
    page = (b"<table><tr><th>Member country</th><th>CBTL</th><th>Accepted categories</th></tr>"
            b"<tr><td>Japan</td><td>JET</td><td>HOUS, OFF, TRON</td></tr>"
            b"<tr><td>Atlantis</td><td>Nobody</td><td></td></tr></table>")
    items = list(spider.parse(TextResponse(url="https://www.iecee.org/x", body=page)))
    assert [(i["country"], i["roles"], i["categories"]) for i in items] == [
        ("JP", ["cbtl"], ["HOUS", "OFF", "TRON"])]
    assert spider.crawler.stats.get_value("marketpass/items_skipped") == 1
    moved = TextResponse(url="https://www.iecee.org/y", body=b"<p>moved</p>")
    assert list(spider.parse(moved)) == []
    assert spider.crawler.stats.get_value("marketpass/faults") == 1


def test_iecee_listings_split_over_pages_are_read_in_full_with_each_cbtls_ncb():
    from crawlers.spiders.iecee_members import IeceeMembersSpider

    spider = spider_of(IeceeMembersSpider)
    first = (b"<table><tr><th>Country</th><th>NCB</th><th>CBTL</th><th>Categories</th></tr>"
             b"<tr><td>Austria</td><td>OVE</td><td>TUV AUSTRIA Services GmbH</td>"
             b"<td>MEAS, OFF, TRON</td></tr></table>"
             b"<p><a href='/cbtl?page=2'>Next</a></p>")
    items = list(spider.parse(TextResponse(url="https://www.iecee.org/cbtl?page=1", body=first)))
    bodies, follow = items[:-1], items[-1]
    assert [(b["name"], b["roles"], b["ncb"], b["categories"]) for b in bodies] == [
        ("TUV AUSTRIA Services GmbH", ["cbtl"], "iecee-ncb-at-ove", ["MEAS", "OFF", "TRON"])]
    assert follow.url == "https://www.iecee.org/cbtl?page=2"
    last = (b"<table><tr><th>Member country</th><th>Member Body</th><th>Status</th></tr>"
            b"<tr><td>Serbia</td><td>ISS</td><td>non-voting (from 2024)</td></tr></table>"
            b"<link rel='next' href='?page=3'>")
    items = list(spider.parse(TextResponse(url="https://www.iecee.org/members", body=last)))
    assert items[0]["status"] == "non-voting (from 2024)" and items[0]["roles"] == ["member_body"]
    assert items[1].url == "https://www.iecee.org/members?page=3"
    end = b"<table><tr><th>Country</th><th>NCB</th></tr><tr><td>Japan</td><td>JET</td></tr></table>"
    assert len(list(spider.parse(TextResponse(url="https://www.iecee.org/z", body=end)))) == 1


@pytest.mark.parametrize("name", sorted(n for n, cls in SPIDERS.items()
                                         if cls.live_requests is MarketPassSpider.live_requests))
def test_spiders_without_a_fixed_address_read_the_pages_they_are_given(name):
    cls = SPIDERS[name]
    spider = cls.from_crawler(get_crawler(cls), urls="https://a.example/1, https://a.example/2")
    assert [r.url for r in spider.initial_requests()] == ["https://a.example/1",
                                                         "https://a.example/2"]
    with pytest.raises(CrawlError, match="-a urls="):
        list(cls.from_crawler(get_crawler(cls)).initial_requests())


def test_meti_pse_categories_become_the_acts_scope():
    from crawlers.spiders.meti_pse import MetiPseSpider

    _, items = replay(MetiPseSpider)
    (act,) = records_of(items)
    assert act["kind"] == "regulation" and act["jurisdiction"] == "JP"
    assert len(act["categories"]) == 20
    assert act["categories"][9] == "10. 配線器具"
    assert act["categories"][19].startswith("20. リチウムイオン蓄電池")
    assert act["schemes"] == ["jp-pse-specified", "jp-pse-non-specified"]
    assert act["verified"] is False and len(act["sources"]) == 2
    spider = spider_of(MetiPseSpider)
    page = TextResponse(url="https://example.org/x", body=b"<table><tr><td>x</td></tr></table>")
    assert list(spider.parse(page)) == []
    assert spider.crawler.stats.get_value("marketpass/faults") == 1


def test_an_invalid_optional_value_costs_the_value_not_the_notification():
    from crawlers.pipelines import ValidatePipeline

    spider = spider_of(WtoEpingSpider)
    spider.crawler.spider = spider
    pipeline = ValidatePipeline(spider.crawler)
    good = eping_records()[0]
    broken = {**good, "comment_deadline": "31/02/2026", "hs_codes": ["87.03.xx"]}
    kept = pipeline.validate(broken)
    assert kept["symbol"] == good["symbol"]
    assert kept["comment_deadline"] is None and kept["hs_codes"] == []
    assert any("comment_deadline" in f and "hs_codes" in f
               for f in spider.crawler.stats.get_value("marketpass/fault_log"))
    # Without its identity a notification cannot be kept.
    from scrapy.exceptions import DropItem
    with pytest.raises(DropItem):
        pipeline.validate({**good, "symbol": "not a symbol"})


def test_eping_asks_the_keyless_endpoint_as_its_own_site_does(monkeypatch):
    """The request shape of ePing's site (area and members filtered on the server, newest
    distribution first) — the recording's manifest names the requests it stands for."""
    monkeypatch.delenv("MARKETPASS_EPING_KEY", raising=False)
    monkeypatch.delenv("MARKETPASS_EPING_LIST_URL", raising=False)
    manifest = spider_of(WtoEpingSpider).manifest["requests"]
    args = dict(a.split("=", 1) for a in manifest["arguments"].replace("-a ", "").split())
    spider = spider_of(WtoEpingSpider, **args)
    first = next(iter(spider.live_requests()))
    assert first.url == manifest["urls"][0]
    assert first.headers.get("Referer").decode() == manifest["headers"]["Referer"]
    assert first.headers.get("Accept").decode() == "application/json"
    query = parse_qs(urlparse(first.url).query)
    assert query["sortBy"] == ["distributionDate"] and query["sortDirection"] == ["desc"]
    assert query["domainIds"] == ["1"] and "C682" in query["countryIds"]
    assert spider.page_request(2).url == manifest["urls"][1]


def test_an_incremental_eping_crawl_stops_at_the_first_page_older_than_its_watermark():
    spider = WtoEpingSpider.from_crawler(get_crawler(WtoEpingSpider), since="2024-01-01")
    old = [{"id": 1, "distributionDate": "2023-05-01T00:00:00"}]
    new = [{"id": 2, "distributionDate": "2024-03-01T00:00:00"}, *old]
    assert spider.older_than_watermark(old) and not spider.older_than_watermark(new)
    assert not spider_of(WtoEpingSpider).older_than_watermark(old)  # a full crawl goes on


@pytest.mark.parametrize("name", sorted(n for n, cls in SPIDERS.items() if cls.schedule_days))
def test_a_scheduled_source_knows_where_to_crawl_without_arguments(name, monkeypatch):
    """`marketpass schedule` crawls it live with no argument: a source that must be told its
    pages (-a urls=…) would fail at every turn, so it is crawled on demand instead."""
    monkeypatch.delenv("MARKETPASS_EPING_KEY", raising=False)
    cls = SPIDERS[name]
    requests = list(cls.from_crawler(get_crawler(cls)).initial_requests())
    assert requests and all(r.url.startswith("https://") for r in requests)
