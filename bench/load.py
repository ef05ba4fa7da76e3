"""Load benchmark: mixed API traffic on gunicorn, as the public would send it.

The index holds the curated knowledge base, the HS nomenclature and N synthetic notifications
(``bench.corpus``, fixed seed, labelled as such). Gunicorn serves it with ``gunicorn.conf.py``
(``WEB_CONCURRENCY`` workers, gthread) on loopback; 16 client threads with keep-alive
connections send, for 60 s, a fixed mix: searches (words of the corpus, Chinese words),
notification filters, record pages, matcher questions, the agencies' JSON, and a few legal
1,000-character queries. The rate limits are off for this run (one client address would
otherwise meet its 429s: what is measured is the capacity behind them). Then 200 heavy queries
one after another give ``heavy_q_p99_ms``. Gunicorn is stopped by its PID.

``python -m bench.load [--records N] [--seconds S] [--concurrency C]`` adds ``load_rps``,
``load_p50_ms``, ``load_p99_ms``, ``load_errors`` and ``heavy_q_p99_ms`` to
``bench/results/latest.json``.
"""

from __future__ import annotations

import argparse
import http.client
import os
import random
import socket
import string
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from urllib.parse import quote, urlencode

import numpy as np

from bench.corpus import SEED, ZH_WORDS, records
from bench.match import knowledge, questions
from bench.run import RESULTS, merge_results
from search.documents import to_document
from search.settings import index_path
from search.sqlite_backend import SqliteBackend

ROOT = Path(__file__).resolve().parent.parent
MEMBERS = ("US", "CN", "EU", "BR", "KE", "SA", "JP", "IN", "KR", "MX")
WORDS = ("battery", "toys", "vehicles", "labelling", "electrical", "food", "medical devices",
         "cosmetics", "energy efficiency", "radio equipment")


def heavy_query(rng: random.Random) -> str:
    """A legal 1,000-character query of made-up words (none in the vocabulary)."""
    words = ("".join(rng.choice(string.ascii_lowercase) for _ in range(rng.randint(4, 11)))
             for _ in range(200))
    return " ".join(words)[:1000]


def paths(kb: list[dict], ids: list[str], n: int, rng: random.Random) -> list[str]:
    """The request mix, in a fixed order."""
    matches = questions(kb, n // 6 + 1, rng)
    makers = [
        (30, lambda: "/api/v1/search?" + urlencode({"q": rng.choice([*WORDS, *ZH_WORDS])})),
        (25, lambda: "/api/v1/notifications?" + urlencode(
            [("member", rng.choice(MEMBERS)), ("q", rng.choice(WORDS)),
             ("sort", rng.choice(("newest", "deadline")))])),
        (15, lambda: "/api/v1/records/" + quote(rng.choice(ids), safe="")),
        (15, lambda: "/api/v1/match?" + rng.choice(matches)),
        (10, lambda: rng.choice(("/api/v1/iecee", "/api/v1/arrangements", "/api/v1/indicators",
                                 "/api/v1/bodies?country=CN", "/api/v1/countries/KR",
                                 "/api/v1/notifications/charts"))),
        (5, lambda: rng.choice(("/api/v1/search?", "/api/v1/notifications?"))
         + urlencode({"q": heavy_query(rng)})),
    ]
    weights = [w for w, _ in makers]
    return [rng.choices(makers, weights)[0][1]() for _ in range(n)]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_gunicorn(db: Path, port: int, wait: float = 60) -> subprocess.Popen:
    env = {**os.environ, "MARKETPASS_DB": str(db), "MARKETPASS_SEARCH_URL": "",
           "MARKETPASS_RATELIMIT": "0", "MARKETPASS_TODAY": "2025-06-01", "HOST": "127.0.0.1",
           "PORT": str(port), "MARKETPASS_LOG_LEVEL": "WARNING"}
    process = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "-c", str(ROOT / "gunicorn.conf.py"),
         "--access-logfile", "/dev/null"], cwd=ROOT, env=env,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    # Ready once the matcher answers: the knowledge is loaded.
    return ready(process, port, "/api/v1/match?product=charger&market=KR", "gunicorn", wait)


def ready(process: subprocess.Popen, port: int, path: str, name: str, wait: float = 60
          ) -> subprocess.Popen:
    """The server process once ``path`` answers 200 on loopback; killed after ``wait``
    seconds without. One request is given the whole wait: a large index takes seconds to load,
    and a request given up and sent again would queue behind the first."""
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port,
                                              timeout=max(1.0, deadline - time.monotonic()))
            conn.request("GET", path)
            if conn.getresponse().status == 200:
                return process
        except OSError:
            time.sleep(0.3)
    process.kill()
    raise RuntimeError(f"{name} did not answer within {wait:.0f} s")


def drive(port: int, urls: list[str], seconds: float, concurrency: int) -> list[tuple]:
    """(latency s, status) of every request the client threads sent until the deadline."""
    results: list[tuple] = []
    lock = threading.Lock()
    deadline = time.monotonic() + seconds

    def client(offset: int) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        mine, i = [], offset
        while time.monotonic() < deadline:
            url = urls[i % len(urls)]
            i += concurrency
            start = time.perf_counter()
            try:
                conn.request("GET", url)
                response = conn.getresponse()
                response.read()
                status = response.status
            except (OSError, http.client.HTTPException):
                status = 0
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            mine.append((time.perf_counter() - start, status, url))
        conn.close()
        with lock:
            results.extend(mine)

    threads = [threading.Thread(target=client, args=(k,)) for k in range(concurrency)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.load", description=__doc__)
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--concurrency", type=int, default=16)
    args = parser.parse_args(argv)
    rng = random.Random(SEED + 9)
    kb = knowledge()
    notes = records(args.records, SEED)
    urls = paths(kb, [r["id"] for r in rng.sample(notes, 2000)], 20_000, rng)
    heavy = [("/api/v1/search?" if i % 2 else "/api/v1/notifications?")
             + urlencode({"q": heavy_query(rng)}) for i in range(200)]
    with tempfile.TemporaryDirectory(prefix="marketpass-load-") as tmp:
        db = Path(tmp) / "marketpass.db"
        backend = SqliteBackend(index_path(db))
        backend.rebuild(to_document(r) for r in [*notes, *kb])
        backend.close()
        port = _free_port()
        server = start_gunicorn(db, port)
        try:
            results = drive(port, urls, args.seconds, args.concurrency)
            heavy_times = []
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            heavy_errors = 0
            for url in heavy:
                start = time.perf_counter()
                conn.request("GET", url)
                response = conn.getresponse()
                response.read()
                heavy_times.append(time.perf_counter() - start)
                heavy_errors += response.status != 200
            conn.close()
        finally:
            server.terminate()
            server.wait(timeout=30)
    latencies = np.array([t for t, _s, _u in results]) * 1000
    errors = [(s, u) for _t, s, u in results if not 200 <= s < 400]
    for status, url in errors[:5]:
        print(f"error {status}: {url[:120]}")
    figures = {
        "load_records": args.records + len(kb),
        "load_workers": int(os.environ.get("WEB_CONCURRENCY", "2")),
        "load_concurrency": args.concurrency,
        "load_seconds": args.seconds,
        "load_requests": len(results),
        "load_rps": round(len(results) / args.seconds, 1),
        "load_p50_ms": round(float(np.percentile(latencies, 50)), 2),
        "load_p99_ms": round(float(np.percentile(latencies, 99)), 2),
        "load_errors": len(errors),
        "heavy_q_requests": len(heavy_times),
        "heavy_q_errors": heavy_errors,
        "heavy_q_p99_ms": round(float(np.percentile(np.array(heavy_times) * 1000, 99)), 2),
    }
    merge_results(figures)
    print(f"targets: 0 errors, heavy_q_p99_ms ≤ 100; written to {RESULTS}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
