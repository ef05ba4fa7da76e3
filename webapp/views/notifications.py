"""The notification tracker: list, detail, charts, Atom and iCalendar feeds, CSV and XLSX
exports, and their JSON twins under /api/v1. Every view takes the same parameters
(``webapp.params.NotificationArgs``) and lists through ``webapp.tracker``.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import replace
from datetime import UTC, datetime

from flask import Blueprint, Response, abort, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _

from search import normalise as norm
from search.notifications import FACET_PARAMS, NotificationQuery
from search.query import SearchRequest, Term
from search.records import NOTIFICATION_TYPES
from webapp import charts, exports, feeds, tracker
from webapp.extensions import marketpass
from webapp.i18n import locale_code, url_with
from webapp.knowledge import widen
from webapp.labels import value_label
from webapp.params import notification_query

bp = Blueprint("notifications", __name__, url_prefix="/notifications")
api = Blueprint("notifications_api", __name__)

# Backend facet field → the parameter that filters on it.


def _query() -> NotificationQuery:
    query = notification_query(request.args, marketpass.settings.buffer_days)
    widened = widen(query.q)
    return replace(query, widened=widened.text, also=widened.added) if widened.added else query


def _today():
    return marketpass.settings.today_date()


def _facet_values(name: str, counts: list[tuple[str, int]]) -> list[dict]:
    out = []
    for value, n in counts:
        entry = {"value": value, "count": n, "label": _facet_label(name, value),
                 "param": FACET_PARAMS[name]}
        if name == "section":  # a section filters as the HS chapters it spans
            entry["filter"] = tracker.section_chapters(value)
        else:
            entry["filter"] = [value]
        out.append(entry)
    return out


def _facet_label(name: str, value: str) -> str:
    if name == "country":
        return tracker.member_name(value)
    if name in ("type", "objectives"):
        return value_label(name, value) or value
    if name == "section":
        return _("Section %(section)s: %(name)s", section=value,
                 name=value_label("section", value) or norm.hs_section_name(value))
    return value


def _listing(query: NotificationQuery) -> dict:
    """The page of notifications the query asks for, with facets and the watchlist links."""
    today = _today()
    found = tracker.page(marketpass.backend, query, today)
    return {
        "total": found.total,
        "page": found.page,
        "per_page": found.per_page,
        "pages": max(1, math.ceil(found.total / found.per_page)),
        "sort": query.effective_sort,
        "today": today.isoformat(),
        "buffer_days": query.buffer_days,
        "items": [tracker.item(hit.record, today, query.buffer_days, hit) for hit in found.hits],
        "facets": {FACET_PARAMS[name]: _facet_values(name, counts)
                   for name, counts in found.facets.items()},
        "links": _links(),
        "also_searched": list(query.also),
        "recent_instead": _recent_instead(query, found.total, today),
    }


def _recent_instead(query: NotificationQuery, total: int, today) -> list[dict]:
    """Nothing of the search is open for comment today: its most recent notifications, so
    the officer sees what there was (an empty page helps no one)."""
    if total or not query.open:
        return []
    recent = replace(query, open=False, sort="newest", page=1, per_page=5)
    return [tracker.item(hit.record, today, query.buffer_days)
            for hit in tracker.page(marketpass.backend, recent, today).hits]


def _links() -> dict:
    """The same search as a page, JSON, feeds and exports (paging left out where it means
    nothing)."""
    unpaged = {"page": None, "per_page": None}
    return {
        "html": url_with(url_for("notifications.listing")),
        "json": url_with(url_for("notifications_api.api_listing")),
        "atom": url_with(url_for("notifications.feed"), **unpaged),
        "ics": url_with(url_for("notifications.deadlines"), **unpaged),
        "csv": url_with(url_for("notifications.export_csv"), **unpaged),
        "xlsx": url_with(url_for("notifications.export_xlsx"), **unpaged),
        "charts": url_with(url_for("notifications.charts"), **unpaged),
    }


@bp.get("")
def listing() -> str:
    query = _query()
    return render_template("notifications.html", query=query, result=_listing(query),
                           member_choices=tracker.member_choices(), types=NOTIFICATION_TYPES,
                           facet_titles=tracker.FACET_TITLES)


@api.get("/notifications")
def api_listing() -> Response:
    return jsonify(_listing(_query()))


# --- one notification ---------------------------------------------------------------------

def _find(symbol: str) -> dict:
    record = tracker.by_symbol(marketpass.backend, symbol)
    if record is None:
        abort(404, _("There is no notification with the symbol “%(symbol)s”.",
                     symbol=symbol.strip()))
    return record


def _detail(record: dict, buffer_days: int) -> dict:
    today = _today()
    steps = tracker.measure(marketpass.backend, record)
    return {
        **tracker.item(record, today, buffer_days),
        "buffer_days": buffer_days,
        "today": today.isoformat(),
        "lifecycle": [tracker.step(s, today, buffer_days) for s in steps],
        "joint": [{"symbol": s, "member": tracker.member_of(s),
                   "url": url_for("notifications.detail", symbol=s, _external=True)}
                  for s in record.get("joint_symbols", [])],
        "record": record,
    }


@bp.get("/<path:symbol>")
def detail(symbol: str) -> Response | str:
    record = _find(symbol)
    if record["symbol"] != symbol:  # another spelling, or a joint notification's other symbol
        # Built from the symbol alone, the query string appended as it came: its names
        # (symbol, _external, _scheme …) are never url_for's arguments.
        query = request.query_string.decode("ascii", "replace")
        target = url_for("notifications.detail", symbol=record["symbol"])
        return redirect(f"{target}?{query}" if query else target, code=301)
    query = _query()
    return render_template("notification.html", n=_detail(record, query.buffer_days))


@api.get("/notifications/<path:symbol>")
def api_detail(symbol: str) -> Response:
    query = _query()
    return jsonify(_detail(_find(symbol), query.buffer_days))


@bp.get("/lookup")
def lookup() -> Response:
    """The "go to symbol" box: the notification's page, or the search for the words."""
    text = request.args.get("symbol", "")
    try:
        symbol = norm.parse_symbol(text).symbol
    except norm.NormaliseError:
        return redirect(url_for("notifications.listing", q=text))
    return redirect(url_for("notifications.detail", symbol=symbol))


# --- charts -------------------------------------------------------------------------------

def _charts(query: NotificationQuery) -> dict:
    """Notifications per month by member (the five most frequent, then the rest) and per HS
    section, for the whole search rather than one page."""
    today = _today()
    request_ = tracker.chart_request(query, today, ("month", "country", "section"))
    found = marketpass.backend.search(request_)
    facets = dict(found.facets)
    members = [code for code, _n in facets.get("country", [])[: charts.TOP_MEMBERS]]
    by_member = {}
    for code in members:
        one = marketpass.backend.search(SearchRequest(
            text=request_.text, filters=(*request_.filters, Term("country", (code,))),
            facets=("month",), facet_size=request_.facet_size, per_page=1, highlight=False))
        by_member[code] = dict(one.facets.get("month", []))
    monthly = charts.monthly_series(dict(facets.get("month", [])), by_member)
    sections = [(s, value_label("section", s) or norm.hs_section_name(s), n)
                for s, n in facets.get("section", [])]
    return {
        "total": found.total,
        "monthly": {"months": monthly["months"], "cut": monthly["cut"],
                    "series": [{**s, "name": tracker.member_name(s["member"]) if s["member"]
                                else _("Other members")} for s in monthly["series"]]},
        "sections": [{"section": s, "name": name, "count": n} for s, name, n in sections],
        "links": _links(),
    }


@bp.get("/charts", endpoint="charts")
def charts_page() -> str:
    query = _query()
    data = _charts(query)
    return render_template(
        "notification_charts.html", query=query, data=data,
        section_chapters=tracker.section_chapters,
        monthly=charts.stacked_bars(data["monthly"]),
        sections=charts.horizontal_bars([(s["section"], s["name"], s["count"])
                                         for s in data["sections"]]),
    )


@api.get("/notifications/charts")
def api_charts() -> Response:
    return jsonify(_charts(_query()))


# --- feeds and exports --------------------------------------------------------------------

def _describe(query: NotificationQuery) -> str:
    """The search in words, for the titles of its feed and calendar."""
    parts = [f"“{query.q}”"] if query.q else []
    parts += [tracker.member_name(m) for m in query.members] + list(query.areas)
    parts += [str(value_label("type", t) or t) for t in query.types]
    parts += [f"HS {h}" for h in query.hs] + [f"ICS {c}" for c in query.ics]
    parts += list(query.objectives)
    if query.date_from or query.date_to:
        parts.append(f"{query.date_from or '…'} – {query.date_to or '…'}")
    what = ", ".join(parts)
    if query.open:
        return _("Open for comment: %(what)s", what=what) if parts \
            else _("Notifications open for comment")
    return _("Notifications: %(what)s", what=what) if parts else _("All notifications")


def _feed_id() -> str:
    """The same search gives the same feed id, whatever the order of its parameters."""
    args = sorted((k, v) for k, v in request.args.items(multi=True) if k not in ("lang",))
    digest = hashlib.sha256(repr(args).encode()).hexdigest()[:32]
    return f"urn:marketpass:notifications:{digest}"


@bp.get("/feed.atom")
def feed() -> Response:
    query = _query()
    today, size = _today(), marketpass.settings.feed_size
    records, followups = tracker.feed(marketpass.backend, query, today, size)
    body = feeds.atom(
        title=f"MarketPass: {_describe(query)}", feed_id=_feed_id(),
        self_url=request.url, html_url=url_with(url_for("notifications.listing",
                                                        _external=True)),
        items=[tracker.item(r, today, query.buffer_days) for r in records],
        followups=[tracker.item(r, today, query.buffer_days) for r in followups],
        lang=locale_code(),
    )
    return Response(body, mimetype="application/atom+xml")


@bp.get("/deadlines.ics")
def deadlines() -> Response:
    query = _query()
    today = _today()
    records, _total = tracker.matching(marketpass.backend, query, today,
                                       marketpass.settings.export_max_rows)
    body = feeds.ical(name=f"MarketPass: {_describe(query)}",
                      items=[tracker.item(r, today, query.buffer_days) for r in records],
                      buffer_days=query.buffer_days, host=request.host.split(":")[0])
    return Response(body, mimetype="text/calendar",
                    headers={"Content-Disposition": 'inline; filename="deadlines.ics"'})


def _export_items(query: NotificationQuery) -> tuple[list[dict], int, bool]:
    today = _today()
    cap = marketpass.settings.export_max_rows
    records, total = tracker.matching(marketpass.backend, query, today, cap)
    return [tracker.item(r, today, query.buffer_days) for r in records], total, total > cap


def _download(body: bytes, mimetype: str, extension: str, total: int, cut: bool) -> Response:
    name = f"notifications-{_today().isoformat()}.{extension}"
    return Response(body, mimetype=mimetype, headers={
        "Content-Disposition": f'attachment; filename="{name}"',
        "X-Total-Count": str(total),
        "X-MarketPass-Truncated": "true" if cut else "false",
    })


@bp.get("/export.csv")
def export_csv() -> Response:
    items, total, cut = _export_items(_query())
    return _download(exports.to_csv(items), "text/csv", "csv", total, cut)


@bp.get("/export.xlsx")
def export_xlsx() -> Response:
    query = _query()
    items, total, cut = _export_items(query)
    about = [
        (_("Search"), url_with(url_for("notifications.listing", _external=True))),
        (_("Exported on"), datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")),
        (_("Notifications matching"), str(total)),
        (_("Rows in this file"), str(len(items))),
    ]
    if cut:
        about.append((_("Cut"), _("This file holds the first %(n)d notifications only; narrow "
                                  "the search to export the rest.", n=len(items))))
    return _download(exports.to_xlsx(items, about),
                     "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                     "xlsx", total, cut)
