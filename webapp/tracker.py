"""The notification tracker's reads: one query, listed the same way by every view.

Pages, the API, feeds and exports all call ``page`` or ``matching`` with the same
``NotificationQuery``, so they can only differ in how many notifications they show.
"""

from __future__ import annotations

from datetime import date
from functools import lru_cache

from flask import url_for
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext

from search import normalise as norm
from search.backend import SearchBackend
from search.notifications import (
    NotificationQuery,
    deadline,
    followups_request,
    hs_via_ics,
    lifecycle,
    search_request,
)
from search.query import MAX_PER_PAGE, Hit, SearchRequest, SearchResult, Term
from webapp.i18n import country_name, locale_code
from webapp.present import name_key

ITEM_FIELDS = ("symbol", "area", "type", "base_symbol", "distribution_date", "title",
               "description", "products", "hs_codes", "ics_codes", "objectives", "agency",
               "links", "source_url")


def page(backend: SearchBackend, query: NotificationQuery, today: date) -> SearchResult:
    return backend.search(search_request(query, today))


def matching(backend: SearchBackend, query: NotificationQuery, today: date,
             limit: int) -> tuple[list[dict], int]:
    """Up to ``limit`` notifications of the query in its order, and how many match in all."""
    records: list[dict] = []
    total, number = 0, 1
    while len(records) < limit:
        size = min(MAX_PER_PAGE, limit - len(records))
        # Pages of one size throughout, so offsets line up; the last page is cut to the limit.
        found = backend.search(search_request(query, today, facets=(), page=number,
                                              per_page=min(MAX_PER_PAGE, limit)))
        total = found.total
        records.extend(hit.record for hit in found.hits[:size])
        if not found.hits or number * found.per_page >= total:
            break
        number += 1
    return records, total


def feed(backend: SearchBackend, query: NotificationQuery, today: date,
         size: int) -> tuple[list[dict], list[dict]]:
    """The newest ``size`` notifications of the query, and the addenda, corrigenda and revisions
    of those measures that the query itself does not list (so followers see every change)."""
    newest = backend.search(search_request(query, today, facets=(), page=1, per_page=size))
    records = [hit.record for hit in newest.hits]
    listed = {r["id"] for r in records}
    bases = list(dict.fromkeys(r["base_symbol"] for r in records))
    if not bases:
        return records, []
    more = backend.search(followups_request(bases, size))
    return records, [hit.record for hit in more.hits if hit.id not in listed]


def by_symbol(backend: SearchBackend, text: str) -> dict | None:
    """The notification with this symbol in any spelling; a joint notification is found under
    each of its members' symbols even when it is stored under one of them."""
    try:
        symbol = norm.parse_symbol(text).symbol
    except norm.NormaliseError:
        # A legacy symbol (G/TBT/Notif.97.361) names no member, so it cannot be parsed alone;
        # its record is stored under it as written, and lists link to it so.
        record = backend.get(text.strip())
        return record if record is not None and record.get("kind") == "notification" else None
    record = backend.get(symbol)
    if record is not None and record.get("kind") == "notification":
        return record
    joint = backend.search(SearchRequest(
        filters=(Term("kind", ("notification",)), Term("related", (symbol,))),
        per_page=20, highlight=False))
    return next((hit.record for hit in joint.hits
                 if symbol in hit.record.get("joint_symbols", [])), None)


def measure(backend: SearchBackend, record: dict) -> list[dict]:
    """Every document of the record's measure, as a lifecycle (see search.notifications).
    The base and the document a step amends are listed even when MarketPass lacks them, so
    the reader knows they exist."""
    found = backend.search(SearchRequest(
        filters=(Term("kind", ("notification",)), Term("base_symbol", (record["base_symbol"],))),
        sort="date", per_page=MAX_PER_PAGE, highlight=False))
    records = {hit.id: hit.record for hit in found.hits}
    records.setdefault(record["id"], record)
    for r in list(records.values()):
        for symbol in (r["base_symbol"], r.get("parent_symbol")):
            if symbol and symbol not in records:
                records[symbol] = _missing(symbol)
    return lifecycle(list(records.values()))


def _missing(symbol: str) -> dict:
    parsed = norm.parse_symbol(symbol)
    return {"id": symbol, "symbol": symbol, "type": parsed.type, "base_symbol":
            parsed.base_symbol, "parent_symbol": parsed.parent_symbol, "missing": True}


def member_name(code: str | None) -> str:
    return country_name(code)


def _translated(record: dict, name: str) -> str:
    """The field in the reader's language where the source gave one (ePing: en, fr, es)."""
    own = record.get("translations", {}).get(locale_code(), {})
    return own.get(name) or record.get(name) or ""


def title(record: dict) -> str:
    """A notification's title; an addendum often has none, so it borrows its measure's words."""
    return (_translated(record, "title") or _translated(record, "description")
            or record["symbol"])


def item(record: dict, today: date, buffer_days: int, hit: Hit | None = None) -> dict:
    """One notification as the API, feeds and exports give it."""
    out = {name: record.get(name) for name in ITEM_FIELDS}
    out.update(
        member={"code": record.get("member"), "name": member_name(record.get("member"))},
        title=_translated(record, "title"),
        description=_translated(record, "description"),
        related=list(dict.fromkeys([*record.get("related", []),
                                    *record.get("joint_symbols", [])])),
        joint_symbols=record.get("joint_symbols", []),
        # Every member notifying it: one for most, several for a joint notification.
        members=[member_of(s) for s in dict.fromkeys([record["symbol"],
                                                      *record.get("joint_symbols", [])])],
        url=url_for("notifications.detail", symbol=record["symbol"], _external=True),
        hs_via_ics=[{**d, "label": _derived_label(d)} for d in hs_via_ics(record)],
        **deadline(record, today, buffer_days).as_dict(),
    )
    if hit is not None and hit.highlights:
        out["highlights"] = hit.highlights
    return out


def _derived_label(derived: dict) -> str:
    # Said wherever the code is shown, so nobody takes it for the notifier's own.
    return ngettext("%(code)s (MarketPass concordance, from %(num)d notification)",
                    "%(code)s (MarketPass concordance, from %(num)d notifications)",
                    len(derived["supported_by"]), code=derived["hs"])


def chart_request(query: NotificationQuery, today: date, facets: tuple[str, ...]) -> SearchRequest:
    """The whole search (one hit is enough) with every month, member and section counted."""
    return search_request(query, today, facets=facets, page=1, per_page=1)


def section_chapters(section: str) -> list[str]:
    """The HS chapters of a section ("XVI" → ["84", "85"]), to filter on them."""
    return list(_chapters(section))


@lru_cache(maxsize=64)  # asked for each section of each facet of each list
def _chapters(section: str) -> tuple[str, ...]:
    return tuple(f"{c:02d}" for c in range(1, 100) if norm.hs_section(f"{c:02d}") == section)


def member_of(symbol: str) -> dict:
    try:
        code = norm.parse_symbol(symbol).member
    except norm.NormaliseError:
        code = None
    return {"code": code, "name": member_name(code)}


def step(entry: dict, today: date, buffer_days: int) -> dict:
    """One document of a lifecycle with what it changed, labelled in the reader's language."""
    record = entry["record"]
    return {
        "symbol": record["symbol"],
        "type": record["type"],
        "distribution_date": record.get("distribution_date"),
        "title": title(record),
        "url": url_for("notifications.detail", symbol=record["symbol"], _external=True),
        "missing": record.get("missing", False),
        "changes": [{"what": c.what, "label": str(CHANGE_LABELS.get(c.what, c.what)),
                     "date": c.date, "detail": c.detail} for c in entry["changes"]],
        **deadline(record, today, buffer_days).as_dict(),
    }


CHANGE_LABELS = {
    "replaces": _l("Replaces the earlier text (revision)"),
    "comment_period": _l("Comment period"),
    "adoption": _l("Adoption"),
    "publication": _l("Publication"),
    "entry_into_force": _l("Entry into force"),
    "final_text": _l("Final text available"),
    "withdrawal": _l("Withdrawn or revoked"),
    "scope": _l("Content or scope changed"),
    "guidance": _l("Interpretive guidance issued"),
    "correction": _l("Correction"),
    "other": _l("Other change"),
}


def member_choices() -> list[tuple[str, str]]:
    """WTO members as (code, name in the reader's language), in the order of those names."""
    return sorted(((code, member_name(code)) for code in norm.wto_members()),
                  key=lambda c: name_key(c[1]))


FACET_TITLES = {"member": _l("Member"), "area": _l("Agreement"), "type": _l("Type"),
                "objective": _l("Objective"), "hs": _l("HS section")}
