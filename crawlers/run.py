"""Running spiders from the command line (and from ``marketpass``), one process, one reactor."""

from __future__ import annotations

import gc
import logging
from collections.abc import Iterator
from contextlib import contextmanager

from scrapy.crawler import CrawlerProcess
from scrapy.settings import Settings
from scrapy.spiderloader import SpiderLoader

from crawlers import settings as crawler_settings
from crawlers.spiders.base import MarketPassSpider


def _spiders() -> dict[str, type[MarketPassSpider]]:
    """Every source, found by Scrapy's spider loader in ``crawlers.spiders``: a new source is
    its module there (with its recording and test), nothing else to register."""
    settings = Settings()
    settings.setmodule(crawler_settings)
    loader = SpiderLoader.from_settings(settings)
    return {name: loader.load(name) for name in sorted(loader.list())
            if issubclass(loader.load(name), MarketPassSpider)}


SPIDERS: dict[str, type[MarketPassSpider]] = _spiders()


def scrapy_settings(log_level: str = "INFO", replay: bool = False) -> Settings:
    settings = Settings()
    settings.setmodule(crawler_settings)
    settings.set("LOG_LEVEL", log_level)
    if replay:
        # Local files need no politeness delay and have no robots.txt.
        settings.set("DOWNLOAD_DELAY", 0)
        settings.set("AUTOTHROTTLE_ENABLED", False)
        settings.set("ROBOTSTXT_OBEY", False)
    return settings


def crawl(names: list[str], replay: bool = False, full: bool = False,
          from_file: str | None = None, log_level: str = "WARNING",
          watermarks: dict[str, str | None] | None = None,
          spider_args: dict[str, str] | None = None) -> dict[str, str]:
    """Run the named spiders to the end; returns each one's outcome (finished | failed).

    ``watermarks`` gives each source where its last good crawl ended, for incremental crawls.
    """
    unknown = [n for n in names if n not in SPIDERS]
    if unknown:
        raise KeyError(f"unknown spider(s) {', '.join(unknown)}; known: {', '.join(SPIDERS)}")
    process = CrawlerProcess(scrapy_settings(log_level, replay or bool(from_file)))
    # Scrapy's handler filters by level, but its loggers would still build a record per item.
    logging.getLogger("scrapy").setLevel(log_level)
    crawlers = {}
    for name in names:
        crawler = process.create_crawler(SPIDERS[name])
        crawlers[name] = crawler
        since = (watermarks or {}).get(name)
        process.crawl(crawler, replay=replay, full=full, from_file=from_file,
                      **({"since": since} if since else {}), **(spider_args or {}))
    with _fewer_collections():
        process.start()
    return {n: c.stats.get_value("marketpass/outcome", "failed") for n, c in crawlers.items()}


@contextmanager
def _fewer_collections() -> Iterator[None]:
    """A large crawl keeps its records and Scrapy's objects alive until it ends; at the default
    thresholds the collector walks all of them again and again (a fifth of a 50,000-item
    crawl's time). What exists before the crawl is set aside (``gc.freeze``) and young objects
    are collected less often; the collector still runs, a full pass every 500 young ones (the
    cycles a long live crawl makes are freed during it)."""
    threshold = gc.get_threshold()
    gc.freeze()
    gc.set_threshold(100_000, 50, 10)
    try:
        yield
    finally:
        gc.set_threshold(*threshold)
        gc.unfreeze()
