"""Where the SQLite backend spends its time, through its public interface only.

``python -m bench.profile [--records N] [--queries N]``: cProfile of ``rebuild``, of the first
search after it (which loads the in-memory columns) and of the benchmark's searches, grouped by
how many records their text matches, with the latency of each group.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import pstats
import random
import tempfile
import time
from pathlib import Path

import numpy as np

from bench.corpus import SEED, records
from bench.run import make_queries, request
from search.documents import to_document
from search.query import SearchRequest
from search.sqlite_backend import SqliteBackend


def profiled(label: str, fn, lines: int = 20):
    profile = cProfile.Profile()
    start = time.perf_counter()
    result = profile.runcall(fn)
    print(f"\n=== {label}: {time.perf_counter() - start:.2f} s under cProfile ===")
    out = io.StringIO()
    pstats.Stats(profile, stream=out).sort_stats("tottime").print_stats(lines)
    print("\n".join(line for line in out.getvalue().splitlines()[4:] if line.strip()))
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.profile")
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--queries", type=int, default=250)
    args = parser.parse_args(argv)
    recs = records(args.records, SEED)
    docs = [to_document(r) for r in recs]
    queries = make_queries(recs, args.queries, random.Random(SEED + 1))
    with tempfile.TemporaryDirectory(prefix="marketpass-profile-") as tmp:
        backend = SqliteBackend(Path(tmp) / "bench.db")
        profiled("rebuild", lambda: backend.rebuild(docs))
        profiled("first search (loads the columns)", lambda: backend.search(SearchRequest()))
        total = len(recs)
        matched = {q: backend.search(SearchRequest(text=q, per_page=1, highlight=False)).total
                   for q in set(queries)}
        bands = {">= 10 %": lambda n: n >= 0.10 * total,
                 "0.5-10 %": lambda n: 0.005 * total <= n < 0.10 * total,
                 "< 0.5 %": lambda n: n < 0.005 * total}
        rng = random.Random(SEED + 3)
        reqs = [request(q, rng) for q in queries]
        print("\n=== search latency (full text + 2 filters + 3 facets) by share of records "
              "the text matches ===")
        for band, test in bands.items():
            chosen = [r for r in reqs if test(matched[r.text])]
            times = []
            for r in chosen:
                start = time.perf_counter()
                backend.search(r)
                times.append((time.perf_counter() - start) * 1000)
            if times:
                p50, p95 = np.percentile(times, [50, 95])
                print(f"text matches {band:<9} {len(times):>4} queries  p50 {p50:7.2f} ms  "
                      f"p95 {p95:7.2f} ms  max {max(times):7.2f} ms")
            profiled(f"{len(chosen)} searches whose text matches {band}",
                     lambda chosen=chosen: [backend.search(r) for r in chosen], lines=14)
        backend.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
