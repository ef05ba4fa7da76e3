"""Extensions, created once at import and bound to each app with ``init_app``."""

from __future__ import annotations

import threading

from flask import Flask, current_app
from flask_babel import Babel

from search.backend import BackendError, SearchBackend, open_backend
from search.settings import Settings
from search.store import EmptyStore, RecordStore, StoreMissing

babel = Babel()


class _State:
    """One app's settings and its search backend, opened on first use.

    Opening lazily means a pre-forking server (gunicorn) opens one backend per worker process
    after the fork, instead of sharing connections made in the parent.
    """

    def __init__(self, settings: Settings, backend: SearchBackend | None) -> None:
        self.settings = settings
        self._backend = backend
        self._store: RecordStore | None = None
        self._lock = threading.Lock()

    def backend(self) -> SearchBackend:
        if self._backend is None:
            with self._lock:
                if self._backend is None:
                    index = self.settings.index_path
                    if not self.settings.search_url and not index.exists():
                        # Never create the index here: a deleted one would come back empty
                        # and the site would answer "nothing found" everywhere.
                        raise BackendError(f"no index at {index}")
                    self._backend = open_backend(self.settings)
        return self._backend

    def store(self) -> RecordStore:
        """The record store, for the crawl log (pages read records through the backend); an
        empty one when there is no database (the pages then say nothing was crawled)."""
        if self._store is None:
            with self._lock:
                if self._store is None:
                    try:
                        self._store = RecordStore(self.settings.store_location, create=False)
                    except StoreMissing:
                        return EmptyStore()
        return self._store


class MarketPass:
    """Access to the current app's settings and search backend from views."""

    key = "marketpass"

    def init_app(
        self, app: Flask, settings: Settings, backend: SearchBackend | None = None
    ) -> None:
        app.extensions[self.key] = _State(settings, backend)

    @property
    def settings(self) -> Settings:
        return current_app.extensions[self.key].settings

    @property
    def backend(self) -> SearchBackend:
        return current_app.extensions[self.key].backend()

    @property
    def store(self) -> RecordStore:
        return current_app.extensions[self.key].store()


marketpass = MarketPass()
