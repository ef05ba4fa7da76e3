"""Build reconstructed_getAll_gathered_page*.json from the notifications gathered from copies.

No ePing response could be recorded for these notifications. They were read on the pages that
national and provincial TBT/SPS platforms, enquiry points and others republished (mostly in
Chinese), gathered in ``notifications_gathered_2026.json`` and
``notifications_from_stored_pages.json`` (see SOURCES.md beside them). This lays them out as
ePing list pages (``items``, ``totalCount``, ``isCountExceeded``; newest first, 100 a page) so
the ``wto_eping`` spider replays them like its recorded pages:

- each value is the source's own, in its language; what a source does not give stays empty
  (no ePing id, no comment deadline or codes unless the copy gave them);
- ``linkToNotification`` (the record's source) is the WTO documents online address of the
  symbol; ``notifyingMember`` and ``notifyingMemberCode`` are the WTO's name and ePing's id of
  the member the symbol names;
- ``reconstruction`` holds what ePing never sends: the language of the texts, the copies read
  (address, title, the day seen), other document addresses the copy gave, and a note saying
  what each copy supports;
- a notification is dropped when its symbol, member or distribution date cannot be read (see
  ``drop_reason``), or when a recorded ePing page of ``manifest.json`` or a notification form
  of ``../wto_documents`` already holds it (``recorded_symbols``).

Run from the project root: ``python crawlers/sources/wto_eping/reconstruct.py [DATA_DIR]``
(DATA_DIR defaults to ``gathered/`` beside this script: the gathered notifications, with
their sources, kept in the tree so the pages can be rebuilt anywhere).
"""

from __future__ import annotations

import json
import re
import sys
from collections import defaultdict
from pathlib import Path
from urllib.parse import urlsplit

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[2]))

from search import normalise as norm  # noqa: E402

DATA = HERE / "gathered"
PAGE_SIZE = 100
FORM_SYMBOL = re.compile(r"G/(?:TBT|SPS)/N/[A-Z]+/\d+(?:/(?:Add|Corr|Rev|Suppl)\.\d+)*")
OUT = "reconstructed_getAll_gathered_page{}.json"
# The WTO's documents online, searched by symbol: the one official address a symbol alone fixes
# (the direct document addresses depend on the year folder and file format).
WTO_DOCS = ("https://docs.wto.org/dol2fe/Pages/FE_Search/FE_S_S006.aspx?Query=(@Symbol=%20{})"
            "&Language=ENGLISH&Context=FomerScriptedSearch&languageUIChanged=true")
# Dropped after reading them one by one: what the source gives is not the notification's.
JUDGED = {
    "G/TBT/N/NIC/157/Add.1": "the date is that of a monthly list (1-28 February 2019), not the "
                             "distribution date",
    "G/TBT/N/KEN/1170/Add.2": "the copy names Kenya as the notifying member of five East African "
                              "addenda, but its text reports Uganda's adoption: whose addendum it "
                              "is cannot be read",
    "G/TBT/N/JPN/602": "the description is a paraphrase mixing the copy's Vietnamese with English "
                       "added when it was gathered; no title",
}


def official_url(symbol: str) -> str:
    return WTO_DOCS.format(symbol)


def drop_reason(record: dict, recorded: set[str]) -> str | None:
    """Why a gathered record cannot be laid out as an ePing item, or None."""
    symbol = record["symbol"]
    if not record.get("member"):
        return "member cannot be read"
    try:  # the member is needed only to read a legacy symbol (G/TBT/Notif.96.204)
        parsed = norm.parse_symbol(symbol, member=record.get("member"))
    except norm.NormaliseError:
        return "symbol cannot be read"
    if norm.country(record["member"]) != parsed.member:
        return "member differs from the symbol's"
    if not record.get("distribution_date"):
        return "distribution date not given"
    if parsed.symbol in recorded:
        return "already bundled (a recorded ePing page or a notification form)"
    return JUDGED.get(parsed.symbol)


def gathered(data: Path) -> list[dict]:
    """The records of notifications_gathered_2026.json, as they are."""
    return json.loads((data / "notifications_gathered_2026.json").read_text())


def from_stored_pages(data: Path) -> list[dict]:
    """notifications_from_stored_pages.json in the gathered file's field names."""
    out = []
    for r in json.loads((data / "notifications_from_stored_pages.json").read_text()):
        member = _member(r["notifying_member"])
        language = (r.get("language_of_record") or r.get("doc_language") or "").split()[:1]
        out.append({
            "symbol": _own_symbol(r["document_symbols"], member),
            "joint": r["document_symbols"], "area": r["area"], "member": member,
            "distribution_date": r.get("distribution_date") or r.get("notified_on"),
            "comment_deadline": r.get("comment_deadline"),
            "title": r.get("title") or r.get("title_zh"),
            "description": r.get("description") or r.get("description_zh")
            or r.get("description_vi"),
            "products": r.get("products") or r.get("products_zh"),
            "hs_codes": [c["code"] if isinstance(c, dict) else c for c in r.get("hs_codes", [])],
            "ics_codes": [c["code"] if isinstance(c, dict) else c for c in r.get("ics_codes", [])],
            "objectives": r.get("objectives") or [],
            "language": language[0] if language else ("zh" if r.get("title_zh") else "en"),
            "document_links": r.get("links", []) + r.get("final_text_links", []),
            "sources": [{"url": r["source_url"], "title": None, "seen_on": None,
                         "supports": None}],
            "source_note": r.get("note"),
        })
    return out


def _own_symbol(symbols: list[str], member: str | None) -> str:
    """The notifying member's own symbol of a joint notification (the first if none is)."""
    for symbol in symbols:
        try:
            if norm.parse_symbol(symbol, member=member).member == member:
                return symbol
        except norm.NormaliseError:
            continue
    return symbols[0]


def _member(name: str) -> str | None:
    try:
        return norm.country(name)
    except norm.NormaliseError:
        return None  # "Brazil/MERCOSUR": the legacy form's member, dropped with its symbol


def joint_groups(records: list[dict]) -> dict[str, list[str]]:
    """Symbol → every symbol of its joint notification: one copy listing several members'
    symbols for one title on one day (the Gulf states notify together)."""
    groups = defaultdict(list)
    for r in records:
        key = (r["sources"][0]["url"], r["title"], r["distribution_date"], r["area"])
        groups[key].append(r["symbol"])
    joint = {}
    for symbols in groups.values():
        members = {norm.parse_symbol(s).member for s in symbols}
        if len(symbols) > 1 and len(members) == len(symbols):
            joint.update({s: sorted(symbols) for s in symbols})
    return joint


def item(record: dict, joint: list[str]) -> dict:
    """One record as an ePing list item (module docstring)."""
    member = norm.country(record["member"])
    wto_links = [u for u in record["document_links"] if urlsplit(u).hostname == "members.wto.org"]
    return {
        "id": None,
        "documentSymbol": ", ".join(joint),
        "area": record["area"],
        "notificationType": None,
        "notifyingMember": norm.wto_member_name(member),
        "notifyingMemberCode": norm.eping_country_id(member),
        "distributionDate": _datetime(record["distribution_date"]),
        "commentDeadlineDate": _datetime(record.get("comment_deadline")),
        "title": record.get("title") or None,
        "description": record.get("description") or None,
        "productsFreeText": record.get("products") or None,
        "hsCodes": [{"code": c} for c in record.get("hs_codes") or []],
        "icsCodes": [{"code": c} for c in record.get("ics_codes") or []],
        "objectives": [{"id": None, "name": o} for o in record.get("objectives") or []],
        "notifiedDocumentLink": ", ".join(wto_links) or None,
        "linkToNotification": official_url(norm.parse_symbol(record["symbol"]).symbol),
        "reconstruction": {
            "language": record["language"],
            "copies": [{"url": s["url"], "title": s.get("title"), "seenOn": s.get("seen_on")}
                       for s in record["sources"]],
            "documents": [u for u in record["document_links"] if u not in wto_links],
            "note": note(record),
        },
    }


def _datetime(date: str | None) -> str | None:
    return f"{date}T00:00:00" if date else None


def note(record: dict) -> str:
    """What the record rests on, in words: the copies read and what each gives."""
    copies = []
    for number, source in enumerate(record["sources"], 1):
        seen = f", seen {source['seen_on']}" if source.get("seen_on") else ""
        gives = f" gives: {source['supports']}" if source.get("supports") else ""
        copies.append(f"Copy {number} ({urlsplit(source['url']).hostname}{seen}){gives}.")
    text = ("Not recorded from ePing: laid out from the copies that other sites republished; "
            "the official text is at the WTO address of the symbol. " + " ".join(copies))
    if record.get("source_note"):
        text += f" Copy note: {record['source_note']}."
    return text


def recorded_symbols() -> set[str]:
    """The symbols on the recorded ePing pages (not the reconstructed ones), and those of the
    notification forms of ../wto_documents: a form of the same copy complements a record of
    this spider, and the store's complement of a record that both carry does not yet survive a
    crawl of both (the links it adds flip between them), so the form keeps it alone."""
    files = json.loads((HERE / "manifest.json").read_text())["files"]
    symbols = {s for name in files if not name.startswith("reconstructed_")
               for i in json.loads((HERE / name).read_text())["items"]
               for s in norm.split_symbols(i["documentSymbol"])}
    forms = HERE.parent / "wto_documents"
    for name in json.loads((forms / "manifest.json").read_text())["files"]:
        if found := FORM_SYMBOL.search((forms / name).read_text()):
            symbols.add(norm.parse_symbol(found.group(0)).symbol)
    return symbols


def build(data: Path) -> tuple[list[dict], list[tuple[str, str]]]:
    """The items, newest first, and the (symbol, reason) of every record left out."""
    recorded, kept, dropped = recorded_symbols(), {}, []
    for record in gathered(data) + from_stored_pages(data):
        reason = drop_reason(record, recorded)
        if reason is None and record["symbol"] in kept:
            reason = "already gathered (notifications_gathered_2026.json)"
        if reason:
            dropped.append((record["symbol"], reason))
        else:
            kept[record["symbol"]] = record
    joint = joint_groups([r for r in kept.values() if "joint" not in r])
    items = [item(r, r.get("joint") or joint.get(r["symbol"]) or [r["symbol"]])
             for r in kept.values()]
    items.sort(key=lambda i: (i["distributionDate"], i["linkToNotification"]), reverse=True)
    return items, dropped


def write(items: list[dict]) -> list[str]:
    names = []
    for start in range(0, len(items), PAGE_SIZE):
        name = OUT.format(start // PAGE_SIZE + 1)
        page = {"items": items[start:start + PAGE_SIZE], "totalCount": len(items),
                "isCountExceeded": False}
        (HERE / name).write_text(json.dumps(page, ensure_ascii=False, indent=1) + "\n")
        names.append(name)
    return names


def main() -> None:
    data = Path(sys.argv[1]) if len(sys.argv) > 1 else DATA
    for old in HERE.glob(OUT.format("*")):
        old.unlink()
    items, dropped = build(data)
    print("wrote", ", ".join(write(items)), f"({len(items)} items)")
    for symbol, reason in dropped:
        print(f"left out {symbol}: {reason}")


if __name__ == "__main__":
    main()
