"""Matcher benchmark: ``/api/v1/match`` with the whole knowledge base and 100,000 notifications.

The index holds the curated knowledge base and the HS nomenclature (replayed from their bundled
sources) and 100,000 synthetic notifications (``bench.corpus``, fixed seed, labelled as such).
Questions are product names from the vocabulary in its six languages, HS codes, and a few
phrasings of our own (with voltages and negations), for random markets of the knowledge base
and origins, a third of them with the form's answers (power, voltage, radio); each is answered
through Flask's test client (server time, no network). A second set asks about three markets at
once (the product × market table).

``python -m bench.match [--records N] [--requests N]`` adds ``sqlite_match_p95_ms`` (and its
p50) and ``sqlite_match_3_markets_p95_ms`` to ``bench/results/latest.json``.
"""

from __future__ import annotations

import argparse
import os
import random
import tempfile
from pathlib import Path
from urllib.parse import urlencode

from bench.corpus import SEED, records
from bench.notifications import timed
from bench.run import RESULTS, _ms, merge_results
from crawlers.spiders.curated import CuratedSpider
from crawlers.spiders.hs_nomenclature import HsNomenclatureSpider
from search.documents import to_document
from search.markets import MARKETS
from search.records import load_record
from search.sqlite_backend import SqliteBackend
from tests.replay import replay

ORIGINS = ("CN", "DE", "US", "JP", "KR", "VN", "IN", "TR", "MX")
PHRASES = ("phone chargers fast 65W", "wireless earbuds", "lithium cells 18650", "e-kettle",
           "notebook PC", "extension lead", "kids ride on car", "smart watch", "LED strip",
           "electric kettle, 2200 W, 230 V AC", "power bank 10000 mAh, 5-20 V DC, no radio",
           "无无线功能的电水壶 220V", "колонка без Bluetooth", "lampe LED sans Wi-Fi 230 V")
ANSWERS = ([("power", "mains"), ("voltage", "230")], [("radio", "no")],
           [("power", "battery"), ("radio", "yes")], [("children", "yes")])


def knowledge() -> list[dict]:
    out = []
    for spider in (CuratedSpider, HsNomenclatureSpider):
        _spider, items = replay(spider)
        out += [load_record(item.pop("kind"), item) for item in items]
    return out


def questions(kb: list[dict], n: int, rng: random.Random,
              markets_per_question: int = 1) -> list[str]:
    names = [name for r in kb if r["kind"] == "product"
             for names in r["names"].values() for name in names]
    codes = [code for r in kb if r["kind"] == "product" for code in r["hs_codes"]]
    out = []
    for i in range(n):
        ask = ([("hs", rng.choice(codes))] if i % 5 == 0 else
               [("product", rng.choice(PHRASES))] if i % 5 == 1 else
               [("product", rng.choice(names))])
        answers = rng.choice(ANSWERS) if i % 3 == 2 else []
        markets = [("market", m) for m in rng.sample(MARKETS, markets_per_question)]
        out.append(urlencode([*ask, *markets, *answers, ("origin", rng.choice(ORIGINS))]))
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.match", description=__doc__)
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=300)
    args = parser.parse_args(argv)
    kb = knowledge()
    urls = questions(kb, args.requests, random.Random(SEED + 3))
    tables = questions(kb, args.requests // 3, random.Random(SEED + 4), markets_per_question=3)
    with tempfile.TemporaryDirectory(prefix="marketpass-bench-") as tmp:
        os.environ["MARKETPASS_RATELIMIT"] = "0"  # one client address: capacity, not limits
        os.environ.update(MARKETPASS_DB=str(Path(tmp) / "store.db"), MARKETPASS_SEARCH_URL="",
                          MARKETPASS_TODAY="2025-06-01")
        backend = SqliteBackend(Path(tmp) / "index.db")
        backend.rebuild(to_document(r) for r in [*records(args.records, SEED), *kb])
        from webapp import create_app

        client = create_app({"BACKEND": backend}).test_client()
        timed(client, "/api/v1/match?product=charger&market=KR")  # columns and knowledge load
        samples = [timed(client, f"/api/v1/match?{q}") for q in urls]
        three = [timed(client, f"/api/v1/match?{q}") for q in tables]
        backend.close()
    p50, p95 = _ms(samples)
    figures = {"match_bench_records": args.records + len(kb), "match_bench_requests": len(urls),
               "sqlite_match_p50_ms": p50, "sqlite_match_p95_ms": p95,
               "sqlite_match_3_markets_p95_ms": _ms(three)[1]}
    merge_results(figures)
    print(figures)
    print(f"target: p95 ≤ 30 ms (one market); written to {RESULTS}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
