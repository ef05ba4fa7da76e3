"""Scrapy settings shared by every MarketPass spider."""

BOT_NAME = "marketpass"
SPIDER_MODULES = ["crawlers.spiders"]
USER_AGENT = "MarketPass (+https://github.com/marketpass; open conformity-assessment information)"
ROBOTSTXT_OBEY = True
CONCURRENT_REQUESTS_PER_DOMAIN = 2
DOWNLOAD_DELAY = 0.5
AUTOTHROTTLE_ENABLED = True
RETRY_TIMES = 3
ITEM_PIPELINES = {
    "crawlers.pipelines.ValidatePipeline": 100,
    "crawlers.pipelines.StorePipeline": 800,
}
REQUEST_FINGERPRINTER_IMPLEMENTATION = "2.7"
TELNETCONSOLE_ENABLED = False
LOG_LEVEL = "INFO"
FEED_EXPORT_ENCODING = "utf-8"
# No remote-control HTTP port: crawls are started from the command line or a scheduler.
REMOTE_CONTROL_ENABLED = False
