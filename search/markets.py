"""The markets the knowledge base covers, and the unions whose rules their members follow.

A product sold in Germany must meet the EU's schemes; one sold in Kazakhstan the EAEU's (EAC);
one sold in Kuwait the GCC's (G-Mark) as well as its own. ``markets_for`` is the one place that
says so, for the matcher, the coverage report and notification links alike.
"""

from __future__ import annotations

from search import normalise as norm

# The markets of the knowledge base, in the order the coverage report lists them: the 31 of the
# first release, then the other RCEP parties, the G20 members with national rules beside their
# union's (RU, DE, FR, IT), each GCC state, Belt and Road partners, and CH, NO, HK.
MARKETS: tuple[str, ...] = (
    "EU", "GB", "US", "CA", "CN", "JP", "KR", "IN", "SA", "AE", "GCC", "BR", "MX", "AR", "EAEU",
    "AU", "NZ", "SG", "MY", "TH", "VN", "ID", "PH", "ZA", "TR", "EG", "IL", "UA", "TW", "NG",
    "KE",
    "BN", "KH", "LA", "MM", "RU", "DE", "FR", "IT", "KW", "QA", "OM", "BH", "KZ", "UZ", "PK",
    "BD", "LK", "IQ", "IR", "ET", "TZ", "DZ", "MA", "CL", "PE", "CO", "RS", "CH", "NO", "HK",
)

UNION_MEMBERS: dict[str, frozenset[str]] = {
    "EU": frozenset({
        "AT", "BE", "BG", "HR", "CY", "CZ", "DK", "EE", "FI", "FR", "DE", "GR", "HU", "IE",
        "IT", "LV", "LT", "LU", "MT", "NL", "PL", "PT", "RO", "SK", "SI", "ES", "SE",
    }),
    "EAEU": frozenset({"RU", "BY", "KZ", "AM", "KG"}),
    "GCC": frozenset({"SA", "AE", "BH", "KW", "OM", "QA"}),
}


def unions_of(country: str) -> list[str]:
    """The unions a country belongs to, in a stable order (none for a union itself)."""
    code = norm.country(country)
    return [union for union, members in UNION_MEMBERS.items() if code in members]


def markets_for(country: str) -> list[str]:
    """The country itself, then each union whose schemes apply to it (DE → DE, EU)."""
    code = norm.country(country)
    return [code, *unions_of(code)]


def members_of(union: str) -> frozenset[str]:
    """The member states of a union; empty for a country."""
    return UNION_MEMBERS.get(norm.country(union), frozenset())
