"""JSON for stored records: compact UTF-8 text, fast (orjson), keys sorted when it matters.

Every record passes through JSON several times on its way from a crawl to the index (hash,
staging, store, index); the standard library's encoder was a tenth of a crawl's time.
"""

from __future__ import annotations

import orjson


def dumps(value: object, sort_keys: bool = False) -> str:
    return orjson.dumps(value, option=orjson.OPT_SORT_KEYS if sort_keys else 0).decode()


def loads(text: str | bytes) -> object:
    return orjson.loads(text)
