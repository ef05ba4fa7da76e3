"""The agencies' view: IECEE status, arrangements and their coverage, bodies, indicators.

Pure functions over the curated records (``search.matcher.Knowledge``): every number a page
shows is computed here from the records, so a test can recompute it the same way, and each
carries the records it was counted from.
"""

from __future__ import annotations

import csv
import json
import re
from collections import Counter
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from search.analysis import fold
from search.markets import MARKETS, UNION_MEMBERS, markets_for, members_of
from search.matcher import Knowledge
from search.recognition import apart, covers, in_effect, parties, recognises, sides

CATEGORIES_CSV = Path(__file__).with_name("data") / "iecee_categories.csv"
GROUPS_JSON = Path(__file__).with_name("data") / "country_groups.json"
# The groups the coverage matrix is arranged by, in the order a country is placed under the
# first it belongs to: the unions (search.markets), then the groups of country_groups.json.
GROUPS = ("EU", "EAEU", "GCC", "ASEAN", "RCEP", "BRI")
ARRANGEMENT_TYPES = ("multilateral", "regional", "bilateral", "fta-chapter", "peer")
ROLES = ("member_body", "ncb", "cbtl", "iecex_cb", "iecex_extl", "accreditation_body",
         "iaf_mla_signatory", "ilac_mra_signatory", "designated_cab", "notified_body",
         "authority")
# Sectors of the coverage matrix: product groups as schemes name them, and accreditation.
SECTORS = ("electrical_safety", "emc", "radio_telecom", "machinery", "toys", "medical_devices",
           "accreditation")
_CODE = re.compile(r"[A-Z]{2,5}")

# China's 14th five-year plan for certification, accreditation, inspection and testing (SAMR,
# 2022) tracks these; the curated files' headers report them with their sources, and later
# official totals beside them (figure ids of arrangements.json's "indicators").
CHINA_FIGURES = {"iec_bodies": ("cn-iec-system-bodies-2020", "cn-plan-target-iec-system-bodies"),
                 "bilateral": ("cn-bilateral-arrangements-2020", "cn-plan-target-bilateral")}
CHINA_LATEST = "cn-bilateral-arrangements"
# The official series of each plan indicator as the curated headers report it (ids of their
# "indicators"), the plan's target, and the knowledge figure (FIGURES) held beside it.
CHINA_SERIES = {
    "iec_bodies": {"reported": ("cn-iec-system-bodies-2020", "chinese_bodies_in_iec_systems"),
                   "target": "cn-plan-target-iec-system-bodies", "held": "cn_iec_bodies"},
    "bilateral": {"reported": ("cn-bilateral-arrangements-2014", "cn-bilateral-arrangements-2020",
                               "cn-bilateral-arrangements-2023", "cn-bilateral-arrangements"),
                  "target": "cn-plan-target-bilateral", "held": "cn_bilateral"},
}


@lru_cache(maxsize=1)
def category_names() -> dict[str, dict[str, str]]:
    with CATEGORIES_CSV.open(encoding="utf-8") as f:
        return {row["code"]: row for row in csv.DictReader(f)}


def _brief(body: dict) -> dict:
    return {"id": body["id"], "name": body["name"], "country": body["country"],
            "roles": body.get("roles", []), "verified": bool(body.get("verified")),
            "categories": [c for c in body.get("categories", []) if c != "unknown"]}


def _with_role(kb: Knowledge, country: str, *roles: str) -> list[dict]:
    return sorted((_brief(b) for b in kb.bodies
                   if b["country"] == country and set(roles) & set(b.get("roles", []))),
                  key=lambda b: b["name"].casefold())


# --- IECEE ---------------------------------------------------------------------------------

def iecee(kb: Knowledge) -> dict:
    """Member countries with their bodies and accepted categories, the category × country
    matrix ("unknown" where no source says), and IECEx beside it."""
    cb = kb.arrangements.get("iecee-cb")
    iecex = kb.arrangements.get("iecex")
    members = {p["country"]: p for p in (cb or {}).get("parties", [])}
    iecex_parties = parties(iecex) if iecex else set()
    countries = []
    for code in sorted(members):
        ncbs = _with_role(kb, code, "ncb")
        countries.append({
            "country": code,
            "member_bodies": _with_role(kb, code, "member_body"),
            "ncbs": ncbs,
            "cbtls": _with_role(kb, code, "cbtl"),
            "categories": accepted_categories(members[code], ncbs),
            "iecex": {"party": code in iecex_parties,
                      "bodies": _with_role(kb, code, "iecex_cb", "iecex_extl")},
            "note": members[code].get("note"),
        })
    categories = _category_codes(cb, countries)
    return {
        "arrangement": arrangement_brief(cb) if cb else None,
        "iecex": arrangement_brief(iecex) if iecex else None,
        "countries": countries,
        "categories": [{"code": c, "name": category_names().get(c, {}).get("name_en", c),
                        "name_zh": category_names().get(c, {}).get("name_zh")}
                       for c in categories],
        "matrix": {row["country"]: {c: category_state(row, c) for c in categories}
                   for row in countries},
    }


def category_state(row: dict, code: str) -> str:
    """What is known of a member country and one category: "yes" (a source names it for the
    country or one of its NCBs); "not_listed" (every NCB's categories are known and none is
    this one); "unknown" (an NCB whose categories no source names); "no_ncb" (a member with no
    NCB in the records)."""
    if code in row["categories"]:
        return "yes"
    if not row["ncbs"]:
        return "no_ncb"
    return "not_listed" if all(b["categories"] for b in row["ncbs"]) else "unknown"


def accepted_categories(party: dict, ncbs: list[dict]) -> list[str]:
    """Categories a country's NCBs accept, as far as a source names them."""
    named = [c for c in party.get("categories", []) if c != "unknown"]
    named += [c for b in ncbs for c in b["categories"]]
    return sorted(set(named))


def _category_codes(cb: dict | None, countries: list[dict]) -> list[str]:
    codes = {s for s in (cb or {}).get("sectors", []) if _CODE.fullmatch(s)}
    codes |= {c for row in countries for c in row["categories"]}
    codes |= set(category_names())
    return sorted(codes)


def arrangement_brief(a: dict) -> dict:
    return {"id": a["id"], "name": a["name"], "short_name": a.get("short_name"),
            "type": a.get("type"), "verified": bool(a.get("verified")),
            "sources": [s["url"] for s in a.get("sources", [])]}


# --- arrangements and their coverage --------------------------------------------------------

def arrangements(kb: Knowledge) -> list[dict]:
    """Every arrangement with its parties, sectors, dates, effect and links."""
    order = {t: i for i, t in enumerate(ARRANGEMENT_TYPES)}
    return sorted((_arrangement_row(a) for a in kb.arrangements.values()),
                  key=lambda a: (order.get(a["type"], 9), a["name"].casefold()))


def _arrangement_row(a: dict) -> dict:
    return {**arrangement_brief(a), "parties": a.get("parties", []),
            "sectors": a.get("sectors", []), "effect": a.get("effect", ""),
            "status": a.get("status"), "signed": a.get("signed"), "in_force": a.get("in_force"),
            "links": a.get("links", []), "description": a.get("description", "")}


def route(arrangement: dict, exporter: str, market: str, sector: str) -> bool:
    """Whether a result from the exporter can be used in the market for the sector through
    this arrangement: the rule the matcher's routes use (``search.recognition``)."""
    return recognises(arrangement, exporter, market, [sector])


def coverage_matrix(kb: Knowledge, sector: str, countries: tuple[str, ...] = MARKETS) -> dict:
    """Exporter × market → the arrangements that let a result travel, for one sector; kept
    with the knowledge (it changes only with it)."""
    return kb.remember(("coverage_matrix", sector, countries),
                       lambda: _coverage_matrix(kb, sector, countries))


def _coverage_matrix(kb: Knowledge, sector: str, countries: tuple[str, ...]) -> dict:
    # The matcher's rule (search.recognition), with each arrangement's sides worked out once
    # per country instead of once per pair.
    cells: dict[str, dict[str, list[str]]] = {e: {m: [] for m in countries} for e in countries}
    usable = sorted((a for a in kb.arrangements.values()
                     if in_effect(a) and covers(a, [sector])), key=lambda a: a["id"])
    for a in usable:
        side = {c: sides(a, c) for c in countries}
        for exporter in (c for c in countries if side[c]):
            for market in countries:
                if apart(side[exporter], side[market], exporter, market):
                    cells[exporter][market].append(a["id"])
    covered = sum(1 for row in cells.values() for ids in row.values() if ids)
    return {"sector": sector, "countries": list(countries), "cells": cells,
            "pairs_covered": covered,
            "pairs": sum(1 for e in countries for m in countries
                         if not set(markets_for(e)) & set(markets_for(m)))}


@lru_cache(maxsize=1)
def country_groups() -> dict[str, tuple[str, ...]]:
    """Each group's members: a union (itself first, then its member states) and the groups
    of search/data/country_groups.json, each with the official page that lists them."""
    listed = json.loads(GROUPS_JSON.read_text(encoding="utf-8"))["groups"]
    found = {u: (u, *sorted(members)) for u, members in UNION_MEMBERS.items()}
    found |= {g["id"]: tuple(g["members"]) for g in listed}
    return {g: found[g] for g in GROUPS}


@lru_cache(maxsize=1)
def group_sources() -> list[dict]:
    """Where each listed group's members come from, and whether that list was checked
    against its official page (unions are not listed: their members are the law's)."""
    listed = json.loads(GROUPS_JSON.read_text(encoding="utf-8"))["groups"]
    return [{"group": g["id"], "url": g["source"]["url"], "publisher": g["source"]["publisher"],
             "verified": bool(g.get("verified")), "members": len(g["members"]),
             "members_confirmed": len(g.get("verified_members", g["members"]
                                            if g.get("verified") else []))} for g in listed]


def group_markets(group: str | None) -> tuple[str, ...]:
    """The markets of a group (all markets for none), in the order of MARKETS."""
    if not group:
        return MARKETS
    members = set(country_groups()[group])
    return tuple(m for m in MARKETS if m in members)


def matrix_blocks(countries: list[str]) -> list[dict]:
    """The countries in blocks, each under the first group it belongs to, the others last
    (group None): the rows and columns of the matrix, grouped."""
    groups = country_groups()
    blocks: dict[str | None, list[str]] = {g: [] for g in (*GROUPS, None)}
    for c in countries:
        blocks[next((g for g in GROUPS if c in groups[g]), None)].append(c)
    return [{"group": g, "countries": cs} for g, cs in blocks.items() if cs]


def route_detail(kb: Knowledge, exporter: str, market: str, sector: str) -> dict:
    """Why a cell of the coverage matrix is filled: each arrangement that lets a result from
    the exporter be used in the market for the sector, with the parties standing for each side
    (since when, in which role) and each side's bodies that take part in it."""
    found = sorted((a for a in kb.arrangements.values() if route(a, exporter, market, sector)),
                   key=lambda a: a["id"])
    return {"from": exporter, "to": market, "sector": sector,
            "arrangements": [_route_arrangement(kb, a, exporter, market) for a in found]}


def _route_arrangement(kb: Knowledge, a: dict, exporter: str, market: str) -> dict:
    def side(country: str) -> dict:
        standing = sides(a, country)
        return {"parties": [p for p in a.get("parties", []) if p.get("country") in standing],
                "bodies": _taking_part(kb, a["id"], {country, *members_of(country)})}
    return {**arrangement_brief(a), "status": a.get("status"), "signed": a.get("signed"),
            "in_force": a.get("in_force"), "effect": a.get("effect", ""),
            "exporter": side(exporter), "market": side(market)}


def _taking_part(kb: Knowledge, arrangement_id: str, countries: set[str]) -> list[dict]:
    return sorted((_brief(b) for b in kb.bodies if b["country"] in countries
                   and arrangement_id in b.get("arrangements", [])),
                  key=lambda b: b["name"].casefold())


# --- bodies ----------------------------------------------------------------------------------

@dataclass(frozen=True)
class BodyQuery:
    q: str = ""
    countries: tuple[str, ...] = ()
    roles: tuple[str, ...] = ()
    schemes: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()


def _body_matches(body: dict, query: BodyQuery, words: list[str]) -> bool:
    text = fold(" ".join([body["name"], body["id"], *body.get("roles", []),
                          *body.get("categories", []), *body.get("standards", [])]))
    return (all(w in text for w in words)
            and (not query.countries or body["country"] in query.countries)
            and (not query.roles or set(query.roles) & set(body.get("roles", [])))
            and (not query.schemes or set(query.schemes) & set(body.get("arrangements", [])))
            and (not query.categories
                 or set(query.categories) & set(body.get("categories", []))))


def bodies(kb: Knowledge, query: BodyQuery) -> dict:
    """Bodies matching every filter (any of several values within one), with exact counts of
    the matching bodies per country, role, scheme and category."""
    words = fold(query.q).split()
    found = sorted((b for b in kb.bodies if _body_matches(b, query, words)),
                   key=lambda b: (b["country"], b["name"].casefold()))
    facets = {
        "country": Counter(b["country"] for b in found),
        "role": Counter(r for b in found for r in b.get("roles", [])),
        "scheme": Counter(a for b in found for a in b.get("arrangements", [])),
        "category": Counter(c for b in found for c in b.get("categories", []) if c != "unknown"),
    }
    return {"total": len(found),
            "items": [{**_brief(b), "arrangements": b.get("arrangements", []),
                       "status": b.get("status"), "links": b.get("links", [])} for b in found],
            "facets": {k: sorted(v.items(), key=lambda x: (-x[1], x[0])) for k, v in
                       facets.items()}}


# --- indicators ------------------------------------------------------------------------------

def _party_arrangements(kb: Knowledge, country: str) -> list[dict]:
    return [a for a in kb.arrangements.values() if sides(a, country)]


def indicators_for(kb: Knowledge, country: str) -> dict:
    """One country's numbers, each with the records it counts."""
    ncbs = _with_role(kb, country, "ncb")
    cbtls = _with_role(kb, country, "cbtl")
    iecex = _with_role(kb, country, "iecex_cb", "iecex_extl")
    taking_part = _party_arrangements(kb, country)
    by_type = {t: sorted(a["id"] for a in taking_part if a.get("type") == t)
               for t in ARRANGEMENT_TYPES}
    iaf = _with_role(kb, country, "iaf_mla_signatory")
    ilac = _with_role(kb, country, "ilac_mra_signatory")
    return {
        "country": country,
        "ncbs": len(ncbs), "cbtls": len(cbtls), "iecex_bodies": len(iecex),
        "iec_bodies": len({b["id"] for b in [*ncbs, *cbtls, *iecex]}),
        "arrangements": {t: len(ids) for t, ids in by_type.items()},
        "arrangements_total": len(taking_part),
        "iaf_mla": bool(iaf), "ilac_mra": bool(ilac),
        "records": {"ncbs": [b["id"] for b in ncbs], "cbtls": [b["id"] for b in cbtls],
                    "iecex_bodies": [b["id"] for b in iecex], "arrangements": by_type,
                    "iaf_mla": [b["id"] for b in iaf], "ilac_mra": [b["id"] for b in ilac]},
    }


def indicator_countries(kb: Knowledge) -> list[str]:
    """The 31 markets' countries (unions stand for themselves) and every country with a body."""
    found = {b["country"] for b in kb.bodies}
    return sorted({*MARKETS, *found}, key=lambda c: (c not in MARKETS, c))


def indicators(kb: Knowledge, about: dict | None = None) -> dict:
    rows = [indicators_for(kb, c) for c in indicator_countries(kb)]
    china = next((r for r in rows if r["country"] == "CN"), None)
    reported = reported_figures(about or {})
    figures = knowledge_figures(kb, reported)
    return {"countries": rows, "china_plan": china_plan(reported),
            "china_reported": china_latest(reported), "china": china,
            "china_series": china_series(reported, {f["id"]: f["ours"] for f in figures}),
            "knowledge": figures}


def china_series(reported: dict[str, dict], held: dict[str, int]) -> dict[str, dict]:
    """China's two plan indicators as sources report them over the years (oldest first, each
    with its source), the plan's 2025 target, and what the knowledge base holds: set beside
    the series, not on it, since a count of records is no measure of progress."""
    out = {}
    for name, ids in CHINA_SERIES.items():
        points = [reported[i] for i in ids["reported"] if i in reported]
        out[name] = {"reported": sorted(points, key=lambda f: str(f.get("as_of"))),
                     "target": reported.get(ids["target"]), "held": held[ids["held"]]}
    return out


def china_plan(reported: dict[str, dict]) -> dict:
    """The plan's 2020 figures and 2025 targets as the curated headers report them (None where
    they do not), with the address of the plan and whether a qualifying source was read."""
    plan: dict = {"source": None, "read_at": None, "verified": False}
    for name, (start, target) in CHINA_FIGURES.items():
        plan[name] = {"2020": (reported.get(start) or {}).get("value"),
                      "2025_target": (reported.get(target) or {}).get("value")}
        for figure in (reported.get(start), reported.get(target)):
            source = (figure or {}).get("source") or {}
            plan["source"] = plan["source"] or source.get("url")
            plan["read_at"] = plan["read_at"] or source.get("read_at")
            plan["verified"] = plan["verified"] or bool((figure or {}).get("qualifying"))
    return plan


def china_latest(reported: dict[str, dict]) -> dict | None:
    """The latest official total of China's bilateral arrangements, with its source."""
    figure = reported.get(CHINA_LATEST)
    if not figure:
        return None
    source = figure.get("source") or {}
    return {"bilateral": figure["value"], "as_of": figure.get("as_of"),
            "source": source.get("url"), "verified": bool(figure.get("qualifying", True))}


# --- what the knowledge base holds, beside what sources report of the world --------------------

# The figures tracked against the real world: id → the ids under which a curated file's header
# ("indicators") reports the real-world number.
FIGURES = {
    "markets": (),
    "iecee_member_countries": ("iecee_member_countries_reported",),
    "ncbs": ("ncbs_reported",),
    "cbtls": ("cbtls_reported",),
    "ncbs_with_categories": (),
    "cn_bilateral": ("cn-bilateral-arrangements", "cn_bilateral_arrangements"),
    "cn_iec_bodies": ("chinese_bodies_in_iec_systems", "cn-bodies-in-iec-systems",
                      "cn_iec_bodies"),
    "iaf_mla_economies": ("iaf-mla-economies", "iaf_mla_economies", "iaf_mla_economies_reported"),
    "ilac_mra_economies": ("ilac-mra-economies", "ilac_mra_economies",
                           "ilac_mra_economies_reported"),
}
# Who is not a foreign partner in China's count of bilateral arrangements.
CHINA_ITSELF = ("CN", "HK", "MO", "TW")
IEC_ROLES = ("member_body", "ncb", "cbtl", "iecex_cb", "iecex_extl")


def reported_figures(about: dict[str, dict]) -> dict[str, dict]:
    """Real-world figures the curated files' headers report under "indicators" (a list of
    ``{id, value, as_of, source}`` or a mapping id → that), by id, with their sources."""
    out: dict[str, dict] = {}
    for header in about.values():
        found = header.get("indicators") if isinstance(header, dict) else None
        items = (found.items() if isinstance(found, dict) else
                 ((i.get("id"), i) for i in found) if isinstance(found, list) else ())
        for key, item in items:
            if key and isinstance(item, dict) and item.get("value") is not None:
                out[key] = {k: item.get(k) for k in ("value", "as_of", "source", "qualifying")}
    return out


def _ours(kb: Knowledge) -> dict[str, int]:
    def role(r: str, country: str | None = None) -> list[dict]:
        return [b for b in kb.bodies if r in b.get("roles", [])
                and (country is None or b["country"] == country)]
    cb, iaf, ilac = (kb.arrangements.get(a) for a in ("iecee-cb", "iaf-mla", "ilac-mra"))
    china = [a for a in kb.arrangements.values() if a.get("type") == "bilateral"
             and "CN" in parties(a) and parties(a) - set(CHINA_ITSELF)]
    return {
        "markets": sum(1 for m in MARKETS if any(kb.by_market.get(p) for p in markets_for(m))),
        "iecee_member_countries": len(parties(cb)) if cb else 0,
        "ncbs": len(role("ncb")), "cbtls": len(role("cbtl")),
        "ncbs_with_categories": sum(1 for b in role("ncb")
                                    if set(b.get("categories", [])) - {"unknown"}),
        "cn_bilateral": len(china),
        "cn_iec_bodies": len({b["id"] for r in IEC_ROLES for b in role(r, "CN")}),
        "iaf_mla_economies": len(parties(iaf)) if iaf else 0,
        "ilac_mra_economies": len(parties(ilac)) if ilac else 0,
    }


def knowledge_figures(kb: Knowledge, reported: dict[str, dict]) -> list[dict]:
    """Each tracked figure: what the knowledge base holds and, where a source reports it, the
    real-world number with its source (official or not, as its header says)."""
    ours = _ours(kb)
    return [{"id": fid, "ours": ours[fid],
             "reported": next((reported[k] for k in keys if k in reported), None)}
            for fid, keys in FIGURES.items()]


def arrangements_of(kb: Knowledge, country: str) -> list[dict]:
    """Arrangements the country (or its union, or for a union its members) takes part in."""
    return sorted(_party_arrangements(kb, country),
                  key=lambda a: (ARRANGEMENT_TYPES.index(a["type"])
                                 if a.get("type") in ARRANGEMENT_TYPES else 9, a["id"]))
