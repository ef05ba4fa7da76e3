"""What every MarketPass spider shares: metadata, replay of recorded responses, provenance.

A spider runs live (against the publisher) or in replay mode, where it reads the responses
recorded under ``crawlers/sources/<spider>/`` through ``file://`` URLs; tests, ``make run`` and
offline users replay. The recorded folder's ``manifest.json`` says where and when the responses
were recorded, which becomes ``fetched_at`` of the records replayed from them.
"""

from __future__ import annotations

import json
import sys
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from functools import cached_property
from pathlib import Path

import scrapy

SOURCES = Path(__file__).resolve().parent.parent / "sources"


def _summary(cls: type) -> str:
    """The first line of the source module's docstring: what the source is, in a sentence."""
    doc = sys.modules[cls.__module__].__doc__ or cls.__doc__ or ""
    return doc.strip().split("\n")[0]


class CrawlError(RuntimeError):
    """The source cannot be crawled as asked (no recordings, no live access, changed format)."""


# How sources are read: each has its base spider in crawlers.spiders.patterns, which a source
# subclasses (its ``access`` comes from there).
ACCESS = ("paged JSON API", "HTML listing", "bulk file", "document parser", "curated file")


class MarketPassSpider(scrapy.Spider):
    # What every source declares, once, here on its class: the crawl log, "About the data",
    # `marketpass sources` and the schedule read it (tests/test_spiders.py walks them all).
    publisher: str = ""
    source_url: str = ""       # the publisher's page for this dataset ("" when records cite theirs)
    licence: str = ""          # terms of use / licence note
    access: str = ""           # one of ACCESS, set by the pattern's base spider
    kinds: tuple[str, ...] = ()  # the record kinds it writes
    schedule_days: float | None = None  # how often `marketpass schedule` crawls it live
    # (None: on demand — the source needs pages named with -a urls=…, or ships with the code)
    min_records: int = 1       # a full crawl yielding fewer records fails and changes nothing
    complements: bool = False  # adds fields to records of other sources instead of replacing

    @classmethod
    def declaration(cls) -> dict:
        """The source as it declares itself."""
        return {"name": cls.name, "publisher": cls.publisher, "source_url": cls.source_url,
                "licence": cls.licence, "access": cls.access, "kinds": list(cls.kinds),
                "schedule_days": cls.schedule_days, "min_records": cls.min_records,
                "summary": _summary(cls)}

    def __init__(self, replay: bool = False, full: bool = False, from_file: str | None = None,
                 urls: str = "", since: str | None = None, **kwargs) -> None:
        super().__init__(**kwargs)
        # Pages to read live, for sources without a fixed address (-a urls=URL,URL).
        self.urls = [u.strip() for u in urls.split(",") if u.strip()]
        self.replay = _flag(replay)
        self.full = _flag(full) or self.replay or bool(from_file)
        self.from_file = from_file
        # Where the last good crawl ended (an incremental crawl starts there), unless --full;
        # ``newest`` is where this one ends, for the next (``saw_date``).
        self.since = None if self.full else since
        self.newest: str | None = None
        self.started_at = datetime.now(UTC).isoformat(timespec="seconds")

    @classmethod
    def sources_dir(cls) -> Path:
        """The recordings: ``sources/<name>/`` beside the spiders' package (crawlers/sources/
        for ours), so a source kept in another package brings its recordings along."""
        owner = next((k for k in cls.__mro__ if "name" in vars(k)), cls)  # not a test's subclass
        module = getattr(sys.modules.get(owner.__module__), "__file__", None)
        return Path(module).resolve().parent.parent / "sources" / cls.name if module else (
            SOURCES / cls.name)

    @cached_property
    def manifest(self) -> dict:
        path = self.sources_dir() / "manifest.json"
        return json.loads(path.read_text()) if path.exists() else {}

    def recorded_url(self, filename: str) -> str:
        return (self.sources_dir() / filename).as_uri()

    def fetched_at(self) -> str:
        """When the data was fetched: the recording date in replay mode, else now."""
        if self.replay or self.from_file:
            return self.manifest.get("recorded_at", self.started_at)
        return self.started_at

    # --- what happened, for the crawl log -------------------------------------------------------

    def page_ok(self) -> None:
        """A response was read and understood (a crawl with none of these has failed)."""
        self.crawler.stats.inc_value("marketpass/pages_ok")

    def fault(self, where: str, problem: object) -> None:
        """A page or request that could not be used: logged, counted, and the crawl goes on."""
        self.logger.warning("fault at %s: %s", where, problem)
        stats = self.crawler.stats
        stats.inc_value("marketpass/faults")
        log = stats.get_value("marketpass/fault_log") or []
        if len(log) < 50:
            stats.set_value("marketpass/fault_log", [*log, f"{where}: {problem}"[:300]])

    def on_error(self, failure) -> None:
        """Errback: a request that failed for good (after the retries)."""
        self.fault(failure.request.url, failure.getErrorMessage() or failure.type.__name__)

    def batched(self, records, size: int = 500):
        """Records in batches for an imported file: one Scrapy item per batch, not per record."""
        batch: list[dict] = []
        for record in records:
            batch.append(record)
            if len(batch) == size:
                yield {"kind": "batch", "records": batch}
                batch = []
        if batch:
            yield {"kind": "batch", "records": batch}

    def cited_url(self, response) -> str:
        """The page a record read from this response cites: for a reconstructed recording, the
        page its facts were taken from (the manifest's ``listing_sources``); else the response."""
        if self.replay:
            recorded = response.url.rsplit("/", 1)[-1]
            return self.manifest.get("listing_sources", {}).get(recorded, response.url)
        return response.url

    def provenance(self, source_url: str) -> dict:
        return {"source": self.name, "source_url": source_url, "fetched_at": self.fetched_at()}

    async def start(self) -> AsyncIterator[scrapy.Request]:
        try:
            requests = list(self.initial_requests())
        except CrawlError as exc:
            # Recorded in the stats so the pipeline fails the crawl with this reason.
            self.logger.error("%s", exc)
            self.crawler.stats.set_value("marketpass/error", str(exc))
            return
        for request in requests:
            yield request

    def initial_requests(self) -> Iterator[scrapy.Request]:
        if self.from_file:
            yield scrapy.Request(Path(self.from_file).resolve().as_uri(), dont_filter=True,
                                 errback=self.on_error)
        elif self.replay:
            yield from self.replay_requests()
        else:
            yield from self.live_requests()

    def replay_requests(self) -> Iterator[scrapy.Request]:
        """The recorded responses the manifest lists, in its order."""
        files = self.manifest.get("files", [])
        if not files:
            raise CrawlError(f"{self.name} has no recorded responses to replay")
        for name in files:
            yield scrapy.Request(self.recorded_url(name), dont_filter=True, errback=self.on_error)

    def live_requests(self) -> Iterator[scrapy.Request]:
        """The pages named with -a urls=…; spiders with a fixed address override this."""
        if not self.urls:
            raise CrawlError(f"name the pages {self.name} should read: -a urls=URL,URL")
        for url in self.urls:
            yield scrapy.Request(url, dont_filter=True, errback=self.on_error)

    def saw_date(self, date: str) -> None:
        """A record dated ``date`` (ISO) was kept: the watermark moves up to it."""
        self.newest = max(self.newest or date, date) or None

    def watermark(self) -> str | None:
        """What the next incremental live crawl starts from (the pipeline stores it on
        success): the newest date seen, for sources that note them."""
        return None if self.replay or self.from_file else self.newest


def _flag(value: object) -> bool:
    # Scrapy passes -a arguments as strings.
    return value is True or str(value).lower() in ("1", "true", "yes")
