"""Running spiders from the command line (and from ``marketpass``), one process, one reactor."""

from __future__ import annotations

import logging

from scrapy.crawler import CrawlerProcess
from scrapy.settings import Settings

from crawlers import settings as crawler_settings
from crawlers.spiders.base import MarketPassSpider
from crawlers.spiders.curated import CuratedSpider
from crawlers.spiders.hs_nomenclature import HsNomenclatureSpider
from crawlers.spiders.iecee_members import IeceeMembersSpider
from crawlers.spiders.meti_pse import MetiPseSpider
from crawlers.spiders.wto_documents import WtoDocumentsSpider
from crawlers.spiders.wto_eping import WtoEpingSpider
from crawlers.spiders.wto_eping_bulk import WtoEpingBulkSpider

SPIDERS: dict[str, type[MarketPassSpider]] = {
    spider.name: spider
    for spider in (CuratedSpider, HsNomenclatureSpider, IeceeMembersSpider, MetiPseSpider,
                   WtoDocumentsSpider, WtoEpingSpider, WtoEpingBulkSpider)
}


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
    process.start()
    return {n: c.stats.get_value("marketpass/outcome", "failed") for n, c in crawlers.items()}
