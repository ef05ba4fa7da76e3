"""The API's description: the OpenAPI document for programs and its page for people, both
from ``webapp.openapi``."""

from __future__ import annotations

from flask import Blueprint, Response, jsonify, render_template

from webapp import apiguide, openapi

bp = Blueprint("docs", __name__)


@bp.get("/api/v1/openapi.json")
def openapi_json() -> Response:
    return jsonify(openapi.document())


@bp.get("/api")
def api_page() -> str:
    doc = openapi.document()
    return render_template("api.html", doc=doc, groups=apiguide.groups(doc))
