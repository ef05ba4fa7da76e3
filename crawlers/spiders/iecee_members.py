"""IECEE CB Scheme: member countries' National Certification Bodies (NCBs) from the listings.

publisher: IEC System of Conformity Assessment Schemes for Electrotechnical Equipment and
    Components (IECEE)
source_url: https://www.iecee.org/
licence: IECEE listings are public; facts only
access: live, the listing pages named with ``-a urls=URL,URL`` (iecee.org's member, NCB and CBTL
    listings; their addresses have changed over the years, so none is assumed); replay reads
    two reconstructed listing tables (the legacy iecee.com NCB rows for countries A-F, and a
    PSB-era NCB-by-country list), since iecee.org could not be recorded.

Structure assumed (from public descriptions of the listings, kept tolerant): one or more HTML
tables whose header row names a country column ("Country", "Member country") and a body column
("NCB", "National Certification Body", "CBTL", "Member Body", "Name"); a row with an empty
country cell continues the country above; a column of categories ("Categories", "Accepted
categories") is read when present, as IECEE category codes (CABL, HOUS, OFF, …). The role comes
from the body column's header. Tables without those columns are ignored; a page with none is a
fault. Every body is marked unverified unless the listing is dated: the recorded one is not.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from crawlers.spiders.base import MarketPassSpider
from search import normalise as norm
from search.analysis import fold

COUNTRY = ("country", "member country", "country/region")
BODY_ROLES = {  # header → role recorded on the body (the records' role vocabulary)
    "ncb": "ncb", "national certification body": "ncb",
    "cbtl": "cbtl", "cb testing laboratory": "cbtl",
    "member body": "member_body", "name": "ncb",
}
ROLE_NAMES = {"ncb": "IECEE NCB", "cbtl": "IECEE CBTL", "member_body": "IECEE member body"}
CATEGORIES = ("categories", "accepted categories", "product categories")
_CATEGORY = re.compile(r"\b[A-Z][A-Z0-9]{1,4}\b")


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", fold(text)).strip("-")


class IeceeMembersSpider(MarketPassSpider):
    name = "iecee_members"
    publisher = "IECEE (IEC System of Conformity Assessment Schemes for Electrotechnical Equipment)"
    source_url = "https://www.iecee.org/"
    licence = "IECEE listings are public; facts only"
    min_records = 10

    def parse(self, response, **kwargs):
        cited = self.cited_url(response)
        found = 0
        for table in response.css("table"):
            for body in self.bodies(table, cited):
                found += 1
                yield body
        if found:
            self.page_ok()
        else:
            self.fault(response.url, "no table with a country and a body column")

    def bodies(self, table, cited: str) -> Iterator[dict]:
        headers = [_cell(th).lower() for th in table.css("thead th, tr:first-child th")]
        country_col = next((i for i, h in enumerate(headers) if h in COUNTRY), None)
        body_col = next((i for i, h in enumerate(headers) if h in BODY_ROLES), None)
        if country_col is None or body_col is None:
            return
        role = BODY_ROLES[headers[body_col]]
        category_col = next((i for i, h in enumerate(headers) if h in CATEGORIES), None)
        country = None
        for row in table.css("tbody tr") or table.css("tr")[1:]:
            cells = [_cell(td) for td in row.css("td")]
            if len(cells) <= max(country_col, body_col):
                continue
            country = cells[country_col] or country
            if record := self._body(country, cells, body_col, category_col, role, cited):
                yield record

    def _body(self, country, cells, body_col, category_col, role, cited) -> dict | None:
        name = cells[body_col]
        try:
            code = norm.country(country or "")
        except norm.NormaliseError as exc:
            self.logger.warning("skipping IECEE row %r: %s", cells, exc)
            self.crawler.stats.inc_value("marketpass/items_skipped")
            return None
        categories = (_CATEGORY.findall(cells[category_col])
                      if category_col is not None and category_col < len(cells) else [])
        return {
            "kind": "body",
            **self.provenance(cited),
            "id": f"iecee-{role.rsplit('_')[-1]}-{code.lower()}-{_slug(name)}",
            "name": name,
            "country": code,
            "roles": [role],
            "categories": categories,
            "arrangements": ["iecee-cb"],
            "sources": [{"url": cited,
                         "supports": f"{name} listed as {ROLE_NAMES[role]} for {country}"}],
            "verified": False,
        }


def _cell(selector) -> str:
    return re.sub(r"\s+", " ", " ".join(selector.css("::text").getall())).strip()
