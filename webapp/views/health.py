"""``/healthz`` for load balancers and operators: is the search backend readable?"""

from __future__ import annotations

from flask import Blueprint, Response, current_app, jsonify

from search.backend import BackendError
from search.db import ERRORS as DB_ERRORS
from search.freshness import stale
from search.indexing import drift
from webapp.extensions import marketpass

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz() -> tuple[Response, int]:
    """200 when the index answers and holds what the store holds; 503 (JSON, with the reason)
    when the backend cannot be read (a missing SQLite database is never created here), the
    index is empty, or it differs from the store (a crawl killed between its commit and its
    index write)."""
    name = "elasticsearch" if marketpass.settings.search_url else "sqlite"
    try:
        backend = marketpass.backend  # opening it may fail too (Elasticsearch unreachable)
        name = backend.name
        status = backend.status()
        off = drift(marketpass.store, backend) if marketpass.store.path else None
    except (BackendError, *DB_ERRORS) as exc:
        # The reason names hosts and paths: it goes to the log, not to the public answer.
        current_app.logger.error("health check failed: %s", exc)
        return jsonify(status="error", problem="backend unavailable", backend=name,
                       mapping_version=None, counts={}), 503
    body = {"backend": status["backend"], "mapping_version": status["mapping_version"],
            "counts": status["counts"],
            # Sources whose last success is older than twice their schedule: data getting old
            # is for operators to see, not a reason to take the site out of a load balancer.
            "stale": stale(marketpass.store)}
    if not sum(status["counts"].values()):
        return jsonify(status="error", problem="empty index", **body), 503
    if off:
        return jsonify(status="error", problem="index differs from the store", drift=off,
                       **body), 503
    return jsonify(status="ok", **body), 200
