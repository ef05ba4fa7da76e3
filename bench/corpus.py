"""A synthetic corpus of WTO TBT/SPS notification records for the search benchmark.

Every record is made up (fixed seed) and says so: source ``bench_synthetic``, an ``.invalid``
source URL and a note. Shapes follow real ePing records: symbols with addenda, revisions and
corrigenda, a skewed spread of notifying members, dates 2000-2026 with more in recent years,
comment deadlines 60 days later, HS codes from the real HS list, ICS codes, the real ePing
objective names, and titles and descriptions drawn with a Zipf-like word frequency from the words
of the HS descriptions (a few % of titles in Chinese).
"""

from __future__ import annotations

import bisect
import csv
import itertools
import random
import re
from collections import Counter
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path

from search.records import load_record

SEED = 20261126
ROOT = Path(__file__).resolve().parent.parent
HS_CSV = ROOT / "crawlers" / "sources" / "hs_nomenclature" / "harmonized-system.csv"
MEMBERS_CSV = ROOT / "search" / "data" / "wto_members.csv"
SYNTHETIC = {
    "source": "bench_synthetic",
    "source_url": "https://example.invalid/synthetic",
    "note": "synthetic benchmark record",
    "fetched_at": "2026-11-26T00:00:00+00:00",
}

# Most active notifiers first (roughly the ePing ranking); the other members follow, rarer.
TOP_MEMBERS = (
    "USA EU BRA CHN KEN UGA SAU ARE KOR JPN IND TPKM CAN ISR MEX CHL PER THA TZA RWA ECU PHL "
    "VNM IDN COL AUS NZL GBR CHE TUR EGY BDI QAT KWT BHR OMN MYS ZAF ARG UKR RUS SGP"
).split()
TBT_OBJECTIVES = (
    "Protection of human health or safety (TBT)", "Quality requirements (TBT)",
    "Harmonization (TBT)", "Consumer information, labelling (TBT)",
    "Protection of the environment (TBT)", "National security requirements (TBT)",
    "Prevention of deceptive practices and consumer protection (TBT)",
    "Protection of animal or plant life or health (TBT)",
    "Reducing trade barriers and facilitating trade (TBT)", "Other (TBT)",
)
SPS_OBJECTIVES = (
    "Food safety", "Animal health", "Plant protection",
    "Protect humans from animal/plant pest or disease",
    "Protect territory from other damage from pests",
)
ICS_CODES = (
    "43.020", "43.040.10", "43.040.60", "29.220.20", "33.160", "97.200.50", "97.040.50", "13.020",
    "13.340.10", "11.040", "11.120", "65.020.20", "65.100", "67.040", "67.050", "67.080",
    "67.120.10", "67.200.10", "67.230", "71.100.70", "83.140", "91.100.10", "55.020", "59.080",
)
TITLE_HEADS = (
    "Draft technical regulation on", "Technical regulation for", "Maximum residue limits for",
    "Labelling requirements for", "Conformity assessment procedures for",
    "Import requirements for", "Draft standard on", "Energy efficiency requirements for",
    "Safety requirements for", "Amendment to the regulation on",
)
ZH_WORDS = (
    "机动车 食品安全 国家标准 技术法规 强制性 电池 玩具 化妆品 医疗器械 农药残留 限量 电气设备 "
    "标签 包装 检验检疫 进口 要求 安全 产品 能效 儿童 纺织品 乳制品 肉类 饲料 添加剂 认证 管理办法"
).split()
ZH_HEADS = ("关于", "修订", "草案", "规定")
_WORD = re.compile(r"[a-z]{3,}")


class Zipf:
    """Picks items with weight 1 / rank ** s (the first item is the most frequent)."""

    def __init__(self, items: list, s: float = 1.0) -> None:
        self.items = items
        self.cum = list(itertools.accumulate(1 / r**s for r in range(1, len(items) + 1)))

    def __call__(self, rng: random.Random) -> object:
        return self.items[bisect.bisect(self.cum, rng.random() * self.cum[-1])]


def _hs_entries() -> list[tuple[str, str]]:
    with HS_CSV.open(encoding="utf-8", newline="") as handle:
        return [(r["hscode"], r["description"]) for r in csv.DictReader(handle)
                if r["level"] in ("4", "6")]


def _vocabulary(entries: list[tuple[str, str]]) -> list[str]:
    """Words of the HS descriptions, most frequent first (ties alphabetically)."""
    counts = Counter(w for _, d in entries for w in _WORD.findall(d.lower()))
    return sorted(counts, key=lambda w: (-counts[w], w))


def _members(rng: random.Random) -> Zipf:
    with MEMBERS_CSV.open(encoding="utf-8", newline="") as handle:
        codes = [r["symbol_code"] for r in csv.DictReader(handle)]
    rest = sorted(set(codes) - set(TOP_MEMBERS))
    rng.shuffle(rest)
    return Zipf([c for c in TOP_MEMBERS if c in codes] + rest, s=1.1)


def raw_records(n: int = 100_000, seed: int = SEED) -> Iterator[dict]:
    """Raw notification data (as a spider would hand it to ``load_record``), oldest first."""
    rng = random.Random(seed)
    entries = _hs_entries()
    words = Zipf(_vocabulary(entries), s=1.05)
    member = _members(rng)
    hs_order = entries[:]
    rng.shuffle(hs_order)
    hs = Zipf(hs_order, s=0.8)
    start, span = date(2000, 1, 1), (date(2026, 11, 26) - date(2000, 1, 1)).days
    # More notifications each year: density rising linearly with time (sqrt of a uniform).
    days = sorted(int(span * rng.random() ** 0.5) for _ in range(n))
    numbers: Counter = Counter()
    bases: dict[tuple[str, str], list[str]] = {}
    suffixes: Counter = Counter()
    for day in days:
        area = "TBT" if rng.random() < 0.6 else "SPS"
        code = member(rng)
        issued = start + timedelta(days=day)
        symbol, kind = _symbol(rng, area, code, numbers, bases, suffixes)
        codes = [hs(rng) for _ in range(rng.choice((0, 1, 1, 2, 3)))]
        zh = rng.random() < 0.03
        title = (_zh_title(rng) if zh else
                 f"{rng.choice(TITLE_HEADS)} {_words(rng, words, rng.randint(3, 9))}"
                 + (f" ({codes[0][1]})" if codes and rng.random() < 0.5 else ""))
        objectives = TBT_OBJECTIVES if area == "TBT" else SPS_OBJECTIVES
        yield {
            "kind": "notification",
            **SYNTHETIC,
            "symbol": symbol,
            "language": "zh" if zh else "en",
            "distribution_date": issued.isoformat(),
            "comment_deadline": (None if kind == "Add" and rng.random() < 0.5
                                 else (issued + timedelta(days=60)).isoformat()),
            "title": title,
            "description": ". ".join(_words(rng, words, rng.randint(6, 14)).capitalize()
                                     for _ in range(rng.randint(2, 5))) + ".",
            "products": "; ".join(d for _, d in codes) or _words(rng, words, 3),
            "hs_codes": [c for c, _ in codes],
            "ics_codes": rng.sample(ICS_CODES, rng.choice((0, 0, 1, 1, 2))),
            "objectives": sorted(rng.sample(objectives, rng.choice((1, 1, 2, 3)))),
        }


def _symbol(rng: random.Random, area: str, code: str, numbers: Counter,
            bases: dict[tuple[str, str], list[str]], suffixes: Counter) -> tuple[str, str]:
    """A new base symbol (about 62 %) or an addendum, revision, corrigendum or supplement."""
    earlier = bases.get((area, code))
    roll = rng.random()
    if earlier and roll >= 0.62:
        base = earlier[-1 - min(int(rng.expovariate(0.2)), len(earlier) - 1)]
        kind = ("Add" if roll < 0.90 else "Rev" if roll < 0.95 else "Corr" if roll < 0.99
                else "Suppl")
        suffixes[base, kind] += 1
        return f"{base}/{kind}.{suffixes[base, kind]}", kind
    numbers[area, code] += 1
    base = f"G/{area}/N/{code}/{numbers[area, code]}"
    bases.setdefault((area, code), []).append(base)
    return base, "regular"


def _words(rng: random.Random, words: Zipf, k: int) -> str:
    return " ".join(words(rng) for _ in range(k))


def _zh_title(rng: random.Random) -> str:
    return rng.choice(ZH_HEADS) + "".join(rng.sample(ZH_WORDS, rng.randint(2, 5)))


def records(n: int = 100_000, seed: int = SEED) -> list[dict]:
    """Validated notification records (``load_record``), ready for ``to_document``."""
    return [load_record("notification", data) for data in raw_records(n, seed)]
