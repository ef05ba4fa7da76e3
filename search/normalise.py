"""Normalisation of identifiers that arrive from the WTO, ePing and national portals.

Each function returns one canonical form or raises NormaliseError, so that bad source data is
reported where it enters rather than indexed under a spelling nobody searches for.
"""

import csv
import json
import re
import unicodedata
from dataclasses import dataclass
from datetime import date, datetime
from functools import cache, lru_cache
from pathlib import Path

from babel import Locale
from babel.core import get_global

DATA = Path(__file__).with_name("data")
_MEMBERS_CSV = DATA / "wto_members.csv"


class NormaliseError(ValueError):
    """Raised with a message a person can act on (it says what was wrong with which value)."""


# --- WTO members and countries -------------------------------------------------------------

# CLDR lists groupings and pseudo-locales among its territories; none of them can be the origin
# of a regulation, so a name like "Eurozone" must not pass as a country.
_NOT_COUNTRIES = frozenset({"EZ", "QO", "UN", "XA", "XB", "ZZ"})

# Symbols issued before the EU's 2009 renaming still carry the old codes. "EC" is also Ecuador's
# alpha-2 code, so these apply to document symbols only, never to country().
_LEGACY_SYMBOL_CODES = {"EEC": "EU", "EC": "EU"}

# Unions that adopt technical regulations of their own, so schemes and arrangements name them as
# a market. Not ISO 3166 codes (the EU comes from the WTO member table, being a WTO member);
# neither code can be read as a country's alpha-3 code (GCC, EAEU are unassigned).
UNIONS = {"EAEU": "Eurasian Economic Union", "GCC": "Gulf Cooperation Council"}
_UNION_ALT_NAMES = {
    "EAEU": ("Eurasian Customs Union", "Customs Union of Belarus, Kazakhstan and Russia", "EAEC"),
    "GCC": ("Cooperation Council for the Arab States of the Gulf", "Gulf Cooperation Council"),
}


@dataclass(frozen=True)
class _Member:
    code: str
    symbol_code: str
    wto_name_en: str
    alt_names: tuple[str, ...]
    eping_id: str


@cache
def _members() -> dict[str, _Member]:
    with _MEMBERS_CSV.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    return {
        row["code"]: _Member(
            code=row["code"],
            symbol_code=row["symbol_code"],
            wto_name_en=row["wto_name_en"],
            alt_names=tuple(name for name in row["alt_names"].split(";") if name),
            eping_id=row["eping_id"],
        )
        for row in rows
    }


@cache
def _territory_names() -> dict[str, str]:
    territories = Locale("en").territories
    return {
        code: name
        for code, name in territories.items()
        if len(code) == 2 and code.isalpha() and code not in _NOT_COUNTRIES
    }


@cache
def _code_aliases() -> dict[str, str]:
    """Alpha-3, numeric, retired alpha-2 and WTO symbol codes → alpha-2."""
    known = _territory_names()
    aliases = {
        old: new[0]
        for old, new in get_global("territory_aliases").items()
        # A code that maps to several successors (SU, YU, 830 …) cannot name one country.
        if len(new) == 1 and new[0] in known
    }
    aliases.update({m.symbol_code: m.code for m in _members().values()})
    return aliases


@cache
def _eping_ids() -> dict[str, str]:
    return {m.eping_id: m.code for m in _members().values()}


def _name_key(text: str) -> str:
    # Folding accents and punctuation lets "Côte d’Ivoire", "Cote d'Ivoire" and "COTE D IVOIRE"
    # meet, since sources differ mostly in exactly those details.
    decomposed = unicodedata.normalize("NFKD", text)
    plain = "".join(char for char in decomposed if not unicodedata.combining(char))
    return " ".join(re.sub(r"[^0-9a-z]+", " ", plain.casefold()).split())


@cache
def _names() -> dict[str, str]:
    index: dict[str, str] = {}
    # The WTO's own names win over alternative spellings, which win over CLDR, so that an
    # ambiguous spelling resolves the way the WTO documents would.
    for member in _members().values():
        index.setdefault(_name_key(member.wto_name_en), member.code)
    for member in _members().values():
        for name in member.alt_names:
            index.setdefault(_name_key(name), member.code)
    for code, name in _territory_names().items():
        index.setdefault(_name_key(name), code)
    for code, name in UNIONS.items():
        for spelling in (name, *_UNION_ALT_NAMES[code]):
            index.setdefault(_name_key(spelling), code)
    index.pop("", None)
    return index


def _strip_annotation(text: str) -> str:
    # Bilingual portals append the local name in brackets: "United States (美国)".
    text = re.sub(r"\s*[(（][^()（）]*[)）]\s*$", "", text)
    return " ".join(text.split())


def _lookup_code(compact: str) -> str | None:
    if compact in UNIONS:
        return compact
    if re.fullmatch(r"[A-Z]{2}", compact):
        if compact in _territory_names():
            return compact
        return _code_aliases().get(compact)
    if re.fullmatch(r"[CU]\d{3}", compact):
        return _eping_ids().get(compact) or _numeric_eping(compact)
    if re.fullmatch(r"\d{1,3}", compact):
        return _code_aliases().get(compact.zfill(3))
    if re.fullmatch(r"[A-Z]{3,4}", compact):
        return _code_aliases().get(compact)
    return None


def _numeric_eping(compact: str) -> str | None:
    # ePing ids of territories outside the table still follow the "C" + ISO numeric rule.
    return _code_aliases().get(compact[1:]) if compact.startswith("C") else None


@lru_cache(maxsize=4096)  # pure, and called for every record of a crawl
def country(value: str) -> str:
    """Return the ISO 3166-1 alpha-2 code (or "EU", "EAEU", "GCC") for any common way of naming
    a country or union."""
    if not isinstance(value, str):
        raise NormaliseError(f"Country must be given as text, got {value!r}")
    text = _strip_annotation(value)
    code = _lookup_code(text.replace(" ", "").upper()) or _names().get(_name_key(text))
    if code is None:
        raise NormaliseError(
            f"Unknown country {value!r}: expected an ISO 3166-1 code (SA, SAU, 682), an ePing id "
            "(C682, U918), a WTO member name or an English country name"
        )
    return code


def eping_country_id(code: str) -> str | None:
    """The id ePing's list endpoint filters a member by ("C682" for Saudi Arabia: "C" and the
    UN M49 code; the EU is "U918"), or None for a code that is no WTO member."""
    member = _members().get(country(code))
    return member.eping_id if member else None


def wto_member_name(code: str) -> str:
    """Return the WTO's English name for a member, or the CLDR English name for a non-member."""
    iso = country(code)
    member = _members().get(iso)
    return member.wto_name_en if member else UNIONS.get(iso) or _territory_names()[iso]


def is_wto_member(code: str) -> bool:
    try:
        return country(code) in _members()
    except NormaliseError:
        return False


def wto_members() -> list[str]:
    """The codes of all WTO members (ISO alpha-2, and EU)."""
    return sorted(_members())


# --- WTO document symbols ------------------------------------------------------------------

_SUFFIX_SPELLING = {"REV": "Rev", "ADD": "Add", "CORR": "Corr", "SUPPL": "Suppl"}
_SUFFIX_TYPE = {"Rev": "revision", "Add": "addendum", "Corr": "corrigendum", "Suppl": "supplement"}
_SUFFIX = r"/(?:REV|ADD|CORR|SUPPL)\.?\d+"
_MODERN = re.compile(rf"G/(TBT|SPS)/N/([A-Z]+)/(\d+)((?:{_SUFFIX})*)")
_LEGACY = re.compile(rf"G/(TBT)/NOTIF\.?(\d{{4}}|\d{{2}})\.(\d+)((?:{_SUFFIX})*)")
_EXPECTED_SHAPE = (
    "expected a WTO notification symbol such as 'G/TBT/N/EU/1033', "
    "'G/TBT/N/EU/1033/Add.1/Corr.1', 'G/SPS/N/USA/1043' or the legacy 'G/TBT/Notif.96.123'"
)


@dataclass(frozen=True)
class Symbol:
    area: str
    member_code: str | None
    member: str | None
    number: int
    suffixes: tuple[tuple[str, int], ...]
    year: int | None = None

    def _render(self, suffixes: tuple[tuple[str, int], ...]) -> str:
        if self.year is not None:
            base = f"G/{self.area}/Notif.{self.year % 100:02d}.{self.number}"
        else:
            base = f"G/{self.area}/N/{self.member_code}/{self.number}"
        return base + "".join(f"/{kind}.{count}" for kind, count in suffixes)

    @property
    def symbol(self) -> str:
        return self._render(self.suffixes)

    @property
    def base_symbol(self) -> str:
        return self._render(())

    @property
    def parent_symbol(self) -> str | None:
        return self._render(self.suffixes[:-1]) if self.suffixes else None

    @property
    def type(self) -> str:
        return _SUFFIX_TYPE[self.suffixes[-1][0]] if self.suffixes else "regular"

    def __str__(self) -> str:
        return self.symbol


def _parse_suffixes(tail: str) -> tuple[tuple[str, int], ...]:
    found = re.findall(r"/(REV|ADD|CORR|SUPPL)\.?(\d+)", tail)
    return tuple((_SUFFIX_SPELLING[kind], int(count)) for kind, count in found)


def _legacy_year(digits: str) -> int:
    # The "Notif.YY" numbering ran from the 1980 Standards Code into the early 2000s, so a
    # two-digit year from 80 up can only mean the 1900s.
    year = int(digits)
    if len(digits) == 4:
        return year
    return 1900 + year if year >= 80 else 2000 + year


@cache
def _symbol_codes() -> dict[str, str]:
    codes = {m.symbol_code: m.code for m in _members().values()}
    return {**_LEGACY_SYMBOL_CODES, **codes}


def _symbol_member(member_code: str, text: str) -> str:
    code = _symbol_codes().get(member_code)
    if code is None:
        raise NormaliseError(
            f"Unknown WTO member code {member_code!r} in symbol {text!r}: "
            "see search/data/wto_members.csv for the codes used in WTO symbols"
        )
    return code


def _parse(text: str, member: str | None, member_required: bool) -> Symbol:
    if not isinstance(text, str):
        raise NormaliseError(f"Symbol must be given as text, got {text!r}; {_EXPECTED_SHAPE}")
    compact = re.sub(r"\s+", "", text).upper()
    if match := _MODERN.fullmatch(compact):
        area, member_code, number, tail = match.groups()
        # The symbol names its member itself; a record's member field is only a hint and, on
        # joint notifications, names just one of several members.
        return Symbol(
            area, member_code, _symbol_member(member_code, text), int(number), _parse_suffixes(tail)
        )
    if match := _LEGACY.fullmatch(compact):
        area, year, number, tail = match.groups()
        if member is None and member_required:
            raise NormaliseError(
                f"Legacy symbol {text!r} does not name its member; pass the notifying member"
            )
        iso = country(member) if member is not None else None
        return Symbol(area, None, iso, int(number), _parse_suffixes(tail), _legacy_year(year))
    raise NormaliseError(f"Not a WTO notification symbol: {text!r}; {_EXPECTED_SHAPE}")


@lru_cache(maxsize=65536)  # pure (Symbol is frozen); joint notifications repeat symbols
def parse_symbol(text: str, member: str | None = None) -> Symbol:
    """Parse a TBT/SPS notification symbol; `member` is needed only for the legacy form."""
    return _parse(text, member, member_required=True)


# Joint notifications list their symbols with any of these separators. A space before "G/"
# also separates, because some portals list symbols with nothing but spaces between them.
_SEPARATORS = re.compile(r"[,;&\r\n]|\s+and\s+|\s+(?=G\s*/)", re.IGNORECASE)


def split_symbols(text: str) -> list[str]:
    """Return the canonical symbols listed in `text`, in input order, without duplicates."""
    if not isinstance(text, str):
        raise NormaliseError(f"Symbols must be given as text, got {text!r}")
    seen: dict[str, None] = {}
    for piece in _SEPARATORS.split(text):
        if piece.strip():
            seen.setdefault(_parse(piece, None, member_required=False).symbol, None)
    return list(seen)


# --- Product classifications -----------------------------------------------------------------


def hs_code(value: str | int) -> str:
    """Return the Harmonized System code as bare digits ("8703.23" → "870323")."""
    # An int has already lost the leading zero of chapters 01-09, so it is taken as written;
    # callers holding such codes should pass them as text.
    if (
        isinstance(value, bool)
        or not isinstance(value, str | int)
        or (isinstance(value, int) and value < 0)
    ):
        raise NormaliseError(f"HS code must be text or a non-negative integer, got {value!r}")
    digits = re.sub(r"[.\s-]", "", str(value))
    if not re.fullmatch(r"[0-9]{2,10}", digits):
        raise NormaliseError(
            f"Not an HS code: {value!r}; expected 2 to 10 digits, optionally grouped with dots, "
            "spaces or hyphens (e.g. '8703.23')"
        )
    return digits


@lru_cache(maxsize=65536)  # pure, and called for every HS code of every indexed record
def hs_prefixes(code: str) -> tuple[str, ...]:
    """Return the chapter, heading, subheading … prefixes of an HS code, shortest first."""
    digits = hs_code(code)
    prefixes = [digits[:length] for length in range(2, len(digits) + 1, 2)]
    if len(digits) % 2:
        prefixes.append(digits)
    return tuple(prefixes)


@lru_cache(maxsize=1)
def _sections() -> tuple[tuple[int, int, str, str], ...]:
    with open(DATA / "hs_sections.csv", encoding="utf-8") as f:
        return tuple((int(r["first_chapter"]), int(r["last_chapter"]), r["section"], r["name"])
                     for r in csv.DictReader(f))


@lru_cache(maxsize=16384)  # pure, and called for every HS code of every indexed record
def hs_section(code: str) -> str | None:
    """The HS section (Roman numeral, "XVI") of a code's chapter; None for chapters 77 and 98–99,
    which the nomenclature reserves."""
    chapter = int(hs_code(code)[:2])
    return next((s for first, last, s, _ in _sections() if first <= chapter <= last), None)


def hs_section_name(section: str) -> str:
    return next((name for _, _, s, name in _sections() if s == section), section)


_ICS = re.compile(r"\d{2}(?:\.\d{3}(?:\.\d{2})?)?")


@lru_cache(maxsize=1)
def _objectives() -> tuple[tuple[str, tuple[str, ...], tuple[str, ...]], ...]:
    listed = json.loads((DATA / "objectives.json").read_text(encoding="utf-8"))["objectives"]
    return tuple((o["name"], tuple(o["en"]), tuple(o["zh"])) for o in listed)


def objective_names() -> list[str]:
    """ePing's controlled list of notification objectives."""
    return [name for name, _en, _zh in _objectives()]


@lru_cache(maxsize=4096)
def objectives(text: str) -> tuple[str, ...]:
    """The names of ePing's controlled list an objective as written stands for:
    "Protection of human health or safety (TBT)" → itself without "(TBT)"; "保护人类健康和环境"
    → human health and the environment; free text naming none → ()."""
    folded = re.sub(r"\s*\((?:tbt|sps)\)\s*$", "", text.strip().casefold())
    return tuple(name for name, en, zh in _objectives()
                 if folded in en or any(word in text for word in zh))


def ics_code(value: str) -> str:
    """Return an International Classification for Standards code ("43.040.10")."""
    if not isinstance(value, str):
        raise NormaliseError(f"ICS code must be given as text, got {value!r}")
    text = re.sub(r"^ICS:?", "", re.sub(r"\s+", "", value), flags=re.IGNORECASE)
    if not _ICS.fullmatch(text):
        raise NormaliseError(f"Not an ICS code: {value!r}; expected '43', '43.020' or '43.040.10'")
    return text


# --- Dates -------------------------------------------------------------------------------------

_MONTH_NAMES = (
    "january february march april may june july august september october november december"
).split()
_MONTHS = {name: number for number, name in enumerate(_MONTH_NAMES, start=1)}
_MONTHS.update({name[:3]: number for name, number in list(_MONTHS.items())})
_MONTHS["sept"] = 9

# One portal writes years with five digits and a leading zero ("02005-03-21").
_ISO_DATE = re.compile(r"0?(\d{4})-(\d{2})-(\d{2})([T ].+)?")
_SLASHED_DATE = re.compile(r"(\d{4})/(\d{1,2})/(\d{1,2})")
_DAY_MONTH_YEAR = re.compile(r"(\d{1,2})(?:st|nd|rd|th)?\s+([a-z]+)\.?,?\s+(\d{4})", re.I)
_MONTH_DAY_YEAR = re.compile(r"([a-z]+)\.?\s+(\d{1,2})(?:st|nd|rd|th)?,?\s+(\d{4})", re.I)

_DateParts = tuple[int, int, int]


def _iso_parts(text: str) -> _DateParts | None:
    match = _ISO_DATE.fullmatch(text)
    if not match:
        return None
    year, month, day, time = match.groups()
    if time:
        try:
            # Only the time's validity matters; the day is taken as written, because shifting
            # it to another zone would move a deadline to a different date.
            datetime.fromisoformat("2000-01-01" + time)
        except ValueError:
            return None
    return int(year), int(month), int(day)


def _slashed_parts(text: str) -> _DateParts | None:
    match = _SLASHED_DATE.fullmatch(text)
    return (int(match[1]), int(match[2]), int(match[3])) if match else None


def _day_month_year_parts(text: str) -> _DateParts | None:
    match = _DAY_MONTH_YEAR.fullmatch(text)
    month = _MONTHS.get(match[2].lower()) if match else None
    return (int(match[3]), month, int(match[1])) if match and month else None


def _month_day_year_parts(text: str) -> _DateParts | None:
    match = _MONTH_DAY_YEAR.fullmatch(text)
    month = _MONTHS.get(match[1].lower()) if match else None
    return (int(match[3]), month, int(match[2])) if match and month else None


_DATE_PARSERS = (_iso_parts, _slashed_parts, _day_month_year_parts, _month_day_year_parts)


def iso_date(value: date | str | None) -> str | None:
    """Return "YYYY-MM-DD" for a date in any of the shapes the sources use; None if empty."""
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if not isinstance(value, str):
        raise NormaliseError(f"Date must be a date or text, got {value!r}")
    text = " ".join(value.split())
    if not text:
        return None
    parts = next((found for parse in _DATE_PARSERS if (found := parse(text))), None)
    if parts is None:
        raise NormaliseError(
            f"Unrecognised date {value!r}; expected e.g. '2005-03-21', '2005/03/21', "
            "'21 March 2005' or 'March 21, 2005'"
        )
    try:
        return date(*parts).isoformat()
    except ValueError as error:
        raise NormaliseError(f"Not a calendar date: {value!r} ({error})") from error
