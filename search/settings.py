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
DEFAULT_SECRET_KEY = "dev-not-secret"


def _env(name: str, default: str) -> str:
    return os.environ.get(name, "").strip() or default


@dataclass(frozen=True)
class Settings:
    # SQLite file holding the record store (and, beside it, the embedded search index's).
    db_path: Path = field(
        default_factory=lambda: Path(_env("MARKETPASS_DB", str(DEFAULT_DB)))
    )
    # PostgreSQL URL (postgresql://user:pass@host/db) of a record store shared by every app
    # process and crawl; empty keeps the store in the SQLite file above.
    database_url: str = field(default_factory=lambda: _env("MARKETPASS_DATABASE_URL", ""))
    # Elasticsearch URL, or several nodes' URLs separated by commas; when set, searches go to
    # Elasticsearch instead of SQLite FTS5.
    search_url: str = field(default_factory=lambda: _env("MARKETPASS_SEARCH_URL", ""))
    # Prefix of Elasticsearch index and alias names, so several deployments can share a cluster.
    index_prefix: str = field(default_factory=lambda: _env("MARKETPASS_INDEX_PREFIX", "marketpass"))
    # Elasticsearch API key: "id:key" or the base64 "encoded" form the cluster returned.
    search_api_key: str = field(default_factory=lambda: _env("MARKETPASS_SEARCH_API_KEY", ""))
    # Elasticsearch user and password (basic auth), when there is no API key.
    search_user: str = field(default_factory=lambda: _env("MARKETPASS_SEARCH_USER", ""))
    search_password: str = field(default_factory=lambda: _env("MARKETPASS_SEARCH_PASSWORD", ""))
    # CA certificate (PEM file) that signed the cluster's HTTPS certificate (ES 8's http_ca.crt).
    search_ca_certs: str = field(default_factory=lambda: _env("MARKETPASS_SEARCH_CA_CERTS", ""))
    # Seconds one Elasticsearch request may take on pages and the API: a hung node is a 503
    # after this, not a request blocked for minutes. Bulk writes and rebuilds wait longer.
    search_timeout: float = field(
        default_factory=lambda: float(_env("MARKETPASS_SEARCH_TIMEOUT", "3")))
    # Shards of a new index: one keeps facet counts and scores independent of routing.
    search_shards: int = field(default_factory=lambda: int(_env("MARKETPASS_SEARCH_SHARDS", "1")))
    # Replicas of each shard (0 suits one node; 1 or more on a cluster of several nodes).
    search_replicas: int = field(
        default_factory=lambda: int(_env("MARKETPASS_SEARCH_REPLICAS", "0")))
    # Seconds a rebuild's lock lives without being renewed: a killed rebuild blocks others
    # for at most this long, and its partial index is removed after it.
    search_lock_seconds: float = field(
        default_factory=lambda: float(_env("MARKETPASS_SEARCH_LOCK_SECONDS", "60")))
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
    # Secret for signing cookies; set it in production (MARKETPASS_ENV=production refuses the
    # default).
    secret_key: str = field(
        default_factory=lambda: _env("MARKETPASS_SECRET_KEY", DEFAULT_SECRET_KEY))
    # Log level of the app and the crawlers.
    log_level: str = field(default_factory=lambda: _env("MARKETPASS_LOG_LEVEL", "INFO"))
    # "production" refuses to start with the default secret key.
    environment: str = field(default_factory=lambda: _env("MARKETPASS_ENV", "development"))
    # Served over HTTPS (directly or behind a TLS terminator): HSTS and Secure cookies.
    https: bool = field(default_factory=lambda: _env("MARKETPASS_HTTPS", "0") == "1")
    # Host names the site answers to (comma-separated); empty accepts any valid host name.
    # Absolute URLs (API, Atom, iCal, exports) are built from the request's host: in
    # production list the public names so a forged Host header gets a 400.
    trusted_hosts: tuple[str, ...] = field(default_factory=lambda: tuple(
        h.strip() for h in _env("MARKETPASS_TRUSTED_HOSTS", "").split(",") if h.strip()))
    # Proxies in front of the app (a TLS terminator is one) whose X-Forwarded-For, -Proto
    # and -Host headers are believed; 0 believes none.
    proxy_hops: int = field(default_factory=lambda: int(_env("MARKETPASS_PROXY_HOPS", "0")))
    # Rate limits per client (Flask-Limiter notation); "0" as MARKETPASS_RATELIMIT turns
    # them off. The storage is shared by every app process: memory:// holds for one
    # process only, redis://host:6379 for all of them.
    ratelimit: bool = field(default_factory=lambda: _env("MARKETPASS_RATELIMIT", "1") != "0")
    ratelimit_storage_url: str = field(
        default_factory=lambda: _env("MARKETPASS_RATELIMIT_STORAGE_URL", "memory://"))
    ratelimit_default: str = field(
        default_factory=lambda: _env("MARKETPASS_RATELIMIT_DEFAULT", "300 per minute"))
    ratelimit_api: str = field(
        default_factory=lambda: _env("MARKETPASS_RATELIMIT_API", "120 per minute;20 per second"))
    ratelimit_match: str = field(default_factory=lambda: _env(
        "MARKETPASS_RATELIMIT_MATCH", "60 per minute;10 per 5 seconds"))
    ratelimit_heavy: str = field(
        default_factory=lambda: _env("MARKETPASS_RATELIMIT_HEAVY", "30 per minute"))

    # Rate limit per client on subscribing to alerts (the API and the form together).
    ratelimit_subscribe: str = field(default_factory=lambda: _env(
        "MARKETPASS_RATELIMIT_SUBSCRIBE", "10 per hour;3 per minute"))
    # --- alerts (search.alerts, search.delivery, webapp.alerts) ---
    # SMTP server for e-mail alerts: smtp://user:pass@host:587 (STARTTLS when offered) or
    # smtps://…:465 (implicit TLS); empty switches e-mail alerts off (webhooks still work).
    smtp_url: str = field(default_factory=lambda: _env("MARKETPASS_SMTP_URL", ""))
    # Sender of alert messages.
    mail_from: str = field(default_factory=lambda: _env(
        "MARKETPASS_MAIL_FROM", "MarketPass <alerts@localhost>"))
    # The site's public address: links in messages and webhooks are built from it, never
    # from a request's Host header.
    public_url: str = field(default_factory=lambda: _env(
        "MARKETPASS_PUBLIC_URL", "http://127.0.0.1:8000").rstrip("/"))
    # 1 lets webhooks point at loopback and private networks (tests, a closed intranet).
    webhook_allow_private: bool = field(
        default_factory=lambda: _env("MARKETPASS_WEBHOOK_ALLOW_PRIVATE", "0") == "1")
    # Seconds a webhook endpoint has to answer.
    webhook_timeout: float = field(
        default_factory=lambda: float(_env("MARKETPASS_WEBHOOK_TIMEOUT", "10")))
    # Consecutive failed deliveries after which a subscription is disabled.
    alerts_max_failures: int = field(
        default_factory=lambda: int(_env("MARKETPASS_ALERTS_MAX_FAILURES", "8")))
    # First wait before a failed delivery is tried again, in seconds; doubled each time.
    alerts_retry_seconds: int = field(
        default_factory=lambda: int(_env("MARKETPASS_ALERTS_RETRY_SECONDS", "300")))
    # Subscriptions one e-mail address or webhook may ask for in 24 hours.
    subscribe_per_address: int = field(
        default_factory=lambda: int(_env("MARKETPASS_SUBSCRIBE_PER_ADDRESS", "5")))

    @property
    def index_path(self) -> Path:
        return index_path(self.db_path)

    @property
    def store_location(self) -> str | Path:
        """Where the record store is: the PostgreSQL URL when set, else the SQLite file."""
        return self.database_url or self.db_path

    def today_date(self) -> date:
        return date.fromisoformat(self.today) if self.today else date.today()


def index_path(db_path: Path) -> Path:
    """The embedded search index of the SQLite file ``db_path``: a file of its own beside it
    (``x.db`` → ``x.index.db``), which a rebuild replaces by a new one instead of writing
    every page twice through the shared file's log."""
    return db_path.with_name(f"{db_path.stem}.index{db_path.suffix}")


def load() -> Settings:
    """Read the environment now (tests change it between app instances)."""
    return Settings()
