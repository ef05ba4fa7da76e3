"""Locale choice and locale-aware formatting (CLDR through Babel) for pages and the API."""

from __future__ import annotations

import re
from datetime import date, datetime
from functools import lru_cache
from urllib.parse import quote, urlencode

from babel import Locale
from flask import Flask, Response, current_app, has_request_context, request
from flask_babel import format_date, format_datetime, get_locale
from flask_babel import lazy_gettext as _l

# Supported locales: catalogue folder name → (name in its own language, BCP 47 tag for lang=).
# The six official languages of the UN (and of the WTO's documents, three of them).
LOCALES: dict[str, tuple[str, str]] = {
    "en": ("English", "en"), "zh": ("中文", "zh-Hans"), "fr": ("Français", "fr"),
    "es": ("Español", "es"), "ar": ("العربية", "ar"), "ru": ("Русский", "ru"),
}
COOKIE = "lang"
COOKIE_MAX_AGE = 365 * 24 * 3600

_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_DATETIME = re.compile(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}")


def supported(value: str | None) -> str | None:
    """The supported locale a tag names (``zh-CN`` → ``zh``), or None."""
    if not value:
        return None
    tag = value.strip().lower().replace("_", "-")
    for candidate in (tag, tag.split("-")[0]):
        if candidate in LOCALES:
            return candidate
    return None


def requested_locale() -> str | None:
    """The locale asked for with ``?lang=``; unsupported values are ignored."""
    return supported(request.args.get("lang"))


def select_locale() -> str | None:
    """``?lang=``, then the cookie, then Accept-Language, then the configured default."""
    if not has_request_context():
        return None
    return (
        requested_locale()
        or supported(request.cookies.get(COOKIE))
        or request.accept_languages.best_match(LOCALES)
        or current_app.config["BABEL_DEFAULT_LOCALE"]
    )


def remember_locale(response: Response) -> Response:
    """Keep an explicit ``?lang=`` choice for later visits; responses vary by language."""
    if code := requested_locale():
        response.set_cookie(COOKIE, code, max_age=COOKIE_MAX_AGE, samesite="Lax", httponly=True,
                            secure=current_app.config.get("HTTPS", False))
    response.vary.update(("Accept-Language", "Cookie"))
    return response


def locale_code() -> str:
    return str(get_locale() or "en")


# Unions that are markets of their own; CLDR names the EU but not these.
UNION_NAMES = {"EAEU": _l("Eurasian Economic Union"), "GCC": _l("Gulf Cooperation Council")}


# The WTO's names for members whose CLDR name differs from how the WTO writes them: the
# names agencies expect on every page (country pages, notifications, bodies, matrices).
WTO_NAMES = {"TW": _l("Chinese Taipei"), "HK": _l("Hong Kong, China"), "MO": _l("Macao, China")}


def country_name(code: str | None) -> str:
    """The name of a territory in the reader's locale: the WTO's name for the three members
    the WTO names otherwise, a union's name, else CLDR's ("EU" included), else the code."""
    if not code:
        return ""
    if code in WTO_NAMES:
        return str(WTO_NAMES[code])
    if code in UNION_NAMES:
        return str(UNION_NAMES[code])
    return _territories(locale_code()).get(code, code)


@lru_cache(maxsize=16)  # parsing the locale for each name cost more than the rest of a list
def _territories(locale: str) -> dict[str, str]:
    return Locale.parse(locale).territories


def when(value: str | None, time: bool = False) -> str:
    """An ISO date or timestamp in the reader's locale (the day only unless ``time``);
    anything else unchanged."""
    if not value:
        return ""
    try:
        if _DATETIME.match(value) and time:
            return format_datetime(datetime.fromisoformat(value), "medium")
        if _DATETIME.match(value):
            return format_date(datetime.fromisoformat(value), "long")
        if _DATE.fullmatch(value):
            return format_date(date.fromisoformat(value), "long")
    except ValueError:
        pass  # not a real date after all (e.g. 2026-02-30): show it as the source wrote it
    return value


def language_name(code: str | None) -> str:
    """The CLDR name of a language in the reader's locale, else the code."""
    if not code:
        return ""
    try:
        return Locale.parse(locale_code()).languages.get(code.replace("-", "_"), code)
    except ValueError:
        return code


def url_with(_path: str | None = None, **changes: str | list[str] | None) -> str:
    """The current query, changed, on the current path (or ``_path``, for JSON twins);
    a value of None removes the parameter."""
    args = request.args.copy()
    for name, value in changes.items():
        args.poplist(name)
        if value is not None:
            args.setlist(name, value if isinstance(value, list) else [value])
    query = urlencode(list(args.items(multi=True)))
    path = _path or quote(request.script_root + request.path, safe="/:@")
    return f"{path}?{query}" if query else path


def _template_context() -> dict:
    code = locale_code()
    return {
        "locale_code": code,
        "html_lang": LOCALES.get(code, (code, code))[1],
        "text_dir": Locale.parse(code).text_direction,
        "locales": [(c, name, tag) for c, (name, tag) in LOCALES.items()],
    }


def init_app(app: Flask) -> None:
    app.after_request(remember_locale)
    app.context_processor(_template_context)
    app.jinja_env.globals.update(url_with=url_with, country_name=country_name)
    app.jinja_env.filters.update(when=when, country=country_name, language=language_name)
