"""The JSON API under /api/v1: the same results as the HTML pages, for programs."""

from __future__ import annotations

from flask import Blueprint, Response, abort, jsonify, request
from flask_babel import gettext as _

from search.links import links_of
from webapp import present
from webapp.extensions import marketpass
from webapp.params import search_request

bp = Blueprint("api", __name__)


@bp.get("/search")
def search() -> Response:
    return jsonify(present.search(search_request(request.args)))


@bp.get("/records/<path:record_id>")
def record(record_id: str) -> Response:
    data = marketpass.backend.get(record_id)
    if data is None:
        abort(404, _("There is no record with the identifier “%(id)s”.", id=record_id))
    # What is changing (a scheme, a regulation) or what may change (a notification).
    return jsonify({**present.record(data), **links_of(marketpass.backend, data)})


@bp.get("/crawls")
def crawls() -> Response:
    """The JSON twin of "About the data": the last crawl of each source."""
    return jsonify({"items": present.crawls(marketpass.store)})


@bp.get("/counts")
def counts() -> Response:
    """The numbers of records by kind shown on the home page."""
    return jsonify(marketpass.backend.counts())
