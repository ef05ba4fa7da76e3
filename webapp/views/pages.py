"""HTML pages: home, search and one record. Their JSON twins are in ``api``."""

from __future__ import annotations

from flask import Blueprint, Response, abort, redirect, render_template, request, url_for
from flask_babel import gettext as _

from search.links import links_of
from search.records import KINDS
from webapp import present
from webapp.extensions import marketpass
from webapp.knowledge import knowledge
from webapp.labels import record_fields
from webapp.params import search_request

bp = Blueprint("pages", __name__)


@bp.get("/")
def home() -> str:
    counts = marketpass.backend.counts()
    return render_template("home.html", counts=[(k, counts.get(k, 0)) for k in KINDS])


@bp.get("/search")
def search() -> str:
    wanted = search_request(request.args)
    found = present.search(wanted)
    return render_template("search.html", q=wanted.text, result=found, filters=wanted.filters)


@bp.get("/about/data")
def about_data() -> str:
    """Where the data comes from and how each source's last crawl went."""
    return render_template("about_data.html", crawls=present.crawls(marketpass.store))


@bp.get("/records/<path:record_id>")
def record(record_id: str) -> str | Response:
    merged_into = knowledge().body_alias.get(record_id)
    if merged_into:  # one page per body, whichever source named it
        return redirect(url_for("pages.record", record_id=merged_into), code=301)
    data = marketpass.backend.get(record_id)
    if data is None:
        abort(404, _("There is no record with the identifier “%(id)s”.", id=record_id))
    return render_template("record.html", item=present.record(data), fields=record_fields(data),
                           links=links_of(marketpass.backend, data))
