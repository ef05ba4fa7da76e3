"""Matcher benchmark: ``/api/v1/match`` with the whole knowledge base and 100,000 notifications.

The index holds the curated knowledge base and the HS nomenclature (replayed from their bundled
sources) and 100,000 synthetic notifications (``bench.corpus``, fixed seed, labelled as such).
Questions are product names from the vocabulary in its six languages, HS codes, and a few
phrasings of our own, for random markets of the 31 and origins; each is answered through Flask's
test client (server time, no network).

``python -m bench.match [--records N] [--requests N]`` adds ``sqlite_match_p95_ms`` (and its
p50) to ``bench/results/latest.json``.
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
           "notebook PC", "extension lead", "kids ride on car", "smart watch", "LED strip")


def knowledge() -> list[dict]:
    out = []
    for spider in (CuratedSpider, HsNomenclatureSpider):
        _spider, items = replay(spider)
        out += [load_record(item.pop("kind"), item) for item in items]
    return out


def questions(kb: list[dict], n: int, rng: random.Random) -> list[str]:
    names = [name for r in kb if r["kind"] == "product"
             for names in r["names"].values() for name in names]
    codes = [code for r in kb if r["kind"] == "product" for code in r["hs_codes"]]
    out = []
    for i in range(n):
        ask = ([("hs", rng.choice(codes))] if i % 5 == 0 else
               [("product", rng.choice(PHRASES))] if i % 5 == 1 else
               [("product", rng.choice(names))])
        out.append(urlencode([*ask, ("market", rng.choice(MARKETS)),
                              ("origin", rng.choice(ORIGINS))]))
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.match", description=__doc__)
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=300)
    args = parser.parse_args(argv)
    kb = knowledge()
    urls = questions(kb, args.requests, random.Random(SEED + 3))
    with tempfile.TemporaryDirectory(prefix="marketpass-bench-") as tmp:
        os.environ.update(MARKETPASS_DB=str(Path(tmp) / "store.db"), MARKETPASS_SEARCH_URL="",
                          MARKETPASS_TODAY="2025-06-01")
        backend = SqliteBackend(Path(tmp) / "index.db")
        backend.rebuild(to_document(r) for r in [*records(args.records, SEED), *kb])
        from webapp import create_app

        client = create_app({"BACKEND": backend}).test_client()
        timed(client, "/api/v1/match?product=charger&market=KR")  # columns and knowledge load
        samples = [timed(client, f"/api/v1/match?{q}") for q in urls]
        backend.close()
    p50, p95 = _ms(samples)
    figures = {"match_bench_records": args.records + len(kb), "match_bench_requests": len(urls),
               "sqlite_match_p50_ms": p50, "sqlite_match_p95_ms": p95}
    merge_results(figures)
    print(f"target: p95 ≤ 50 ms; written to {RESULTS}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
