"""Error responses: JSON under /api/, an HTML page elsewhere, always in the reader's language."""

from __future__ import annotations

from flask import Flask, Response, current_app, jsonify, make_response, render_template, request
from flask_babel import lazy_gettext as _l
from werkzeug.exceptions import HTTPException, ServiceUnavailable

from search.backend import BackendError
from search.db import ERRORS as DB_ERRORS

TITLES = {
    400: _l("Bad request"),
    404: _l("Not found"),
    405: _l("Method not allowed"),
    429: _l("Too many requests"),
    500: _l("Server error"),
    503: _l("Service unavailable"),
}
MESSAGES = {
    400: _l("The request could not be understood."),
    404: _l("There is nothing at this address."),
    405: _l("This address does not accept that method."),
    429: _l("Too many requests from your address in a short time. Please wait a moment and "
            "try again."),
    500: _l("Something went wrong on our side. Please try again later."),
    503: _l("The search service is not available at the moment. Please try again later."),
}


def wants_json() -> bool:
    return request.path.startswith("/api/")


def _message(exc: HTTPException) -> str:
    """Our own translated description if one was given; werkzeug's defaults are English only
    (and a rate limit's description is its limit, "10 per 5 second")."""
    if exc.code != 429 and exc.description and exc.description != type(exc).description:
        return str(exc.description)
    return str(MESSAGES.get(exc.code or 500, exc.name))


def handle_http(exc: HTTPException) -> Response:
    code = exc.code or 500
    message = _message(exc)
    if wants_json():
        response = jsonify(error={"code": code, "message": message})
    else:
        title = str(TITLES.get(code, exc.name))
        response = make_response(render_template("error.html", code=code, title=title,
                                                 message=message))
    response.status_code = code
    # What the error says beyond its text: a 429's Retry-After, a 405's Allow.
    for name, value in exc.get_headers():
        if name.lower() != "content-type":
            response.headers[name] = value
    return response


# Seconds a client is asked to wait after a 503: a node marked dead is tried again within this.
RETRY_AFTER = 10


def handle_backend(exc: BackendError) -> Response:
    # The reason (paths, hosts) is for operators, not for the public page.
    current_app.logger.error("search backend unavailable: %s", exc)
    return handle_http(ServiceUnavailable(retry_after=RETRY_AFTER))


def init_app(app: Flask) -> None:
    # Registered for HTTPException, this also renders unhandled errors: Flask wraps them in
    # InternalServerError before looking for a handler.
    app.register_error_handler(HTTPException, handle_http)
    app.register_error_handler(BackendError, handle_backend)
    # A database that cannot be read (read-only where it must write its journal, corrupt,
    # removed under a running worker) is the service being unavailable, not a server error.
    for error in DB_ERRORS:
        app.register_error_handler(error, handle_backend)
