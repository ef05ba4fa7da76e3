"""WTO ePing: TBT and SPS notifications as the ePing list endpoints return them.

access: the keyed API https://api.wto.org/eping/notifications/search (header
    Ocp-Apim-Subscription-Key, key from MARKETPASS_EPING_KEY; MARKETPASS_EPING_API_URL overrides
    the address; ``distributionDateFrom`` carries the watermark) when a key is set, else the
    site's keyless list endpoint https://epingalert.org/api/v1/azureSearch/getAll
    (MARKETPASS_EPING_LIST_URL overrides it), asked as ePing's own site asks it — the shape a
    public client used hourly from June to August 2026: ``domainIds`` (1 for TBT), ``countryIds``
    repeated (C + UN M49 code, U918 for the EU), ``freeText`` (``-a text=``), ``sortBy=
    distributionDate``, ``sortDirection=desc``, ``language``, ``page`` (from 1), ``pageSize``,
    with ``Accept: application/json`` and the site's search page as ``Referer``. Newest first,
    so an incremental crawl (from the newest distribution date of the last good crawl, unless
    ``--full``) stops at the first page older than that; replay reads the recorded list pages
    (the manifest names the requests they stand for); ``--from-file`` loads one saved response.
filters: ``-a members=SA,AE -a area=TBT -a since=2024-01-01`` go to the server and are applied
    here too, whatever the endpoint did with them (SPS's domain id was not seen: an SPS crawl
    asks for every domain and keeps SPS here).
languages: ``-a languages=fr,es`` asks each list page again in French and Spanish (ePing's
    ``language`` 2 and 3, as WTO documents number them) and keeps their titles and descriptions
    under ``translations``, matched by ePing's item id; a page that fails in one language only
    loses that language. Live only: the recorded pages are English.

Faults are logged and the crawl goes on; when paging ends is ``PagedJsonApiSpider``'s (three
unreadable pages in a row, ``totalCount``, a page with nothing new, ``max_pages``).

Quirks handled here: ``notificationType`` is often null (the symbol decides the type); a joint
notification arrives once per member, each item listing every member's symbol — an item's own
symbol is the one whose member is ``notifyingMemberCode``, the others are its joint symbols;
one ``objectives`` name can join several objectives.

Reconstructed pages (``reconstructed_*``: real notifications laid out in the list's shape from
the copies national platforms republished) carry no ePing id, and one key ePing never sends,
``reconstruction``: the language of the texts (``language``, kept on the record: a Chinese
title stays Chinese), the copies the facts were read on (``copies``: url, title, seenOn; they
become links labelled as copies, since the notification schema has no "read on a copy" field),
other document addresses the copy gave (``documents``) and a ``note`` saying what each copy
supports. The record's source stays the WTO's address of the symbol (``linkToNotification``).
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from html import unescape
from urllib.parse import urlencode

import scrapy
from w3lib.html import remove_tags

from crawlers.extract import addresses_in, hs_codes_in_text, ics_codes_in_text
from crawlers.spiders.base import CrawlError
from crawlers.spiders.patterns import PagedJsonApiSpider
from search import normalise as norm

API = "https://api.wto.org/eping/notifications/search"
LIST = "https://epingalert.org/api/v1/azureSearch/getAll"
_OBJECTIVE_SPLIT = re.compile(r"(?<=\)),\s*")
# ePing's language numbers (1 English, 2 French, 3 Spanish: WTO's official languages).
LANGUAGES = {"en": 1, "fr": 2, "es": 3}
# ePing's domain ids, as its site sends them (TBT is 1; SPS's id was not seen, so an SPS crawl
# asks for every domain and keeps SPS on our side).
DOMAINS = {"TBT": 1}
# The page of ePing's site whose requests the keyless endpoint answers.
SEARCH_PAGE = "https://epingalert.org/en/Search"


class EpingItems:
    """ePing's source and its items as records, whatever way they are read (the list here,
    the export in ``wto_eping_bulk``): the member and area filters, joint notifications."""

    kinds = ('notification',)
    publisher = "World Trade Organization — ePing SPS&TBT Notification Alert System"
    source_url = "https://epingalert.org/"
    licence = "WTO ePing content; WTO documents are public"

    def __init__(self, *args, members: str = "", area: str = "", **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.members = {norm.country(m) for m in members.split(",") if m.strip()}
        self.area = area.upper()

    def parse_item(self, item: dict) -> Iterator[dict]:
        try:
            record = notification(item, self.provenance(_source_url(item)))
        except (norm.NormaliseError, KeyError, TypeError, ValueError, AttributeError) as exc:
            # One bad record is skipped with a warning; the rest of the crawl goes on.
            self.logger.warning("skipping ePing item %s: %s", item.get("id"), exc)
            self.crawler.stats.inc_value("marketpass/items_skipped")
            return
        if bad := link_faults(item):  # kept out of the record, never the reason to drop it
            self.fault(f"ePing item {item.get('id')}", f"not a web address: {', '.join(bad)}")
        date = (record.get("distribution_date") or "")[:10]
        self.saw_date(date)
        if self._wanted(record, date):
            yield record
            yield from self._joint_copies(record)
        else:
            self.crawler.stats.inc_value("marketpass/filtered_out")

    def _joint_copies(self, record: dict) -> Iterator[dict]:
        """A joint notification under its partners' symbols when the member filter keeps
        their own items out of this crawl: lists show a joint notification once, under the
        first of its symbols (search.documents), which must therefore be stored."""
        if not self.members:
            return  # every member's own item comes in this crawl
        symbols = [record["symbol"], *record["joint_symbols"]]
        for symbol in record["joint_symbols"]:
            member = norm.parse_symbol(symbol).member
            if member and member not in self.members:
                yield {**record, "symbol": symbol, "member": member, "member_name": None,
                       "joint_symbols": [s for s in symbols if s != symbol]}

    def _wanted(self, record: dict, date: str) -> bool:
        """The filters asked for, applied on our side."""
        symbol_area = record["symbol"].split("/")[1].upper()
        return ((not self.members or record["member"] in self.members)
                and (not self.area or symbol_area == self.area)
                and (not self.since or not date or date >= self.since))


class WtoEpingSpider(EpingItems, PagedJsonApiSpider):
    name = "wto_eping"
    schedule_days = 1
    min_records = 20
    date_key = "distributionDate"

    def __init__(self, *args, languages: str = "", text: str = "", **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.languages = tuple(code for code in (c.strip().lower() for c in languages.split(","))
                               if code in LANGUAGES and code != "en")
        self.text = text

    def live_requests(self) -> Iterator[scrapy.Request]:
        self.key = os.environ.get("MARKETPASS_EPING_KEY", "").strip()
        yield self.page_request(1)

    def page_request(self, page: int, language: str = "en", **more) -> scrapy.Request:
        if self.key:
            base = os.environ.get("MARKETPASS_EPING_API_URL", "").strip() or API
            headers = {"Ocp-Apim-Subscription-Key": self.key}
            params = self._api_params(page, language)
        else:
            base = os.environ.get("MARKETPASS_EPING_LIST_URL", "").strip() or LIST
            headers = {"Accept": "application/json", "Referer": SEARCH_PAGE}
            params = self.list_params(page, language)
        url = f"{base}?{urlencode(params)}"
        if language != "en":
            return scrapy.Request(url, dont_filter=True, headers=headers,
                                  callback=self.parse_translation,
                                  cb_kwargs={"page": page, "language": language, **more},
                                  errback=self.on_translation_error)
        return scrapy.Request(url, dont_filter=True, headers=headers,
                              cb_kwargs={"page": page}, errback=self.on_page_error)

    def _api_params(self, page: int, language: str) -> list[tuple[str, object]]:
        params = [("language", LANGUAGES[language]), ("page", page), ("pageSize", self.page_size)]
        return params + ([("distributionDateFrom", self.since)] if self.since else [])

    def list_params(self, page: int, language: str = "en") -> list[tuple[str, object]]:
        """The keyless list endpoint's request as ePing's own site sends it: the area and the
        members filtered on the server, newest distribution first (an incremental crawl stops
        at the first page older than its watermark), the language, the page."""
        params: list[tuple[str, object]] = []
        if self.area in DOMAINS:
            params.append(("domainIds", DOMAINS[self.area]))
        params += [("countryIds", cid) for cid in sorted(filter(None, map(
            norm.eping_country_id, self.members)))]
        params += [("freeText", self.text), ("sortBy", "distributionDate"),
                   ("sortDirection", "desc"), ("language", LANGUAGES[language]),
                   ("page", page), ("pageSize", self.page_size)]
        return params

    def after_page(self, page, items, records, fresh, total):
        if self.languages and page and not self.replay and not self.from_file:
            # The same page in the other languages first; the records wait for them.
            yield self.page_request(page, self.languages[0], records=list(records),
                                    rest=self.languages[1:], fresh=fresh, total=total)
            return
        yield from super().after_page(page, items, records, fresh, total)

    def parse_translation(self, response, page: int, language: str, records: list[dict],
                          rest: tuple[str, ...], fresh: int, total: int | None, **kwargs):
        """A list page in another language: its titles and descriptions join the records."""
        try:
            envelope = self.envelope(response.text)
        except CrawlError as exc:
            self.fault(response.url, exc)
        else:
            add_translations(records, envelope["items"], language)
        yield from self._after_translation(page, records, rest, fresh, total)

    def on_translation_error(self, failure):
        self.on_error(failure)
        kwargs = failure.request.cb_kwargs
        yield from self._after_translation(kwargs["page"], kwargs["records"], kwargs["rest"],
                                           kwargs["fresh"], kwargs["total"])

    def _after_translation(self, page, records, rest, fresh, total):
        if rest:
            yield self.page_request(page, rest[0], records=records, rest=rest[1:],
                                    fresh=fresh, total=total)
            return
        yield from records
        yield from self.next_page(page, fresh, total, failed=False)


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
        "hs_codes": _hs_codes(item),
        "ics_codes": _ics_codes(item),
        "objectives": _objectives(item.get("objectives") or []),
        "links": _links(item) + _reconstruction_links(item),
        "joint_symbols": [s for s in symbols if s != own],
        # Reconstructed items have no ePing id (and an export may lack the column).
        "external_id": None if item.get("id") is None else str(item["id"]),
        **_reconstruction(item),
    }


def add_translations(records: list[dict], items: list[dict], language: str) -> None:
    """Titles and descriptions of the same notifications in another language, by ePing id."""
    by_id = {str(item.get("id")): item for item in items if isinstance(item, dict)}
    for record in records:
        item = by_id.get(record.get("external_id") or "")
        if not item:
            continue
        # ePing answers in English where a text has no translation: keep only real ones.
        text = {name: value for name in ("title", "description")
                if (value := _text(item.get(name))) and value != record.get(name)}
        if text:
            record.setdefault("translations", {})[language] = text


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
    if "<" in value or "&" in value:  # most fields are plain text: skip the HTML parsing
        value = unescape(remove_tags(value))
    return " ".join(value.split())


def _objectives(objectives: list[dict]) -> list[str]:
    names = (o.get("name") or "" for o in objectives)
    return [part.strip() for name in names for part in _OBJECTIVE_SPLIT.split(name) if part.strip()]


def _hs_codes(item: dict) -> list[str]:
    """The structured codes, else those written in the products text (often the only ones)."""
    codes = [h["code"] for h in item.get("hsCodes") or [] if h.get("code")]
    return codes or hs_codes_in_text(item.get("hsCodeText")) or hs_codes_in_text(
        item.get("productsFreeText"))


def _ics_codes(item: dict) -> list[str]:
    codes = [c.get("code") for c in item.get("icsCodes") or [] if c.get("code")]
    codes += ics_codes_in_text(item.get("icsCodeText"), item.get("productsFreeText"))
    return list(dict.fromkeys(codes))


def _links(item: dict) -> list[dict]:
    """Document links; ePing puts several addresses in one field (commas or spaces). What is
    no address is left out (``link_faults`` says what, for the crawl's fault log)."""
    fields = [("notifiedDocumentLink", "Notified document"), ("linkToNotification", "Notification")]
    return [{"url": url, "label": label}
            for key, label in fields for url in addresses_in(item.get(key))[0]]


def _reconstruction(item: dict) -> dict:
    """The language and note of a reconstructed item (module docstring); nothing for ePing's."""
    extra = item.get("reconstruction") or {}
    fields = {"language": extra.get("language"), "note": _text(extra.get("note"))}
    return {name: value for name, value in fields.items() if value}


def _reconstruction_links(item: dict) -> list[dict]:
    """The documents a copy gave and the copies themselves, each labelled for what it is."""
    extra = item.get("reconstruction") or {}
    documents = [{"url": url, "label": "Document (address given by the copy read)"}
                 for url in extra.get("documents") or []]
    copies = [{"url": copy["url"], "label": _copy_label(copy), "language": extra.get("language")}
              for copy in extra.get("copies") or []]
    return documents + copies


def _copy_label(copy: dict) -> str:
    seen = f", seen {copy['seenOn']}" if copy.get("seenOn") else ""
    title = f": {_text(copy.get('title'))}" if copy.get("title") else ""
    return f"Copy read{seen}{title}"


def link_faults(item: dict) -> list[str]:
    """The parts of the link fields that are no web address."""
    return [part for key in ("notifiedDocumentLink", "linkToNotification")
            for part in addresses_in(item.get(key))[1]]


def _source_url(item: dict) -> str:
    # The WTO's own document is the original publisher's record; ePing is the channel.
    return next(iter(addresses_in(item.get("linkToNotification"))[0]), "https://epingalert.org/")
