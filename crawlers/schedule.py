"""When each source is due: its declared schedule against its last successful crawl.

``marketpass schedule`` runs what is due, one crawl after another, each in a process of its own
(Scrapy's reactor runs once a process); a source whose crawl is already running (in another
process, on this host) is not started twice. (When a source is stale, from the crawl log
alone, is ``search.freshness``'s to say.) After the crawls, alerts go out: at once when they
changed notifications (or a failed delivery is due again), and as a digest once a day.
"""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

from crawlers.run import SPIDERS
from search.alerts import AlertStore
from search.freshness import last_success
from search.store import RecordStore


def due(store: RecordStore, now: datetime | None = None) -> list[str]:
    """The scheduled sources whose last successful crawl is older than their schedule (or
    that never ran), and that are not being crawled right now."""
    now = now or datetime.now(UTC)
    running = {c["source"] for c in store.running_crawls()}
    out = []
    for name, spider in SPIDERS.items():
        if spider.schedule_days is None or name in running:
            continue
        last = last_success(store, name)
        if last is None or now - last >= timedelta(days=spider.schedule_days):
            out.append(name)
    return out


def run_due(store: RecordStore, replay: bool = False) -> dict[str, int]:
    """Crawl every due source once, in turn; each crawl's exit status."""
    store.clear_interrupted()  # a killed crawl no longer counts as running
    results = {}
    for name in due(store):
        command = [sys.executable, "-m", "webapp.cli", "crawl", name,
                   *(["--replay"] if replay else [])]
        # The crawl's own report goes to stderr: stdout says what the schedule did.
        results[name] = subprocess.run(command, check=False, stdout=sys.stderr).returncode
    return results


def alerts_mark(location: Path | str) -> int:
    """Where the change log ends before the crawls, to tell afterwards whether they changed
    notifications."""
    return AlertStore(location).history_end()


def run_alerts(location: Path | str, mark: int, now: datetime | None = None) -> dict[str, int]:
    """``alerts send`` when notifications changed past ``mark`` or a retry is due, and
    ``alerts send --digest`` on the first look of each day (UTC), each only where there are
    subscriptions to send to; each run's exit status."""
    now = now or datetime.now(UTC)
    alerts = AlertStore(location)
    runs = {}
    if alerts.retries_due(now) or (alerts.any_active("immediate")
                                   and alerts.notifications_changed(mark)):
        runs["immediate"] = []
    if alerts.any_active("daily") and alerts.meta("last_digest") != now.date().isoformat():
        runs["digest"] = ["--digest"]
    alerts.close()
    command = [sys.executable, "-m", "webapp.cli", "alerts", "send"]
    return {what: subprocess.run([*command, *flags], check=False, stdout=sys.stderr).returncode
            for what, flags in runs.items()}
