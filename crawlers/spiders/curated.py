"""Curated knowledge: schemes, marks, arrangements, bodies, written by hand with citations.

access: the JSON files in ``crawlers/curated/`` (``{"kind", "compiled_on", "records": [...]}``),
    read as every curated file is (``patterns.CuratedFileSpider``: a record's ``source_url`` is
    its first cited source, ``fetched_at`` the newest ``verified_on`` of its sources, else the
    file's ``compiled_on``; each file's header is kept in the crawl log under ``about``). A
    record no source confirmed keeps ``verified: false`` and is shown as unverified.
"""

from __future__ import annotations

from pathlib import Path

from crawlers.spiders.patterns import CuratedFileSpider

CURATED = Path(__file__).resolve().parent.parent / "curated"


class CuratedSpider(CuratedFileSpider):
    name = "curated"
    kinds = ('scheme', 'regulation', 'arrangement', 'body', 'product')
    schedule_days = None
    publisher = "MarketPass contributors, from the public sources each record cites"
    licence = "Facts with their citations; see each record's sources"
    min_records = 1
    folder = CURATED
