"""Product × market → the requirements that apply, why, what can be reused, who can do the
work, and what is changing.

The steps follow ARCHITECTURE.md's "Matching": classify the product (an HS code given, or words
in any language → ranked HS candidates from the product vocabulary, the nomenclature text and
the HS codes of past notifications) and read its attributes (radio, power, voltage, battery,
children: ``search.attributes``); evaluate the scope of every scheme of the market and of its
unions (``search.scope``) — what applies on the day, what applies only if an unknown attribute
says so, what applies later, what does not and why; drop what a more specific act absorbs (the
RED carries the LVD's and the EMC Directive's requirements for radio equipment); look for
recognition routes from the country of origin (``search.recognition``) and the bodies that can
issue the results; and list the notifications that may change those schemes. Every
requirement says why it matched and cites its sources.

The knowledge (schemes, arrangements, bodies, products) is small and read once into memory;
the nomenclature and the notifications stay in the search index. The vocabulary of classes,
attribute words and every weight are data (``search/data/matching.json``).
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date

from search import normalise as norm
from search.analysis import fold
from search.attributes import (
    MATCHING,
    Attributes,
    affirmed,
    electric,
    english_terms,
    from_record,
    read,
    settle,
    supplied_at_dc,
)
from search.bodies import merge_bodies
from search.links import folded_text, notification_markets, scheme_identifiers, scheme_link
from search.markets import markets_for, members_of, unions_of
from search.notifications import LISTED
from search.query import SearchRequest, Term
from search.recognition import covers, lets_through
from search.scope import Product, verdict
from search.vocabulary import Found, ProductIndex, words

KB_KINDS = ("scheme", "regulation", "arrangement", "body", "product")
WEIGHTS = MATCHING["weights"]
GROUP_CLASSES: dict[str, list[str]] = MATCHING["group_classes"]
ATTRIBUTE_CLASSES: dict[str, list[str]] = MATCHING["attribute_classes"]
MACHINERY_HEADINGS = [tuple(r) for r in MATCHING["machinery_headings"]["ranges"]]
# Groups whose products often come with or without a radio, and groups whose products may or
# may not be electric (matching.json says what follows from each).
RADIO_PLAUSIBLE = tuple(MATCHING["radio_plausible_groups"]["groups"])
MAYBE_ELECTRIC = tuple(MATCHING["maybe_electric_groups"]["groups"])
RANK = {"mandatory": 0, "unknown": 1, "voluntary": 2}


class MatchError(ValueError):
    """A question the matcher cannot answer as asked (no product, bad code, unknown market)."""


@dataclass(frozen=True)
class MatchQuery:
    product: str = ""
    hs: str | None = None
    market: str = ""
    origin: str | None = None
    # Several markets at once (``market`` is the first); the day asked about (default today);
    # what the form says of the product (radio, power, voltage …), over what the words say.
    markets: tuple[str, ...] = ()
    on: date | None = None
    stated: Attributes = field(default_factory=Attributes)

    @property
    def all_markets(self) -> tuple[str, ...]:
        return self.markets or (self.market,)


class Knowledge:
    """The curated records the matcher works from, indexed for it."""

    def __init__(self, records: list[dict]) -> None:
        by_kind: dict[str, list[dict]] = defaultdict(list)
        for record in records:
            by_kind[record["kind"]].append(record)
        self.schemes = sorted(by_kind["scheme"], key=lambda s: s["id"])
        self.scheme_by_id = {s["id"]: s for s in self.schemes}
        self.by_market: dict[str, list[dict]] = defaultdict(list)
        for scheme in self.schemes:
            self.by_market[scheme["market"]].append(scheme)
        self.regulations = {r["id"]: r for r in by_kind["regulation"]}
        self.arrangements = {a["id"]: a for a in by_kind["arrangement"]}
        self.mras = [a for a in self.arrangements.values()
                     if a.get("type") in ("bilateral", "regional", "fta-chapter")]
        # One record per body, whichever sources name it (curated, the IECEE listings).
        self.bodies, self.body_alias = merge_bodies(by_kind["body"])
        self.bodies_for_scheme: dict[str, list[dict]] = defaultdict(list)
        for body in self.bodies:
            for scheme_id in body.get("schemes", []):
                self.bodies_for_scheme[scheme_id].append(body)
        self.index = ProductIndex(by_kind["product"])
        self.products = by_kind["product"]
        self.product_by_id = {p["id"]: p for p in self.products}
        self.found: dict = {}  # searches of the index repeated for every question (changes())
        self._open: dict[tuple[str, str], frozenset[str]] = {}
        self._identifiers: dict[str, list[str]] = {}
        self._remembered: dict = {}

    def open_between(self, origin: str, market: str) -> frozenset[str]:
        """The arrangements that let results from the origin into the market (the first half
        of ``search.recognition.recognises``; the sector half depends on the scheme)."""
        key = (origin, market)
        found = self._open.get(key)
        if found is None:
            found = frozenset(a["id"] for a in self.arrangements.values()
                              if lets_through(a, origin, market))
            if len(self._open) > 4096:
                self._open.clear()
            self._open[key] = found
        return found

    def index_changed(self) -> None:
        """The index changed but not these records (a crawl of notifications): what was
        remembered from other records' searches is forgotten, the rest kept."""
        self.found = {}
        self._remembered = {}

    def remember(self, key, compute):
        """A result computed once per knowledge (it is read again when the index changes);
        a few thousand at most, since the keys are anyone's words."""
        remembered = self._remembered  # a result computed before index_changed goes with it
        found = remembered.get(key)
        if found is None:
            if len(remembered) >= 4096:
                remembered.clear()
            found = remembered[key] = compute()
        return found

    def identifiers(self, scheme: dict) -> list[str]:
        """The act identifiers a notification may name the scheme by (kept once computed)."""
        found = self._identifiers.get(scheme["id"])
        if found is None:
            found = self._identifiers[scheme["id"]] = scheme_identifiers(scheme, self.regulations)
        return found

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
        _add(scores, hs, WEIGHTS["hs_given"], "given")
    top = found[0].score if found else 1.0
    for f in found:
        for i, code in enumerate(f.product.get("hs_codes", [])):
            weight = WEIGHTS["vocabulary_first_code" if i == 0 else "vocabulary_other_code"]
            _add(scores, code, f.score / top * weight, "vocabulary", f.product["id"])
    # The nomenclature's wording decides when no product was recognised, else it breaks ties.
    weight = WEIGHTS["nomenclature_with_product" if found else "nomenclature_alone"]
    best_text = max((s for _c, s in nomenclature), default=0.0)
    for code, score in nomenclature:
        _add(scores, code, weight * score / best_text, "nomenclature")
    most = max((n for _c, n in notified), default=0)
    for code, n in notified:
        _add(scores, code, WEIGHTS["notifications"] * n / most, "notifications")
    ranked = sorted(scores.values(), key=lambda c: (-c.score, c.code))
    out, per_heading = [], defaultdict(int)
    for candidate in ranked:
        heading = candidate.code[:4]
        if per_heading[heading] < WEIGHTS["per_heading"]:
            per_heading[heading] += 1
            out.append(candidate)
    return out[:WEIGHTS["candidates"]]


def leading(candidates: list[Candidate]) -> list[Candidate]:
    """The candidates strong enough to decide scope: those within half the best score."""
    if not candidates:
        return []
    return [c for c in candidates[:WEIGHTS["leading_count"]]
            if c.score >= candidates[0].score * WEIGHTS["leading_share"]]


# --- what the product is -----------------------------------------------------------------------

def is_machinery(code: str) -> bool:
    heading = int(code[:4]) if len(code) >= 4 and code[:4].isdigit() else 0
    return any(low <= heading <= high for low, high in MACHINERY_HEADINGS)


def _hint(text: str, name: str) -> bool:
    folded = fold(text)
    tokens = set(words(text)) | set(folded.split())
    return any((w in tokens) if w.isascii() else (w in folded)
               for w in (fold(x) for x in MATCHING["words"].get(name, ())))


def attributes_of(products: list[dict], text: str, stated: Attributes) -> Attributes:
    """The form's answers over the description's words over the product's own nature."""
    nature = from_record(products[0].get("attributes", {}), products[0]["id"]) if products \
        else Attributes()
    return settle(supplied_at_dc(stated.over(read(text).over(nature))))


def describe(products: list[dict], text: str, hs_texts: list[str], codes: list[str] = (),
             stated: Attributes | None = None) -> tuple[Product, list[dict]]:
    """What the product is for scope matching — its own words (names, query, and the
    nomenclature's words when no product of the vocabulary was recognised), its classes (by
    its groups, its HS heading and its attributes), its IECEE categories and attributes —
    and the assumptions made where an attribute was not stated."""
    own = {w for p in products for name in p.get("names", {}).get("en", []) for w in words(name)}
    own |= set(words(affirmed(text)))
    own |= {w for term in english_terms(text) for w in words(term)}
    if not products:
        own |= {w for t in hs_texts for w in words(t)}
    groups = {p.get("group", "") for p in products}
    classes = {c for g in groups for c in GROUP_CLASSES.get(g, ())}
    # Without a product of the vocabulary, the HS heading says what kind of thing it is: a
    # "CNC lathe" is machinery even when the vocabulary does not know lathes.
    if not products and any(is_machinery(c) for c in codes[:1]):
        classes.add("machinery")
    attrs = attributes_of(products, text, stated or Attributes())
    maybe: dict[str, str] = {}
    assumptions = []
    if attrs.radio is None and not (groups & set(RADIO_PLAUSIBLE) or _hint(text, "radio_hint")):
        attrs = Attributes(radio=False, said={"radio": "assumed"}).over(attrs)
        assumptions.append({"attribute": "radio", "value": False})
    if attrs.voltage_dc is None and attrs.power and attrs.power <= {"battery", "dc"}:
        low_voltage = (0.0, float(MATCHING["voltage"]["assumed_dc_max"]))
        attrs = Attributes(voltage_dc=low_voltage, said={"voltage_dc": "assumed"}).over(attrs)
        assumptions.append({"attribute": "voltage_dc", "value": list(low_voltage)})
    # A battery itself is no electrical equipment (RoHS, WEEE): what holds for battery-powered
    # products does not hold for it — unless something else is named with it (earbuds whose
    # description names their lithium battery).
    is_battery = bool(products) and all("battery" in GROUP_CLASSES.get(p.get("group", ""), ())
                                        for p in products)
    for name in ("radio", "battery"):
        if getattr(attrs, name) and not (is_battery and name == "battery"):
            classes.update(ATTRIBUTE_CLASSES[name])
        elif getattr(attrs, name) is None and name == "radio":
            maybe.update({c: name for c in ATTRIBUTE_CLASSES[name]})
    if (attrs.power is None and attrs.battery is False and not attrs.radio
            and groups and groups <= set(MAYBE_ELECTRIC)):
        # A toy "with no batteries" and no word of mains or voltage is not electric.
        attrs = Attributes(power=frozenset({"none"}), said={"power": "assumed"}).over(attrs)
        attrs = settle(attrs)
        assumptions.append({"attribute": "power", "value": ["none"]})
    is_electric = electric(attrs) and not is_battery
    if is_electric:
        classes.update(ATTRIBUTE_CLASSES["electric"])
    elif is_electric is None and groups & set(MAYBE_ELECTRIC) and \
            "electrical equipment" not in classes:
        maybe.update({c: "power" for c in ("electrical equipment", "electronic equipment")})
    elif is_electric is False:
        classes -= {"electrical equipment", "electronic equipment"}
    if not products and not attrs.professional and "machinery" not in classes:
        # Something the vocabulary does not know (a kitchen knife): a consumer product unless
        # it is said to be for professionals, so general-safety acts still apply.
        classes.add("consumer product")
    if attrs.professional:
        classes.discard("consumer product")
    for cls in classes:
        maybe.pop(cls, None)
    categories = {c for p in products for c in p.get("categories", [])}
    ids = {p["id"] for p in products}
    return Product(list(codes), own, classes, maybe, categories, ids, attrs), assumptions


# --- requirements ------------------------------------------------------------------------------

def requirements(kb: Knowledge, market: str, product: Product, on: date) -> dict:
    """The schemes of the market and its unions, sorted by how they concern the product:
    ``requirements`` (applying today, or if an unknown attribute says so), ``upcoming``
    (applying from a later day), ``not_applying`` (in scope but excluded, or a condition
    fails: why), ``absorbed`` (carried by a more specific act that applies)."""
    found: dict[str, list] = {"requirements": [], "upcoming": [], "not_applying": []}
    for place in markets_for(market):
        for scheme in kb.by_market.get(place, []):
            if scheme.get("mandatory") == "none":
                continue  # a cited statement that nothing applies is not a requirement
            v = verdict(scheme, product, on)
            if v.status in ("applies", "conditional"):
                found["requirements"].append(_requirement(kb, scheme, v, market, product))
            elif v.status == "upcoming":
                found["upcoming"].append(_requirement(kb, scheme, v, market, product))
            elif v.status in ("not", "excluded"):
                found["not_applying"].append(_not_applying(scheme, v))
    found["requirements"], found["absorbed"] = _absorb(found["requirements"])
    found["requirements"].sort(key=_order(market))
    found["upcoming"].sort(key=lambda r: (r["applies_from"], r["scheme"]["id"]))
    return found


def _order(market: str):
    def key(r: dict) -> tuple:
        return (r["status"] != "applies", RANK.get(r["scheme"]["type"], 1), -r["strength"],
                r["scheme"]["market"] != market, r["scheme"]["id"])
    return key


def _absorb(reqs: list[dict]) -> tuple[list[dict], list[dict]]:
    """Drop what an applying act absorbs (the RED carries the LVD for radio equipment); an
    act that only may apply leaves the other in place, with a note saying when it would not."""
    by_id = {r["scheme"]["id"]: r for r in reqs}
    gone: dict[str, str] = {}
    for r in reqs:
        for other in r["absorbs"]:
            if other not in by_id:
                continue
            if r["status"] == "applies":
                gone[other] = r["scheme"]["id"]
            else:
                by_id[other]["unless"] = {"scheme": r["scheme"]["id"], "if": r["if"]}
    kept = [r for r in reqs if r["scheme"]["id"] not in gone]
    for r in kept:
        r["includes"] = sorted(o for o, by in gone.items() if by == r["scheme"]["id"])
    absorbed = [{"scheme": by_id[o]["scheme"], "by": by} for o, by in sorted(gone.items())]
    return kept, absorbed


def _not_applying(scheme: dict, v) -> dict:
    return {"scheme": _brief(scheme), "status": v.status, "because": v.because}


def _brief(scheme: dict) -> dict:
    return {"id": scheme["id"], "name": scheme["name"], "mark": scheme.get("mark"),
            "authority": scheme.get("authority"), "type": scheme.get("mandatory"),
            "route": scheme.get("route"), "market": scheme["market"]}


def _requirement(kb: Knowledge, scheme: dict, v, market: str, product: Product) -> dict:
    regulations = [kb.regulations[r] for r in scheme.get("regulations", [])
                   if r in kb.regulations]
    return {
        "scheme": _brief(scheme),
        "status": v.status if v.status != "upcoming" else ("applies" if not v.questions
                                                            else "conditional"),
        "if": v.questions,
        "inherited_from": scheme["market"] if scheme["market"] != market else None,
        "why": [{k: val for k, val in r.items() if k != "strength"} for r in v.reasons],
        "strength": v.strength,
        "product_groups": scheme.get("product_groups", []),
        "cb_accepted": scheme.get("cb_accepted", "unknown"),
        "cb_note": scheme.get("cb_note"),
        "accepts": scheme.get("accepts", []),
        "absorbs": scheme.get("absorbs", []),
        "in_country_testing": scheme.get("in_country_testing"),
        "local_representative": scheme.get("local_representative"),
        "validity": scheme.get("validity"),
        "lead_time": scheme.get("lead_time"),
        "applies_from": scheme.get("applies_from"),
        "applies_until": scheme.get("applies_until"),
        "superseded_by": scheme.get("superseded_by"),
        "standards": standards_for(scheme, product),
        "steps": steps_of(scheme),
        "bodies_in_market": bodies_in_market(kb, scheme, product),
        "legal_basis": scheme.get("legal_basis", []),
        "regulations": [{"id": r["id"], "identifier": r["identifier"], "title": r["title"],
                         "links": r.get("links", [])} for r in regulations],
        "verified": bool(scheme.get("verified")),
        "unverified_fields": scheme.get("unverified_fields", []),
        "sources": [{"url": s["url"], "read_at": s.get("read_at"),
                     "publisher": s.get("publisher"), "verified_on": s.get("verified_on"),
                     "supports": s.get("supports")} for s in scheme.get("sources", [])],
    }


def standards_for(scheme: dict, product: Product) -> list[dict]:
    """The test standards a source names for this scheme, those for this product first."""
    classes = {fold(c) for c in product.classes}
    out = []
    for std in scheme.get("standards", []):
        targets = std.get("for", [])
        if not targets or any(fold(t) in classes or (set(words(t)) and set(words(t))
                                                      <= product.words) for t in targets):
            out.append({"code": std["code"], "title": std.get("title"),
                        "for": targets})
    return sorted(out, key=lambda s: not s["for"])


# The order an exporter goes through a scheme's steps.
STEP_ORDER = ("test", "declare", "certify", "mark", "label", "register", "representative",
              "report")


def steps_of(scheme: dict) -> list[dict]:
    """What the exporter must do, in order: the steps a source gives, else what the scheme's
    route, mark, testing and representative facts imply (marked ``derived``)."""
    if scheme.get("steps"):
        return sorted(scheme["steps"], key=lambda s: STEP_ORDER.index(s["step"]))
    route = fold(scheme.get("route") or "")
    yes = ("yes", "required", "mandatory")
    derived = []
    if fold(scheme.get("in_country_testing") or "").startswith(yes):
        derived.append("test")
    if "declar" in route or "self" in route:
        derived.append("declare")
    if any(w in route for w in ("certif", "approval", "third-party", "type approval")):
        derived.append("certify")
    if (scheme.get("mark") or "").strip() and not fold(scheme["mark"]).startswith(
            ("none", "unknown", "no ")):
        derived.append("mark")
    if "regist" in route:
        derived.append("register")
    if fold(scheme.get("local_representative") or "").startswith(yes):
        derived.append("representative")
    return [{"step": s, "derived": True} for s in STEP_ORDER if s in derived]


def bodies_in_market(kb: Knowledge, scheme: dict, product: Product) -> list[dict]:
    """Who in the market can do the work: the bodies the knowledge base names for the scheme,
    and — where the scheme accepts CB test certificates — the market's NCBs (they take the CB
    report for the national certificate), those whose known categories include the product's."""
    named = [{**_body(b), "why": "named"} for b in kb.bodies_for_scheme.get(scheme["id"], [])]
    if scheme.get("cb_accepted") in ("yes", "partly"):
        ids = {b["id"] for b in named}
        for b in kb.bodies:
            known = {c for c in b.get("categories", []) if c != "unknown"}
            if (b["country"] == scheme["market"] and "ncb" in b.get("roles", [])
                    and b["id"] not in ids
                    and not (known and product.categories and not known & product.categories)):
                named.append({**_body(b), "why": "ncb"})
    return named


def _body(body: dict) -> dict:
    return {"id": body["id"], "name": body["name"], "country": body["country"],
            "roles": body.get("roles", []), "verified": bool(body.get("verified")),
            "accreditation": body.get("accreditation") or None,
            "categories": [c for c in body.get("categories", []) if c != "unknown"],
            "sources": [s["url"] for s in body.get("sources", [])][:2]}


# --- recognition routes ------------------------------------------------------------------------

def _bodies_in(kb: Knowledge, arrangement_id: str, origin: str,
               categories: set[str]) -> list[dict]:
    """Bodies of the origin that take part in the arrangement; for the CB Scheme, those whose
    known categories include the product's (unknown categories are kept, and say so)."""
    out = []
    for b in kb.bodies:
        if b.get("country") != origin or arrangement_id not in b.get("arrangements", []):
            continue
        known = {c for c in b.get("categories", []) if c != "unknown"}
        if arrangement_id == "iecee-cb" and known and categories and not known & categories:
            continue
        out.append({**_body(b), "categories_known": bool(known)})
    return out


def routes(kb: Knowledge, found: list[dict], market: str, origin: str | None,
           categories: set[str] = frozenset()) -> list[dict]:
    """Arrangements through which results from the origin can be used for the requirements."""
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
                "scheme_names": [],
                "bodies_in_origin": _bodies_in(kb, arrangement_id, origin, categories),
                "sources": [s["url"] for s in arrangement.get("sources", [])][:3],
            })
            route["schemes"].append(req["scheme"]["id"])
            route["scheme_names"].append(req["scheme"]["name"])
    return sorted(out.values(), key=lambda r: (-len(r["schemes"]), r["arrangement"]["id"]))


def _route_ids(kb: Knowledge, req: dict, market: str, origin: str) -> list[str]:
    """The CB Scheme where the scheme accepts CB test certificates and arrangements the scheme
    itself names, when both sides take part; and MRAs that recognise results for its groups
    (``search.recognition.recognises``, the rule the agencies' matrix uses too)."""
    named = list(req["accepts"])
    if req["cb_accepted"] in ("yes", "partly"):
        named.append("iecee-cb")
    open_ = kb.open_between(origin, market)
    ids = [a for a in named if a in open_]
    ids += [a["id"] for a in kb.mras
            if a["id"] in open_ and covers(a, req["product_groups"])]
    return list(dict.fromkeys(ids))


# --- over a search backend ---------------------------------------------------------------------

def load_knowledge(backend) -> Knowledge:
    return Knowledge(knowledge_records(backend))


def knowledge_records(backend) -> list[dict]:
    """The curated records (every knowledge kind) the index holds, in its order."""
    records, page = [], 1
    while True:
        found = backend.search(SearchRequest(filters=(Term("kind", KB_KINDS),), page=page,
                                             per_page=200, highlight=False))
        records += [hit.record for hit in found.hits]
        if page * 200 >= found.total:
            return records
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
    need = max(1, math.ceil(WEIGHTS["nomenclature_word_share"] * len(wanted)))
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
    notes_of = (Term("kind", ("notification",)), Term("countries", countries), LISTED)
    by_code = SearchRequest(filters=(*notes_of, Term("hs", tuple(sorted({c[:4] for c in codes})))),
                            sort="-date", per_page=20, highlight=False) if codes else None
    recent = SearchRequest(filters=notes_of, sort="-date", per_page=50, highlight=False)
    schemes = [kb.scheme_by_id[r["scheme"]["id"]] for r in found]
    notes: dict[str, dict] = {}
    for request in filter(None, (by_code, recent)):
        for record, markets, folded in _notifications(backend, kb, request):
            if record["id"] in notes:
                continue
            linked = [s["id"] for s in schemes
                      if scheme_link(record, s, kb.regulations, markets, folded,
                                     kb.identifiers(s))]
            if request is by_code or linked:
                notes[record["id"]] = _notification(record, linked, today)
    # Open ones first, the soonest deadline first; then the others, newest first.
    still_open = sorted((n for n in notes.values() if n["open"]),
                        key=lambda n: n["comment_deadline"])
    closed = sorted((n for n in notes.values() if not n["open"]),
                    key=lambda n: n["distribution_date"] or "", reverse=True)
    return (still_open + closed)[:10]


def _notifications(backend, kb: Knowledge, request: SearchRequest) -> list[tuple]:
    """The notifications a request finds, each with its markets and folded text. The newest
    of a market are the same for every product asked about: they are kept with the knowledge
    (read again with it when the index changes), a few hundred requests at most."""
    found = kb.found  # what was searched before index_changed goes with it
    cached = found.get(request)
    if cached is None:
        cached = [(hit.record, notification_markets(hit.record), folded_text(hit.record))
                  for hit in backend.search(request).hits]
        if len(found) >= 512:
            found.clear()
        found[request] = cached
    return cached


def _notification(record: dict, schemes: list[str], today: date) -> dict:
    deadline = record.get("comment_deadline")
    days = (date.fromisoformat(deadline) - today).days if deadline else None
    return {"symbol": record["symbol"], "title": record.get("title") or record.get("description")
            or record["symbol"], "distribution_date": record.get("distribution_date"),
            "comment_deadline": deadline, "days_left": days,
            "open": days is not None and days >= 0, "schemes": schemes,
            "hs_codes": record.get("hs_codes", [])}


@dataclass
class Understanding:
    """What the matcher made of the question, shared by every market asked about."""

    candidates: list[Candidate]
    found: list[Found]
    product: Product
    assumptions: list[dict]
    labels: dict[str, str | None]


def understand(backend, kb: Knowledge, query: MatchQuery) -> Understanding:
    if not query.product.strip() and not query.hs:
        raise MatchError("nothing to match on")
    found = _found(kb, query.product)
    hs = norm.hs_code(query.hs) if query.hs else None
    text = query.product if not is_cjk_only(query.product) else ""
    # The nomenclature's words add candidates (kept per text with the knowledge: the
    # nomenclature changes with a crawl of it, which reloads the knowledge); the codes that
    # notifications with these words carry count only when the vocabulary knows no product.
    nomenclature = kb.remember(("nomenclature", text), lambda: nomenclature_hits(backend, text)) \
        if text else []
    notified = notified_codes(backend, query.product) if query.product.strip() and not found \
        else []
    candidates = classify(found, hs, nomenclature, notified)
    top = leading(candidates)
    named = _named(found)
    ids = {p["id"] for p in named}
    # The codes that decide scope: those of the product named, a code given, the
    # nomenclature's; not those of a part or accessory the description mentions.
    codes = [c.code for c in top if set(c.products) & ids or c.via - {"vocabulary"}]
    # Without a whole name, the products the vocabulary files under a code the question gave,
    # or the nomenclature's words found, stand for it ("wall wart 5V" → 8504 → adapters).
    products = named or [p for c in top if c.via - {"vocabulary"}
                         for p in kb.products_for_hs(c.code)]
    # A smartphone is a mobile phone: an act listing mobile phones lists it too.
    products += [kb.product_by_id[k] for p in products for k in p.get("kind_of", [])
                 if k in kb.product_by_id]
    products = list({p["id"]: p for p in products}.values())
    labels = {c.code: _label(backend, c.code) for c in candidates}
    product, assumptions = describe(products, query.product,
                                    [labels[c] for c in codes if labels.get(c)], codes,
                                    query.stated)
    return Understanding(candidates, found, product, assumptions, labels)


def _found(kb: Knowledge, text: str) -> list[Found]:
    """Products of the vocabulary the text names, without those one of whose words it
    negates ("no Wi-Fi module", "без радиомодуля"; "bicycle, non-electric" is no electric
    bicycle); "friteuse sans huile" stays an air fryer: the name negates "huile" itself."""
    if not text.strip():
        return []
    negated = set(words(text)) - set(words(affirmed(text)))
    return [f for f in kb.index.find(text) if not set(words(affirmed(f.name))) & negated]


def _named(found: list[Found]) -> list[dict]:
    """The product itself: the best whole name (or names as good) where the description
    names its product — half a name ("power" of "power drill") or a name in the details
    ("…, charger sold separately") never says what it is."""
    whole = [f for f in found if f.complete and f.primary]
    return [f.product for f in whole if f.score >= whole[0].score * WEIGHTS["same_product"]]


def for_market(backend, kb: Knowledge, u: Understanding, market: str, origin: str | None,
               on: date) -> dict:
    """The answer for one market: requirements, routes from the origin, what is changing."""
    found = requirements(kb, market, u.product, on)
    return {
        "market": market,
        **found,
        "recognition_routes": routes(kb, found["requirements"], market, origin,
                                     u.product.categories),
        "notifications": changes(backend, kb, market, u.product.codes,
                                 found["requirements"], on),
        "covered": market in kb.by_market or any(m in kb.by_market for m in unions_of(market)),
    }


def questions(results: list[dict]) -> list[str]:
    """The attributes whose answers would settle a conditional requirement, most needed
    first: what the form asks."""
    counts: dict[str, int] = defaultdict(int)
    for result in results:
        for req in [*result["requirements"], *result["upcoming"]]:
            for name in req["if"]:
                counts[name] += 1
    return sorted(counts, key=lambda n: (-counts[n], n))


def match(backend, kb: Knowledge, query: MatchQuery, today: date) -> dict:
    """The whole answer for one product and one or several markets (labels are the caller's
    to translate). With several markets, ``markets`` holds one answer each; the first is also
    spread at the top level."""
    u = understand(backend, kb, query)
    on = query.on or today
    results = [for_market(backend, kb, u, m, query.origin, on) for m in query.all_markets]
    return {
        "hs_candidates": [{"code": c.code, "label": u.labels.get(c.code) or "",
                           "score": round(c.score, 3), "via": sorted(c.via),
                           "products": c.products} for c in u.candidates],
        "products": [{"id": f.product["id"], "name": f.name, "language": f.language,
                      "score": f.score} for f in u.found],
        "attributes": u.product.attributes.as_dict(),
        "attributes_said": u.product.attributes.said,
        "assumptions": u.assumptions,
        "questions": questions(results),
        "date": on.isoformat(),
        **{k: v for k, v in results[0].items() if k != "market"},
        "markets": results if len(results) > 1 else [],
    }


def is_cjk_only(text: str) -> bool:
    return bool(text.strip()) and all(not c.isascii() for c in text if not c.isspace())


def _label(backend, code: str) -> str | None:
    record = backend.get(f"hs:{code}")
    return record.get("description") if record else None
