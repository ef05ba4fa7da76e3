"""Japan, PSE (DENAN): the categories of electrical appliances and materials the Act covers.

access: live, the ordinance's text named with ``-a urls=URL``; replay reads
    ``reconstructed_ordinance_appended_table_1.html``: the 20 categories (区分) of Appended
    Table 1 as a secondary page lists them verbatim, since the official text could not be
    recorded.

Structure assumed: a table whose rows are a category number (1, 2, …) and its name, under the
ordinance's Appended Table 1; rows that do not start with a number are ignored. The result is
one ``regulation`` record, the Act, with the categories as its scope (manufacturers and
importers notify METI per category), linked to the two PSE schemes (diamond PSE for
specified appliances, circle PSE for the others). Unverified until checked against the
official text.
"""

from __future__ import annotations

import re

from crawlers.spiders.patterns import HtmlListingSpider, cell_text

ACT = {
    "id": "jp-denan",
    "jurisdiction": "JP",
    "identifier": "Act No. 234 of 1961",
    "title": "Electrical Appliances and Materials Safety Act (電気用品安全法, DENAN)",
    "schemes": ["jp-pse-specified", "jp-pse-non-specified"],
    "status": "in force",
    "language": "ja",
}


class MetiPseSpider(HtmlListingSpider):
    name = "meti_pse"
    kinds = ('regulation',)
    schedule_days = None  # on demand: its pages are named with -a urls=…
    publisher = "Ministry of Economy, Trade and Industry (METI), Japan"
    source_url = "https://www.japaneselawtranslation.go.jp/en/laws/view/3006/ja"
    licence = "Japanese laws and ordinances are not subject to copyright (Copyright Act, Art. 13)"
    min_records = 1
    no_listing = "no numbered category rows"

    def parse_listing(self, response, cited: str):
        categories = []
        for row in response.css("tr"):
            cells = [cell_text(c) for c in row.css("td")]
            if len(cells) >= 2 and re.fullmatch(r"\d{1,2}", cells[0]):
                categories.append(f"{cells[0]}. {cells[1]}")
        if not categories:
            return
        sources = [{"url": cited, "supports": f"the {len(categories)} categories (区分) of "
                                             "Appended Table 1, verbatim"},
                   {"url": self.source_url, "supports": "the ordinance's official text"}]
        yield {"kind": "regulation", **ACT, **self.provenance(cited), "categories": categories,
               "links": [{"url": self.source_url, "label": "Ordinance for Enforcement (text)"}],
               "sources": sources, "verified": False}
