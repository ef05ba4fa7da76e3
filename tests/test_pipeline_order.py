"""The store pipeline gives the same records whatever order pages arrive in: a body listed on
two pages is one record citing both, the same in every run, so a second crawl changes nothing."""

from __future__ import annotations

from pathlib import Path

import pytest
from scrapy.utils.test import get_crawler

from crawlers.pipelines import StorePipeline
from crawlers.spiders.iecee_members import IeceeMembersSpider
from search.records import load_record
from search.store import RecordStore

PAGES = ("https://www.iecee.org/members/a", "https://www.iecee.org/members/b")


def body(page: str, categories: list[str]) -> dict:
    return load_record("body", {
        "id": "iecee-ncb-de-vde", "source": "iecee_members", "source_url": page,
        "fetched_at": "2026-11-26T00:00:00+00:00", "name": "VDE Testing and Certification",
        "country": "DE", "roles": ["ncb"], "categories": categories, "arrangements": ["iecee-cb"],
        "sources": [{"url": page, "supports": "listed as NCB"}], "verified": False})


def crawl(db: Path, records: list[dict], monkeypatch) -> dict:
    monkeypatch.setenv("MARKETPASS_DB", str(db))
    crawler = get_crawler(IeceeMembersSpider)
    crawler.spider = IeceeMembersSpider.from_crawler(crawler)
    pipeline = StorePipeline.from_crawler(crawler)
    pipeline.open_spider()
    for record in records:
        crawler.spider.page_ok()  # each record stands for a page read
        pipeline.process_item(record)
    pipeline.spider_closed(crawler.spider, "finished")
    store = RecordStore(db)
    return {"record": store.get("iecee-ncb-de-vde"), "stats": store.last_crawls()[0]["stats"]}


@pytest.mark.parametrize("order", [(0, 1), (1, 0)])
def test_the_same_record_whatever_the_order_of_pages(tmp_path, monkeypatch, order):
    pages = [body(PAGES[0], ["HOUS"]), body(PAGES[1], ["HOUS", "OFF"])]
    first = crawl(tmp_path / "a.db", [pages[i] for i in order], monkeypatch)["record"]
    assert [s["url"] for s in first["sources"]] == list(PAGES)
    assert first["categories"] == ["HOUS"]  # the fields of the page whose address sorts first
    reversed_ = crawl(tmp_path / "b.db", [pages[i] for i in reversed(order)], monkeypatch)
    assert reversed_["record"]["content_hash"] == first["content_hash"]


def test_a_second_crawl_in_the_other_order_changes_nothing(tmp_path, monkeypatch):
    db = tmp_path / "m.db"
    crawl(db, [body(PAGES[0], ["HOUS"]), body(PAGES[1], ["OFF"])], monkeypatch)
    again = crawl(db, [body(PAGES[1], ["OFF"]), body(PAGES[0], ["HOUS"])], monkeypatch)
    assert again["stats"]["updated"] == 0 and again["stats"]["unchanged"] == 1
