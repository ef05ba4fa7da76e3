"""Product × market → the schemes that apply, why, what can be reused, and what is changing.

The steps follow ARCHITECTURE.md's "Matching": classify the product (an HS code given, or words
in any language → ranked HS candidates from the product vocabulary, the nomenclature text and
the HS codes of past notifications); take the schemes of the market and of the unions it
belongs to whose scope (HS prefixes, IECEE categories, keywords) covers the product; look for
recognition routes from the country of origin (CB Scheme acceptance, MRAs both are party to)
and the bodies there that can issue the results; and list the notifications that may change
those schemes. Every requirement says why it matched and cites its sources.

The knowledge (schemes, arrangements, bodies, products) is small and read once into memory;
the nomenclature and the notifications stay in the search index.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date

from search import normalise as norm
from search.analysis import fold
from search.links import scheme_link
from search.markets import markets_for, members_of, unions_of
from search.query import SearchRequest, Term
from search.vocabulary import Found, ProductIndex, words

KB_KINDS = ("scheme", "regulation", "arrangement", "body", "product")
CANDIDATES = 6
PER_HEADING = 2
# What kind of thing each product group is, in the words schemes use for their scope: a
# charger is "electrical equipment" and "IT equipment" to a scheme that names no chargers.
GROUP_CLASSES: dict[str, tuple[str, ...]] = {
    "chargers and power supplies": ("electrical equipment", "electrical appliance", "adapter",
                                    "power supply", "IT equipment", "electronic equipment"),
    "batteries": ("battery",),
    "lamps and luminaires": ("lighting", "lamp", "luminaire", "light source",
                             "lighting equipment", "electrical equipment",
                             "electrical appliance"),
    "household appliances": ("household appliance", "electrical appliance",
                             "electrical equipment"),
    "IT and audio-video equipment": ("IT equipment", "audio-video equipment",
                                     "electronic equipment", "electrical equipment"),
    "phones and radio equipment": ("radio equipment", "wireless device", "telecom equipment",
                                   "telecom terminal equipment", "electronic equipment"),
    "power tools": ("power tool", "electric tool", "electrical equipment", "machine"),
    "toys": ("toy",),
    "cables and wiring devices": ("cable", "wire", "cord set", "wiring device",
                                  "electrical equipment"),
    "switches and protection": ("switch", "wiring device", "electrical equipment"),
    "medical devices": ("medical device",),
    "machinery": ("machinery", "machine", "industrial machinery", "machinery and equipment",
                  "electrical equipment"),
    "energy equipment": ("electrical equipment",),
    "vehicles": (),
    "other consumer electronics": ("electronic equipment", "electrical equipment"),
}
# HS headings of goods that schemes call machinery (machine tools, lifting and handling, pumps
# and compressors, agricultural, food, textile and other industrial machines), whatever the
# product's words: a "CNC lathe" is machinery even when the vocabulary does not know lathes.
MACHINERY_HEADINGS = ((8413, 8414), (8417, 8417), (8419, 8424), (8425, 8449), (8451, 8468),
                      (8474, 8480), (8486, 8486))
MACHINERY_CLASSES = ("machinery", "machine", "industrial machinery")
# Words in a query that make any product a radio device.
RADIO_WORDS = frozenset({"wireless", "bluetooth", "wi", "wifi", "radio", "smart", "zigbee",
                         "nfc", "lte", "5g", "4g", "无线", "蓝牙", "беспроводн", "inalambrico"})
RADIO_CLASSES = ("radio equipment", "wireless device", "Wi-Fi device", "Bluetooth device")
GENERIC = frozenset(fold(c) for classes in GROUP_CLASSES.values() for c in classes)
# Arrangement sectors that concern each product group, as the sector texts word them.
SECTOR_WORDS = {
    "radio_telecom": ("telecom", "radio"), "emc": ("emc", "electromagnetic"),
    "electrical_safety": ("electrical safety", "electrical and electronic", "low voltage"),
    "machinery": ("machinery",), "toys": ("toys",), "medical_devices": ("medical devices",),
}
RANK = {"mandatory": 0, "unknown": 1, "voluntary": 2}
# Arrangements that do not let results travel today: a policy framework, a superseded text.
NOT_IN_EFFECT = ("policy", "superseded", "terminated", "expired", "withdrawn")


def in_effect(arrangement: dict) -> bool:
    status = (arrangement.get("status") or "").casefold()
    return not any(word in status for word in NOT_IN_EFFECT)


class MatchError(ValueError):
    """A question the matcher cannot answer as asked (no product, bad code, unknown market)."""


@dataclass(frozen=True)
class MatchQuery:
    product: str = ""
    hs: str | None = None
    market: str = ""
    origin: str | None = None


class Knowledge:
    """The curated records the matcher works from, indexed for it."""

    def __init__(self, records: list[dict]) -> None:
        by_kind: dict[str, list[dict]] = defaultdict(list)
        for record in records:
            by_kind[record["kind"]].append(record)
        self.schemes = sorted(by_kind["scheme"], key=lambda s: s["id"])
        self.by_market: dict[str, list[dict]] = defaultdict(list)
        for scheme in self.schemes:
            self.by_market[scheme["market"]].append(scheme)
        self.regulations = {r["id"]: r for r in by_kind["regulation"]}
        self.arrangements = {a["id"]: a for a in by_kind["arrangement"]}
        self.bodies = by_kind["body"]
        self.index = ProductIndex(by_kind["product"])
        self.products = by_kind["product"]

    def products_for_hs(self, code: str) -> list[dict]:
        """Products of the vocabulary classified under the code, or under its subheadings."""
        exact = [p for p in self.products if code in p.get("hs_codes", [])]
        return exact or [p for p in self.products
                         if any(c.startswith(code) or code.startswith(c)
                                for c in p.get("hs_codes", []))]


# --- classification ----------------------------------------------------------------------------

@dataclass
class Candidate:
    code: str
    score: float = 0.0
    via: set[str] = field(default_factory=set)
    products: list[str] = field(default_factory=list)


def _add(scores: dict[str, Candidate], code: str, score: float, via: str,
         product: str | None = None) -> None:
    candidate = scores.setdefault(code, Candidate(code))
    candidate.score += score
    candidate.via.add(via)
    if product and product not in candidate.products:
        candidate.products.append(product)


def classify(found: list[Found], hs: str | None, nomenclature: list[tuple[str, float]],
             notified: list[tuple[str, int]]) -> list[Candidate]:
    """HS candidates, best first: the code given; the codes of the products found (the best
    product's first code highest); codes whose nomenclature text matches the words; codes the
    notifications about those words carry. At most two per heading, so the first three
    candidates can show three different readings of the words."""
    scores: dict[str, Candidate] = {}
    if hs:
        _add(scores, hs, 2.0, "given")
    top = found[0].score if found else 1.0
    for f in found:
        for i, code in enumerate(f.product.get("hs_codes", [])):
            _add(scores, code, f.score / top * (1.0 if i == 0 else 0.7), "vocabulary",
                 f.product["id"])
    # The nomenclature's wording decides when no product was recognised, else it breaks ties.
    weight = 0.3 if found else 0.6
    best_text = max((s for _c, s in nomenclature), default=0.0)
    for code, score in nomenclature:
        _add(scores, code, weight * score / best_text, "nomenclature")
    most = max((n for _c, n in notified), default=0)
    for code, n in notified:
        _add(scores, code, 0.3 * n / most, "notifications")
    ranked = sorted(scores.values(), key=lambda c: (-c.score, c.code))
    out, per_heading = [], defaultdict(int)
    for candidate in ranked:
        heading = candidate.code[:4]
        if per_heading[heading] < PER_HEADING:
            per_heading[heading] += 1
            out.append(candidate)
    return out[:CANDIDATES]


def leading(candidates: list[Candidate]) -> list[Candidate]:
    """The candidates strong enough to decide scope: those within half the best score."""
    if not candidates:
        return []
    return [c for c in candidates[:3] if c.score >= candidates[0].score * 0.5]


# --- requirements ------------------------------------------------------------------------------

def is_machinery(code: str) -> bool:
    heading = int(code[:4]) if len(code) >= 4 else 0
    return any(low <= heading <= high for low, high in MACHINERY_HEADINGS)


def describe(products: list[dict], text: str, hs_texts: list[str],
             codes: list[str] = ()) -> tuple[set[str], set[str], set[str]]:
    """What the product is, for scope matching: its own words (names, query, and the
    nomenclature's words when no product of the vocabulary was recognised), the classes of
    its groups, and its IECEE categories."""
    own = {w for p in products for name in p.get("names", {}).get("en", []) for w in words(name)}
    own |= set(words(text))
    if not products:
        own |= {w for t in hs_texts for w in words(t)}
    classes: set[str] = set()
    for p in products:
        classes.update(GROUP_CLASSES.get(p.get("group", ""), ()))
    if own & RADIO_WORDS or any(w.startswith("беспроводн") for w in own):
        classes.update(RADIO_CLASSES)
    if any(is_machinery(c) for c in codes):
        classes.update(MACHINERY_CLASSES)
    categories = {c for p in products for c in p.get("categories", [])}
    return own, classes, categories


def _keyword_reasons(scheme: dict, own: set[str], classes: set[str]) -> list[dict]:
    """A keyword naming the product is a strong reason; one naming its class ("household
    appliance"), or a generic class word the product's own words happen to hold, a weak one."""
    folded_classes = {fold(c) for c in classes}
    reasons = []
    for keyword in scheme.get("keywords", []):
        needed = set(words(keyword))
        if not needed:
            continue
        if needed <= own and fold(keyword) not in GENERIC:
            reasons.append({"by": "keyword", "value": keyword, "strength": 3})
        elif needed <= own or fold(keyword) in folded_classes:
            reasons.append({"by": "class", "value": keyword, "strength": 1})
    return reasons


def scheme_reasons(scheme: dict, codes: list[str], own: set[str], classes: set[str],
                   categories: set[str]) -> list[dict]:
    """Why a scheme's scope covers the product: HS codes, IECEE categories, keywords."""
    reasons = [{"by": "hs", "value": prefix, "code": code, "strength": 3}
               for prefix in scheme.get("hs_prefixes", []) for code in codes
               if code.startswith(prefix) or prefix.startswith(code)]
    reasons += [{"by": "category", "value": c, "strength": 2}
                for c in scheme.get("categories", []) if c in categories]
    return reasons + _keyword_reasons(scheme, own, classes)


def requirements(kb: Knowledge, market: str, codes: list[str], own: set[str],
                 classes: set[str], categories: set[str]) -> list[dict]:
    """The schemes of the market and its unions that cover the product, the mandatory and
    best-founded first."""
    out = []
    for place in markets_for(market):
        for scheme in kb.by_market.get(place, []):
            if scheme.get("mandatory") == "none":
                continue  # a cited statement that nothing applies is not a requirement
            reasons = scheme_reasons(scheme, codes, own, classes, categories)
            if reasons:
                out.append(_requirement(kb, scheme, reasons, market))
    out.sort(key=lambda r: (RANK.get(r["scheme"]["type"], 1), -r["strength"],
                            r["scheme"]["market"] != market, r["scheme"]["id"]))
    return out


def _requirement(kb: Knowledge, scheme: dict, reasons: list[dict], market: str) -> dict:
    regulations = [kb.regulations[r] for r in scheme.get("regulations", [])
                   if r in kb.regulations]
    return {
        "scheme": {"id": scheme["id"], "name": scheme["name"], "mark": scheme.get("mark"),
                   "authority": scheme.get("authority"), "type": scheme.get("mandatory"),
                   "route": scheme.get("route"), "market": scheme["market"]},
        "inherited_from": scheme["market"] if scheme["market"] != market else None,
        "why": [{k: v for k, v in r.items() if k != "strength"} for r in reasons],
        "strength": max(r["strength"] for r in reasons),
        "product_groups": scheme.get("product_groups", []),
        "cb_accepted": scheme.get("cb_accepted", "unknown"),
        "cb_note": scheme.get("cb_note"),
        "accepts": scheme.get("accepts", []),
        "in_country_testing": scheme.get("in_country_testing"),
        "local_representative": scheme.get("local_representative"),
        "validity": scheme.get("validity"),
        "lead_time": scheme.get("lead_time"),
        "legal_basis": scheme.get("legal_basis", []),
        "regulations": [{"id": r["id"], "identifier": r["identifier"], "title": r["title"],
                         "links": r.get("links", [])} for r in regulations],
        "verified": bool(scheme.get("verified")),
        "unverified_fields": scheme.get("unverified_fields", []),
        "sources": [{"url": s["url"], "verified_on": s.get("verified_on"),
                     "supports": s.get("supports")} for s in scheme.get("sources", [])],
    }


# --- recognition routes ------------------------------------------------------------------------

def parties(arrangement: dict) -> set[str]:
    return {p["country"] for p in arrangement.get("parties", []) if p.get("country")}


def sides(arrangement: dict, country: str) -> set[str]:
    """The parties that stand for a country: itself, its union, or (for a union) its members."""
    return parties(arrangement) & {country, *unions_of(country), *members_of(country)}


def lets_through(arrangement: dict, origin: str, market: str) -> bool:
    """Whether results from the origin can travel to the market through the arrangement: it is
    in effect, and both take part as different parties (two EU members are not the EU–US MRA;
    inside one country or single market there is nothing to recognise)."""
    if not in_effect(arrangement) or set(markets_for(origin)) & set(markets_for(market)):
        return False
    one, two = sides(arrangement, origin), sides(arrangement, market)
    return bool(one) and bool(two) and one != two


def covers(arrangement: dict, groups: list[str], words: dict = SECTOR_WORDS) -> bool:
    """Whether the arrangement's sectors cover the product groups. EMC alone does not make a
    safety scheme a telecom one: it counts only for schemes about nothing else."""
    text = fold(" ".join(arrangement.get("sectors", [])))
    main = [g for g in groups if g != "emc"] or groups
    return any(w in text for g in main for w in words.get(g, ()))


def _bodies_in(kb: Knowledge, arrangement_id: str, origin: str) -> list[dict]:
    return [{"id": b["id"], "name": b["name"], "roles": b.get("roles", []),
             "verified": bool(b.get("verified"))}
            for b in kb.bodies
            if b.get("country") == origin and arrangement_id in b.get("arrangements", [])]


def routes(kb: Knowledge, found: list[dict], market: str, origin: str | None) -> list[dict]:
    """Arrangements through which results from the origin can be used for the requirements:
    the CB Scheme where the scheme accepts CB test certificates, an arrangement the scheme
    names, or an MRA both countries are party to whose sectors cover the scheme."""
    if not origin:
        return []
    out: dict[str, dict] = {}
    for req in found:
        for arrangement_id in _route_ids(kb, req, market, origin):
            arrangement = kb.arrangements[arrangement_id]
            route = out.setdefault(arrangement_id, {
                "arrangement": {"id": arrangement_id, "name": arrangement["name"],
                                "short_name": arrangement.get("short_name"),
                                "type": arrangement.get("type")},
                "effect": arrangement.get("effect", ""),
                "verified": bool(arrangement.get("verified")),
                "schemes": [],
                "bodies_in_origin": _bodies_in(kb, arrangement_id, origin),
                "sources": [s["url"] for s in arrangement.get("sources", [])][:3],
            })
            route["schemes"].append(req["scheme"]["id"])
    return sorted(out.values(), key=lambda r: (-len(r["schemes"]), r["arrangement"]["id"]))


def _route_ids(kb: Knowledge, req: dict, market: str, origin: str) -> list[str]:
    """The CB Scheme where the scheme accepts CB certificates, arrangements it names, and MRAs
    whose sectors cover it; those that let results from the origin into the market."""
    ids = []
    if req["cb_accepted"] in ("yes", "partly") and "iecee-cb" in kb.arrangements:
        ids.append("iecee-cb")
    ids += [a for a in req["accepts"] if a in kb.arrangements]
    for arrangement in kb.arrangements.values():
        if arrangement.get("type") in ("bilateral", "regional", "fta-chapter") \
                and covers(arrangement, req["product_groups"]):
            ids.append(arrangement["id"])
    return [a for a in dict.fromkeys(ids) if lets_through(kb.arrangements[a], origin, market)]


# --- over a search backend ---------------------------------------------------------------------

def load_knowledge(backend) -> Knowledge:
    records, page = [], 1
    while True:
        found = backend.search(SearchRequest(filters=(Term("kind", KB_KINDS),), page=page,
                                             per_page=200, highlight=False))
        records += [hit.record for hit in found.hits]
        if page * 200 >= found.total:
            return Knowledge(records)
        page += 1


def _or_text(text: str) -> str:
    terms = [t for t in dict.fromkeys(w for w in words(text)) if len(t) > 2 or t.isdigit()]
    return " OR ".join(terms[:12])


def nomenclature_hits(backend, text: str) -> list[tuple[str, float]]:
    """Subheadings whose nomenclature text shares words with the query, by relevance."""
    query = _or_text(text)
    if not query:
        return []
    found = backend.search(SearchRequest(text=query, filters=(Term("kind", ("hscode",)),),
                                         per_page=10, highlight=False))
    wanted = set(words(text))
    # An OR query also finds a code for one stray word ("car" → car coats): keep the codes
    # whose text holds most of the words.
    need = max(1, math.ceil(0.6 * len(wanted)))
    return [(hit.record["code"], hit.score or 1.0) for hit in found.hits
            if len(hit.record.get("code", "")) >= 4
            and len(wanted & set(words(hit.record.get("description", "")))) >= need]


def notified_codes(backend, text: str) -> list[tuple[str, int]]:
    """The six-digit HS codes notifications about these words carry, with how often."""
    if not words(text):
        return []
    found = backend.search(SearchRequest(text=text, filters=(Term("kind", ("notification",)),),
                                         facets=("hs",), facet_size=60, per_page=1,
                                         highlight=False))
    return [(code, n) for code, n in found.facets.get("hs", []) if len(code) == 6][:10]


def changes(backend, kb: Knowledge, market: str, codes: list[str], found: list[dict],
            today: date) -> list[dict]:
    """Notifications of the market (and its unions) that may change what applies: those
    about the product's HS headings, and those linked to a matched scheme."""
    countries = tuple(sorted(set(markets_for(market)) | members_of(market)))
    by_code = SearchRequest(filters=(Term("kind", ("notification",)), Term("countries", countries),
                                     Term("hs", tuple(sorted({c[:4] for c in codes})))),
                            sort="-date", per_page=20, highlight=False) if codes else None
    recent = SearchRequest(filters=(Term("kind", ("notification",)), Term("countries", countries)),
                           sort="-date", per_page=50, highlight=False)
    schemes = [kb_scheme for kb_scheme in kb.schemes
               if kb_scheme["id"] in {r["scheme"]["id"] for r in found}]
    notes: dict[str, dict] = {}
    for request in filter(None, (by_code, recent)):
        for hit in backend.search(request).hits:
            linked = [s["id"] for s in schemes if scheme_link(hit.record, s, kb.regulations)]
            if request is by_code or linked:
                notes.setdefault(hit.id, _notification(hit.record, linked, today))
    # Open ones first, the soonest deadline first; then the others, newest first.
    still_open = sorted((n for n in notes.values() if n["open"]),
                        key=lambda n: n["comment_deadline"])
    closed = sorted((n for n in notes.values() if not n["open"]),
                    key=lambda n: n["distribution_date"] or "", reverse=True)
    return (still_open + closed)[:10]


def _notification(record: dict, schemes: list[str], today: date) -> dict:
    deadline = record.get("comment_deadline")
    days = (date.fromisoformat(deadline) - today).days if deadline else None
    return {"symbol": record["symbol"], "title": record.get("title") or record.get("description")
            or record["symbol"], "distribution_date": record.get("distribution_date"),
            "comment_deadline": deadline, "days_left": days,
            "open": days is not None and days >= 0, "schemes": schemes,
            "hs_codes": record.get("hs_codes", [])}


def match(backend, kb: Knowledge, query: MatchQuery, today: date) -> dict:
    """The whole answer for one product and market (labels are the caller's to translate)."""
    if not query.product.strip() and not query.hs:
        raise MatchError("nothing to match on")
    found = kb.index.find(query.product) if query.product.strip() else []
    hs = norm.hs_code(query.hs) if query.hs else None
    text = query.product if not is_cjk_only(query.product) else ""
    candidates = classify(found, hs, nomenclature_hits(backend, text) if text else [],
                          notified_codes(backend, query.product) if query.product.strip()
                          else [])
    top = leading(candidates)
    codes = [c.code for c in top]
    products = [f.product for f in found] or [p for c in codes for p in kb.products_for_hs(c)]
    products = list({p["id"]: p for p in products}.values())
    labels = {c.code: _label(backend, c.code) for c in candidates}
    own, classes, categories = describe(products, query.product,
                                        [labels[c] for c in codes if labels.get(c)], codes)
    reqs = requirements(kb, query.market, codes, own, classes, categories)
    return {
        "hs_candidates": [{"code": c.code, "label": labels.get(c.code) or "",
                           "score": round(c.score, 3), "via": sorted(c.via),
                           "products": c.products} for c in candidates],
        "products": [{"id": f.product["id"], "name": f.name, "language": f.language,
                      "score": f.score} for f in found],
        "requirements": reqs,
        "recognition_routes": routes(kb, reqs, query.market, query.origin),
        "notifications": changes(backend, kb, query.market, codes, reqs, today),
        "covered": query.market in kb.by_market or any(u in kb.by_market
                                                       for u in unions_of(query.market)),
    }


def is_cjk_only(text: str) -> bool:
    return bool(text.strip()) and all(not c.isascii() for c in text if not c.isspace())


def _label(backend, code: str) -> str | None:
    record = backend.get(f"hs:{code}")
    return record.get("description") if record else None
