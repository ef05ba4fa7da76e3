"""Write ``search/data/ics_hs.json``: MarketPass's ICS → HS concordance, derived from the WTO
notifications bundled with MarketPass (no official concordance was found to cite).

    .venv/bin/python tools/ics_hs.py [--check]

Notifications that list both ICS and HS codes say which goods a field of standards covers. Every
spider giving notifications is replayed over its recordings (as ``marketpass load-snapshot``
does), and a pair (ICS code, HS code) is kept by the rule in ``RULE``. ``tests/test_ics_hs.py``
checks that the file equals what this tool derives, so it never drifts from its evidence; with
``--check`` the tool only says whether it does (exit status 1 when not).
"""

from __future__ import annotations

import json
import sys
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from search import normalise as norm  # noqa: E402
from search.records import RecordError, load_record  # noqa: E402

OUT = Path(__file__).resolve().parent.parent / "search" / "data" / "ics_hs.json"
MAX_CODES = 3  # a notification listing more ICS codes or HS headings is not evidence
MIN_MEASURES = 2  # a pair is kept when this many measures list it …
MIN_SHARE = 0.5  # … and at least this share of the measures listing its ICS code do
RULE = (
    f"Evidence: a notification listing both ICS and HS codes, at most {MAX_CODES} ICS codes and "
    f"HS codes in at most {MAX_CODES} headings (4 digits). Each ICS code stands for its field "
    "(2 digits) and group (e.g. 43.040.60 for 43 and 43.040), each HS code for its chapter and "
    "heading; pairs are field → chapter, group → chapter and group → heading (a field is too "
    "broad for a heading). A measure counts once: its addenda, corrigenda and revisions, and "
    "the members' symbols of a joint notification, are one piece of evidence. A pair is kept "
    f"when at least {MIN_MEASURES} measures list it and they are at least {MIN_SHARE:.0%} of "
    "the measures whose evidence lists the ICS code. 'supported_by' cites one symbol a measure; "
    "'of' is the number of measures listing the ICS code."
)


def bundled_notifications() -> list[dict]:
    """Every notification of the bundled recordings, validated as the crawl pipeline does,
    once each (the bulk export repeats records of the list)."""
    from crawlers.run import SPIDERS
    from tests.replay import replay

    found: dict[str, dict] = {}
    for spider in SPIDERS.values():
        if "notification" not in spider.kinds:
            continue
        for item in replay(spider)[1]:
            try:
                record = load_record("notification", item)
            except RecordError:
                continue  # the pipeline drops it too
            found.setdefault(record["symbol"], record)
    return sorted(found.values(), key=lambda r: r["symbol"])


def _ics_levels(code: str) -> tuple[str, str | None]:
    parts = code.split(".")
    return parts[0], ".".join(parts[:2]) if len(parts) > 1 else None


def _hs_levels(code: str) -> tuple[str, str | None]:
    digits = norm.hs_code(code)
    return digits[:2], digits[:4] if len(digits) >= 4 else None


def pairs_of(record: dict) -> set[tuple[str, str]]:
    """The (ICS, HS) pairs a notification is evidence for; none when it lists many codes."""
    headings = {norm.hs_code(c)[:4] for c in record["hs_codes"]}
    if not record["ics_codes"] or not headings or len(record["ics_codes"]) > MAX_CODES \
            or len(headings) > MAX_CODES:
        return set()
    out = set()
    for ics in map(_ics_levels, record["ics_codes"]):
        for chapter, heading in map(_hs_levels, record["hs_codes"]):
            out.update((level, chapter) for level in ics if level)
            if ics[1] and heading:
                out.add((ics[1], heading))
    return out


def measure(record: dict) -> str:
    """One name for a measure: the first base symbol among the record's and its partners'."""
    bases = []
    for symbol in (record["symbol"], *record.get("joint_symbols", [])):
        try:
            bases.append(norm.parse_symbol(symbol).base_symbol)
        except norm.NormaliseError:
            bases.append(symbol)
    return min(bases)


def derive(records: list[dict]) -> list[dict]:
    """The kept pairs, by ICS then HS code."""
    cited: dict[tuple[str, str], dict[str, str]] = defaultdict(dict)  # pair → measure → symbol
    listing: dict[str, set[str]] = defaultdict(set)  # ICS code → measures
    for record in records:
        pairs, unit = pairs_of(record), measure(record)
        for ics, hs in pairs:
            symbols = cited[(ics, hs)]
            symbols[unit] = min(symbols.get(unit, record["symbol"]), record["symbol"])
            listing[ics].add(unit)
    return [{"ics": ics, "hs": hs, "supported_by": sorted(by.values()), "of": len(listing[ics])}
            for (ics, hs), by in sorted(cited.items())
            if len(by) >= MIN_MEASURES and len(by) >= MIN_SHARE * len(listing[ics])]


def concordance(records: list[dict]) -> dict:
    pairs = derive(records)
    day = max(r["fetched_at"] for r in records)[:10]
    with_both = sum(1 for r in records if r["hs_codes"] and r["ics_codes"])
    return {
        "about": (
            "MarketPass's derivation, not an official table: no published ICS-HS concordance "
            "was found. Derived by tools/ics_hs.py from the WTO TBT and SPS notifications "
            f"bundled with MarketPass as recorded on {day} (the wto_eping recordings, "
            "gathered notifications included, the wto_eping_bulk export and the wto_documents "
            f"forms: {len(records)} notifications, {with_both} listing both ICS and HS codes). "
            f"{RULE} Used only for notifications that list ICS codes and no HS code: they are "
            "found by an HS filter on the codes their ICS codes map to, labelled as derived."
        ),
        "pairs": pairs,
    }


def dumps(content: dict) -> str:
    return json.dumps(content, indent=2, ensure_ascii=False) + "\n"


def main() -> int:
    text = dumps(concordance(bundled_notifications()))
    if "--check" in sys.argv[1:]:
        same = OUT.exists() and OUT.read_text(encoding="utf-8") == text
        print(f"{OUT} is {'up to date' if same else 'stale: run tools/ics_hs.py'}")
        return 0 if same else 1
    OUT.write_text(text, encoding="utf-8")
    print(f"wrote {OUT}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
