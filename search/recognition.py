"""One rule for "can a result from the origin be used in the market through this arrangement,
for this product group": the agencies' coverage matrix and the matcher's routes both ask it.

An arrangement lets results travel when it is in effect (a policy framework, a cooperation
memorandum, a superseded text does not), origin and market take part as different parties, and
its sectors cover the group. Parties of a bilateral or regional arrangement may be unions (the
EU–US MRA serves Germany through the EU); members of a multilateral scheme such as the IECEE
are countries, so a union is never one. An arrangement of another field — IECEx, for equipment
in explosive atmospheres — never counts for electrical safety.
"""

from __future__ import annotations

from search.analysis import fold
from search.markets import markets_for, members_of, unions_of

# Arrangement sectors that concern each product group, as the sector texts word them.
SECTOR_WORDS: dict[str, tuple[str, ...]] = {
    "radio_telecom": ("telecom", "radio"), "emc": ("emc", "electromagnetic"),
    "electrical_safety": ("electrical safety", "electrical and electronic", "low voltage"),
    "machinery": ("machinery",), "toys": ("toys",), "medical_devices": ("medical devices",),
    "accreditation": ("accreditation", "testing laboratories", "product certification"),
}
# Sectors that make an arrangement one of another field, whatever else it lists.
OTHER_FIELD = ("explosive",)
# Words of a status that mean results do not travel through it today.
NOT_IN_EFFECT = ("policy", "superseded", "terminated", "expired", "withdrawn", "cooperation",
                 "not in force", "negotiat")
# Types whose parties are the countries themselves (a union is never a member).
COUNTRY_MEMBERSHIP = ("multilateral", "peer")


def in_effect(arrangement: dict) -> bool:
    status = fold(arrangement.get("status") or "")
    return not any(word in status for word in NOT_IN_EFFECT)


def parties(arrangement: dict) -> set[str]:
    return {p["country"] for p in arrangement.get("parties", []) if p.get("country")}


def sides(arrangement: dict, country: str) -> set[str]:
    """The parties that stand for a country: itself, or — in a bilateral or regional
    arrangement — its union, or (for a union) its members."""
    if arrangement.get("type") in COUNTRY_MEMBERSHIP:
        return parties(arrangement) & {country}
    return parties(arrangement) & {country, *unions_of(country), *members_of(country)}


def lets_through(arrangement: dict, origin: str, market: str) -> bool:
    """In effect, and both take part as different parties (two EU members are not the EU–US
    MRA; inside one country or single market there is nothing to recognise)."""
    return in_effect(arrangement) and apart(sides(arrangement, origin),
                                            sides(arrangement, market), origin, market)


def apart(one: set[str], two: set[str], origin: str, market: str) -> bool:
    """Origin and market, standing in an arrangement as these parties, are two sides of it."""
    return bool(one) and bool(two) and one != two and \
        not set(markets_for(origin)) & set(markets_for(market))


def covers(arrangement: dict, groups: list[str]) -> bool:
    """Whether the arrangement's sectors cover the product groups. EMC alone does not make a
    safety scheme a telecom one: it counts only for schemes about nothing else."""
    text = fold(" ".join(arrangement.get("sectors", [])))
    if any(word in text for word in OTHER_FIELD):
        return False
    main = [g for g in groups if g != "emc"] or groups
    return any(w in text for g in main for w in SECTOR_WORDS.get(g, ()))


def recognises(arrangement: dict, origin: str, market: str, groups: list[str]) -> bool:
    """The one rule: results from the origin travel to the market for these groups."""
    return lets_through(arrangement, origin, market) and covers(arrangement, groups)
