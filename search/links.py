"""Which schemes and regulations a TBT notification may change, and the other way round.

A notification is linked to a scheme or regulation of the same market (the notifying member,
a member it notified jointly for, or a union one of them belongs to) when their product scopes
overlap (HS codes, ICS codes) or when the notification's text names the regulation. Each link
says why, so a reader can judge it: these are candidates, not legal findings.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable

from search import normalise as norm
from search.markets import markets_for, members_of
from search.query import SearchRequest, Term

# The number of an act as texts cite it: 2023/1230, 2014/35/EU, TR CU 004/2011 → 004/2011.
_ACT_NUMBER = re.compile(r"(?<![\d/])(\d{1,4}/\d{2,4})(?![\d/])")
_TEXT_FIELDS = ("title", "description", "products", "relevant_documents", "adoption_text")
# Most recent notifications looked at for one scheme: "what is changing" is about now.
RECENT = 200


def notification_markets(notification: dict) -> set[str]:
    """Markets a notification concerns: its member, joint members, and their unions."""
    members = {notification.get("member")}
    for symbol in notification.get("joint_symbols", []):
        try:
            members.add(norm.parse_symbol(symbol).member)
        except norm.NormaliseError:
            continue
    return {m for member in members if member for m in markets_for(member)}


def _hs_overlap(codes: Iterable[str], prefixes: Iterable[str]) -> list[str]:
    # A notification for 850440 concerns a scheme over 8504, and one for 85 a scheme over 8504.
    return sorted({c for c in codes for p in prefixes if c.startswith(p) or p.startswith(c)})


def _ics_overlap(codes: Iterable[str], categories: Iterable[str]) -> list[str]:
    ics = [c for c in categories if re.fullmatch(r"\d{2}(\.\d{3}(\.\d{2})?)?", c)]
    return sorted({c for c in codes for k in ics if c.startswith(k) or k.startswith(c)})


def act_numbers(identifier: str) -> list[str]:
    """The act numbers an identifier is cited by; the whole identifier when it has none."""
    return _ACT_NUMBER.findall(identifier) or [identifier.strip()]


@functools.lru_cache(maxsize=4096)
def _pattern(number: str) -> tuple[str, re.Pattern]:
    """The folded number, and the pattern of it as a whole word."""
    needle = number.casefold()
    return needle, re.compile(rf"(?<![\w/]){re.escape(needle)}(?![\w/])")


def _named(folded: str, identifiers: Iterable[str]) -> list[str]:
    found = []
    for identifier in identifiers:
        for number in act_numbers(identifier):
            if not number:
                continue
            # Most numbers are in no text: a plain substring test rules them out first.
            needle, pattern = _pattern(number)
            if needle in folded and pattern.search(folded):
                found.append(identifier)
                break
    return sorted(set(found))


def folded_text(notification: dict) -> str:
    """The notification's texts as act numbers are looked for in them (once per notification:
    it is compared with every scheme of its market)."""
    text = "\n".join(str(notification.get(f) or "") for f in _TEXT_FIELDS)
    return " ".join(text.split()).casefold()


def _reasons(notification: dict, hs: list[str], categories: list[str],
             identifiers: list[str], folded: str | None = None) -> list[dict]:
    reasons = []
    if codes := _hs_overlap(notification.get("hs_codes", []), hs):
        reasons.append({"type": "hs", "values": codes})
    if codes := _ics_overlap(notification.get("ics_codes", []), categories):
        reasons.append({"type": "ics", "values": codes})
    if identifiers and (named := _named(
            folded if folded is not None else folded_text(notification), identifiers)):
        reasons.append({"type": "named", "values": named})
    return reasons


def scheme_identifiers(scheme: dict, regulations: dict[str, dict]) -> list[str]:
    # A scheme is named through its regulations, or the first act its legal basis cites.
    ids = [regulations[r]["identifier"] for r in scheme.get("regulations", []) if r in regulations]
    ids += [m[0] for basis in scheme.get("legal_basis", []) if (m := _ACT_NUMBER.findall(basis))]
    return ids


def _link(record: dict, reasons: list[dict]) -> dict:
    title = record.get("name") or record.get("title") or record["id"]
    return {"id": record["id"], "kind": record["kind"], "title": title, "reasons": reasons}


def scheme_link(notification: dict, scheme: dict, regulations: dict[str, dict],
                markets: set[str] | None = None, folded: str | None = None,
                identifiers: list[str] | None = None) -> dict | None:
    """The link from a notification to a scheme, if any; "none" statements are never linked.
    ``markets`` and ``folded`` (the notification's markets and folded text) and the scheme's
    ``identifiers`` may be given by a caller comparing many notifications with many schemes."""
    if scheme.get("mandatory") == "none" or scheme["market"] not in (
            markets if markets is not None else notification_markets(notification)):
        return None
    if identifiers is None:
        identifiers = scheme_identifiers(scheme, regulations)
    reasons = _reasons(notification, scheme.get("hs_prefixes", []), scheme.get("categories", []),
                       identifiers, folded)
    return _link(scheme, reasons) if reasons else None


def regulation_link(notification: dict, regulation: dict) -> dict | None:
    if regulation["jurisdiction"] not in notification_markets(notification):
        return None
    reasons = _reasons(notification, regulation.get("hs_codes", []),
                       regulation.get("categories", []), [regulation["identifier"]])
    return _link(regulation, reasons) if reasons else None


def may_change(notification: dict, schemes: list[dict], regulations: list[dict]) -> list[dict]:
    """The schemes and regulations a notification may change, each with its reasons."""
    by_id = {r["id"]: r for r in regulations}
    links = [scheme_link(notification, s, by_id) for s in schemes]
    links += [regulation_link(notification, r) for r in regulations]
    return [link for link in links if link]


def changing(record: dict, notifications: list[dict], regulations: list[dict]) -> list[dict]:
    """Notifications that may change a scheme or regulation: "what is changing"."""
    by_id = {r["id"]: r for r in regulations}
    out = []
    for n in notifications:
        link = (scheme_link(n, record, by_id) if record["kind"] == "scheme"
                else regulation_link(n, record))
        if link:
            out.append({**_link(n, link["reasons"]), "date": n.get("distribution_date"),
                        "comment_deadline": n.get("comment_deadline")})
    return sorted(out, key=lambda x: x["date"] or "", reverse=True)


# --- over a search backend --------------------------------------------------------------------

def _records(backend, kinds: tuple[str, ...], field: str, countries: Iterable[str]) -> list[dict]:
    request = SearchRequest(filters=(Term("kind", kinds), Term(field, tuple(sorted(countries)))),
                            sort="-date", per_page=RECENT, highlight=False)
    return [hit.record for hit in backend.search(request).hits]


def _market_countries(market: str) -> set[str]:
    return {market, *members_of(market)}


def links_of(backend, record: dict) -> dict[str, list[dict]]:
    """For a record page: what is changing (scheme, regulation) or what may change
    (notification). Reads candidates of the same markets from the index."""
    if record["kind"] == "notification":
        markets = notification_markets(record)
        found = _records(backend, ("scheme", "regulation"), "country", markets)
        return {"may_change": may_change(record, [r for r in found if r["kind"] == "scheme"],
                                         [r for r in found if r["kind"] == "regulation"])}
    if record["kind"] in ("scheme", "regulation"):
        market = record.get("market") or record["jurisdiction"]
        notifications = _records(backend, ("notification",), "countries",
                                 _market_countries(market))
        regulations = _records(backend, ("regulation",), "country", [market])
        return {"what_is_changing": changing(record, notifications, regulations)}
    return {}
