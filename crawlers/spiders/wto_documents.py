"""WTO notification documents: the numbered form, for what list endpoints lack.

publisher: World Trade Organization (notification documents)
source_url: https://docs.wto.org/
licence: WTO documents are public
access: document URLs given with ``-a urls=URL,URL`` (DOCX or HTML, as ePing records link
    them), or a saved document with ``--from-file``. Replay reads ``reconstructed_*.html``:
    forms laid out from the real facts of three notifications as national portals and the US
    Commerce Business Daily republished them (two 1996/97 forms in the old G/TBT/Notif.YY.NNN
    numbering, one 2025 addendum), since no WTO document could be recorded.

The form (``crawlers.forms``) gives agency, article notified under, full product text, relevant
documents, proposed dates, comment deadline, where the text is available and, for an addendum,
the ticked reasons with their dates. Limit: a record read here replaces, not completes, a
record of the same symbol from ePing; merging the two is left for later, so use it for
documents ePing does not carry (the pre-2000 notifications) until then.
"""

from __future__ import annotations

from collections.abc import Iterator

import scrapy

from crawlers.forms import document_text, parse_form
from crawlers.spiders.base import CrawlError, MarketPassSpider


class WtoDocumentsSpider(MarketPassSpider):
    name = "wto_documents"
    publisher = "World Trade Organization (notification documents)"
    source_url = "https://docs.wto.org/"
    licence = "WTO documents are public"
    min_records = 3

    def __init__(self, *args, urls: str = "", **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.urls = [u.strip() for u in urls.split(",") if u.strip()]

    def replay_requests(self) -> Iterator[scrapy.Request]:
        for name in self.manifest.get("files", []):
            yield scrapy.Request(self.recorded_url(name), dont_filter=True, errback=self.on_error)

    def live_requests(self) -> Iterator[scrapy.Request]:
        if not self.urls:
            raise CrawlError("name the documents to read: -a urls=URL,URL (DOCX or HTML)")
        for url in self.urls:
            yield scrapy.Request(url, dont_filter=True, errback=self.on_error)

    def parse(self, response, **kwargs):
        try:
            form = parse_form(document_text(response.body, response.url))
        except (ValueError, KeyError) as exc:
            self.fault(response.url, f"not a notification form: {exc}")
            return
        self.page_ok()
        yield {"kind": "notification", **self.provenance(response.url), **form}
