"""WTO notification documents: the numbered form, for what list endpoints lack.

access: document URLs given with ``-a urls=URL,URL`` (PDF, DOCX or HTML, as ePing records link
    them), or a saved document with ``--from-file``. Replay reads ``reconstructed_*.html``:
    forms laid out from the real facts of three notifications as national portals and the US
    Commerce Business Daily republished them (two 1996/97 forms in the old G/TBT/Notif.YY.NNN
    numbering, one 2025 addendum), since no WTO document could be recorded.

The form (``crawlers.forms``) gives agency, article notified under, full product text, relevant
documents, proposed dates, comment deadline, where the text is available and, for an addendum,
the ticked reasons with their dates. It complements: for a symbol already stored (from ePing)
it fills in only the fields that record lacks and adds its links, and ePing's next crawl keeps
them; a symbol not stored yet (the pre-2000 notifications) becomes a record of its own.
"""

from __future__ import annotations

from crawlers.forms import parse_form
from crawlers.spiders.patterns import DocumentSpider


class WtoDocumentsSpider(DocumentSpider):
    name = "wto_documents"
    kinds = ('notification',)
    schedule_days = None
    publisher = "World Trade Organization (notification documents)"
    source_url = "https://docs.wto.org/"
    licence = "WTO documents are public"
    min_records = 3
    complements = True
    not_a_document = "not a notification form"

    def parse_document(self, text: str) -> dict:
        return parse_form(text)
