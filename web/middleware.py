"""HTTP guards in front of the application, as plain ASGI middleware.

Each one does one job: find the client's address, bound request bodies, refuse
cross-site writes and odd content types, and add security headers.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Iterable, MutableMapping
from typing import Any
from urllib.parse import urlsplit

from services.addresses import IpNetwork, client_ip

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

CLIENT_IP = "forum.client_ip"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def header(scope: Scope, name: bytes) -> str | None:
    """One request header's value (the first, decoded as Latin-1), or None."""
    for key, value in scope.get("headers", ()):
        if key == name:
            return value.decode("latin-1")
    return None


async def error_reply(send: Send, status: int, code: str, message: str) -> None:
    """Answer with one coded GraphQL-style error, before the app is reached."""
    body = json.dumps({"errors": [{"message": message, "extensions": {"code": code}}]}).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"cache-control", b"no-store"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


class ClientAddress:
    """Record the client's address once: the socket peer, or X-Forwarded-For from our proxies."""

    def __init__(self, app: ASGIApp, trusted: Iterable[IpNetwork]) -> None:
        self.app = app
        self.trusted = list(trusted)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Store the address in the scope for everything downstream."""
        if scope["type"] in ("http", "websocket"):
            peer = scope.get("client")
            # Repeated lines are one list (RFC 9110 5.3): a proxy may append its own line
            # after one the client wrote, and the right-most hops are the ones to trust.
            lines = [
                v.decode("latin-1") for k, v in scope.get("headers", ()) if k == b"x-forwarded-for"
            ]
            forwarded = ", ".join(lines) if lines else None
            scope[CLIENT_IP] = client_ip(peer[0] if peer else None, forwarded, self.trusted)
        await self.app(scope, receive, send)


class HeadLimit:
    """Refuse a request line over 16 KiB (414) or headers over 32 KiB in all (431): h11
    takes a complete head of any size in one read, and nothing here needs more."""

    MAX_TARGET = 16_384
    MAX_HEADERS = 32_768

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Measure the head before anything reads it."""
        if scope["type"] in ("http", "websocket"):
            target = len(scope.get("raw_path") or b"") + len(scope.get("query_string", b""))
            if target > self.MAX_TARGET:
                await _refuse_head(scope, send, 414, "The request line is too long.")
                return
            size = sum(len(k) + len(v) + 4 for k, v in scope.get("headers", ()))
            if size > self.MAX_HEADERS:
                await _refuse_head(scope, send, 431, "The request headers are too large.")
                return
        await self.app(scope, receive, send)


async def _refuse_head(scope: Scope, send: Send, status: int, message: str) -> None:
    if scope["type"] == "websocket":
        await send({"type": "websocket.close", "code": 1009})
        return
    await error_reply(send, status, "BAD_USER_INPUT", message)


class BodyLimit:
    """Refuse bodies over `max_bytes` with 413, counting the bytes actually received."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Pass small bodies through; cut off large ones before they are buffered."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = header(scope, b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > self.max_bytes):
            await error_reply(send, 413, "BAD_USER_INPUT", "The request body is too large.")
            return
        received = 0
        started = False

        async def counted_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise _TooLarge
            return message

        async def tracked_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counted_receive, tracked_send)
        except _TooLarge:
            if not started:
                await error_reply(send, 413, "BAD_USER_INPUT", "The request body is too large.")


class _TooLarge(Exception):
    pass


class WriteGuard:
    """Refuse cross-site and non-JSON writes before any parsing (CSRF defence).

    A POST must carry `application/json` (any case; charset utf-8 or none), and when
    the browser names an Origin it must be ours or one in ALLOWED_ORIGINS. JSON nested
    too deeply to parse (a body, or `variables` in a GET) is a 400, not a fault.
    """

    def __init__(self, app: ASGIApp, origins: Iterable[str]) -> None:
        self.app = app
        self.origins = frozenset(origins)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Let safe requests through; check the rest."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if scope["method"] not in SAFE_METHODS:
            origin = header(scope, b"origin")
            if origin is not None and not self.allowed(origin, scope):
                await error_reply(
                    send, 403, "FORBIDDEN", "Requests from this origin are not allowed."
                )
                return
            if scope["path"] == "/graphql":
                if not json_content(header(scope, b"content-type")):
                    await error_reply(
                        send, 415, "BAD_USER_INPUT", "Send the request as application/json."
                    )
                    return
                # Media types ignore case, but Strawberry compares them as written.
                scope["headers"] = [
                    (key, b"application/json" if key == b"content-type" else value)
                    for key, value in scope["headers"]
                ]
        await _refuse_deep_json(self.app, scope, receive, send)

    def allowed(self, origin: str, scope: Scope) -> bool:
        """Is the origin ours (same host) or configured?"""
        if origin in self.origins:
            return True
        host = header(scope, b"host")
        parts = urlsplit(origin)
        return host is not None and parts.scheme in ("http", "https") and parts.netloc == host


async def _refuse_deep_json(app: ASGIApp, scope: Scope, receive: Receive, send: Send) -> None:
    started = False

    async def tracked_send(message: Message) -> None:
        nonlocal started
        started = started or message["type"] == "http.response.start"
        await send(message)

    try:
        await app(scope, receive, tracked_send)
    except RecursionError:
        # json.loads gives up on arrays nested tens of thousands of levels deep.
        if started:
            raise
        await error_reply(send, 400, "BAD_USER_INPUT", "The request is nested too deeply.")


def json_content(content_type: str | None) -> bool:
    """Is this the Content-Type a write must carry (JSON, in UTF-8 if it says)?"""
    if content_type is None:
        return False
    media, *params = [part.strip().lower() for part in content_type.split(";")]
    if media != "application/json":
        return False
    return all(param in ("charset=utf-8", 'charset="utf-8"') for param in params)


_BASE_HEADERS = [
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"x-frame-options", b"DENY"),
    (b"cross-origin-opener-policy", b"same-origin"),
    (b"permissions-policy", b"camera=(), microphone=(), geolocation=(), interest-cohort=()"),
]
_API_CSP = b"default-src 'none'; frame-ancestors 'none'"
# GraphiQL runs an inline bootstrap script and talks to /graphql over fetch and WebSocket.
_PAGE_CSP = (
    b"default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; "
    b"img-src 'self' data:; font-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; "
    b"base-uri 'none'; form-action 'self'"
)


class SecurityHeaders:
    """Standard protective headers on every response; no caching of API answers."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Add the headers as the response starts."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [(k, v) for k, v in message.get("headers", []) if k.lower() != b"server"]
                names = {key.lower() for key, _ in headers}
                html = any(k == b"content-type" and v.startswith(b"text/html") for k, v in headers)
                extra = [
                    *_BASE_HEADERS,
                    (b"content-security-policy", _PAGE_CSP if html else _API_CSP),
                ]
                if b"cache-control" not in names:
                    extra.append((b"cache-control", b"no-store"))
                message["headers"] = headers + [(k, v) for k, v in extra if k not in names]
            await send(message)

        await self.app(scope, receive, send_with_headers)
