"""Protection as ASGI middleware: body size limit, per-client token-bucket rate limit, security headers,
and the origins browsers may call the API from."""

from __future__ import annotations

import ipaddress
import json
import logging
import math
import threading
import time
from collections import OrderedDict
from collections.abc import Iterable

from starlette.exceptions import HTTPException

from .asgi import ASGIApp, Message, Receive, Scope, Send

logger = logging.getLogger(__name__)

MAX_BODY_BYTES = 64 * 1024


def error_message(status: int, code: str, message: str) -> tuple[bytes, list[tuple[bytes, bytes]]]:
    """The project's one error shape, as raw ASGI body and headers."""
    body = json.dumps({"error": {"code": code, "message": message, "details": []}}).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    return body, headers


async def send_error(
    send: Send, status: int, code: str, message: str, extra: Iterable[tuple[bytes, bytes]] = ()
) -> None:
    """Answer a request with an error without running the app."""
    body, headers = error_message(status, code, message)
    await send({"type": "http.response.start", "status": status, "headers": [*headers, *extra]})
    await send({"type": "http.response.body", "body": body})


class BodySizeLimit:
    """413 for bodies over the limit: refused from Content-Length up front, or cut off while streaming."""

    def __init__(self, app: ASGIApp, max_bytes: int = MAX_BODY_BYTES) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            await send_error(
                send, 413, "body_too_large", f"the request body is over {self.max_bytes // 1024} KiB"
            )
            return
        received = 0
        started = False

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise HTTPException(413, f"the request body is over {self.max_bytes // 1024} KiB")
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, limited_receive, tracking_send)
        except HTTPException as exc:
            if exc.status_code != 413 or started:
                raise
            if not started:
                await send_error(
                    send, 413, "body_too_large", f"the request body is over {self.max_bytes // 1024} KiB"
                )


class TokenBuckets:
    """Token buckets per client key: `rate` tokens a second, up to `burst`; old keys are forgotten."""

    def __init__(self, rate: float, burst: int, max_clients: int = 100_000) -> None:
        self.rate = rate
        self.burst = burst
        self.max_clients = max_clients
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()
        self._lock = threading.Lock()

    def take(self, key: str, now: float | None = None) -> float:
        """Spend a token; returns 0 when allowed, else the seconds until a token is free."""
        now = time.monotonic() if now is None else now
        with self._lock:
            tokens, last = self._buckets.pop(key, (float(self.burst), now))
            tokens = min(float(self.burst), tokens + (now - last) * self.rate)
            wait = 0.0 if tokens >= 1 else (1 - tokens) / self.rate
            self._buckets[key] = (tokens - 1 if tokens >= 1 else tokens, now)
            while len(self._buckets) > self.max_clients:
                self._buckets.popitem(last=False)
            return wait


def parse_networks(values: Iterable[str]) -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
    """Proxy addresses or networks from settings ("10.0.0.5", "10.0.0.0/8")."""
    return [ipaddress.ip_network(value.strip(), strict=False) for value in values if value.strip()]


def client_address(scope: Scope, trusted: list[ipaddress.IPv4Network | ipaddress.IPv6Network]) -> str:
    """The client's address: the peer, or X-Forwarded-For's nearest untrusted hop when the peer is a
    trusted proxy (a client can write anything in that header, so only proxies we know may set it)."""
    peer = (scope.get("client") or ("unknown", 0))[0]

    def is_trusted(address: str) -> bool:
        try:
            ip = ipaddress.ip_address(address)
        except ValueError:
            return False
        return any(ip in network for network in trusted)

    if not trusted or not is_trusted(peer):
        return str(peer)
    forwarded = dict(scope.get("headers") or []).get(b"x-forwarded-for", b"").decode("latin-1")
    hops = [hop.strip() for hop in forwarded.split(",") if hop.strip()]
    for hop in reversed(hops):
        if not is_trusted(hop):
            return hop
    return hops[0] if hops else str(peer)


class RateLimit:
    """429 with Retry-After when a client spends its bucket on the limited paths."""

    def __init__(
        self,
        app: ASGIApp,
        rate: float,
        burst: int,
        trusted_proxies: Iterable[str] = (),
        paths: tuple[str, ...] = ("/api/",),
    ) -> None:
        self.app = app
        self.buckets = TokenBuckets(rate, burst)
        self.trusted = parse_networks(trusted_proxies)
        self.paths = paths

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        limited = scope["type"] == "http" and scope.get("method") != "OPTIONS"
        if limited and str(scope.get("path", "")).startswith(self.paths):
            wait = self.buckets.take(client_address(scope, self.trusted))
            if wait > 0:
                retry = str(max(1, math.ceil(wait))).encode()
                await send_error(
                    send,
                    429,
                    "rate_limited",
                    "too many requests: wait a moment, then try again",
                    [(b"retry-after", retry)],
                )
                return
        await self.app(scope, receive, send)


PAGE_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
    "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'; object-src 'none'"
)


class SecurityHeaders:
    """nosniff and a referrer policy on every response; a Content-Security-Policy (no inline script) and
    no framing on the HTML pages hipbot serves; scripts may be loaded by other sites (the widget)."""

    def __init__(self, app: ASGIApp, docs_paths: tuple[str, ...] = ("/docs", "/redoc")) -> None:
        self.app = app
        self.docs_paths = docs_paths

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = str(scope.get("path", ""))

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers") or [])
                kind = dict(headers).get(b"content-type", b"")
                headers += [(b"x-content-type-options", b"nosniff"), (b"referrer-policy", b"no-referrer")]
                if kind.startswith(b"text/html") and not path.startswith(self.docs_paths):
                    headers += [
                        (b"content-security-policy", PAGE_POLICY.encode()),
                        (b"x-frame-options", b"DENY"),
                    ]
                if kind.startswith((b"application/javascript", b"text/javascript")):
                    headers.append((b"cross-origin-resource-policy", b"cross-origin"))
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, with_headers)


class OriginPolicy:
    """Browser requests from other sites: allowed origins pass on to CORS; any other origin gets a
    readable refusal (403, `origin_not_allowed`, with CORS headers for that origin so the widget can tell
    the visitor and the console why), and the refusal is logged once per origin with the setting to
    change. A preflight from such an origin is answered so that the refusal itself can be read."""

    def __init__(self, app: ASGIApp, allowed: Iterable[str]) -> None:
        self.app = app
        self.allowed = frozenset(allowed)
        self._logged: set[str] = set()
        self._lock = threading.Lock()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        origin = headers.get(b"origin", b"").decode("latin-1").strip()
        host = headers.get(b"host", b"").decode("latin-1").strip().lower()
        if not origin or origin in self.allowed or origin.split("://", 1)[-1].lower() == host:
            await self.app(scope, receive, send)
            return
        self._log_once(origin, str(scope.get("method")), str(scope.get("path")))
        cors = [
            (b"access-control-allow-origin", origin.encode("latin-1")),
            (b"vary", b"Origin"),
        ]
        if scope.get("method") == "OPTIONS" and b"access-control-request-method" in headers:
            preflight = [
                *cors,
                (b"access-control-allow-methods", b"GET, POST"),
                (b"access-control-allow-headers", b"Content-Type"),
                (b"access-control-max-age", b"600"),
                (b"content-length", b"0"),
            ]
            await send({"type": "http.response.start", "status": 204, "headers": preflight})
            await send({"type": "http.response.body", "body": b""})
            return
        message = (
            f"this site ({origin}) is not allowed to use the chat: the store's owner can add it to "
            "HIPBOT_ALLOWED_ORIGINS"
        )
        await send_error(send, 403, "origin_not_allowed", message, cors)

    def _log_once(self, origin: str, method: str, path: str) -> None:
        with self._lock:
            if origin in self._logged or len(self._logged) > 1000:
                return
            self._logged.add(origin)
        logger.warning(
            "refused %s %s from the browser origin %s: to embed the widget on that site, add it to "
            "HIPBOT_ALLOWED_ORIGINS (e.g. HIPBOT_ALLOWED_ORIGINS=%s) and restart",
            method,
            path,
            origin,
            origin,
        )
