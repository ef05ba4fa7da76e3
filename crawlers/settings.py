"""Scrapy settings shared by every MarketPass spider: polite by default."""

import os


def _env(name: str, default: str) -> str:
    return os.environ.get(name, "").strip() or default


BOT_NAME = "marketpass"
# Where Scrapy's loader finds the sources: ours, and any a deployment keeps in packages of its
# own (MARKETPASS_SPIDER_MODULES: importable names, comma-separated; each package's recordings
# in sources/<spider>/ beside it).
SPIDER_MODULES = ["crawlers.spiders", *filter(None, (
    m.strip() for m in os.environ.get("MARKETPASS_SPIDER_MODULES", "").split(",")))]
# Who is crawling and where to reach them (MARKETPASS_CONTACT_URL: the deployment's contact page).
_CONTACT = os.environ.get("MARKETPASS_CONTACT_URL", "").strip()
USER_AGENT = "MarketPass/0.1 (open conformity-assessment information service" + (
    f"; +{_CONTACT})" if _CONTACT else ")")
ROBOTSTXT_OBEY = True
CONCURRENT_REQUESTS_PER_DOMAIN = 2
# Seconds between requests to one site (MARKETPASS_CRAWL_DELAY) and before a request gives up.
DOWNLOAD_DELAY = float(_env("MARKETPASS_CRAWL_DELAY", "0.5"))
DOWNLOAD_TIMEOUT = float(_env("MARKETPASS_DOWNLOAD_TIMEOUT", "60"))
# Largest response (after decompression too: Scrapy checks both) a crawl accepts; a
# document or export bigger than this is refused and logged, not read into memory.
DOWNLOAD_MAXSIZE = int(_env("MARKETPASS_DOWNLOAD_MAXSIZE", str(64 * 1024 * 1024)))
DOWNLOAD_WARNSIZE = DOWNLOAD_MAXSIZE // 4
AUTOTHROTTLE_ENABLED = True
AUTOTHROTTLE_START_DELAY = DOWNLOAD_DELAY * 2
AUTOTHROTTLE_TARGET_CONCURRENCY = 1.0
RETRY_TIMES = 3
RETRY_HTTP_CODES = [429, 500, 502, 503, 504, 522, 524, 408]
# First wait before a retry, doubled each time (a server's Retry-After wins).
RETRY_BACKOFF_BASE = float(_env("MARKETPASS_RETRY_BACKOFF", "2.0"))
RETRY_MAX_WAIT = 300.0
DOWNLOADER_MIDDLEWARES = {
    "scrapy.downloadermiddlewares.retry.RetryMiddleware": None,
    "crawlers.middlewares.BackoffRetryMiddleware": 550,
}
# Responses of live crawls are cached for a day: a re-run does not hit the publisher again.
HTTPCACHE_ENABLED = _env("MARKETPASS_HTTPCACHE", "on") != "off"
HTTPCACHE_EXPIRATION_SECS = 86_400
HTTPCACHE_DIR = os.environ.get("MARKETPASS_HTTPCACHE_DIR", "").strip() or os.path.join(
    os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "var", "httpcache")
HTTPCACHE_IGNORE_HTTP_CODES = [429, 500, 502, 503, 504]
HTTPCACHE_IGNORE_SCHEMES = ["file"]
ITEM_PIPELINES = {
    "crawlers.pipelines.ValidatePipeline": 100,
    "crawlers.pipelines.StorePipeline": 800,
}
TELNETCONSOLE_ENABLED = False
# No remote-control HTTP port: crawls are started from the command line or a scheduler.
REMOTE_CONTROL_ENABLED = False
LOG_LEVEL = "INFO"
FEED_EXPORT_ENCODING = "utf-8"
