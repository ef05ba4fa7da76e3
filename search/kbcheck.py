"""Checks across the curated records: links between them, one record per body, provenance, and
every market covering its product groups. Pure functions over loaded records, so the tests and
``python tools/kbcheck.py`` report the same problems."""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from pathlib import Path

from search.bodies import duplicate_bodies, normalised_name  # noqa: F401 (re-exported)
from search.coverage import EXPECTED_GROUPS
from search.markets import MARKETS, markets_for
from search.provenance import record_problems

MATCHING = json.loads((Path(__file__).with_name("data") / "matching.json")
                      .read_text(encoding="utf-8"))
CLASSES = frozenset(MATCHING["classes"])
REQUIRED_GROUPS = EXPECTED_GROUPS  # every market answers for these: a scheme, or a cited "none"
def of_kind(records: list[dict], kind: str) -> list[dict]:
    return [r for r in records if r["kind"] == kind]


def link_problems(records: list[dict]) -> list[str]:
    """References that point nowhere: a scheme's regulations, absorbs, superseded_by and
    products; a body's arrangements, schemes and NCB; an arrangement party's bodies."""
    ids = {kind: {r["id"] for r in of_kind(records, kind)}
           for kind in ("scheme", "regulation", "arrangement", "body", "product")}
    problems = []

    def check(rid: str, field: str, values, kind: str) -> None:
        missing = sorted(set(v for v in values if v) - ids[kind])
        if missing:
            problems.append(f"{rid}: {field} names no {kind}: {', '.join(missing)}")

    for s in of_kind(records, "scheme"):
        rid = f"scheme {s['id']}"
        check(rid, "regulations", s.get("regulations", []), "regulation")
        check(rid, "absorbs", s.get("absorbs", []), "scheme")
        check(rid, "superseded_by", [s.get("superseded_by")], "scheme")
        check(rid, "products", s.get("products", []) + s.get("exclusions", {}).get(
            "products", []), "product")
        unknown = sorted(set(s.get("classes", []) + s.get("exclusions", {}).get("classes", []))
                         - CLASSES)
        if unknown:
            problems.append(f"{rid}: classes not in search/data/matching.json: {unknown}")
        if s.get("listed_only") and not (s.get("hs_prefixes") or s.get("keywords")
                                         or s.get("products")):
            problems.append(f"{rid}: listed_only without a list (hs_prefixes, keywords, "
                            "products)")
    for b in of_kind(records, "body"):
        rid = f"body {b['id']}"
        check(rid, "arrangements", b.get("arrangements", []), "arrangement")
        check(rid, "schemes", b.get("schemes", []), "scheme")
        check(rid, "ncb", [b.get("ncb")], "body")
    for p in of_kind(records, "product"):
        check(f"product {p['id']}", "kind_of", p.get("kind_of", []), "product")
    for a in of_kind(records, "arrangement"):
        check(f"arrangement {a['id']}", "parties' bodies",
              [b for p in a.get("parties", []) for b in p.get("bodies", [])], "body")
    return problems


def groups_by_market(schemes: list[dict]) -> dict[str, set[str]]:
    """The product groups each market answers for, its unions' records included."""
    own: dict[str, set[str]] = defaultdict(set)
    for scheme in schemes:
        own[scheme["market"]].update(scheme.get("product_groups", []))
    return {m: set().union(*(own.get(p, set()) for p in markets_for(m))) for m in MARKETS}


def missing_groups(schemes: list[dict], declared: dict[str, list[str]] | None = None
                   ) -> dict[str, list[str]]:
    """Groups a market answers for by no scheme and no cited "none" — and that no curated
    file declares as searched and not found (``declared``: market → groups)."""
    covered = groups_by_market(schemes)
    declared = declared or {}
    out = {m: [g for g in REQUIRED_GROUPS if g not in covered[m]
               and g not in declared.get(m, [])] for m in MARKETS}
    return {m: groups for m, groups in out.items() if groups}


def stale_gaps(schemes: list[dict], declared: dict[str, list[str]]) -> list[str]:
    """Gaps a file declares that a record now answers: the declaration is out of date."""
    covered = groups_by_market(schemes)
    return [f"{m}: {g}" for m, groups in sorted(declared.items()) for g in groups
            if g in covered.get(m, set())]


def provenance_problems(records: list[dict]) -> list[str]:
    return [p for r in records if r["kind"] != "hscode" for p in record_problems(r)]


def all_problems(records: list[dict]) -> list[str]:
    return [*provenance_problems(records), *link_problems(records),
            *duplicate_bodies(of_kind(records, "body"))]


def summary(records: list[dict]) -> dict:
    kinds = Counter(r["kind"] for r in records)
    verified = Counter(r["kind"] for r in records if r.get("verified"))
    return {kind: {"records": n, "verified": verified[kind]} for kind, n in sorted(kinds.items())}
