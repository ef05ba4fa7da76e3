"""The indexed document model, shared by every backend.

A record of any kind becomes one ``Document``: a few weighted text fields for full-text search,
keyword fields for filters and facets, date fields for ranges and sorting, and the record itself.
Both backends build their tables or mappings from these tuples; changing them means bumping
``MAPPING_VERSION`` so existing indexes are rebuilt rather than silently misread.
"""

from __future__ import annotations

from dataclasses import dataclass, field

MAPPING_VERSION = 5

# Full-text fields and their relevance boosts (a title hit outweighs a body hit).
TEXT_FIELDS: dict[str, float] = {"title": 3.0, "keywords": 2.0, "body": 1.0}

# Relevance weights by kind. Nomenclature lines rank below the knowledge base's records that
# hold the same words: their short titles ("Electrical energy") would otherwise outrank every
# scheme for "electrical". 0.5 is a power of two, so the product is exact in float32 and both
# backends keep identical scores.
KIND_WEIGHTS = {"hscode": 0.5}

# Exact-value fields: filters (any of several values) and facet counts. All are multi-valued.
KEYWORD_FIELDS: tuple[str, ...] = (
    "kind",          # notification | regulation | scheme | arrangement | body | hscode | product
    "source",        # spider that produced the record
    "language",      # language(s) of the record's text
    "country",       # member / market / jurisdiction / body country (ISO alpha-2 or EU)
    "countries",     # every country the record concerns (joint notifications, arrangement parties)
    "area",          # TBT | SPS
    "type",          # notification type, scheme route, arrangement kind, body role …
    "status",        # in force, draft, mandatory, voluntary …
    "hs",            # HS codes with all their prefixes (filter "87" finds 870323)
    "hs_via_ics",    # HS codes (with prefixes) a notification's ICS codes alone give (documents)
    "hs_any",        # "hs" and "hs_via_ics" together: what the notification HS filter matches
    "section",       # HS sections (Roman numerals) of those codes, for charts and facets
    "ics",           # ICS codes with their parent codes
    "objectives",
    "mark",
    "symbol",        # notification symbol, also for lifecycle look-ups
    "base_symbol",
    "related",       # ids of records this one points to
    "verified",      # "true" | "false" for curated facts
    "month",         # YYYY-MM of the record's date, for counts per month
    "listed",        # "false" for the other symbols of a joint notification: lists show it once
)

# Dates (ISO YYYY-MM-DD) for range filters and sorting.
DATE_FIELDS: tuple[str, ...] = ("date", "deadline")

# Sort keys a request may name; "-" in front means descending.
SORTS: tuple[str, ...] = ("relevance", "date", "-date", "deadline", "-deadline", "title", "-title")


@dataclass
class Document:
    """What a backend stores for one record."""

    id: str
    kind: str
    text: dict[str, str] = field(default_factory=dict)
    keywords: dict[str, list[str]] = field(default_factory=dict)
    dates: dict[str, str | None] = field(default_factory=dict)
    title_sort: str = ""
    record: dict = field(default_factory=dict)

    def keyword_values(self, name: str) -> list[str]:
        values = list(self.keywords.get(name, []))
        return [self.kind] if name == "kind" else values
