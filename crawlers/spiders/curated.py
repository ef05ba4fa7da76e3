"""Curated knowledge: schemes, marks, arrangements, bodies, written by hand with citations.

access: the JSON files in ``crawlers/curated/`` (``{"kind", "compiled_on", "records": [...]}``),
    read through ``file://`` so they take the same validation and provenance path as every
    crawled record. Replay and live are the same here: the files are the source.

Each file's header (everything but ``records``) is kept in the crawl log under ``about``.
A record's ``source_url`` is its first cited source; ``fetched_at`` is the newest
``verified_on`` of its sources, else the file's ``compiled_on``. A record no source confirmed
keeps ``verified: false`` and is shown as unverified.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import unquote, urlparse

import scrapy

from crawlers.spiders.base import CrawlError, MarketPassSpider

CURATED = Path(__file__).resolve().parent.parent / "curated"


class CuratedSpider(MarketPassSpider):
    name = "curated"
    access = "curated file"
    kinds = ('scheme', 'regulation', 'arrangement', 'body', 'product')
    schedule_days = None
    publisher = "MarketPass contributors, from the public sources each record cites"
    source_url = ""  # each record cites its own sources
    licence = "Facts with their citations; see each record's sources"
    min_records = 1

    @classmethod
    def sources_dir(cls) -> Path:
        return CURATED

    @property
    def manifest(self) -> dict:
        return {"files": sorted(p.name for p in CURATED.glob("*.json")),
                "how": "hand-curated JSON files; every record cites its sources"}

    def live_requests(self) -> Iterator[scrapy.Request]:
        return self.replay_requests()  # the files are the source

    def parse(self, response, **kwargs):
        try:
            content = json.loads(response.text)
            kind, records = content["kind"], content["records"]
        except (ValueError, KeyError, TypeError) as exc:
            # A curated file is ours: a broken one is a bug to fix, not a fault to skip.
            raise CrawlError(f"{response.url}: not a curated file ({exc})") from exc
        self.page_ok()
        self._keep_header(response.url, content)
        for record in records:
            yield {"kind": kind, **self._provenance(record, content), **record}

    def _keep_header(self, url: str, content: dict) -> None:
        """A file's header (compiled_on, about, a baseline of its completeness) goes to the
        crawl log, so the coverage report reads it from the store, not from the file."""
        headers = self.crawler.stats.get_value("marketpass/about") or {}
        name = Path(unquote(urlparse(url).path)).name
        headers[name] = {k: v for k, v in content.items() if k != "records"}
        self.crawler.stats.set_value("marketpass/about", headers)

    def _provenance(self, record: dict, content: dict) -> dict:
        sources = record.get("sources") or []
        dates = [s["verified_on"] for s in sources if s.get("verified_on")]
        return {
            "source": self.name,
            "source_url": sources[0]["url"] if sources else None,
            "fetched_at": max(dates) if dates else content.get("compiled_on", self.started_at),
        }
