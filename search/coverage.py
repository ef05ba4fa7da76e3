"""How complete and how well verified the knowledge base is, per market.

Pure functions over scheme records (read from the record store by the caller), so the page, the
JSON API and ``marketpass kb coverage`` report the same numbers, and a test can recompute them.

A scheme has eleven facts that matter to an exporter (``FACTS``); the three scope lists count as
one fact, "scope". A fact is *unknown* when it is missing, empty, or says "unknown"; it is
*verified* when the record is verified and the fact is not listed in ``unverified_fields``. A
``mandatory: "none"`` record is a cited statement that the market has no scheme for its product
groups: it answers the group's question but has no mark or authority to know, so its facts are
left out of the counts.
"""

from __future__ import annotations

from search.markets import MARKETS, markets_for

FACTS = ("mark", "authority", "legal_basis", "mandatory", "route", "scope", "cb_accepted",
         "in_country_testing", "local_representative", "validity", "lead_time")
SCOPE = ("hs_prefixes", "categories", "keywords")
# The scheme file whose header records the starting data's baseline.
BASELINE_FILE = "schemes-europe.json"
# The product groups every market answers for, by a scheme or a cited "none" (issue: markets
# cover electrical safety, EMC, radio, energy efficiency, toys, batteries, hazardous substances
# and e-waste); machinery, medical devices and general safety are reported where present.
EXPECTED_GROUPS = ("electrical_safety", "emc", "radio_telecom", "energy_efficiency", "toys",
                   "batteries", "hazardous_substances", "e_waste")


def _unknown_value(value: object) -> bool:
    if isinstance(value, str):
        return not value.strip() or value.strip().lower().startswith("unknown")
    return value in (None, [], {})


def unknown_facts(scheme: dict) -> list[str]:
    """The facts of a scheme that no one has filled in."""
    out = []
    for fact in FACTS:
        values = [scheme.get(f) for f in SCOPE] if fact == "scope" else [scheme.get(fact)]
        if all(_unknown_value(v) for v in values):
            out.append(fact)
    return out


def verified_facts(scheme: dict) -> list[str]:
    """Known facts of a verified scheme that its sources confirmed."""
    if not scheme.get("verified"):
        return []
    unconfirmed = set(scheme.get("unverified_fields", []))
    if unconfirmed & set(SCOPE):
        unconfirmed.add("scope")
    unknown = set(unknown_facts(scheme))
    return [f for f in FACTS if f not in unknown and f not in unconfirmed]


# Placeholders of the starting data that say nothing (it was written before "unknown" was the
# one word for it); in the curated records every one of them became "unknown".
_PLACEHOLDERS = ("unknown", "not stated", "not captured", "not addressed", "none stated")
# Starting-data field → the fact it holds.
_STARTING_FIELDS = {"mark": "mark", "authority": "authority", "legal_basis": "legal_basis",
                    "status": "mandatory", "route": "route", "in_country_testing":
                    "in_country_testing", "local_rep_required": "local_representative",
                    "certificate_validity": "validity", "lead_time": "lead_time"}


def _says_nothing(value: object) -> bool:
    if isinstance(value, dict):
        value = value.get("value")
    text = value.strip().lower() if isinstance(value, str) else ""
    return not text or text == "n/a" or text.startswith(_PLACEHOLDERS)


def starting_unknowns(records: list[dict]) -> dict:
    """The baseline: unknown facts of the starting data (``crawlers/curated/starting``), by the
    rule ``unknown_facts`` applies to curated schemes, its fields mapped to the same facts."""
    unknown = 0
    for record in records:
        facts = {fact: record.get(field) for field, fact in _STARTING_FIELDS.items()}
        facts["cb_accepted"] = record.get("accepts_iecee_cb")
        facts["scope"] = [record.get("hs_codes"), record.get("product_scope")]
        unknown += sum(all(_says_nothing(v) for v in value) if fact == "scope"
                       else _says_nothing(value) for fact, value in facts.items())
    total = len(records) * len(FACTS)
    return {"unknown_fields": unknown, "total_fields": total,
            "unknown_share": round(unknown / total, 4) if total else 0.0}


def _counts(schemes: list[dict]) -> dict:
    counted = [s for s in schemes if s.get("mandatory") != "none"]
    fields = len(counted) * len(FACTS)
    unknown = sum(len(unknown_facts(s)) for s in counted)
    return {
        "fields": fields,
        "facts": fields - unknown,
        "verified_facts": sum(len(verified_facts(s)) for s in counted),
        "unknown": unknown,
        "unknown_share": round(unknown / fields, 4) if fields else None,
    }


def _groups(schemes: list[dict], markets: list[str]) -> tuple[list[str], list[str]]:
    """Groups with a scheme, and groups the market states it has none for."""
    applying = [s for s in schemes if s["market"] in markets]
    real = {g for s in applying if s.get("mandatory") != "none" for g in s["product_groups"]}
    none = {g for s in applying if s.get("mandatory") == "none" for g in s["product_groups"]}
    return sorted(real), sorted(none - real)


def market_coverage(market: str, schemes: list[dict], not_found: list[str] = ()) -> dict:
    """One market: its own schemes, what its unions add, what is still missing, and which of
    the missing groups were searched for and not found (``not_found``)."""
    markets = markets_for(market)
    own = [s for s in schemes if s["market"] == market]
    groups, none = _groups(schemes, markets)
    return {
        "market": market,
        "schemes": len(own),
        "inherited_schemes": sum(s["market"] in markets[1:] for s in schemes),
        "unions": markets[1:],
        "groups": groups,
        "none_groups": none,
        "missing_groups": [g for g in EXPECTED_GROUPS if g not in groups and g not in none],
        "not_found_groups": [g for g in EXPECTED_GROUPS if g in not_found
                             and g not in groups and g not in none],
        **_counts(own),
        "unknown_by_scheme": {s["id"]: u for s in own
                              if s.get("mandatory") != "none" and (u := unknown_facts(s))},
    }


def coverage(schemes: list[dict], baseline: dict | None = None,
             gaps: dict[str, list[str]] | None = None) -> dict:
    """The whole report: every market of the knowledge base, totals, and the baseline."""
    covered = [s for s in schemes if s["market"] in MARKETS]
    markets = [market_coverage(m, covered, (gaps or {}).get(m, [])) for m in MARKETS]
    return {
        "facts": list(FACTS),
        "expected_groups": list(EXPECTED_GROUPS),
        "markets": markets,
        "complete_markets": sum(not m["missing_groups"] for m in markets),
        "overall": {"schemes": len(covered), **_counts(covered)},
        "other_markets": sorted({s["market"] for s in schemes} - set(MARKETS)),
        "baseline": baseline,
    }


def curated_headers(crawls: list[dict]) -> dict[str, dict]:
    """Each curated file's header (about, baseline, indicators, re-verification log) as the
    curated spider kept it in its last crawl's log, by file name."""
    curated = next((c for c in crawls if c["source"] == "curated"), None)
    return (curated or {}).get("stats", {}).get("about", {})


def declared_gaps(headers: dict[str, dict]) -> dict[str, list[str]]:
    """Market → product groups the curated files declare as searched for and not found
    (each file's header "not_found": market, group, when and what was searched)."""
    out: dict[str, list[str]] = {}
    for header in headers.values():
        for gap in (header.get("not_found") or []) if isinstance(header, dict) else []:
            out.setdefault(gap["market"], []).append(gap["group"])
    return out


def baseline_of(crawls: list[dict]) -> dict | None:
    """The starting data's unknown share, as the header of a scheme file records it
    (``BASELINE_FILE``)."""
    return curated_headers(crawls).get(BASELINE_FILE, {}).get("baseline")


def report(store) -> dict:
    """The coverage of what was crawled: scheme records and the baseline from the store."""
    crawls = store.last_crawls()
    return coverage(list(store.records("scheme")), baseline_of(crawls),
                    declared_gaps(curated_headers(crawls)))
