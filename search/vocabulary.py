"""Find products of the multilingual vocabulary in whatever words an exporter types.

Exporters name products in their own words and languages: "phone chargers", "cargador USB",
"зарядные устройства", "手机充电器", sometimes with a typo. A name matches when its words are in
the query, compared after folding (case, width, accents), light stemming (plurals in the Latin
and Cyrillic scripts) and, for longer words, one or two wrong letters; CJK names compare by
their character bigrams. The word a name is built around (the last in English or Chinese,
"phone *charger*"; the first in Romance languages and Russian, "*cargador* de teléfono") weighs
more, so a charger for a phone is a charger and not a phone.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cached_property, lru_cache

from search.analysis import bigrams, is_cjk, raw_tokens

# Words that carry no product meaning in the vocabulary's six languages.
STOPWORDS = frozenset(
    "a an and the of for with to in on by de del la las el los para con y sin pour avec et "
    "des du le les au aux en sur pour для и с из на в по от".split()
)
# Words after which a name only says what the product is for or goes with ("charger for
# phones", "cargador para teléfono", "кабель для зарядки"); "de juguete" (a toy one) is an
# adjective: "varita mágica de juguete" is a toy.
PREPOSITION = re.compile(r"\s(?:for|with|of|para|pour|de(?!\s+(?:juguete|brinquedo)\b)|для|к|с)\s",
                         re.IGNORECASE)
# What follows the first comma or bracket describes the product ("camera drone, LiPo battery"):
# the product itself is named before it.
CLAUSE = re.compile(r"[,;(（，；：:、،؛]")
# Words for a set or pack that may open a description ("juego de bloques de construcción",
# "مجموعة مكعبات بناء", "set of 6 knives"): the product is what follows them.
CONTAINER = re.compile(
    r"^\s*(?:(?:set|pack|kit|box|pair|bundle)\s+of|(?:juego|set|kit|paquete|conjunto|lote|"
    r"jogo|pacote)\s+de|(?:lot|ensemble|coffret|kit|set)\s+(?:de|d')|набор|комплект|"
    r"مجموعة|طقم)\s+(?:\d+\s+)?", re.IGNORECASE)
# Units of a rating that may end the words naming a product ("table saw 1800 W").
UNITS = frozenset("v w kw a ma mah wh kwh hz khz mhz ghz l ml kg g mm cm m inch in ft lb btu "
                  "в вт ач л кг мм см 伏 瓦 升".split())


def _measure(word: str) -> bool:
    return word in UNITS or any(c.isdigit() for c in word)


def _first_clause(text: str) -> str:
    """The part of a description that names the product: before the first comma or bracket,
    or — in Chinese or Japanese text, where spaces separate the attributes — the first
    group of characters ("5G智能手机 6.5英寸 锂离子电池" is a smartphone)."""
    first = CLAUSE.split(text, maxsplit=1)[0]
    if any(is_cjk(c) for c in first) and " " in first.strip():
        return next((part for part in first.split() if any(is_cjk(c) for c in part)), first)
    return first


# Languages whose names put the head word first.
HEAD_FIRST = frozenset({"fr", "es", "ru", "ar", "pt", "it"})
HEAD_WEIGHT = 0.25
# Share of a name's words a text must hold for the name to say what the product is.
COMPLETE = 0.8
# A word in the names of more products than this says what kind of product it is (electric,
# machine, appliance), not which: part of a name matched only through such words, without the
# name's head word, is no match.
GENERIC_PRODUCTS = 2


@lru_cache(maxsize=8192)
def stem(token: str) -> str:
    """A crude plural stripper: enough for product names ("batteries" → "battery",
    "cargadores" → "cargador", "устройства" → "устройств")."""
    if is_cjk(token) or len(token) <= 3 or token.isdigit():
        return token
    for suffix, replacement in (("ies", "y"), ("ches", "ch"), ("shes", "sh"), ("xes", "x"),
                                ("ses", "s"), ("ores", "or"), ("ones", "on")):
        if token.endswith(suffix):
            return token[: -len(suffix)] + replacement
    if token.endswith("s") and not token.endswith("ss"):
        return token[:-1]
    if re.search(r"[а-я]", token) and token[-1] in "аыяиоеу":
        return token[:-1]
    return token


def words(text: str) -> list[str]:
    """Stemmed words of a text without stopwords; a CJK run becomes its bigrams."""
    out: list[str] = []
    for match in raw_tokens(text):
        token = match.group()
        if is_cjk(token):
            out.extend(bigrams(token))
        elif token not in STOPWORDS:
            out.append(stem(token))
    return out


def _near(a: str, b: str) -> bool:
    """Equal, or one wrong letter in a word of five or more, two in a word of nine or more."""
    if a == b:
        return True
    if is_cjk(a) or is_cjk(b) or a.isdigit() or b.isdigit():
        return False
    allowed = 2 if min(len(a), len(b)) >= 9 else 1 if min(len(a), len(b)) >= 5 else 0
    return allowed > 0 and abs(len(a) - len(b)) <= allowed and _distance(a, b, allowed) <= allowed


def _deletions(word: str, depth: int) -> set[str]:
    """The word and what remains of it after deleting up to ``depth`` letters."""
    out, frontier = {word}, {word}
    for _ in range(depth):
        frontier = {w[:i] + w[i + 1:] for w in frontier for i in range(len(w))}
        out |= frontier
    return out


def _distance(a: str, b: str, limit: int) -> int:
    """Levenshtein distance, giving up once every path exceeds ``limit``."""
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        current = [i]
        for j, cb in enumerate(b, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1,
                               previous[j - 1] + (ca != cb)))
        if min(current) > limit:
            return limit + 1
        previous = current
    return previous[-1]


@dataclass(frozen=True)
class Name:
    product: str
    language: str
    text: str
    words: tuple[str, ...]

    @cached_property
    def head(self) -> str:
        # A bracketed qualifier is not the head: "chainsaw (electric)" is a chainsaw.
        core = words(self.text.split("(", 1)[0]) or list(self.words)
        if not core:
            return ""
        return core[0] if self.language in HEAD_FIRST else core[-1]


@dataclass(frozen=True)
class Found:
    product: dict
    score: float
    name: str
    language: str
    complete: bool = True  # (nearly) every word of the name is in the text, not half a name
    primary: bool = True  # named where the description names its product, not in a detail


class ProductIndex:
    """The product records and every name they go by, ready to match queries against."""

    def __init__(self, products: list[dict]) -> None:
        self.products = {p["id"]: p for p in products}
        self.names = [Name(p["id"], lang, text, tuple(words(text)))
                      for p in products for lang, texts in p.get("names", {}).items()
                      for text in texts]
        self.known = {w for name in self.names for w in name.words}
        # Names by the words they hold, and vocabulary words by length: a query is compared
        # only with names sharing a word, and a misspelt word only with words of a length
        # one or two letters away.
        self.by_word: dict[str, list[int]] = {}
        for i, name in enumerate(self.names):
            for w in set(name.words):
                self.by_word.setdefault(w, []).append(i)
        # Misspellings are found through what remains of a word after deleting one or two
        # letters (two words within two edits share such a remainder): a handful of look-ups
        # per query word instead of comparing it with every word of the vocabulary.
        self.by_deletion: dict[str, set[str]] = {}
        products_of: dict[str, set[str]] = {}
        for name in self.names:
            for w in name.words:
                products_of.setdefault(w, set()).add(name.product)
        self.generic = frozenset(w for w, ps in products_of.items() if len(ps) > GENERIC_PRODUCTS)
        for w in self.known:
            if len(w) >= 5 and not is_cjk(w) and not w.isdigit():
                for d in _deletions(w, 2 if len(w) >= 9 else 1):
                    self.by_deletion.setdefault(d, set()).add(w)
        self._near_cache: dict[str, frozenset[str]] = {}

    def _near_words(self, word: str) -> frozenset[str]:
        found = self._near_cache.get(word)
        if found is None:
            found = frozenset({word} & self.known)
            if len(word) >= 5 and not is_cjk(word) and not word.isdigit():
                candidates = {k for d in _deletions(word, 2 if len(word) >= 8 else 1)
                              for k in self.by_deletion.get(d, ())}
                found = frozenset(k for k in candidates if _near(word, k))
            if len(self._near_cache) < 50_000:  # bounded: queries are anyone's words
                self._near_cache[word] = found
        return found

    def _resolve(self, query_words: list[str]) -> list[set[str]]:
        """Each query word with the vocabulary words it may stand for (itself, or a near
        spelling when it is not a word of the vocabulary)."""
        out = []
        for word in query_words:
            if word in self.known:
                out.append({word})
            else:
                out.append(set(self._near_words(word)) or {word})
        return out

    def find(self, text: str, limit: int = 5) -> list[Found]:
        """Products whose names the text contains, best first."""
        text = CONTAINER.sub("", text, count=1) or text
        query = words(text)
        if not query:
            return []
        resolved = self._resolve(query)
        present = set().union(*resolved)
        # "charger for phones": the head is the last word before the first preposition (and
        # the first comma: "smartphone, Li-ion battery" is a smartphone).
        named = PREPOSITION.split(_first_clause(text), maxsplit=1)[0]
        before = self._resolve([w for w in words(named) if not _measure(w)]) or resolved
        heads = (resolved[0], before[-1])
        # A name found only in what follows the preposition is what the product is for.
        main = set().union(*before) if len(before) < len(resolved) else present
        best: dict[str, Found] = {}
        candidates = sorted({i for w in present for i in self.by_word.get(w, ())})
        for name in (self.names[i] for i in candidates):
            held = {w for w in name.words if w in present}
            if len(held) < len(set(name.words)) and name.head not in held and \
                    held <= self.generic:
                continue  # "electrical" is not half of "cafetera eléctrica"
            score = self._score(name, present, resolved, heads)
            if score and not main & set(name.words):
                score *= 0.6
            if score > 0 and score > getattr(best.get(name.product), "score", 0):
                covered = sum(w in present for w in name.words) / len(name.words)
                best[name.product] = Found(self.products[name.product], round(score, 4),
                                           name.text, name.language, covered >= COMPLETE,
                                           bool(main & set(name.words)))
        found = sorted(best.values(), key=lambda f: (-f.score, f.product["id"]))
        return [f for f in found if f.score >= found[0].score * 0.6][:limit] if found else []

    @staticmethod
    def _score(name: Name, present: set[str], resolved: list[set[str]],
               heads: tuple[set[str], set[str]]) -> float:
        if not name.words:
            return 0.0
        covered = sum(1 for w in name.words if w in present) / len(name.words)
        if covered < 0.5:
            return 0.0
        used = sum(1 for r in resolved if r & set(name.words)) / len(resolved)
        head_set = heads[0] if name.language in HEAD_FIRST else heads[1]
        head = HEAD_WEIGHT if name.head in head_set else 0.0
        # A longer name fully present is a more specific match than a one-word name.
        detail = 0.05 * min(len(name.words), 4)
        if covered == 1:
            return covered * (0.5 + 0.5 * used) + head + detail
        return covered * 0.5 + head  # part of a longer name, more when it is that name's head


def product_terms(found: list[Found]) -> set[str]:
    """English words describing the products found, to compare with schemes' keywords."""
    terms: set[str] = set()
    for f in found:
        for text in f.product.get("names", {}).get("en", []):
            terms.update(words(text))
        terms.update(words(f.product.get("group", "")))
    return terms


