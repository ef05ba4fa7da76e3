"""Watchlists without accounts: an Atom feed (RFC 4287) and an iCalendar file (RFC 5545) of
comment deadlines for any notification search. Both are built from plain item dicts (see
``webapp.tracker.item``), so they list what the page and the API list.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import UTC, date, datetime, timedelta

from flask_babel import gettext as _

ATOM = "http://www.w3.org/2005/Atom"
ET.register_namespace("", ATOM)


def _timestamp(day: str | None, fallback: str) -> str:
    """Atom dates are full timestamps; a notification has only its day of distribution."""
    return f"{day}T00:00:00Z" if day else fallback


def _el(parent: ET.Element, name: str, text: str | None = None, **attrs: str) -> ET.Element:
    element = ET.SubElement(parent, f"{{{ATOM}}}{name}", {k: v for k, v in attrs.items() if v})
    if text is not None:
        element.text = text
    return element


def atom(*, title: str, feed_id: str, self_url: str, html_url: str, items: list[dict],
         followups: list[dict], lang: str, now: datetime | None = None) -> bytes:
    """The feed: the search's newest notifications, then changes to the measures they belong
    to (marked with the category ``follow-up``), newest first."""
    now_text = (now or datetime.now(UTC)).strftime("%Y-%m-%dT%H:%M:%SZ")
    entries = [(i, False) for i in items] + [(i, True) for i in followups]
    entries.sort(key=lambda e: (e[0].get("distribution_date") or "", e[0]["symbol"]), reverse=True)
    feed = ET.Element(f"{{{ATOM}}}feed", {"{http://www.w3.org/XML/1998/namespace}lang": lang})
    _el(feed, "id", feed_id)
    _el(feed, "title", title)
    updated = max((i.get("distribution_date") or "" for i, _f in entries), default="")
    _el(feed, "updated", _timestamp(updated, now_text) if updated else now_text)
    author = _el(feed, "author")
    _el(author, "name", "MarketPass")
    _el(feed, "link", rel="self", type="application/atom+xml", href=self_url)
    _el(feed, "link", rel="alternate", type="text/html", href=html_url)
    _el(feed, "generator", "MarketPass")
    for entry, followup in entries:
        _entry(feed, entry, followup, now_text)
    return ET.tostring(feed, encoding="utf-8", xml_declaration=True)


def _entry(feed: ET.Element, item: dict, followup: bool, now_text: str) -> None:
    entry = _el(feed, "entry")
    _el(entry, "id", item["url"])
    _el(entry, "title", f"{item['symbol']}: {item['title'] or item['description'][:200]}".strip())
    day = _timestamp(item.get("distribution_date"), now_text)
    _el(entry, "published", day)
    _el(entry, "updated", day)
    _el(entry, "link", rel="alternate", type="text/html", href=item["url"])
    for link in item.get("links") or []:
        _el(entry, "link", rel="related", href=link["url"], title=link.get("label"))
    _el(entry, "category", term=item["area"] or "", label=item["area"])
    _el(entry, "category", term=item["type"] or "")
    if item["member"]["code"]:
        _el(entry, "category", term=item["member"]["code"], label=item["member"]["name"])
    if followup:
        _el(entry, "category", term="follow-up",
            label=_("A change to a notification this search lists"))
    _el(entry, "summary", _summary(item), type="text")


def _summary(item: dict) -> str:
    lines = [item["member"]["name"], item.get("description") or ""]
    if item.get("comment_deadline"):
        lines.append(_("Comments due by %(date)s (WTO deadline).", date=item["comment_deadline"]))
    if item.get("products"):
        lines.append(item["products"])
    return "\n".join(line for line in lines if line)


# --- iCalendar -------------------------------------------------------------------------------

def _escape(text: str) -> str:
    return (text.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,")
            .replace("\r\n", "\\n").replace("\n", "\\n").replace("\r", "\\n"))


def _fold(line: str) -> str:
    """Lines longer than 75 octets continue on the next line after a space (RFC 5545 3.1),
    never inside a UTF-8 sequence."""
    out, current = [], b""
    for char in line:
        encoded = char.encode()
        if len(current) + len(encoded) > (75 if not out else 74):
            out.append(current.decode())
            current = b""
        current += encoded
    out.append(current.decode())
    return "\r\n ".join(out)


def _day(iso: str) -> str:
    return iso.replace("-", "")


def _next_day(iso: str) -> str:
    return _day((date.fromisoformat(iso) + timedelta(days=1)).isoformat())


def ical(*, name: str, items: list[dict], buffer_days: int, host: str,
         now: datetime | None = None) -> bytes:
    """One all-day event per comment deadline, and one per internal cut-off when there is a
    buffer; notifications without a deadline are left out."""
    stamp = (now or datetime.now(UTC)).strftime("%Y%m%dT%H%M%SZ")
    lines = ["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//MarketPass//Notification deadlines//EN",
             "CALSCALE:GREGORIAN", "METHOD:PUBLISH", f"X-WR-CALNAME:{_escape(name)}"]
    for item in items:
        if not item.get("comment_deadline"):
            continue
        lines += _event(item, "deadline", item["comment_deadline"],
                        _("Comment deadline: %(symbol)s", symbol=item["symbol"]), host, stamp)
        if buffer_days and item.get("internal_deadline"):
            lines += _event(item, "cut-off", item["internal_deadline"],
                            _("Internal cut-off (%(days)d days before the deadline): %(symbol)s",
                              days=buffer_days, symbol=item["symbol"]), host, stamp)
    lines.append("END:VCALENDAR")
    return ("\r\n".join(_fold(line) for line in lines) + "\r\n").encode()


def _event(item: dict, what: str, day: str, summary: str, host: str, stamp: str) -> list[str]:
    description = "\n".join(x for x in (item.get("title"), item["member"]["name"],
                                        item["url"]) if x)
    return ["BEGIN:VEVENT",
            f"UID:{item['symbol'].replace('/', '-')}-{what}@{host}",
            f"DTSTAMP:{stamp}",
            f"DTSTART;VALUE=DATE:{_day(day)}",
            f"DTEND;VALUE=DATE:{_next_day(day)}",
            f"SUMMARY:{_escape(summary)}",
            f"DESCRIPTION:{_escape(description)}",
            f"URL:{item['url']}",
            "TRANSP:TRANSPARENT",
            "END:VEVENT"]
