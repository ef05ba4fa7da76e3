"""The knowledge base: how complete and how well verified it is, per market."""

from __future__ import annotations

from flask import Blueprint, Response, jsonify, render_template
from flask_babel import format_percent

from search.coverage import report
from webapp.extensions import marketpass

bp = Blueprint("kb", __name__)


@bp.get("/kb/coverage")
def coverage() -> str:
    return render_template("kb_coverage.html", report=report(marketpass.store),
                           percent=format_percent)


@bp.get("/api/v1/kb/coverage")
def coverage_json() -> Response:
    """The JSON twin of the coverage page."""
    return jsonify(report(marketpass.store))
