"""Cross-language search: a query in any of the six languages also finds English records.

Most records are in English (WTO notifications, HS descriptions). When the words of a query
name a product of the multilingual vocabulary in another language ("зарядное устройство",
"cargador", "充电器"), the query is widened with the product's English names and its HS codes,
so it finds what the English records say about that product.
"""

from __future__ import annotations

from dataclasses import dataclass

from search.query import MAX_TEXT_LENGTH
from search.vocabulary import ProductIndex

# A product must be named clearly, not guessed from one shared word.
MIN_SCORE = 0.9
ENGLISH_NAMES = 3


@dataclass(frozen=True)
class Expansion:
    text: str                  # the query as searched
    added: tuple[str, ...]     # what was added, to show the reader


def expand(text: str, index: ProductIndex) -> Expansion:
    """The query, widened when it names a product in a language other than English."""
    words = text.strip()
    if not words or '"' in words or " OR " in words or words.startswith("-"):
        return Expansion(text, ())  # the reader wrote a query of their own: keep it as it is
    found = [f for f in index.find(words, limit=2) if f.score >= MIN_SCORE]
    if not found or found[0].language == "en":
        return Expansion(text, ())
    product = found[0].product
    added = tuple(dict.fromkeys([*product.get("names", {}).get("en", [])[:ENGLISH_NAMES],
                                 *product.get("hs_codes", [])]))
    if not added:
        return Expansion(text, ())
    widened = " OR ".join(f'"{term}"' for term in (words, *added))
    if len(widened) > MAX_TEXT_LENGTH:
        return Expansion(text, ())
    return Expansion(widened, added)
