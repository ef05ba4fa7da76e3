"""Settings, read once from ``MARKETPASS_*`` environment variables.

Every default works on a laptop: an SQLite file under ``var/`` and no external service.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DB = PROJECT_ROOT / "var" / "marketpass.db"


def _env(name: str, default: str) -> str:
    return os.environ.get(name, "").strip() or default


@dataclass(frozen=True)
class Settings:
    # SQLite file holding the record store and the embedded search index.
    db_path: Path = field(
        default_factory=lambda: Path(_env("MARKETPASS_DB", str(DEFAULT_DB)))
    )
    # Elasticsearch URL; when set, searches go to Elasticsearch instead of SQLite FTS5.
    search_url: str = field(default_factory=lambda: _env("MARKETPASS_SEARCH_URL", ""))
    # Prefix of Elasticsearch index and alias names, so several deployments can share a cluster.
    index_prefix: str = field(default_factory=lambda: _env("MARKETPASS_INDEX_PREFIX", "marketpass"))
    # "Today" for deadlines and "open for comment" (YYYY-MM-DD); empty means the real date.
    today: str = field(default_factory=lambda: _env("MARKETPASS_TODAY", ""))
    # Internal cut-off: comments are due this many days before the WTO deadline (?buffer_days=).
    buffer_days: int = field(default_factory=lambda: int(_env("MARKETPASS_BUFFER_DAYS", "5")))
    # Most rows a CSV or XLSX export holds; a longer list is cut and says so.
    export_max_rows: int = field(
        default_factory=lambda: int(_env("MARKETPASS_EXPORT_MAX_ROWS", "10000"))
    )
    # Entries of an Atom or iCalendar feed (the newest notifications of the search).
    feed_size: int = field(default_factory=lambda: int(_env("MARKETPASS_FEED_SIZE", "50")))
    # Locale used when neither ?lang=, the cookie nor Accept-Language name a supported one.
    default_locale: str = field(default_factory=lambda: _env("MARKETPASS_DEFAULT_LOCALE", "en"))
    # Secret for signing cookies; set it in production.
    secret_key: str = field(default_factory=lambda: _env("MARKETPASS_SECRET_KEY", "dev-not-secret"))
    # Log level of the app and the crawlers.
    log_level: str = field(default_factory=lambda: _env("MARKETPASS_LOG_LEVEL", "INFO"))

    def today_date(self) -> date:
        return date.fromisoformat(self.today) if self.today else date.today()


def load() -> Settings:
    """Read the environment now (tests change it between app instances)."""
    return Settings()
