"""How fresh each source's data is, from the crawl log alone.

Each crawl's log keeps the source's declared schedule (``schedule_days``); a source is *stale*
when its last successful crawl is older than twice that. The page footer, "About the data",
``/healthz`` and ``marketpass index status`` show the same.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta


def last_success(store, source: str) -> datetime | None:
    """When the source's last successful crawl ended."""
    for crawl in store.last_successes():
        if crawl["source"] == source and crawl["finished_at"]:
            return datetime.fromisoformat(crawl["finished_at"])
    return None


def freshness(store, now: datetime | None = None) -> list[dict]:
    """Per source that ever finished a crawl: when, its schedule, whether it is stale."""
    now = now or datetime.now(UTC)
    out = []
    for crawl in store.last_successes():
        days = crawl["stats"].get("schedule_days")
        ended = datetime.fromisoformat(crawl["finished_at"])
        out.append({"source": crawl["source"], "last_success": crawl["finished_at"],
                    "schedule_days": days, "mode": crawl["stats"].get("mode"),
                    "stale": bool(days) and now - ended > timedelta(days=2 * days)})
    return sorted(out, key=lambda f: f["source"])


def stale(store, now: datetime | None = None) -> list[str]:
    return [f["source"] for f in freshness(store, now) if f["stale"]]
