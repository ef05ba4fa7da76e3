"""When a curated fact counts as verified (crawlers/curated/README.md, "Provenance").

A source verifies when a qualifying publisher (the authority, the legislation, the scheme
owner, a recognised body) is quoted, with the day it was read, at the official address; copies
on unrelated hosts may only be where it was read, and document dumps and blogs never verify.
The hosts are data (``search/data/hosts.json``); these functions are the one place that applies
them, for the tests, ``python -m tools.kbcheck`` and the pages that show a source.
"""

from __future__ import annotations

import functools
import json
from pathlib import Path
from urllib.parse import urlparse

from search.records import QUALIFYING_PUBLISHERS

HOSTS_FILE = Path(__file__).with_name("data") / "hosts.json"
# Where an EU act is published; a regulation of the EU cites it there.
EUR_LEX = "eur-lex.europa.eu"


@functools.cache
def host_lists() -> dict[str, tuple[str, ...]]:
    data = json.loads(HOSTS_FILE.read_text(encoding="utf-8"))
    return {k: tuple(v) for k, v in data.items() if k in ("copies", "dumps", "blogs")}


def host(url: str | None) -> str:
    return (urlparse(url or "").hostname or "").lower()


def _matches(name: str, pattern: str) -> bool:
    if pattern.startswith("*."):
        return name.endswith(pattern[1:])
    return name == pattern or name.endswith("." + pattern)


def host_kind(url: str | None) -> str | None:
    """"copies", "dumps" or "blogs" when the URL's host is listed there, else None."""
    name = host(url)
    if not name:
        return None
    return next((kind for kind, patterns in host_lists().items()
                 if any(_matches(name, p) for p in patterns)), None)


def source_problems(source: dict) -> list[str]:
    """What is wrong with a source whatever its record says: an official address that is a
    copy, a dump or a blog posing as a qualifying publisher."""
    problems = []
    kind = host_kind(source.get("url"))
    if kind == "copies":
        problems.append(f"{source['url']}: a copy on an unrelated host may only be read_at; "
                        "give the official address as url")
    if kind in ("dumps", "blogs") and source.get("publisher_kind") in QUALIFYING_PUBLISHERS:
        problems.append(f"{source['url']}: {kind[:-1]} cannot be a {source['publisher_kind']}")
    return problems


def verifies(source: dict) -> bool:
    """Whether the source can confirm a fact on its own."""
    return (source.get("publisher_kind") in QUALIFYING_PUBLISHERS
            and bool(source.get("verified_on")) and bool((source.get("quote") or "").strip())
            and host_kind(source.get("url")) is None
            and host_kind(source.get("read_at")) not in ("dumps", "blogs"))


def record_problems(record: dict) -> list[str]:
    """Everything in one curated record that breaks the provenance rules."""
    rid = f"{record.get('kind')} {record.get('id')}"
    sources = record.get("sources") or []
    problems = [f"{rid}: {p}" for s in sources for p in source_problems(s)]
    if record.get("verified") and not any(verifies(s) for s in sources):
        problems.append(f"{rid}: verified, but no source verifies (a qualifying publisher, "
                        "verified_on and a quote, at an official address)")
    if (record.get("kind") == "regulation" and record.get("jurisdiction") == "EU"
            and not any(host(s.get("url")) == EUR_LEX for s in sources)):
        problems.append(f"{rid}: an EU act cites its EUR-Lex address")
    return problems


def read_from_copy(source: dict) -> bool:
    """Whether the page shows "read from a copy" beside the official address."""
    return bool(source.get("read_at")) and host(source.get("read_at")) != host(source["url"])
