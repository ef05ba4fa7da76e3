"""WTO ePing: TBT and SPS notifications as the ePing list endpoints return them.

publisher: World Trade Organization — ePing SPS&TBT Notification Alert System
source_url: https://epingalert.org/
licence: WTO ePing content; WTO documents are public. Recorded responses: see
    crawlers/sources/wto_eping/manifest.json (reconstructed envelope of real records).
access: the keyed API https://api.wto.org/eping/notifications/search (header
    Ocp-Apim-Subscription-Key, key from MARKETPASS_EPING_KEY), newest first, paged; replay reads
    the recorded list pages; ``--from-file`` loads one saved list response.

Quirks handled here: ``notificationType`` is often null (the symbol decides the type); a joint
notification arrives once per member, each item listing every member's symbol — an item's own
symbol is the one whose member is ``notifyingMemberCode``, the others are its joint symbols;
one ``objectives`` name can join several objectives.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator
from html import unescape
from urllib.parse import urlencode

import scrapy
from w3lib.html import remove_tags

from crawlers.spiders.base import CrawlError, MarketPassSpider
from search import normalise as norm

API = "https://api.wto.org/eping/notifications/search"
PAGE_SIZE = 100
_OBJECTIVE_SPLIT = re.compile(r"(?<=\)),\s*")
_ICS_IN_TEXT = re.compile(r"ICS[^0-9]{0,12}((?:\d{2}\.\d{3}(?:\.\d{2})?[,;\s]*)+)", re.I)


class WtoEpingSpider(MarketPassSpider):
    name = "wto_eping"
    publisher = "World Trade Organization — ePing SPS&TBT Notification Alert System"
    source_url = "https://epingalert.org/"
    licence = "WTO ePing content; WTO documents are public"
    min_records = 20

    def replay_requests(self) -> Iterator[scrapy.Request]:
        files = self.manifest.get("files", [])
        for i, name in enumerate(files):
            yield scrapy.Request(self.recorded_url(name), dont_filter=True,
                                 cb_kwargs={"last": i == len(files) - 1})

    def live_requests(self) -> Iterator[scrapy.Request]:
        key = os.environ.get("MARKETPASS_EPING_KEY", "")
        if not key:
            raise CrawlError("live ePing crawling needs MARKETPASS_EPING_KEY (an api.wto.org key)")
        yield self._api_request(1, key)

    def _api_request(self, page: int, key: str) -> scrapy.Request:
        params = {"language": 1, "page": page, "pageSize": PAGE_SIZE}
        since = None if self.full else getattr(self, "since", None)
        if since:
            params["distributionDateFrom"] = since
        return scrapy.Request(f"{API}?{urlencode(params)}",
                              headers={"Ocp-Apim-Subscription-Key": key},
                              cb_kwargs={"page": page, "key": key})

    def parse(self, response, last: bool = True, page: int | None = None,
              key: str | None = None):
        envelope = json.loads(response.text)
        if not isinstance(envelope, dict) or not isinstance(envelope.get("items"), list):
            # The format changed: fail the crawl rather than store half-understood records.
            raise CrawlError(f"{response.url}: expected an object with an 'items' list")
        for item in envelope["items"]:
            yield from self.parse_item(item)
        if page and key and envelope["items"] and page * PAGE_SIZE < envelope.get("totalCount", 0):
            yield self._api_request(page + 1, key)

    def parse_item(self, item: dict) -> Iterator[dict]:
        try:
            yield notification(item, self.provenance(_source_url(item)))
        except (norm.NormaliseError, KeyError, TypeError, ValueError) as exc:
            # One bad record is skipped with a warning; the rest of the crawl goes on.
            self.logger.warning("skipping ePing item %s: %s", item.get("id"), exc)
            self.crawler.stats.inc_value("marketpass/items_skipped")


def notification(item: dict, provenance: dict) -> dict:
    """One ePing list item → raw notification data for the notification schema."""
    member = norm.country(item["notifyingMemberCode"] or item["notifyingMember"])
    symbols = norm.split_symbols(item["documentSymbol"])
    own = _own_symbol(symbols, member)
    return {
        "kind": "notification",
        **provenance,
        "symbol": own,
        "member": member,
        "member_name": item.get("notifyingMember"),
        "distribution_date": item.get("distributionDate"),
        "comment_deadline": item.get("commentDeadlineDate"),
        "adoption_text": _text(item.get("proposedAdoptionDateText")),
        "entry_into_force_text": _text(item.get("proposedEntryIntoForceDateText")),
        "title": _text(item.get("title")),
        "description": _text(item.get("description")),
        "products": _text(item.get("productsFreeText")),
        "hs_codes": [h["code"] for h in item.get("hsCodes") or [] if h.get("code")],
        "ics_codes": _ics_codes(item),
        "objectives": _objectives(item.get("objectives") or []),
        "links": _links(item),
        "joint_symbols": [s for s in symbols if s != own],
        "external_id": str(item["id"]),
    }


def _own_symbol(symbols: list[str], member: str) -> str:
    for symbol in symbols:
        if norm.parse_symbol(symbol).member == member:
            return symbol
    if len(symbols) == 1:
        return symbols[0]
    raise ValueError(f"none of {symbols} belongs to notifying member {member}")


def _text(value: str | None) -> str:
    """HTML in text fields → clean text with single spaces."""
    if not value:
        return ""
    return re.sub(r"\s+", " ", unescape(remove_tags(value))).strip()


def _objectives(objectives: list[dict]) -> list[str]:
    names = (o.get("name") or "" for o in objectives)
    return [part.strip() for name in names for part in _OBJECTIVE_SPLIT.split(name) if part.strip()]


def _ics_codes(item: dict) -> list[str]:
    codes = [c.get("code") for c in item.get("icsCodes") or [] if c.get("code")]
    for text in (item.get("icsCodeText"), item.get("productsFreeText")):
        for match in _ICS_IN_TEXT.finditer(text or ""):
            codes.extend(re.findall(r"\d{2}\.\d{3}(?:\.\d{2})?", match.group(1)))
    return list(dict.fromkeys(codes))


def _links(item: dict) -> list[dict]:
    links = [("notifiedDocumentLink", "Notified document"), ("linkToNotification", "Notification")]
    return [{"url": item[k], "label": label} for k, label in links if item.get(k)]


def _source_url(item: dict) -> str:
    # The WTO's own document is the original publisher's record; ePing is the channel.
    return item.get("linkToNotification") or "https://epingalert.org/"
