"""IECEE CB Scheme: member countries' National Certification Bodies (NCBs) from the listings.

access: live, the listing pages named with ``-a urls=URL,URL`` (iecee.org's member, NCB and CBTL
    listings; their addresses have changed over the years, so none is assumed); replay reads
    two reconstructed listing tables (the legacy iecee.com NCB rows for countries A-F, and a
    PSB-era NCB-by-country list), since iecee.org could not be recorded.

Structure assumed (from public descriptions of the listings, kept tolerant): one or more HTML
tables whose header row names a country column ("Country", "Member country") and a body column
("NCB", "National Certification Body", "CBTL", "Member Body", "Name"); a row with an empty
country cell continues the country above; a column of categories ("Categories", "Accepted
categories") is read when present, as IECEE category codes (CABL, HOUS, OFF, …); in a CBTL
listing, a column naming the laboratory's NCB links the two records; a "Status" column
(voting, non-voting, suspended …) is kept as the body's status. The role comes from the body
column's header. Tables without those columns are ignored; a page with none is a fault. A
listing split over pages is read in full: the spider follows its "next" link (``rel=next``, or
a link reading Next, ›, ») until there is none. Every body is marked unverified unless the
listing is dated: the recorded ones are not.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from urllib.parse import urlparse

from crawlers.spiders.patterns import HtmlListingSpider, cell_text
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
NCB_OF_CBTL = ("ncb", "national certification body", "associated ncb", "recognised by ncb")
STATUS = ("status", "membership", "membership status")
_CATEGORY = re.compile(r"\b[A-Z][A-Z0-9]{1,4}\b")


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", fold(text)).strip("-")


class IeceeMembersSpider(HtmlListingSpider):
    name = "iecee_members"
    kinds = ('body',)
    schedule_days = None
    publisher = "IECEE (IEC System of Conformity Assessment Schemes for Electrotechnical Equipment)"
    source_url = "https://www.iecee.org/"
    licence = "IECEE listings are public; facts only"
    min_records = 10
    no_listing = "no table with a country and a body column"
    follow_pages = True

    def parse_listing(self, response, cited: str) -> Iterator[dict]:
        for table in response.css("table"):
            yield from self.bodies(table, cited)

    def bodies(self, table, cited: str) -> Iterator[dict]:
        headers = [cell_text(th).lower() for th in table.css("thead th, tr:first-child th")]
        country_col = next((i for i, h in enumerate(headers) if h in COUNTRY), None)
        # A CBTL listing also names each laboratory's NCB: the laboratory is the row's body.
        body_col = next((i for role in ("cbtl", "member_body", "ncb") for i, h in
                         enumerate(headers) if BODY_ROLES.get(h) == role), None)
        if country_col is None or body_col is None:
            return
        role = BODY_ROLES[headers[body_col]]
        columns = {"categories": _column(headers, CATEGORIES), "status": _column(headers, STATUS),
                   "ncb": _column(headers, NCB_OF_CBTL, skip=body_col) if role == "cbtl"
                   else None}
        country = None
        for row in table.css("tbody tr") or table.css("tr")[1:]:
            cells = [cell_text(td) for td in row.css("td")]
            if len(cells) <= max(country_col, body_col):
                continue
            country = cells[country_col] or country
            if record := self._body(country, cells, body_col, columns, role, cited):
                yield record

    def _body(self, country, cells, body_col, columns, role, cited) -> dict | None:
        name = cells[body_col]
        try:
            code = norm.country(country or "")
        except norm.NormaliseError as exc:
            self.logger.warning("skipping IECEE row %r: %s", cells, exc)
            self.crawler.stats.inc_value("marketpass/items_skipped")
            return None
        value = {k: cells[i] if i is not None and i < len(cells) else "" for k, i in
                 columns.items()}
        record = {
            "kind": "body",
            **self.provenance(cited),
            "id": body_id(role, code, name),
            "name": name,
            "country": code,
            "roles": [role],
            "categories": _CATEGORY.findall(value["categories"]),
            "arrangements": ["iecee-cb"],
            "sources": [{"url": cited, **_publisher(cited),
                         "supports": f"{name} listed as {ROLE_NAMES[role]} for {country}"}],
            "verified": False,
        }
        if value["ncb"]:
            record["ncb"] = body_id("ncb", code, value["ncb"])
        if value["status"]:
            record["status"] = value["status"]
        return record


# The scheme owner's own sites, old and new; a listing read elsewhere is someone's copy.
IECEE_HOSTS = ("iecee.org", "iecee.com", "cbscheme.com")


def _publisher(url: str) -> dict:
    host = urlparse(url).hostname or ""
    if any(host == h or host.endswith("." + h) for h in IECEE_HOSTS):
        return {"publisher": "IECEE", "publisher_kind": "scheme_owner"}
    return {"publisher": host, "publisher_kind": "other"}


def body_id(role: str, country: str, name: str) -> str:
    return f"iecee-{role.rsplit('_')[-1]}-{country.lower()}-{_slug(name)}"


def _column(headers: list[str], names: tuple[str, ...], skip: int | None = None) -> int | None:
    return next((i for i, h in enumerate(headers) if h in names and i != skip), None)

