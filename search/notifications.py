"""Notification searches and lifecycles for TBT officers: pure functions over records.

A ``NotificationQuery`` is what an officer asks (the same on the page, the API, the feeds and the
exports), turned into a backend ``SearchRequest`` here so every view lists the same notifications.
Deadlines depend on "today" and on the officer's internal cut-off (``buffer_days``), so both are
arguments, never read from a clock in here.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, timedelta
from functools import cache
from pathlib import Path

from search import normalise as norm
from search.query import Range, SearchRequest, Term

SORTS = {"newest": "-date", "deadline": "deadline", "relevance": "relevance"}
# A joint notification once, under its first symbol (see search.documents.notification).
LISTED = Term("listed", ("true",))
FACETS = ("country", "area", "type", "objectives", "section")
# Each facet by the name of the parameter that filters on it (and asks for it: ``facets=``).
FACET_PARAMS = {"country": "member", "area": "area", "type": "type", "objectives": "objective",
                "section": "hs"}
# Each step of a lifecycle, in the order WTO documents follow one another on the same day.
STEP_ORDER = {"regular": 0, "revision": 1, "addendum": 2, "corrigendum": 3, "supplement": 4}
# MarketPass's ICS → HS concordance, derived from notifications by tools/ics_hs.py.
CONCORDANCE = Path(__file__).parent / "data" / "ics_hs.json"


@dataclass(frozen=True)
class NotificationQuery:
    q: str = ""
    members: tuple[str, ...] = ()
    areas: tuple[str, ...] = ()
    hs: tuple[str, ...] = ()
    ics: tuple[str, ...] = ()
    objectives: tuple[str, ...] = ()
    types: tuple[str, ...] = ()
    open: bool = False
    date_from: str | None = None
    date_to: str | None = None
    sort: str = ""  # empty: relevance when there are words, else newest first
    page: int = 1
    per_page: int = 20
    buffer_days: int = 0
    facets: tuple[str, ...] = FACETS  # counted only when asked: the API's facets=
    highlight: bool = True  # snippets of the words found, when there are words
    widened: str = ""  # the words widened across languages (search.expand), when they were
    also: tuple[str, ...] = ()  # what the widening added, to show the reader

    @property
    def effective_sort(self) -> str:
        return self.sort or ("relevance" if self.q.strip() else "newest")


def filters(query: NotificationQuery, today: date) -> tuple:
    # HS codes are matched with those derived from ICS codes ("hs_any", see hs_via_ics).
    # An objective as a record writes it ("… (TBT)", in Chinese) asks for its listed names.
    objectives = tuple(n for o in query.objectives for n in (norm.objectives(o) or (o,)))
    terms = (("kind", ("notification",)), ("country", query.members), ("area", query.areas),
             ("hs_any", query.hs), ("ics", query.ics), ("objectives", objectives),
             ("type", query.types))
    out: list = [Term(name, tuple(dict.fromkeys(values))) for name, values in terms if values]
    out.append(LISTED)
    if query.date_from or query.date_to:
        out.append(Range("date", gte=query.date_from, lte=query.date_to))
    if query.open:
        out.append(Range("deadline", gte=today.isoformat()))
    return tuple(out)


def search_request(query: NotificationQuery, today: date, *,
                   facets: tuple[str, ...] | None = None, page: int | None = None,
                   per_page: int | None = None) -> SearchRequest:
    """The backend request for a notification query (a page of it, or any other page size),
    counting the query's facets unless others are given."""
    return SearchRequest(
        text=query.widened or query.q, filters=filters(query, today),
        facets=query.facets if facets is None else facets,
        sort=SORTS[query.effective_sort], page=page or query.page,
        per_page=per_page or query.per_page, highlight=query.highlight and bool(query.q.strip()),
    )


def followups_request(base_symbols: list[str], per_page: int) -> SearchRequest:
    """Addenda, corrigenda and revisions of the given measures, newest first: what a feed adds
    so that whoever follows a notification sees each change, even one its words do not match."""
    return SearchRequest(
        filters=(Term("kind", ("notification",)), Term("base_symbol", tuple(base_symbols)),
                 Term("type", ("addendum", "corrigendum", "revision", "supplement")), LISTED),
        sort="-date", per_page=per_page, highlight=False,
    )


# --- HS codes through ICS codes ---------------------------------------------------------------

@cache
def _concordance() -> dict[str, list[dict]]:
    with open(CONCORDANCE, encoding="utf-8") as f:
        pairs = json.load(f)["pairs"]
    by_ics: dict[str, list[dict]] = {}
    for pair in pairs:
        by_ics.setdefault(pair["ics"], []).append(pair)
    return by_ics


def hs_via_ics(record: dict) -> list[dict]:
    """The HS codes MarketPass's concordance gives a notification that lists ICS codes and no
    HS code of its own, each with the ICS codes it comes from and the notifications citing it.

    Many notifications carry only ICS codes; without this an HS filter never finds them. A
    notification with HS codes keeps its own: the notifier said which goods it covers."""
    if record.get("hs_codes"):
        return []
    levels = {".".join(code.split(".")[:n]) for code in record.get("ics_codes", [])
              for n in (1, 2, 3)}
    found: dict[str, dict] = {}
    for pair in (p for ics in sorted(levels) for p in _concordance().get(ics, [])):
        entry = found.setdefault(pair["hs"], {"hs": pair["hs"], "ics": [], "supported_by": []})
        entry["ics"].append(pair["ics"])
        entry["supported_by"] = sorted({*entry["supported_by"], *pair["supported_by"]})
    return [found[hs] for hs in sorted(found)]


# --- deadlines ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class Deadline:
    """The WTO comment deadline, the officer's internal cut-off and the days left to each."""

    wto: str | None
    internal: str | None
    days_left: int | None
    internal_days_left: int | None

    @property
    def open(self) -> bool:
        return self.days_left is not None and self.days_left >= 0

    def as_dict(self) -> dict:
        return {"comment_deadline": self.wto, "internal_deadline": self.internal,
                "days_left": self.days_left, "internal_days_left": self.internal_days_left,
                "open": self.open}


def deadline(record: dict, today: date, buffer_days: int) -> Deadline:
    wto = record.get("comment_deadline")
    if not wto:
        return Deadline(None, None, None, None)
    due = date.fromisoformat(wto)
    internal = due - timedelta(days=buffer_days)
    return Deadline(wto, internal.isoformat(), (due - today).days, (internal - today).days)


# --- lifecycle ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class Change:
    """One thing a document changed: ``what`` is a code the site translates, ``date`` when it
    takes effect, ``detail`` the document's own words."""

    what: str
    date: str | None = None
    detail: str | None = None


# Addendum check boxes (see crawlers/forms.py) → what changed.
_REASON_CHANGE = {
    "comment_period_changed": "comment_period", "adopted": "adoption", "published": "publication",
    "entry_into_force": "entry_into_force", "final_text_available": "final_text",
    "withdrawn": "withdrawal", "content_changed": "scope", "interpretive_guidance": "guidance",
    "other": "other",
}


def lifecycle(records: list[dict]) -> list[dict]:
    """The documents of one measure in order (base, then each addendum, corrigendum and
    revision by date), each with what it changed compared with what came before.

    A record marked ``missing`` (a document known only from its symbol) goes just before the
    first document that amends it, and says nothing of what it changed."""
    steps = sorted(records, key=_step_keys(records))
    out, known = [], {}
    for record in steps:
        missing = record.get("missing", False)
        changes = _changes(record, known) if out and not missing else []
        out.append({"record": record, "changes": changes})
        for name in ("comment_deadline", "adoption_date", "entry_into_force_date"):
            if record.get(name):
                known[name] = record[name]
        if record.get("hs_codes"):
            known["hs_codes"] = record["hs_codes"]
    return out


def _step_keys(records: list[dict]):
    def day(record: dict) -> str:
        if not record.get("missing"):
            return record.get("distribution_date") or "9999"
        prefix = record["symbol"] + "/"
        later = [r.get("distribution_date") or "9999" for r in records
                 if r["symbol"].startswith(prefix) and not r.get("missing")]
        return min(later, default="0000")

    def key(record: dict) -> tuple:
        return (day(record), 0 if record.get("missing") else 1,
                STEP_ORDER.get(record.get("type"), 9), _suffix_numbers(record["symbol"]))
    return key


def _suffix_numbers(symbol: str) -> tuple[int, ...]:
    return tuple(int(part.split(".")[1]) for part in symbol.split("/")[5:] if "." in part)


def _changes(record: dict, known: dict) -> list[Change]:
    found = [Change(_REASON_CHANGE.get(r.get("reason"), "other"), r.get("date"), r.get("text"))
             for r in record.get("addendum_reasons", [])]
    seen = {c.what for c in found}
    compared = (("comment_deadline", "comment_period"), ("adoption_date", "adoption"),
                ("entry_into_force_date", "entry_into_force"))
    for name, what in compared:
        value = record.get(name)
        if value and value != known.get(name) and what not in seen:
            found.append(Change(what, value))
    if record.get("hs_codes") and known.get("hs_codes") not in (None, record["hs_codes"]) \
            and "scope" not in seen:
        found.append(Change("scope", None, ", ".join(record["hs_codes"])))
    if record.get("type") == "revision":
        found.insert(0, Change("replaces"))
    elif record.get("type") == "corrigendum" and not found:
        found.append(Change("correction", None, record.get("description") or None))
    return found
