"""The search interface every backend implements, and the choice of backend from settings."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable

from search.fields import TEXT_FIELDS, Document
from search.highlight import highlight
from search.query import Hit, SearchRequest, SearchResult
from search.settings import Settings

# The deepest result a search may ask for (page × per_page), the same on both backends: it is
# Elasticsearch's default index.max_result_window, beyond which it refuses a page.
RESULT_WINDOW = 10_000


class BackendError(RuntimeError):
    """The backend cannot be reached or refused a write; the message says which and why."""


class SearchBackend(ABC):
    """Idempotent writes by id, reads by id, and searches over a ``SearchRequest``."""

    name: str = ""

    @abstractmethod
    def upsert(self, docs: Iterable[Document]) -> int:
        """Add or replace documents by id; returns how many were written."""

    @abstractmethod
    def delete(self, ids: Iterable[str]) -> int:
        """Remove documents by id; returns how many existed."""

    @abstractmethod
    def get(self, doc_id: str) -> dict | None:
        """The stored record of one document, or None."""

    @abstractmethod
    def counts(self) -> dict[str, int]:
        """Number of documents by kind."""

    @abstractmethod
    def search(self, request: SearchRequest) -> SearchResult:
        """Hits of one page, the total and exact facet counts."""

    @abstractmethod
    def rebuild(self, docs: Iterable[Document], size: int | None = None) -> int:
        """Replace the whole index; readers see the old index until the new one is complete.
        ``size``: how many documents are coming, when the caller knows (a backend may write a
        large rebuild differently)."""

    @abstractmethod
    def generation(self) -> str:
        """A value that changes whenever the index's content changes (a write, a delete, a
        rebuild), by any process; cheap enough to compare on every request."""

    @abstractmethod
    def status(self) -> dict:
        """Backend name, mapping version, reachability and counts, for /healthz and the CLI."""

    def count(self, kind: str | None = None) -> int:
        counts = self.counts()
        return counts.get(kind, 0) if kind else sum(counts.values())

    def close(self) -> None:  # noqa: B027 - most backends have nothing to release
        """Release connections; the backend may be used again afterwards."""


def add_highlights(hits: list[Hit], texts: list[dict[str, str]], terms: set[str]) -> None:
    """Fill each hit's highlights from its document's text fields (shared by all backends)."""
    for hit, text in zip(hits, texts, strict=True):
        for name in TEXT_FIELDS:
            if fragments := highlight(text.get(name, ""), terms):
                hit.highlights[name] = fragments


def open_backend(settings: Settings) -> SearchBackend:
    """Elasticsearch when ``MARKETPASS_SEARCH_URL`` is set, else the embedded SQLite index."""
    if settings.search_url:
        from search.es_backend import ElasticsearchBackend

        return ElasticsearchBackend.from_settings(settings)
    from search.sqlite_backend import SqliteBackend

    return SqliteBackend(settings.index_path)
