"""Polite retries: back off before retrying a failed request, as long as Retry-After asks."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

from scrapy.downloadermiddlewares.retry import RetryMiddleware


def retry_after(value: bytes | None) -> float | None:
    """Seconds from a Retry-After header: a number of seconds or an HTTP date."""
    if not value:
        return None
    text = value.decode("latin-1").strip()
    if text.isdigit():
        return float(text)
    try:
        return max(0.0, (parsedate_to_datetime(text) - datetime.now(UTC)).total_seconds())
    except (TypeError, ValueError):
        return None


class BackoffRetryMiddleware(RetryMiddleware):
    """Scrapy's retry rules, plus a wait before each retry.

    The wait doubles with every retry of the same request (RETRY_BACKOFF_BASE seconds first) and
    is as long as the server's Retry-After when it sends one, never longer than RETRY_MAX_WAIT.
    """

    def __init__(self, settings) -> None:
        super().__init__(settings)
        self.base = settings.getfloat("RETRY_BACKOFF_BASE", 1.0)
        self.max_wait = settings.getfloat("RETRY_MAX_WAIT", 120.0)

    async def process_response(self, request, response, spider=None):
        retry = super().process_response(request, response)
        if retry is not response:
            await self._wait(request, retry_after(response.headers.get(b"Retry-After")))
        return retry

    async def process_exception(self, request, exception, spider=None):
        retry = super().process_exception(request, exception)
        if retry is not None:
            await self._wait(request, None)
        return retry

    async def _wait(self, request, asked: float | None) -> None:
        attempt = request.meta.get("retry_times", 0)
        delay = asked if asked is not None else self.base * 2**attempt
        if delay > 0:
            self.crawler.stats.inc_value("marketpass/retry_wait_s", min(delay, self.max_wait))
            await asyncio.sleep(min(delay, self.max_wait))
