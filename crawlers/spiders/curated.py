"""Curated knowledge: schemes, marks, arrangements, bodies, written by hand with citations.

publisher: MarketPass contributors, from the public sources each record cites
source_url: none of its own (each record cites its sources)
licence: facts with their citations; see each record's ``sources``
access: the JSON files in ``crawlers/curated/`` (``{"kind", "compiled_on", "records": [...]}``),
    read through ``file://`` so they take the same validation and provenance path as every
    crawled record. Replay and live are the same here: the files are the source.

A record's ``source_url`` is its first cited source; ``fetched_at`` is the newest
``verified_on`` of its sources, else the file's ``compiled_on``. A record no source confirmed
keeps ``verified: false`` and is shown as unverified.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import scrapy

from crawlers.spiders.base import CrawlError, MarketPassSpider

CURATED = Path(__file__).resolve().parent.parent / "curated"


class CuratedSpider(MarketPassSpider):
    name = "curated"
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
        for record in records:
            yield {"kind": kind, **self._provenance(record, content), **record}

    def _provenance(self, record: dict, content: dict) -> dict:
        sources = record.get("sources") or []
        dates = [s["verified_on"] for s in sources if s.get("verified_on")]
        return {
            "source": self.name,
            "source_url": sources[0]["url"] if sources else None,
            "fetched_at": max(dates) if dates else content.get("compiled_on", self.started_at),
        }
