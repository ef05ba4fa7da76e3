"""Getting alerts out: SMTP for e-mail, signed JSON POSTs for webhooks.

Webhook addresses are checked against SSRF before they are stored and again before every
delivery: the host is resolved, every address it resolves to must be public, and the request
goes to the address that was checked (a second lookup could answer differently: DNS
rebinding). Redirects are not followed, for the same reason.
"""

from __future__ import annotations

import hashlib
import hmac
import http.client
import ipaddress
import smtplib
import socket
import ssl
from dataclasses import dataclass
from email.message import Message
from urllib.parse import unquote, urlsplit

# The most of an endpoint's answer read (a challenge is short; the rest is not ours to keep).
MAX_ANSWER = 64 * 1024


class DeliveryError(RuntimeError):
    """This subscription's delivery failed (its endpoint or its address refused)."""


class MailServerDown(RuntimeError):
    """Our mail server cannot be used now: no subscriber's fault, so none is counted."""


class UnsafeUrl(ValueError):
    """A webhook address that may not be called; ``reason`` is a code the site translates."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


# --- SMTP ---------------------------------------------------------------------------------------

@dataclass(frozen=True)
class SmtpConfig:
    host: str
    port: int
    implicit_tls: bool
    username: str | None
    password: str | None

    @classmethod
    def parse(cls, url: str) -> SmtpConfig:
        parts = urlsplit(url)
        if parts.scheme not in ("smtp", "smtps") or not parts.hostname:
            raise ValueError("MARKETPASS_SMTP_URL must be smtp://[user:pass@]host[:port] or smtps://…")
        tls = parts.scheme == "smtps"
        return cls(parts.hostname, parts.port or (465 if tls else 25), tls,
                   unquote(parts.username) if parts.username else None,
                   unquote(parts.password) if parts.password else None)


class Mailer:
    """One SMTP connection for a whole run, opened on first use and reopened if dropped."""

    def __init__(self, url: str, timeout: float = 30) -> None:
        self.config = SmtpConfig.parse(url)
        self.timeout = timeout
        self._smtp: smtplib.SMTP | None = None

    def send(self, message: Message) -> None:
        try:
            self._connection().send_message(message)
        except smtplib.SMTPRecipientsRefused as exc:
            raise DeliveryError(f"recipient refused: {exc.recipients}") from exc
        except (smtplib.SMTPException, OSError) as exc:
            self.close()
            raise MailServerDown(f"{type(exc).__name__}: {exc}") from exc

    def _connection(self) -> smtplib.SMTP:
        if self._smtp is None:
            self._smtp = self._open()
        return self._smtp

    def _open(self) -> smtplib.SMTP:
        c, context = self.config, ssl.create_default_context()
        if c.implicit_tls:
            smtp: smtplib.SMTP = smtplib.SMTP_SSL(c.host, c.port, timeout=self.timeout,
                                                  context=context)
        else:
            smtp = smtplib.SMTP(c.host, c.port, timeout=self.timeout)
            smtp.ehlo()
            if smtp.has_extn("starttls"):  # opportunistic: a server that offers TLS gets it
                smtp.starttls(context=context)
                smtp.ehlo()
        if c.username:
            smtp.login(c.username, c.password or "")
        return smtp

    def close(self) -> None:
        if self._smtp is not None:
            try:
                self._smtp.quit()
            except (smtplib.SMTPException, OSError):
                pass  # already gone; nothing left to close politely
            self._smtp = None


# --- webhooks -----------------------------------------------------------------------------------

def sign(secret: str, body: bytes) -> str:
    """The X-MarketPass-Signature value: HMAC-SHA256 of the exact body under the secret."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


@dataclass(frozen=True)
class Target:
    """A webhook address that passed the checks, with the address to connect to."""

    scheme: str
    host: str
    port: int
    path: str
    address: str


def check_url(url: str, allow_private: bool = False) -> Target:
    """The webhook address, resolved and checked; raises UnsafeUrl saying why not."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        raise UnsafeUrl("invalid") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise UnsafeUrl("scheme")
    if parts.username is not None or parts.password is not None:
        raise UnsafeUrl("credentials")
    port = port or (443 if parts.scheme == "https" else 80)
    addresses = _resolve(parts.hostname, port)
    if not allow_private and any(not _public(a) for a in addresses):
        raise UnsafeUrl("private")
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return Target(parts.scheme, parts.hostname, port, path, addresses[0])


def _resolve(host: str, port: int) -> list[str]:
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError):
        raise UnsafeUrl("unresolved") from None
    return list(dict.fromkeys(info[4][0] for info in infos))


def _public(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%")[0])  # an IPv6 zone index is no part of it
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:
        ip = ip.ipv4_mapped  # ::ffff:127.0.0.1 is loopback too
    return not (ip.is_loopback or ip.is_private or ip.is_link_local or ip.is_multicast
                or ip.is_reserved or ip.is_unspecified or not ip.is_global)


class _Pinned(http.client.HTTPConnection):
    """Plain HTTP to the checked address, with the name in the Host header."""

    def __init__(self, target: Target, timeout: float) -> None:
        super().__init__(target.host, target.port, timeout=timeout)
        self.address = target.address

    def connect(self) -> None:
        self.sock = socket.create_connection((self.address, self.port), self.timeout)


class _PinnedTls(http.client.HTTPSConnection):
    """HTTPS to the checked address; the certificate is verified for the name."""

    def __init__(self, target: Target, timeout: float) -> None:
        super().__init__(target.host, target.port, timeout=timeout,
                         context=ssl.create_default_context())
        self.address = target.address

    def connect(self) -> None:
        sock = socket.create_connection((self.address, self.port), self.timeout)
        self.sock = self._context.wrap_socket(sock, server_hostname=self.host)


def post(url: str, body: bytes, headers: dict[str, str], *, allow_private: bool = False,
         timeout: float = 10) -> tuple[int, bytes]:
    """POST the body; the status and (the start of) the answer. Raises UnsafeUrl, or
    DeliveryError when the endpoint cannot be reached."""
    target = check_url(url, allow_private)
    kind = _PinnedTls if target.scheme == "https" else _Pinned
    conn = kind(target, timeout)
    try:
        conn.request("POST", target.path, body=body, headers={
            "Content-Type": "application/json", "User-Agent": "MarketPass-Alerts/1", **headers})
        answer = conn.getresponse()
        return answer.status, answer.read(MAX_ANSWER)
    except (OSError, http.client.HTTPException) as exc:
        raise DeliveryError(f"{type(exc).__name__}: {exc}") from exc
    finally:
        conn.close()


def deliver(url: str, secret: str, body: bytes, *, allow_private: bool = False,
            timeout: float = 10, delivery_id: str = "") -> None:
    """One signed delivery; anything but a 2xx answer is a failure."""
    try:
        status, _ = post(url, body, {"X-MarketPass-Signature": sign(secret, body),
                                     "X-MarketPass-Delivery": delivery_id},
                         allow_private=allow_private, timeout=timeout)
    except UnsafeUrl as exc:
        raise DeliveryError(f"address refused: {exc.reason}") from exc
    if not 200 <= status < 300:
        raise DeliveryError(f"the endpoint answered {status}")


def verify(url: str, secret: str, challenge: str, body: bytes, *, allow_private: bool = False,
           timeout: float = 10) -> bool:
    """Whether the endpoint echoes the challenge (200, the challenge in its answer): proof that
    whoever subscribed it controls it, so we never POST to a stranger's address."""
    try:
        status, answer = post(url, body, {"X-MarketPass-Signature": sign(secret, body)},
                              allow_private=allow_private, timeout=timeout)
    except DeliveryError:
        return False
    return status == 200 and challenge.encode() in answer
