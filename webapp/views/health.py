"""``/healthz`` for load balancers and operators: is the search backend readable?"""

from __future__ import annotations

from flask import Blueprint, Response, current_app, jsonify

from search.backend import BackendError
from webapp.extensions import marketpass

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz() -> tuple[Response, int]:
    name = "elasticsearch" if marketpass.settings.search_url else "sqlite"
    try:
        backend = marketpass.backend  # opening it may fail too (Elasticsearch unreachable)
        name = backend.name
        status = backend.status()
    except BackendError as exc:
        # The reason names hosts and paths: it goes to the log, not to the public answer.
        current_app.logger.error("health check failed: %s", exc)
        return jsonify(status="error", backend=name, mapping_version=None, counts={}), 503
    return jsonify(status="ok", backend=status["backend"],
                   mapping_version=status["mapping_version"], counts=status["counts"]), 200
