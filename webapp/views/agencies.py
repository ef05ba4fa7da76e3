"""The agencies' view: /iecee, /arrangements, /bodies, /countries/<code>, /indicators, and
their JSON twins under /api/v1. The numbers come from ``search.agencies`` over the curated
records held in memory (``webapp.views.match.knowledge``)."""

from __future__ import annotations

from flask import Blueprint, Response, jsonify, render_template, request
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from werkzeug.exceptions import BadRequest

from search import agencies
from search.coverage import curated_headers
from search.markets import MARKETS, UNION_MEMBERS, markets_for, members_of
from search.notifications import LISTED
from search.query import Range, SearchRequest, Term
from webapp import charts, tracker
from webapp.extensions import marketpass
from webapp.i18n import country_name
from webapp.knowledge import knowledge
from webapp.labels import CATEGORY_STATES, PRODUCT_GROUP_LABELS, group_label
from webapp.params import body_query, country_code, matrix_sector
from webapp.present import by_name, name_key

bp = Blueprint("agencies", __name__)
SECTOR_LABELS = {**PRODUCT_GROUP_LABELS,
                 "accreditation": _l("Accreditation (testing, certification)")}
BODY_FACETS = {"country": _l("Country"), "role": _l("Role"), "scheme": _l("Scheme or arrangement"),
               "category": _l("IECEE category")}
api = Blueprint("agencies_api", __name__)


def _iecee() -> dict:
    return agencies.iecee(knowledge())


def _group(value: str | None) -> str | None:
    if value and value not in agencies.GROUPS:
        raise BadRequest(_("Unknown group “%(value)s”; choose from: %(allowed)s.", value=value,
                           allowed=", ".join(agencies.GROUPS)))
    return value or None


def _in_order(codes) -> list[str]:
    """A union before its members, then the reader's order of the names."""
    return sorted(codes, key=lambda c: (c not in UNION_MEMBERS, name_key(country_name(c))))


def _blocks(group: str | None) -> list[dict]:
    """The matrix's rows and columns: a chosen group's markets, or every market under the
    first group it belongs to, each block in the reader's order."""
    markets = agencies.group_markets(group)
    blocks = [{"group": group, "countries": list(markets)}] if group else \
        agencies.matrix_blocks(list(markets))
    return [{**b, "countries": _in_order(b["countries"])} for b in blocks]


def _route(kb, sector: str) -> dict | None:
    """The explanation of one cell, when the reader chose one (``from`` and ``to``)."""
    exporter, market = request.args.get("from"), request.args.get("to")
    if not (exporter and market):
        return None
    return agencies.route_detail(kb, country_code(exporter), country_code(market), sector)


def _arrangements() -> dict:
    sector = matrix_sector(request.args)
    group = _group(request.args.get("group"))
    kb = knowledge()
    return {"items": agencies.arrangements(kb), "sectors": list(agencies.SECTORS),
            "groups": list(agencies.GROUPS), "group": group, "blocks": _blocks(group),
            "group_sources": agencies.group_sources(),
            "matrix": agencies.coverage_matrix(kb, sector, agencies.group_markets(group)),
            "route": _route(kb, sector)}


def _bodies() -> dict:
    return agencies.bodies(knowledge(), body_query(request.args))


def _indicators() -> dict:
    return agencies.indicators(knowledge(), curated_headers(marketpass.store.last_crawls()))


def _country(code: str) -> dict:
    code = country_code(code)
    kb = knowledge()
    places = markets_for(code)
    today = marketpass.settings.today_date()
    buffer = marketpass.settings.buffer_days
    countries = tuple(sorted({*places, *members_of(code)}))
    notes = Term("kind", ("notification",)), Term("countries", countries), LISTED
    recent = marketpass.backend.search(SearchRequest(filters=notes, sort="-date", per_page=10,
                                                     highlight=False))
    open_ = marketpass.backend.search(SearchRequest(
        filters=(*notes, Range("deadline", gte=today.isoformat())), sort="deadline",
        per_page=10, highlight=False))
    return {
        "country": {"code": code, "name": country_name(code), "markets": places,
                    "in_knowledge_base": any(p in MARKETS for p in places)},
        "schemes": [{"id": s["id"], "name": s["name"], "mark": s.get("mark"),
                     "market": s["market"], "mandatory": s.get("mandatory"),
                     "product_groups": s.get("product_groups", []),
                     "verified": bool(s.get("verified"))}
                    for p in places for s in kb.by_market.get(p, [])],
        "arrangements": [agencies.arrangement_brief(a)
                         for a in agencies.arrangements_of(kb, code)],
        "bodies": [b for b in agencies.bodies(kb, agencies.BodyQuery(
            countries=tuple(sorted({code, *members_of(code)}))))["items"]],
        "indicators": agencies.indicators_for(kb, code),
        "notifications": {
            "recent": [tracker.item(h.record, today, buffer) for h in recent.hits],
            "recent_total": recent.total,
            "open": [tracker.item(h.record, today, buffer) for h in open_.hits],
            "open_total": open_.total,
        },
    }


@bp.get("/iecee")
def iecee() -> str:
    data = _iecee()
    rows = sorted(data["countries"], key=lambda r: name_key(country_name(r["country"])))
    return render_template("iecee.html", data=data, rows=rows, states=CATEGORY_STATES)


@api.get("/iecee", endpoint="iecee")
def iecee_json() -> Response:
    return jsonify(_iecee())


@bp.get("/arrangements")
def arrangements() -> str:
    data = _arrangements()
    return render_template("arrangements.html", data=data, group_label=group_label,
                           names={c: country_name(c) for c in data["matrix"]["countries"]},
                           sector_label=lambda s: str(SECTOR_LABELS.get(s, s)))


@api.get("/arrangements", endpoint="arrangements")
def arrangements_json() -> Response:
    return jsonify(_arrangements())


@bp.get("/bodies")
def bodies() -> str:
    return render_template("bodies.html", data=_bodies(), query=body_query(request.args),
                           roles=agencies.ROLES, facet_titles=BODY_FACETS)


@api.get("/bodies", endpoint="bodies")
def bodies_json() -> Response:
    return jsonify(_bodies())


@bp.get("/indicators")
def indicators() -> str:
    data = _indicators()
    rows = [r for r in data["countries"] if r["iec_bodies"] or r["arrangements_total"]]

    def bars(key: str):
        return charts.horizontal_bars([(r["country"], country_name(r["country"]), r[key])
                                       for r in rows if r[key]])
    return render_template("indicators.html", data=data, iec_chart=bars("iec_bodies"),
                           arr_chart=bars("arrangements_total"),
                           series={k: _series_rows(v) for k, v in data["china_series"].items()})


def _series_rows(series: dict) -> list[dict]:
    """One row a figure: reported ones by date, the plan's target, and what MarketPass holds,
    each with the length of its bar on the series' common scale (per cent of the largest)."""
    rows = [{"kind": "reported", "figure": f} for f in series["reported"]]
    if series["target"]:
        rows.append({"kind": "target", "figure": series["target"]})
    rows.append({"kind": "held", "figure": {"value": series["held"]}})
    lengths = charts.proportions([r["figure"]["value"] for r in rows])
    return [{**r, "length": length} for r, length in zip(rows, lengths, strict=True)]


@api.get("/indicators", endpoint="indicators")
def indicators_json() -> Response:
    return jsonify(_indicators())


@bp.get("/countries")
def countries() -> str:
    return render_template("countries.html",
                           markets=[(m, country_name(m)) for m in by_name(MARKETS, country_name)])


@bp.get("/countries/<code>")
def country(code: str) -> str:
    return render_template("country.html", data=_country(code))


@api.get("/countries/<code>", endpoint="country")
def country_json(code: str) -> Response:
    return jsonify(_country(code))
