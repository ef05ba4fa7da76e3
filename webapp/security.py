"""The site on the open internet: response headers, host names, proxies and cookies.

A strict Content-Security-Policy (the pages have no inline script or style), no framing,
nosniff, a referrer policy and no powerful browser features; HSTS when served over HTTPS;
CORS for the keyless read-only API; ETags and Cache-Control on what programs poll (the API,
feeds and exports), answered with 304 when unchanged.
"""

from __future__ import annotations

import re

from flask import Flask, Response, current_app, request
from werkzeug.exceptions import BadRequest
from werkzeug.middleware.proxy_fix import ProxyFix
from werkzeug.sansio.utils import host_is_trusted
from werkzeug.wsgi import get_host

from search.settings import DEFAULT_SECRET_KEY, Settings

CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
       "font-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'none'; "
       "form-action 'self'; frame-ancestors 'none'")
HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",  # frame-ancestors for browsers without CSP 2
    "Referrer-Policy": "strict-origin-when-cross-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=(), payment=(), usb=()",
    "Cross-Origin-Opener-Policy": "same-origin",
}
HSTS = "max-age=31536000; includeSubDomains"
# What programs poll: cached for a few minutes, revalidated by ETag.
POLLED = re.compile(r"^/api/v1/|^/notifications/(?:feed\.atom|deadlines\.ics|export\.\w+)$")
POLLED_MAX_AGE = 300
# A host name: labels of at most 63 letters, digits or hyphens, 253 in all, and a port; or
# an IPv6 address in brackets. Anything else cannot be put in an absolute URL.
_LABEL = r"(?!-)[A-Za-z0-9-]{1,63}(?<!-)"
HOST = re.compile(rf"(?:{_LABEL}(?:\.{_LABEL})*\.?|\[[0-9A-Fa-f:.]+\])(?::[0-9]{{1,5}})?")


class InsecureSettings(RuntimeError):
    """A production setting that must not start."""


def init_app(app: Flask, settings: Settings) -> None:
    if settings.environment == "production" and app.config["SECRET_KEY"] == DEFAULT_SECRET_KEY:
        raise InsecureSettings("MARKETPASS_ENV=production needs MARKETPASS_SECRET_KEY: the "
                               "default key signs nothing securely")
    if settings.proxy_hops:
        hops = settings.proxy_hops
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)
    # Outermost, so that what the proxy says of the host is checked too.
    app.wsgi_app = HostCheck(app.wsgi_app, settings.trusted_hosts)
    app.config["SESSION_COOKIE_SECURE"] = settings.https
    app.config["HTTPS"] = settings.https
    app.after_request(_headers)


class HostCheck:
    """A plain 400 before the app for a host name no URL can hold (a label over 63
    letters) or one not in ``MARKETPASS_TRUSTED_HOSTS``: the app builds absolute URLs from
    it, and its error pages need a valid one too."""

    def __init__(self, wsgi_app, trusted: tuple[str, ...]) -> None:
        self.wsgi_app = wsgi_app
        self.trusted = list(trusted)

    def __call__(self, environ, start_response):
        host = get_host(environ)
        # The container's health check asks on loopback, whatever the public names are.
        untrusted = self.trusted and not host_is_trusted(host, self.trusted) and \
            environ.get("PATH_INFO") != "/healthz"
        if len(host) > 260 or not HOST.fullmatch(host) or untrusted:
            return BadRequest("Unknown or invalid host name.")(environ, start_response)
        return self.wsgi_app(environ, start_response)


def _headers(response: Response) -> Response:
    for name, value in HEADERS.items():
        response.headers.setdefault(name, value)
    if request.is_secure or current_app.config["HTTPS"]:
        response.headers.setdefault("Strict-Transport-Security", HSTS)
    if request.method in ("GET", "HEAD") and POLLED.match(request.path):
        if request.path.startswith("/api/"):
            # Read-only and keyless: any site may call it from a browser, without cookies.
            response.headers["Access-Control-Allow-Origin"] = "*"
        if response.status_code == 200 and not response.is_streamed:
            response.headers.setdefault("Cache-Control", f"public, max-age={POLLED_MAX_AGE}")
            response.add_etag()
            response.make_conditional(request)
    return response
