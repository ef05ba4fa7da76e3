"""What a product is, read from its description in any of the six languages: radio or not,
how it is powered, its rated voltages, battery, lithium, for children, for professionals.

Schemes state their scope as conditions on these attributes (crawlers/curated/README.md); the
matcher evaluates them with three values: an attribute the description, the form or the
product's own nature does not settle stays unknown, and the requirement it decides is shown as
conditional instead of guessed. The words are data (``search/data/matching.json``, "words");
a negation before a radio word ("no Wi-Fi", "sin Bluetooth", "无无线功能", "без Wi-Fi", "بدون
بلوتوث") says the product has none.
"""

from __future__ import annotations

import functools
import json
import re
from dataclasses import dataclass, field, replace
from pathlib import Path

from search.analysis import fold

MATCHING = json.loads((Path(__file__).with_name("data") / "matching.json")
                      .read_text(encoding="utf-8"))
# The cross-language terms are word lists like the others ("term baby", "term baby_cjk").
for _term, _lists in MATCHING["terms"].items():
    if _term != "about":
        MATCHING["words"][f"term {_term}"] = _lists["words"]
        MATCHING["words"][f"term {_term}_cjk"] = _lists["cjk"]
BOOLEAN = ("radio", "battery", "lithium", "children", "professional")
# Characters that end a clause: a negation never reaches past them ("no batteries, Bluetooth").
# A decimal point or comma inside a number ("15.6-inch", "10,000 mAh") ends no clause.
_CLAUSE = re.compile(r"(?<!\d)[.,]|[.,](?!\d)|[;()\[\]!?\n，；。、（）،؛]")
_TOKEN = re.compile(r"[^\s,;.()\[\]!?:/，；。、（）،؛]+")
# A rated voltage: a number or range with a volt unit, AC or DC before or after it.
_AC = r"ac|~|ca|交流|перем\w*|متردد"
_DC = r"dc|⎓|cc|直流|пост\w*|مستمر"
VOLTAGE = re.compile(
    rf"(?:(?<![a-z])(?P<pre>{_AC}|{_DC})\s*)?(?P<lo>\d+(?:[.,]\d+)?)\s*"
    rf"(?:(?:-|–|—|~|to|/|a|до|至|到)\s*(?P<hi>\d+(?:[.,]\d+)?)\s*)?"
    rf"(?P<unit>vac|vdc|volts?|v|в|伏|فولت)(?![a-zа-я])\s*(?P<post>{_AC}|{_DC})?",
    re.IGNORECASE)


@functools.cache
def _words(name: str) -> tuple[str, ...]:
    return tuple(fold(w) for w in MATCHING["words"].get(name, ()))


@dataclass(frozen=True)
class Attributes:
    """Attributes of one product; None where nothing says. ``said`` keeps, per attribute,
    what settled it (the words read, "form", or the product's vocabulary entry)."""

    radio: bool | None = None
    battery: bool | None = None
    lithium: bool | None = None
    children: bool | None = None
    professional: bool | None = None
    power: frozenset[str] | None = None
    voltage_ac: tuple[float, float] | None = None
    voltage_dc: tuple[float, float] | None = None
    said: dict[str, str] = field(default_factory=dict, compare=False)

    def over(self, base: Attributes) -> Attributes:
        """These attributes, with what they leave unknown taken from ``base``."""
        values = {k: getattr(self, k) if getattr(self, k) is not None else getattr(base, k)
                  for k in (*BOOLEAN, "power", "voltage_ac", "voltage_dc")}
        said = {**base.said, **self.said}
        return Attributes(**values, said=said)

    def as_dict(self) -> dict:
        out = {k: getattr(self, k) for k in BOOLEAN}
        out["power"] = sorted(self.power) if self.power is not None else None
        out["voltage_ac"] = list(self.voltage_ac) if self.voltage_ac is not None else None
        out["voltage_dc"] = list(self.voltage_dc) if self.voltage_dc is not None else None
        return out


def from_record(attributes: dict, label: str) -> Attributes:
    """The attributes a vocabulary product has by its nature (a power bank has a battery)."""
    values: dict = {k: attributes[k] for k in BOOLEAN if k in attributes}
    if "power" in attributes:
        values["power"] = frozenset(attributes["power"])
    for key in ("voltage_ac", "voltage_dc"):
        if key in attributes:
            values[key] = tuple(attributes[key])
    return Attributes(**values, said={k: label for k in values})


# --- reading a description ---------------------------------------------------------------------

_CJK_EDGE = re.compile(r"(?<=[\u3400-\u9fff])(?=[^\u3400-\u9fff\s])|"
                       r"(?<=[^\u3400-\u9fff\s])(?=[\u3400-\u9fff])")


def _tokens(clause: str) -> list[str]:
    # "不带wifi" → "不带", "wifi": a Latin word inside Chinese text is a word of its own.
    return _TOKEN.findall(_CJK_EDGE.sub(" ", clause))


@functools.cache
def _phrases(name: str) -> dict[str, list[list[str]]]:
    """The phrases of a word list by their first word, longest first."""
    out: dict[str, list[list[str]]] = {}
    for phrase in sorted(_words(name), key=lambda p: -len(p.split())):
        parts = phrase.split()
        out.setdefault(parts[0], []).append(parts)
    return out


def _keys(token: str) -> set[str]:
    """The first words a phrase may start with to match this token (see ``_same_word``)."""
    # "2.4ghz" (the unit glued to its number) is the word "ghz".
    keys = {token, token.rstrip("s"), token.split("-")[0], token.lstrip("0123456789")}
    if not token.isascii():
        keys.update(token[:n] for n in range(4, len(token)))
    return keys


def _phrase_at(tokens: list[str], i: int, name: str) -> int:
    """Length in tokens of a phrase of the list ``name`` starting at token i (0 when none).
    A Cyrillic or Arabic word also matches by its beginning (case endings: радиомодуля)."""
    index = _phrases(name)
    for key in _keys(tokens[i]):
        for parts in index.get(key, ()):
            window = tokens[i:i + len(parts)]
            if len(window) == len(parts) and all(
                    _same_word(t, w) for t, w in zip(window, parts, strict=True)):
                return len(parts)
    return 0


def _same_word(token: str, word: str) -> bool:
    if token == word or (token[:1].isdigit() and token.lstrip("0123456789") == word):
        return True
    if not word.isascii() and len(word) >= 4:
        return token.startswith(word)
    # "bluetooth-enabled", "wi-fi-ready": a compound that starts with the word.
    return token.startswith(word + "-") or token.rstrip("s") == word


def _radio_in(clause: str) -> list[bool]:
    """One entry per radio word of the clause: True when affirmed, False when negated (a
    negation up to ``negation_window`` words before it, or "no" right after it)."""
    tokens, found, i = _tokens(clause), [], 0
    window = MATCHING["words"]["negation_window"]
    negated_until = -1
    while i < len(tokens):
        n = _phrase_at(tokens, i, "radio")  # first: "sans fil" is a radio word
        if n:
            after = tokens[i + n] if i + n < len(tokens) else ""
            negated = i <= negated_until or after in _words("negation_after")
            found.append(not negated)
            if negated:  # "no Wi-Fi or other wireless module": the list goes on negated
                negated_until = max(negated_until, i + n - 1 + window)
            i += n
            continue
        n = _phrase_at(tokens, i, "no_radio")
        if n:
            found.append(False)
        else:
            n = _phrase_at(tokens, i, "negation") or int(
                any(tokens[i].endswith(w) for w in _words("negation_cjk")))
            if n:
                negated_until = i + n - 1 + window
        i += max(n, 1)
    return found


def _radio_cjk(text: str) -> list[bool]:
    """CJK radio words inside a run of characters ("无无线功能", "带蓝牙"): negated when a
    negation stands in the three characters before, or — Japanese puts it after: "ワイヤレス
    充電なし", "ワイヤレス充電非対応の…" — one of the words said after ("negation_after")
    follows within a few characters of the same phrase."""
    found = []
    after_words = [w for w in _words("negation_after") if not w.isascii()]
    for word in _words("radio_cjk"):
        for match in re.finditer(re.escape(word), text):
            before = text[max(0, match.start() - 3):match.start()]
            after = re.split(r"[\s,;、，。]", text[match.end():], maxsplit=1)[0]
            found.append(not (any(n in before for n in _words("negation_cjk"))
                              or any(n in after[:6] for n in after_words)))
    return found


def affirmed(text: str) -> str:
    """The text without what it negates ("feature phone, not a smartphone" → "feature phone"),
    so a product is not taken for what its description says it is not."""
    window = MATCHING["words"]["negation_window"]
    clauses = []
    for clause in _CLAUSE.split(fold(text)):
        kept: list[str] = []
        clauses.append(kept)
        tokens = _tokens(clause)
        negated_until, i = -1, 0
        while i < len(tokens):
            n = _phrase_at(tokens, i, "radio")  # "sans fil" is wireless, not a negation
            if n:
                kept += tokens[i:i + n] if i > negated_until else []
                i += n
                continue
            n = _phrase_at(tokens, i, "negation")
            if n:
                negated_until = i + n - 1 + window
                i += n
                continue
            if i > negated_until:
                kept.append(_strip_negated_cjk(tokens[i]))
            i += 1
    # Clauses stay apart: the first one names the product (search.vocabulary).
    return ", ".join(" ".join(kept) for kept in clauses if kept)


def _strip_negated_cjk(token: str) -> str:
    # "不是智能手机" (not a smartphone): what follows "is not" is not the product. Other
    # negation characters start words of their own (无霜 frost-free, 无线 wireless, 无刷
    # brushless) and are left alone.
    for word in ("不是", "并非"):
        if word in token:
            token = token[:token.index(word)]
    return token


def read_radio(text: str) -> bool | None:
    folded = fold(text)
    found = [v for clause in _CLAUSE.split(folded) for v in _radio_in(clause)]
    found += _radio_cjk(folded)
    if any(found):
        return True
    return False if found else None


def _has(folded: str, tokens: list[str], name: str) -> str | None:
    """The first word or phrase of a list found in the text (CJK lists by substring)."""
    for i in range(len(tokens)):
        n = _phrase_at(tokens, i, name)
        if n:
            return " ".join(tokens[i:i + n])
    compact = folded.replace(" ", "")  # affirmed() spaces "3节aaa电池" into tokens
    for word in _words(name + "_cjk"):
        if word in compact:
            return word
    return None


def _number(text: str) -> float:
    return float(text.replace(",", "."))


def read_voltages(text: str) -> tuple[tuple[float, float] | None, tuple[float, float] | None,
                                      list[str]]:
    """Rated AC and DC voltage ranges found in the text, and the words that gave them."""
    ac: list[float] = []
    dc: list[float] = []
    said = []
    mains_low, mains_high = MATCHING["voltage"]["mains_range"]
    folded = fold(text)
    three_phase = any(fold(w) in folded for w in MATCHING["words"]["three_phase"])
    for m in VOLTAGE.finditer(folded):
        lo = _number(m["lo"])
        hi = _number(m["hi"]) if m["hi"] else lo
        lo, hi = min(lo, hi), max(lo, hi)
        kind = (m["pre"] or m["post"] or "").lower()
        unit = m["unit"].lower()
        if re.fullmatch(_AC, kind) or unit == "vac" or three_phase:
            (ac.extend((lo, hi)))
        elif re.fullmatch(_DC, kind) or unit == "vdc":
            dc.extend((lo, hi))
        elif lo >= MATCHING["voltage"]["ac_from"] or mains_low <= lo <= mains_high:
            ac.extend((lo, hi))
        elif hi <= MATCHING["voltage"]["low_dc_max"]:
            dc.extend((lo, hi))
        else:
            continue
        said.append(m.group().strip())
    return ((min(ac), max(ac)) if ac else None, (min(dc), max(dc)) if dc else None, said)


def read(text: str) -> Attributes:
    """The attributes a description states."""
    folded = fold(text)
    tokens = _tokens(folded)
    # Words that state an attribute count only where the text affirms them ("sans adaptateur
    # secteur" says nothing of mains); the lists of negative statements read the whole text.
    kept = fold(affirmed(text))
    kept_tokens = _tokens(kept)
    values: dict = {}
    said: dict[str, str] = {}
    radio = read_radio(text)
    if radio is not None:
        values["radio"], said["radio"] = radio, "words"
    for name, value, lists in (("children", False, ("adults",)), ("children", True, ("children",)),
                               ("professional", True, ("professional",)),
                               ("lithium", True, ("lithium",)), ("battery", False, ("no_battery",)),
                               ("battery", True, ("battery",))):
        if name in values:
            continue
        negative = (name, value) in (("children", False), ("battery", False))
        hit = next((h for lst in lists if (h := _has(folded, tokens, lst) if negative
                                                else _has(kept, kept_tokens, lst))), None)
        if hit:
            values[name], said[name] = value, hit
    if "battery" not in values and any(re.search(pattern, folded)
                                       for pattern in MATCHING["words"]["battery_patterns"]):
        values["battery"], said["battery"] = True, "batteries"  # "4×AA", "18650 cells"
    if values.get("lithium"):
        values.setdefault("battery", True)
        said.setdefault("battery", said["lithium"])
    power: set[str] = set()
    for source, words_list in (("mains", "mains"), ("dc", "dc"), ("none", "unpowered")):
        hit = _has(folded, tokens, words_list) if source == "none" else _has(
            kept, kept_tokens, words_list)
        if hit:
            power.add(source)
            said.setdefault("power", hit)
    if values.get("battery"):
        power.add("battery")
    ac, dc, volts = read_voltages(text)
    if ac:
        values["voltage_ac"] = ac
        power.add("mains") if ac[1] >= MATCHING["voltage"]["mains_range"][0] else None
    if dc:
        values["voltage_dc"] = dc
    if volts:
        said["voltage"] = ", ".join(volts)
    if power:
        values["power"] = frozenset(power - {"none"} if len(power) > 1 else power)
    return Attributes(**values, said=said)


def english_terms(text: str) -> set[str]:
    """The English terms of scheme keywords the description says in another language
    ("婴儿" → "baby", "pila de botón" → "coin cell"), where it does not negate them."""
    kept = fold(affirmed(text))
    tokens = _tokens(kept)
    return {term for term in MATCHING["terms"] if term != "about"
            and _has(kept, tokens, f"term {term}")}


def supplied_at_dc(attrs: Attributes) -> Attributes:
    """Rated at a DC voltage, with nothing said of mains by the words, the form or the
    product's nature: it works from that supply ("USB hub, 5 V", "LED strip 12 V DC"), or
    from its battery. (A charger's 5 V is its output: its nature says mains.)"""
    if attrs.power is None and attrs.voltage_dc and attrs.voltage_ac is None:
        power = frozenset({"battery" if attrs.battery else "dc"})
        return Attributes(power=power, said={"power": "voltage"}).over(attrs)
    return attrs


def settle(attrs: Attributes) -> Attributes:
    """What follows from what is known: a product powered only by batteries or an external
    low-voltage supply has no AC rating; one powered only from the mains has no DC rating;
    an unpowered product has neither, no battery and no radio."""
    changes: dict = {}
    power = attrs.power
    if power is not None:
        if "mains" not in power and attrs.voltage_ac is None:
            changes["voltage_ac"] = ()
        if power <= {"mains"} and attrs.voltage_dc is None:
            changes["voltage_dc"] = ()
        if power == frozenset({"none"}):
            changes.update({k: False for k in ("battery", "radio", "lithium")
                            if getattr(attrs, k) is None})
            changes["voltage_dc"] = attrs.voltage_dc or ()
    if attrs.battery is False and attrs.lithium is None:
        changes["lithium"] = False
    return replace(attrs, **changes) if changes else attrs


def electric(attrs: Attributes) -> bool | None:
    """Whether the product works on electricity at all."""
    if attrs.power is not None:
        return attrs.power != frozenset({"none"})
    if attrs.battery or attrs.radio or attrs.voltage_ac or attrs.voltage_dc:
        return True
    return None
