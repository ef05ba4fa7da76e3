"""The curated knowledge in memory for this app, and what the views take from it."""

from __future__ import annotations

import hashlib
import threading

from flask import current_app, g

from search import jsonio
from search.expand import Expansion, expand
from search.matcher import Knowledge, knowledge_records
from webapp.extensions import marketpass

_lock = threading.Lock()


def generation() -> str:
    """The index's generation, asked once a request: every process sees a crawl's or another
    process's change on its next request, and one request uses one knowledge base throughout."""
    if "mp_generation" not in g:
        g.mp_generation = marketpass.backend.generation()
    return g.mp_generation


def knowledge() -> Knowledge:
    """The curated records in memory, one copy per app, read again whenever the index's
    generation changes (a crawl, a changed record with the same counts, a rebuild). Built
    again only when they changed: indexing them for the matcher takes a quarter of a second,
    and most writes are crawls of notifications."""
    key = generation()
    with _lock:
        cached = current_app.extensions.get("marketpass_knowledge")
        if cached is None or cached[0] != key:
            records = knowledge_records(marketpass.backend)
            digest = hashlib.blake2b(jsonio.dumps(records).encode(), digest_size=16).digest()
            if cached is not None and cached[1] == digest:
                kb = cached[2]
                kb.index_changed()
            else:
                kb = Knowledge(records)
            cached = (key, digest, kb)
            current_app.extensions["marketpass_knowledge"] = cached
        return cached[2]


def widen(text: str) -> Expansion:
    """The query text widened across languages (see search.expand); without words there is
    nothing to widen, and the knowledge base is not consulted."""
    if not text.strip():
        return Expansion(text, ())
    return expand(text, knowledge().index)
