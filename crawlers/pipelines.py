"""Item pipelines: validate → normalise (the schemas do both) → store → index.

A record that fails validation is logged with its source and dropped; the crawl goes on. The
records of a crawl are staged and committed to the record store only when the crawl ends well
(no spider error, at least the declared minimum of records on a full crawl); the index is then
updated with what changed. Otherwise nothing changes and the crawl is logged as failed.
"""

from __future__ import annotations

import logging

from scrapy import signals
from scrapy.exceptions import DropItem

from search import settings as mp_settings
from search.backend import open_backend
from search.indexing import index_records
from search.records import RecordError, load_record
from search.store import RecordStore

log = logging.getLogger(__name__)
STAGE_BATCH = 500


class ValidatePipeline:
    def process_item(self, item: dict, spider=None) -> dict:
        try:
            return load_record(item.get("kind", ""), item)
        except RecordError as exc:
            crawler_stats(spider).inc_value("marketpass/invalid")
            log.warning("%s: dropped invalid record from %s: %s", spider.name,
                        item.get("source_url"), exc)
            raise DropItem(str(exc)) from exc


class StorePipeline:
    """Stages records during the crawl; commits and indexes them when it ends well."""

    def __init__(self, crawler) -> None:
        self.crawler = crawler
        self.settings = mp_settings.load()
        self.buffer: list[dict] = []
        self.count = 0
        crawler.signals.connect(self.spider_closed, signal=signals.spider_closed)

    @classmethod
    def from_crawler(cls, crawler) -> StorePipeline:
        return cls(crawler)

    def open_spider(self, spider=None) -> None:
        self.store = RecordStore(self.settings.db_path)
        self.crawl_id = self.store.start_crawl(self.crawler.spider.name)

    def process_item(self, item: dict, spider=None) -> dict:
        self.buffer.append(item)
        self.count += 1
        if len(self.buffer) >= STAGE_BATCH:
            self._flush()
        return item

    def _flush(self) -> None:
        self.store.stage(self.crawl_id, self.buffer)
        self.buffer = []

    def spider_closed(self, spider, reason: str) -> None:
        self._flush()
        stats = self.crawler.stats
        summary = {"records": self.count, "invalid": stats.get_value("marketpass/invalid", 0),
                   "skipped": stats.get_value("marketpass/items_skipped", 0)}
        if problem := self._problem(spider, reason):
            log.error("%s: crawl failed, stored records left unchanged: %s", spider.name, problem)
            self.store.fail_crawl(self.crawl_id, problem, summary)
            stats.set_value("marketpass/outcome", "failed")
        else:
            result = self.store.finish_crawl(self.crawl_id, summary, spider.watermark())
            self._index(result.changed)
            stats.set_value("marketpass/outcome", "finished")
        self.store.close()

    def _problem(self, spider, reason: str) -> str | None:
        stats = self.crawler.stats
        if reason != "finished":
            return f"closed: {reason}"
        if error := stats.get_value("marketpass/error"):
            return error
        if errors := stats.get_value("spider_exceptions/count", 0):
            return f"{errors} spider error(s); see the log"
        if errors := stats.get_value("downloader/exception_count", 0):
            return f"{errors} download error(s)"
        if errors := stats.get_value("httperror/response_ignored_count", 0):
            return f"{errors} HTTP error response(s)"
        if spider.full and self.count < spider.min_records and not spider.from_file:
            return f"{self.count} records, fewer than the minimum of {spider.min_records}"
        return None

    def _index(self, changed: list[str]) -> None:
        backend = open_backend(self.settings)
        try:
            index_records(self.store, backend, changed)
        finally:
            backend.close()


def crawler_stats(spider):
    return spider.crawler.stats
