"""Run a spider over its recorded responses without Scrapy's engine (fast, in-process).

Requests for ``file://`` URLs are answered from disk and their callbacks followed, so a test
sees every item a replayed crawl would yield.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import unquote, urlparse

import scrapy
from scrapy.http import TextResponse
from scrapy.utils.test import get_crawler

from crawlers.pipelines import records_in


def replay(spider_class, **kwargs) -> tuple[scrapy.Spider, list[dict]]:
    spider = spider_class.from_crawler(get_crawler(spider_class), replay=True, **kwargs)
    queue, items = list(spider.initial_requests()), []
    while queue:
        request = queue.pop(0)
        path = Path(unquote(urlparse(request.url).path))
        response = TextResponse(url=request.url, body=path.read_bytes(), encoding="utf-8",
                                request=request)
        callback = request.callback or spider.parse
        for result in callback(response, **request.cb_kwargs) or ():
            if isinstance(result, scrapy.Request):
                queue.append(result)
            else:
                items.extend(records_in(result))  # batches of an import, flattened
    return spider, items
