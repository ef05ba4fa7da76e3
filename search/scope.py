"""Whether a scheme's scope covers a product, on a given day: the scope model of
crawlers/curated/README.md ("Schemes") evaluated against what is known of the product.

A scheme covers a product by its HS codes, its vocabulary ids, keywords naming it, its IECEE
categories or its product classes (the last two never for an act that applies only to the
products it lists); the act's exclusions take the product out; its attribute conditions
(voltage, radio, battery, power source, children) decide with three values, so an attribute
nobody stated makes the requirement conditional, with the question that settles it. Dates put
acts that apply later under "upcoming" and drop those that stopped applying. Pure functions.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from search.analysis import fold
from search.attributes import MATCHING, Attributes
from search.vocabulary import words

WEIGHTS = MATCHING["weights"]
CLASSES = frozenset(fold(c) for c in MATCHING["classes"])


@dataclass
class Product:
    """What the matcher knows of the product: leading HS codes, own words, classes it surely
    belongs to, classes that depend on an unknown attribute (class → attribute), IECEE
    categories, vocabulary ids and attributes."""

    codes: list[str]
    words: set[str]
    classes: set[str]
    maybe_classes: dict[str, str]
    categories: set[str]
    ids: set[str]
    attributes: Attributes


@dataclass
class Verdict:
    """``status``: applies, conditional, upcoming, ended, not (conditions fail), excluded,
    or out (the scope does not reach the product)."""

    status: str
    reasons: list[dict] = field(default_factory=list)
    questions: list[str] = field(default_factory=list)  # attributes that would settle it
    because: list[dict] = field(default_factory=list)  # why it does not apply

    @property
    def strength(self) -> int:
        return max((r["strength"] for r in self.reasons), default=0)


def _keyword_hits(keywords: list[str], own: set[str]) -> list[str]:
    return [k for k in keywords if (needed := set(words(k))) and needed <= own]


def scope_reasons(scheme: dict, product: Product) -> tuple[list[dict], set[str]]:
    """Why the scope reaches the product, and the attributes a class hit still depends on."""
    listed = bool(scheme.get("listed_only"))
    reasons = [{"by": "hs", "value": prefix, "code": code, "strength": WEIGHTS["strength_hs"]}
               for prefix in scheme.get("hs_prefixes", []) for code in product.codes
               if code.startswith(prefix) or prefix.startswith(code)]
    reasons += [{"by": "product", "value": p, "strength": WEIGHTS["strength_product"]}
                for p in scheme.get("products", []) if p in product.ids]
    classes = [fold(c) for c in scheme.get("classes", [])]
    for keyword in scheme.get("keywords", []):
        # A class word left among keywords counts as a class, not as the product's name.
        (classes.append(fold(keyword)) if fold(keyword) in CLASSES else None)
    reasons += [{"by": "keyword", "value": k, "strength": WEIGHTS["strength_keyword"]}
                for k in _keyword_hits([k for k in scheme.get("keywords", [])
                                        if fold(k) not in CLASSES], product.words)]
    pending: set[str] = set()
    if not listed:
        reasons += [{"by": "category", "value": c, "strength": WEIGHTS["strength_category"]}
                    for c in scheme.get("categories", []) if c in product.categories]
        sure = {fold(c) for c in product.classes}
        maybe = {fold(c): a for c, a in product.maybe_classes.items()}
        for cls in dict.fromkeys(classes):
            if cls in sure:
                reasons.append({"by": "class", "value": cls,
                                "strength": WEIGHTS["strength_class"]})
            elif cls in maybe:
                pending.add(maybe[cls])
    return reasons, pending


def excluded_by(scheme: dict, product: Product) -> list[dict]:
    """The act's own exclusions that take the product out of scope."""
    ex = scheme.get("exclusions") or {}
    out = [{"by": "hs", "value": p} for p in ex.get("hs_prefixes", [])
           if any(c.startswith(p) for c in product.codes)]
    # A product the act excludes is out when it is what was asked about, not when it is one
    # of the products an HS code may stand for (850760: power banks and power stations).
    if product.ids and product.ids <= set(ex.get("products", [])):
        out += [{"by": "product", "value": p} for p in sorted(product.ids)]
    out += [{"by": "keyword", "value": k} for k in _keyword_hits(ex.get("keywords", []),
                                                                  product.words)]
    classes = {fold(c) for c in product.classes}
    out += [{"by": "class", "value": c} for c in ex.get("classes", []) if fold(c) in classes]
    return out


# --- attribute conditions ----------------------------------------------------------------------

def _overlaps(value: tuple[float, float] | None, wanted: list[float]) -> bool | None:
    if value is None:
        return None
    if not value:
        return False  # known to have no such voltage
    return value[0] <= wanted[1] and wanted[0] <= value[1]


def test_attribute(attrs: Attributes, name: str, wanted) -> bool | None:
    """One attribute test of a condition: True, False, or None when the attribute is unknown."""
    if name in ("voltage_ac", "voltage_dc"):
        return _overlaps(getattr(attrs, name), wanted)
    if name == "power":
        return None if attrs.power is None else bool(attrs.power & set(wanted))
    value = getattr(attrs, name)
    return None if value is None else value == wanted


def evaluate(conditions: list[dict], attrs: Attributes) -> tuple[bool | None, list[str], list]:
    """Alternatives of attribute tests: the result (None when unknown), the attributes that
    would settle it, and the tests that failed (for saying why it does not apply)."""
    if not conditions:
        return True, [], []
    open_, failed, any_unknown = [], [], False
    for alternative in conditions:
        results = {k: test_attribute(attrs, k, v) for k, v in alternative.items()}
        if all(r is True for r in results.values()):
            return True, [], []
        if any(r is False for r in results.values()):
            failed += [(k, alternative[k]) for k, r in results.items() if r is False]
            continue
        any_unknown = True
        open_ += [k for k, r in results.items() if r is None]
    if any_unknown:
        return None, list(dict.fromkeys(open_)), failed
    return False, [], failed


def verdict(scheme: dict, product: Product, on: date) -> Verdict:
    """Whether and how the scheme applies to the product on the day."""
    reasons, pending = scope_reasons(scheme, product)
    if not reasons and not pending:
        return Verdict("out")
    if excluded := excluded_by(scheme, product):
        return Verdict("excluded", reasons, because=[{"exclusion": e} for e in excluded])
    holds, questions, failed = evaluate(scheme.get("conditions") or [], product.attributes)
    if holds is False:
        return Verdict("not", reasons, because=[{"attribute": k, "needs": v}
                                                for k, v in failed])
    if not reasons:  # only a class that depends on an unknown attribute: ask about it
        holds = None
        questions = list(dict.fromkeys([*pending, *questions]))
    until = scheme.get("applies_until")
    if until and date.fromisoformat(until) < on:
        return Verdict("ended", reasons)
    start = scheme.get("applies_from")
    if start and date.fromisoformat(start) > on:
        return Verdict("upcoming", reasons, questions)
    return Verdict("applies" if holds and not questions else "conditional", reasons, questions)
