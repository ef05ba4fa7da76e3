"""One search result or record, as the plain data both the HTML pages and the JSON API render."""

from __future__ import annotations

import math
import re
import unicodedata
from dataclasses import replace

from flask import url_for
from pypinyin import Style, lazy_pinyin

from search.freshness import freshness
from search.query import Hit, SearchRequest, SearchResult
from webapp.extensions import marketpass
from webapp.i18n import country_name
from webapp.knowledge import widen
from webapp.labels import kind_label, record_title

_HAN = re.compile(r"[\u3400-\u9fff]")


def name_key(name: str) -> tuple[str, str]:
    """A sort key for names in the reader's language without ICU: accents and other marks set
    aside, then case, so "Émirats" sorts with "Egypte", "ё" with "е" and "إ" with "ا"; Chinese
    names by their pinyin, tone by tone (阿联酋 a1 before 澳大利亚 ao4), as zh's CLDR collation."""
    folded = name.casefold()
    if _HAN.search(folded):
        return " ".join(lazy_pinyin(folded, style=Style.TONE3, neutral_tone_with_five=True)), folded
    base = "".join(c for c in unicodedata.normalize("NFKD", folded)
                   if not unicodedata.combining(c))
    return base, folded


def by_name(codes, name) -> list[str]:
    """Country codes in the reader's order of their names (``name`` gives a code's name)."""
    return sorted(codes, key=lambda c: name_key(name(c)))


def record_url(record_id: str) -> str:
    return url_for("pages.record", record_id=record_id, _external=True)


def item(hit: Hit) -> dict:
    record = hit.record
    return {
        "id": hit.id,
        "kind": hit.kind,
        "title": record_title(record),
        "url": record_url(hit.id),
        "highlights": hit.highlights,
        "source": record.get("source"),
        "source_url": record.get("source_url"),
        "fetched_at": record.get("fetched_at"),
        "record": record,
    }


def facet_label(name: str, value: str) -> str:
    if name == "kind":
        return kind_label(value)
    if name in ("country", "countries"):
        return country_name(value)
    return value


def result(found: SearchResult) -> dict:
    """The page of hits with totals and labelled facet counts."""
    return {
        "total": found.total,
        "page": found.page,
        "per_page": found.per_page,
        "pages": max(1, math.ceil(found.total / found.per_page)),
        "items": [item(hit) for hit in found.hits],
        "facets": {
            name: [{"value": v, "count": n, "label": facet_label(name, v)} for v, n in counts]
            for name, counts in found.facets.items()
        },
    }


def search(wanted: SearchRequest) -> dict:
    """A search, widened across languages when its words name a product in another one."""
    widened = widen(wanted.text)
    found = result(marketpass.backend.search(replace(wanted, text=widened.text)))
    return {**found, "also_searched": list(widened.added)}


def record(data: dict) -> dict:
    """A record with what any reader needs first: its title, address and provenance."""
    return {
        "id": data["id"],
        "kind": data["kind"],
        "title": record_title(data),
        "url": record_url(data["id"]),
        "source": data.get("source"),
        "source_url": data.get("source_url"),
        "fetched_at": data.get("fetched_at"),
        "content_hash": data.get("content_hash"),
        "record": data,
    }


def crawls(store) -> list[dict]:
    """Each source's last crawl: when, how it ended, and what it fetched, added and changed;
    when it last succeeded, and whether that is older than twice its schedule."""
    fresh = {f["source"]: f for f in freshness(store)}
    out = []
    for crawl in store.last_crawls():
        stats = crawl["stats"]
        out.append({
            "source": crawl["source"],
            "status": crawl["status"],
            "started_at": crawl["started_at"],
            "finished_at": crawl["finished_at"],
            "error": crawl["error"],
            "publisher": stats.get("publisher"),
            "dataset_url": stats.get("dataset_url"),
            "licence": stats.get("licence"),
            "mode": stats.get("mode"),
            "fetched": stats.get("fetched", 0),
            "new": stats.get("created", 0),
            "changed": stats.get("updated", 0),
            "unchanged": stats.get("unchanged", 0),
            "failed": stats.get("invalid", 0) + stats.get("skipped", 0) + stats.get("faults", 0),
            "faults": stats.get("fault_log", []),
            "reverified": reverification(stats.get("about", {})),
            "last_success": fresh.get(crawl["source"], {}).get("last_success"),
            "schedule_days": stats.get("schedule_days"),
            "stale": fresh.get(crawl["source"], {}).get("stale", False),
        })
    return out


def reverification(about: dict[str, dict]) -> list[dict]:
    """What re-checking the curated files against their sources changed, file by file (each
    file's header keeps its log: records checked, confirmed, changed, downgraded, added)."""
    out = []
    for name, header in sorted(about.items()):
        log = header.get("reverified") if isinstance(header, dict) else None
        if not isinstance(log, dict):
            continue
        lists = {k: v if isinstance(v := log.get(k) or [], list) else []
                 for k in ("confirmed", "added", "changed", "downgraded")}
        out.append({"file": name, "on": log.get("on"), "checked": log.get("checked"),
                    "confirmed": len(lists["confirmed"]), "added": len(lists["added"]),
                    "changed": [c if isinstance(c, dict) else {"id": str(c)}
                                for c in lists["changed"]],
                    "downgraded": [d if isinstance(d, dict) else {"id": str(d)}
                                   for d in lists["downgraded"]]})
    return out
