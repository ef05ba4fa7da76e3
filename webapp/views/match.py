"""The market-access matcher: /match (form and advice) and /api/v1/match (its JSON twin)."""

from __future__ import annotations

from flask import Blueprint, Response, jsonify, render_template, request
from flask_babel import gettext as _
from werkzeug.exceptions import BadRequest

from search.markets import MARKETS, markets_for
from search.matcher import MatchQuery, match
from webapp.extensions import marketpass
from webapp.i18n import country_name
from webapp.knowledge import knowledge
from webapp.labels import ATTRIBUTE_QUESTIONS
from webapp.params import match_query
from webapp.present import name_key

bp = Blueprint("match", __name__)
api = Blueprint("match_api", __name__)


def _why(reason: dict) -> str:
    labels = {"hs": _("HS code %(code)s falls under %(value)s in its scope"),
              "category": _("IECEE category %(value)s is in its scope"),
              "keyword": _("its scope names “%(value)s”"),
              "product": _("the act lists this product"),
              "class": _("its scope covers “%(value)s”")}
    return labels[reason["by"]] % {"code": reason.get("code", ""), "value": reason["value"]}


def _label(result: dict) -> None:
    """Words for what the matcher returns as codes: reasons, countries, open questions."""
    for req in [*result["requirements"], *result["upcoming"]]:
        for reason in req["why"]:
            reason["text"] = _why(reason)
        req["inherited_from_name"] = country_name(req["inherited_from"]) \
            if req["inherited_from"] else None
        req["if_text"] = [str(ATTRIBUTE_QUESTIONS.get(q, q)) for q in req["if"]]
    result["market_name"] = country_name(result["market"]) if "market" in result else None


def answer(query: MatchQuery) -> dict:
    result = match(marketpass.backend, knowledge(), query, marketpass.settings.today_date())
    for each in [result, *result["markets"]]:
        _label(each)
    return {
        "query": {"product": query.product, "hs": query.hs, "market": query.market,
                  "markets": list(query.all_markets), "origin": query.origin,
                  "date": result["date"]},
        "market": {"code": query.market, "name": country_name(query.market),
                   "covered_as": [m for m in markets_for(query.market) if m in MARKETS]},
        "origin": {"code": query.origin, "name": country_name(query.origin)}
        if query.origin else None,
        **result,
        "question_texts": {q: str(ATTRIBUTE_QUESTIONS.get(q, q)) for q in result["questions"]},
    }


def _market_choices() -> list[tuple[str, str]]:
    return sorted(((m, country_name(m)) for m in MARKETS), key=lambda c: name_key(c[1]))


@bp.get("/match")
def form() -> str | tuple[str, int]:
    """The form alone, or the form with the advice when a product and market are given; a
    mistake shows the form again with what was typed and the message above it (a 400)."""
    wanted = request.args.get("market") or request.args.get("product") or request.args.get("hs")
    try:
        result = answer(match_query(request.args)) if wanted else None
    except BadRequest as exc:
        return render_template("match.html", result=None, args=request.args,
                               markets=_market_choices(), error=exc.description), 400
    return render_template("match.html", result=result, args=request.args,
                           markets=_market_choices())


@api.get("/match")
def api_match() -> Response:
    return jsonify(answer(match_query(request.args)))
