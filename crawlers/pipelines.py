"""Item pipelines: validate → normalise (the schemas do both) → store → index.

A record that fails validation is logged with its source and dropped; the crawl goes on. The
records of a crawl are staged and committed to the record store only when the crawl ends well
(no spider error, at least the declared minimum of records on a full crawl); the index is then
updated with what changed. Otherwise nothing changes and the crawl is logged as failed.
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context

from scrapy import signals
from scrapy.exceptions import DropItem

from search import settings as mp_settings
from search.backend import open_backend
from search.indexing import index_records, reconcile
from search.records import (
    RecordError,
    complement,
    content_hash,
    keep_complements,
    load_record,
    salvage,
)
from search.store import RecordStore

log = logging.getLogger(__name__)
STAGE_BATCH = 500


def records_in(item: dict) -> list[dict]:
    """An item is one record, or a batch of them (bulk imports spare Scrapy's per-item cost)."""
    return item["records"] if item.get("kind") == "batch" else [item]


# Large batches (bulk imports) are validated in worker processes: marshmallow's per-field work
# is most of a large crawl's CPU time, and the store pipeline gives the same records whatever
# order items reach it in (tests/test_pipeline_order.py).
POOL_MIN_BATCH = 200
POOL_MIN_INDEX = 20_000


def outcomes(records: list[dict]) -> list[tuple[str, object]]:
    """Each record's validation outcome, in order (picklable, for a worker process):
    ("ok", record), ("salvaged", (record, left_out, messages)) or ("invalid", error text)."""
    out: list[tuple[str, object]] = []
    for data in records:
        kind = data.get("kind", "")
        try:
            out.append(("ok", load_record(kind, data)))
        except RecordError as exc:
            if saved := salvage(kind, data, exc):
                out.append(("salvaged", (*saved, exc.messages)))
            else:
                out.append(("invalid", f"from {data.get('source_url')}: {exc}"))
    return out


class Workers:
    """A crawl's worker processes (``MARKETPASS_CRAWL_WORKERS``, else the CPUs up to 4), shared
    by validation and the index write and started when first needed: spawning one costs about
    a second of imports. Spawned, not forked: the crawling process runs threads and an event
    loop."""

    def __init__(self) -> None:
        self.count = int(os.environ.get("MARKETPASS_CRAWL_WORKERS", "0") or 0) or \
            min(os.cpu_count() or 1, 4)
        self.pool: ProcessPoolExecutor | None = None

    def get(self) -> ProcessPoolExecutor:
        if self.pool is None:
            self.pool = ProcessPoolExecutor(self.count, mp_context=get_context("spawn"))
        return self.pool

    def stop(self, spider=None, reason=None) -> None:
        if self.pool is not None:
            self.pool.shutdown(cancel_futures=True)
            self.pool = None


def workers_of(crawler) -> Workers:
    """The crawler's workers, made by whichever pipeline asks first."""
    if not hasattr(crawler, "marketpass_workers"):
        crawler.marketpass_workers = Workers()
        # After every spider_closed handler (the index write is one of them).
        crawler.signals.connect(crawler.marketpass_workers.stop, signal=signals.engine_stopped)
    return crawler.marketpass_workers


class ValidatePipeline:
    def __init__(self, crawler) -> None:
        self.crawler = crawler
        self.workers = workers_of(crawler)

    @classmethod
    def from_crawler(cls, crawler) -> ValidatePipeline:
        return cls(crawler)

    async def process_item(self, item: dict, spider=None) -> dict:
        records = records_in(item)
        if self.workers.count > 1 and len(records) >= POOL_MIN_BATCH:
            done = await asyncio.wrap_future(self.workers.get().submit(outcomes, records))
            return self._kept(done, item)
        return self.validate(item)

    def validate(self, item: dict) -> dict:
        """The item with its valid records, in this process; DropItem when none is."""
        return self._kept(outcomes(records_in(item)), item)

    def _kept(self, results: list[tuple[str, object]], item: dict) -> dict:
        valid = [r for r in map(self._one, results) if r is not None]
        if not valid:
            raise DropItem("no valid record")
        return {"kind": "batch", "records": valid} if item.get("kind") == "batch" else valid[0]

    def _one(self, result: tuple[str, object]) -> dict | None:
        outcome, value = result
        if outcome == "ok":
            return value
        if outcome == "salvaged":
            # Kept without the optional values that failed; the fault log says which.
            record, left_out, messages = value
            self.crawler.spider.fault(
                record["id"], f"kept without invalid {', '.join(left_out)}: {messages}")
            return record
        self.crawler.stats.inc_value("marketpass/invalid")
        log.warning("%s: dropped invalid record %s", self.crawler.spider.name, value)
        return None


class StorePipeline:
    """Stages records during the crawl; commits and indexes them when it ends well."""

    def __init__(self, crawler) -> None:
        self.crawler = crawler
        self.settings = mp_settings.load()
        self.buffer: list[dict] = []
        self.count = 0
        self.duplicates = 0
        self.seen: set[str] = set()
        self.cited: dict[str, dict] = {}  # records with sources, by id, for _cite_again
        crawler.signals.connect(self.spider_closed, signal=signals.spider_closed)

    @classmethod
    def from_crawler(cls, crawler) -> StorePipeline:
        return cls(crawler)

    def open_spider(self, spider=None) -> None:
        self.store = RecordStore(self.settings.store_location)
        # What killed crawls left behind goes first: their staged rows, and committed records
        # the index never received.
        if interrupted := self.store.clear_interrupted():
            log.warning("crawls %s were interrupted; what they staged is dropped", interrupted)
        if self.store.pending_index():
            backend = open_backend(self.settings)
            try:
                log.warning("indexing %d records a killed crawl committed",
                            reconcile(self.store, backend))
            finally:
                backend.close()
        self.crawl_id = self.store.start_crawl(self.crawler.spider.name)
        self.complemented = self.store.complemented_ids()

    def process_item(self, item: dict, spider=None) -> dict:
        for record in records_in(item):
            self._add(record)
        return item

    def _add(self, record: dict) -> None:
        if record["id"] in self.seen:  # the same record twice in one crawl is stored once
            self.duplicates += 1
            self._cite_again(record)
            return
        self.seen.add(record["id"])
        record = self._merged(record)
        if record.get("sources"):
            self.cited[record["id"]] = record
        self.buffer.append(record)
        self.count += 1
        if len(self.buffer) >= STAGE_BATCH:
            self._flush()

    def _cite_again(self, record: dict) -> None:
        """A cited fact seen on a second page: the one stored record cites both.

        Pages arrive in any order, so the result must not depend on it: the sources are the
        union in a fixed order, and the other fields come from the page whose address sorts
        first (a crawl run twice then stores the same record twice, not a change)."""
        first = self.cited.get(record["id"])
        if not first:
            return
        sources = {(s["url"], s.get("supports") or ""): s
                   for s in [*first.get("sources", []), *record.get("sources", [])]}
        base = record if record["source_url"] < first["source_url"] else first
        merged = {**base, "sources": [sources[key] for key in sorted(sources)]}
        merged["content_hash"] = content_hash(merged)
        if merged == first:
            return
        staged = first not in self.buffer
        first.clear()
        first.update(merged)  # the buffered record is this object: it changes in place
        if staged:  # already staged: stage it again, replacing itself
            self.store.stage(self.crawl_id, [first])

    def _merged(self, item: dict) -> dict:
        """A complementing source adds to the stored record; a record's own source keeps
        what complementing sources added."""
        spider = self.crawler.spider
        if spider.complements:
            stored = self.store.get(item["id"])
            # A record of its own (no other source has it) is simply replaced.
            if stored and stored["source"] != spider.name:
                return complement(stored, item, spider.name)
            return item
        if item["id"] in self.complemented:
            return keep_complements(self.store.get(item["id"]), item)
        return item

    def _flush(self) -> None:
        self.store.stage(self.crawl_id, self.buffer)
        self.buffer = []

    def spider_closed(self, spider, reason: str) -> None:
        self._flush()
        summary = self._summary()
        if problem := self._problem(spider, reason):
            log.error("%s: crawl failed, stored records left unchanged: %s", spider.name, problem)
            self.store.fail_crawl(self.crawl_id, problem, summary)
            self.crawler.stats.set_value("marketpass/outcome", "failed")
        else:
            # A crawl with faults may have missed records: the next one starts where this began.
            watermark = None if summary["faults"] else spider.watermark()
            result = self.store.finish_crawl(self.crawl_id, summary, watermark)
            if pause := float(os.environ.get("MARKETPASS_TEST_PAUSE_BEFORE_INDEX") or 0):
                time.sleep(pause)  # for the test that kills a crawl between store and index
            self._index(result.changed)
            self.store.indexed(result.changed)
            self.crawler.stats.set_value("marketpass/outcome", "finished")
        self.store.close()

    def _summary(self) -> dict:
        stats, spider = self.crawler.stats, self.crawler.spider
        return {
            "publisher": spider.publisher,
            "dataset_url": spider.source_url,
            "licence": spider.licence,
            "schedule_days": spider.schedule_days,
            "mode": "replay" if spider.replay else "file" if spider.from_file else "live",
            "fetched": stats.get_value("downloader/response_count", 0),
            "records": self.count,
            "duplicates": self.duplicates,
            "invalid": stats.get_value("marketpass/invalid", 0),
            "skipped": stats.get_value("marketpass/items_skipped", 0),
            "faults": stats.get_value("marketpass/faults", 0),
            "fault_log": stats.get_value("marketpass/fault_log", []),
            # What a source says about itself (the curated files' headers).
            **({"about": about} if (about := stats.get_value("marketpass/about")) else {}),
        }

    def _problem(self, spider, reason: str) -> str | None:
        """Why the crawl must change nothing, if it must; faults alone do not fail it."""
        stats = self.crawler.stats
        if reason != "finished":
            return f"closed: {reason}"
        if error := stats.get_value("marketpass/error"):
            return error
        if errors := stats.get_value("spider_exceptions/count", 0):
            return f"{errors} spider error(s), the source may have changed; see the log"
        if not stats.get_value("marketpass/pages_ok", 0):
            return "no response could be read"
        if spider.full and self.count < spider.min_records and not spider.from_file:
            return f"{self.count} records, fewer than the minimum of {spider.min_records}"
        return None

    def _index(self, changed: list[str]) -> None:
        workers = workers_of(self.crawler)
        backend = open_backend(self.settings)
        # Workers already running make the batches; for a large write they are worth starting
        # (for a backend that takes prepared batches: the embedded one).
        use = workers.count > 1 and getattr(backend, "prepare", None) is not None and (
            workers.pool is not None or len(changed) >= POOL_MIN_INDEX)
        try:
            index_records(self.store, backend, changed, workers.get() if use else None)
        finally:
            backend.close()
