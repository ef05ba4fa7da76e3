"""Base spiders, one per access pattern (``base.ACCESS``): a source subclasses the one that
reads it and fills in its hooks, so its module says only what is particular to the source.

- ``PagedJsonApiSpider``: a JSON list served page by page, ``{items, totalCount}``, newest
  first; hooks ``page_url(page)`` (or ``page_request``) and ``parse_item(item)``.
- ``HtmlListingSpider``: HTML pages listing records, a listing split over pages followed to
  its end; hook ``parse_listing(response, cited)``.
- ``BulkFileSpider``: one file (CSV, or a workbook with ``workbook_rows``) read whole, its
  records yielded in batches; hooks ``read_rows(response)`` and ``parse_row(row)``.
- ``DocumentSpider``: documents (PDF, DOCX, HTML) read as text; hook ``parse_document(text)``.
- ``CuratedFileSpider``: JSON files written by hand, ``{"kind", "records": [...]}``, each
  record citing its sources.

Recordings, replay, provenance and the crawl's fault log are ``MarketPassSpider``'s.
"""

from __future__ import annotations

import csv
import io
import json
import os
import re
import zipfile
from collections.abc import Iterable, Iterator
from pathlib import Path
from urllib.parse import unquote, urlparse

import scrapy
from openpyxl import load_workbook

from crawlers.extract import open_archive
from crawlers.forms import document_text
from crawlers.spiders.base import CrawlError, MarketPassSpider


class PagedJsonApiSpider(MarketPassSpider):
    """Paging ends at ``totalCount``, at a page that brings no item not seen before (an endpoint
    that never stops), after ``max_failed_pages_in_a_row`` unreadable pages, at ``max_pages``,
    and, for an incremental crawl, at the first page older than the watermark. A page that is
    not the expected JSON is a fault: the next one is asked for."""

    access = "paged JSON API"
    page_size = 100
    max_pages = 2000
    max_failed_pages_in_a_row = 3
    items_key = "items"
    total_key = "totalCount"
    date_key = ""  # the items' date, by which the list is sorted newest first

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.seen: set = set()
        self.failed_in_a_row = 0

    page_headers = {"Accept": "application/json"}

    def page_url(self, page: int) -> str:
        """The live address of a page of the list (from 1)."""
        raise NotImplementedError

    def page_request(self, page: int) -> scrapy.Request:
        """The live request for a page: a source that needs more than its address (headers,
        a key) builds it here, with ``page`` in cb_kwargs and ``on_page_error`` as errback."""
        return scrapy.Request(self.page_url(page), dont_filter=True, headers=self.page_headers,
                              cb_kwargs={"page": page}, errback=self.on_page_error)

    def parse_item(self, item: dict) -> Iterator[dict]:
        """The records of one item of the list."""
        raise NotImplementedError

    def live_requests(self) -> Iterator[scrapy.Request]:
        yield self.page_request(1)

    def parse(self, response, page: int | None = None, **kwargs):
        try:
            envelope = self.envelope(response.text)
        except CrawlError as exc:
            self.fault(response.url, exc)
            yield from self.next_page(page, fresh=0, total=None, failed=True)
            return
        self.page_ok()
        items = envelope[self.items_key]
        fresh = sum(item.get("id") not in self.seen for item in items)
        self.seen.update(item.get("id") for item in items)
        records = (r for item in items for r in self.parse_item(item))
        yield from self.after_page(page, items, records, fresh, envelope.get(self.total_key))

    def after_page(self, page: int | None, items: list, records: Iterator[dict], fresh: int,
                   total: int | None):
        """A page's records (batched when a saved file is imported), then the next page."""
        yield from self.batched(records) if self.from_file else records
        if self.older_than_watermark(items):
            return  # newest first: the rest was crawled before
        yield from self.next_page(page, fresh, total, failed=False)

    def on_page_error(self, failure):
        self.on_error(failure)
        yield from self.next_page(failure.request.cb_kwargs.get("page"), 0, None, failed=True)

    def envelope(self, text: str) -> dict:
        try:
            envelope = json.loads(text)
        except ValueError as exc:
            raise CrawlError(f"not JSON ({exc})") from exc
        if not isinstance(envelope, dict) or not isinstance(envelope.get(self.items_key), list):
            raise CrawlError(f"expected an object with an '{self.items_key}' list")
        return envelope

    def older_than_watermark(self, items: list) -> bool:
        """A page of an incremental crawl whose every item is older than the watermark."""
        dates = [(i.get(self.date_key) or "")[:10] for i in items if isinstance(i, dict)]
        return bool(self.since and dates and all(d and d < self.since for d in dates))

    def next_page(self, page: int | None, fresh: int, total: int | None, failed: bool):
        """The next page of a live crawl, unless paging should end here (replayed pages have
        no number: the manifest lists them all)."""
        if not page:
            return
        self.failed_in_a_row = self.failed_in_a_row + 1 if failed else 0
        if self.failed_in_a_row >= self.max_failed_pages_in_a_row or page >= self.max_pages:
            return
        if not failed and (fresh == 0 or (total is not None and page * self.page_size >= total)):
            return
        yield self.page_request(page + 1)


# Links that lead to a listing's next page, when it has no rel=next.
NEXT = ("next", "next page", "›", "»", ">", "suivant", "下一页")


class HtmlListingSpider(MarketPassSpider):
    """Live, the pages named with ``-a urls=…`` (listings move: no address is assumed); a page
    without the listing is a fault, and the crawl goes on."""

    access = "HTML listing"
    no_listing = "no listing on the page"  # the fault logged for a page without one
    follow_pages = False  # a listing split over pages: follow its "next" links to the end

    def parse_listing(self, response, cited: str) -> Iterator[dict]:
        """The records a page lists; ``cited`` is the address they cite."""
        raise NotImplementedError

    def parse(self, response, **kwargs):
        records = list(self.parse_listing(response, self.cited_url(response)))
        if not records:
            self.fault(response.url, self.no_listing)
            return
        self.page_ok()
        yield from records
        if self.follow_pages and (following := next_page(response)):
            yield response.follow(following, callback=self.parse, errback=self.on_error)


def next_page(response) -> str | None:
    """The next page of a listing split over pages, if the page links one."""
    href = response.css("a[rel~=next]::attr(href), link[rel~=next]::attr(href)").get()
    if href:
        return href
    for link in response.css("a[href]"):
        if cell_text(link).lower() in NEXT:
            return link.attrib["href"]
    return None


def cell_text(selector) -> str:
    """The text of a table cell (or any element), whitespace collapsed."""
    return re.sub(r"\s+", " ", " ".join(selector.css("::text").getall())).strip()


class BulkFileSpider(MarketPassSpider):
    """Live, the file at ``file_url`` or at the address the deployment sets in
    ``file_url_setting``; ``--from-file`` imports a downloaded copy. Records go out in
    batches, sparing Scrapy's cost per item. By default the file is a CSV with ``columns``."""

    access = "bulk file"
    file_url = ""  # the publisher's fixed address of the file, if it has one
    file_url_setting = ""  # else the MARKETPASS_* variable that names it
    file_name = "the file"  # what to download, for the message when no address is set
    columns: frozenset[str] = frozenset()  # the CSV columns the source needs
    batch_size = 500

    def read_rows(self, response) -> Iterable:
        """The file's rows; a file that cannot be read (the format changed) raises."""
        return csv_rows(response.text, set(self.columns))

    def parse_row(self, row, **context) -> Iterator[dict]:
        """The records of one row."""
        raise NotImplementedError

    def live_requests(self) -> Iterator[scrapy.Request]:
        url = os.environ.get(self.file_url_setting, "").strip() if self.file_url_setting else ""
        if not (url := url or self.file_url):
            raise CrawlError(f"set {self.file_url_setting} to the address of {self.file_name}, "
                             "or import a downloaded copy with --from-file")
        yield scrapy.Request(url, dont_filter=True, errback=self.on_error)

    def parse(self, response, **context):
        rows = self.read_rows(response)
        self.page_ok()
        records = (r for row in rows for r in self.parse_row(row, **context))
        yield from self.batched(records, self.batch_size)


def csv_rows(text: str, required: set[str]) -> list[dict]:
    """CSV rows by header name (the column order may change); a missing column fails loudly."""
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    missing = required - set(reader.fieldnames or [])
    if missing:
        raise ValueError(f"CSV lacks columns {sorted(missing)}")
    return list(reader)


def workbook_rows(response) -> Iterator[tuple]:
    """The first sheet's rows of an .xlsx file, as tuples of values; a file that is no
    workbook, or unpacks to more than a workbook can be, fails the crawl."""
    try:
        open_archive(response.body).close()  # a decompression bomb is refused first
    except (ValueError, zipfile.BadZipFile) as exc:
        raise CrawlError(f"{response.url}: not a readable export: {exc}") from exc
    try:
        # openpyxl parses the sheets with defusedxml (a dependency): an entity
        # declaration is refused, never expanded.
        book = load_workbook(io.BytesIO(response.body), read_only=True, data_only=True)
    except ValueError as exc:
        raise CrawlError(f"{response.url}: not a readable export: {exc}") from exc
    return book.worksheets[0].iter_rows(values_only=True)


class DocumentSpider(MarketPassSpider):
    """Live, the documents named with ``-a urls=…`` (or one saved with ``--from-file``), each
    PDF, DOCX, HTML or text; a document that is not what the source reads is a fault."""

    access = "document parser"
    not_a_document = "not a document of this source"  # the fault's words

    def parse_document(self, text: str) -> dict:
        """The record a document's text gives; ValueError or KeyError when it gives none."""
        raise NotImplementedError

    def parse(self, response, **kwargs):
        try:
            record = self.parse_document(document_text(response.body, response.url))
        except (ValueError, KeyError) as exc:
            self.fault(response.url, f"{self.not_a_document}: {exc}")
            return
        self.page_ok()
        yield {"kind": self.kinds[0], **self.provenance(response.url), **record}


class CuratedFileSpider(MarketPassSpider):
    """The JSON files in ``folder`` (else the source's recording folder), read through
    ``file://`` so that they take the validation and provenance path of every crawled record;
    replay and live are the same: the files are the source. A broken file is a bug to fix,
    and fails the crawl.

    A file's header (everything but ``records``) goes to the crawl log under ``about``. A
    record's ``source_url`` is its first cited source; ``fetched_at`` the newest
    ``verified_on`` of its sources, else the file's ``compiled_on``."""

    access = "curated file"
    source_url = ""  # each record cites its own sources
    folder: Path | None = None

    @classmethod
    def sources_dir(cls) -> Path:
        return cls.folder or super().sources_dir()

    @property
    def manifest(self) -> dict:
        files = self.sources_dir().glob("*.json")
        return {"files": sorted(p.name for p in files if p.name != "manifest.json"),
                "how": "hand-curated JSON files; every record cites its sources"}

    def live_requests(self) -> Iterator[scrapy.Request]:
        return self.replay_requests()

    def parse(self, response, **kwargs):
        try:
            content = json.loads(response.text)
            kind, records = content["kind"], content["records"]
        except (ValueError, KeyError, TypeError) as exc:
            raise CrawlError(f"{response.url}: not a curated file ({exc})") from exc
        self.page_ok()
        self._keep_header(response.url, content)
        for record in records:
            yield {"kind": kind, **self._provenance(record, content), **record}

    def _keep_header(self, url: str, content: dict) -> None:
        """The header (compiled_on, about, a baseline of its completeness) goes to the crawl
        log, so the coverage report reads it from the store, not from the file."""
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


# Each access pattern's base spider (tests/test_spiders.py holds it equal to base.ACCESS).
PATTERNS = {base.access: base for base in (PagedJsonApiSpider, HtmlListingSpider, BulkFileSpider,
                                           DocumentSpider, CuratedFileSpider)}
