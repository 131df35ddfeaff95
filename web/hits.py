"""Response-cache hits answered ahead of the middleware stack (RESPONSE_CACHE_EARLY_HITS).

A hit of the signed-out response cache needs none of what the ten layers of middleware,
Starlette's router and the front do for other requests: this outermost layer answers
it after checking only what a hit depends on. It takes a request that can only be
anonymous: a GET or POST of /graphql with no Cookie, Authorization or Origin header at
all, its Host one the Host check lets through, a head and a body within their limits,
and a POST body declared as JSON. Every other request (a miss, a mutation, a cookie in
any form, a repeated or upper-case header, HEAD, a body over the limit, a persisted
query's hash) goes through the whole stack unchanged.

A hit is found by the SHA-256 of the request's own bytes (method, Host, Accept,
Content-Type, query string, body): no JSON is parsed. The answer it sends is one the
whole stack sent before for a request spelled exactly the same way: when the front
answers such a request from the cache, this layer keeps the response's status line and
headers as they left the stack (security headers, CORS's `Vary`, X-Cache), tied to
that entry, and sends them again with the entry's body for as long as the entry is
current (the same version check as the front's). A recomputed answer goes through the
stack once before it is answered here. Two spellings of one query take two such
records of one entry.

Hits answered here write no request line each: they are counted, and the count is
logged (`forum.cache`, "cache hits") at most every HIT_LOG_SECONDS and at shutdown;
the metrics count each as the request log would. With LOG_CLIENT_IPS=true every
request keeps its own line, and this layer is not installed.
"""

from __future__ import annotations

import hashlib
import logging
import time
import weakref

from starlette._utils import parse_host_header
from starlette.middleware.trustedhost import TrustedHostMiddleware

from services import metrics
from web.cache import ResponseCache, Wire
from web.middleware import ASGIApp, HeadLimit, Message, Receive, Scope, Send, json_content
from web.requestlog import OPERATION

RAW_KEY = "forum.raw_key"  # the request's hash, for a request this layer let through
SERVED = "forum.served"  # set by the front when it sent a stored answer: (key, entry)
HIT_LOG_SECONDS = 10.0
MAX_GOOD_HOSTS = 64
# A request naming any of these may not be anonymous, or needs CORS's answer.
NOT_ANONYMOUS = frozenset({b"cookie", b"authorization", b"origin"})
# The headers a hit's answer depends on (each must come at most once).
READ = (b"host", b"accept", b"content-type", b"content-length")
log = logging.getLogger("forum.cache")


class EarlyHits:
    """The outermost ASGI layer: answers cache hits, passes everything else on."""

    def __init__(
        self,
        app: ASGIApp,
        cache: ResponseCache,
        hosts: list[str],
        max_body_bytes: int,
        hits: HitCount,
        *,
        with_metrics: bool = False,
    ) -> None:
        self.app = app
        self.cache = cache
        self.max_body_bytes = max_body_bytes
        self.hits = hits
        self.with_metrics = with_metrics
        # The Host check's own reading of the allowed names (lower case, wildcards).
        self._hosts = TrustedHostMiddleware(app, allowed_hosts=hosts)
        self._good_hosts: set[bytes] = set()
        self._hit_counter = metrics.CACHE.labels("hit")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Answer a hit, or hand the request on (its body too, if it was read)."""
        if (
            scope["type"] != "http"
            or scope["path"] != "/graphql"
            or scope["method"] not in ("GET", "POST")
            or scope.get("root_path")
        ):
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        head = self._head(scope)
        if head is None:
            await self.app(scope, receive, send)
            return
        body = b""
        if scope["method"] == "POST":
            body, complete = await self._body(receive)
            receive = _replay(body, complete, receive)
            if not complete:
                await self.app(scope, receive, send)
                return
        raw = hashlib.sha256(
            b"\x00".join((scope["method"].encode(), *head, scope["query_string"], body))
        ).digest()
        found = self.cache.wire(raw)
        if found is not None:
            wire, entry = found
            versions = await self.cache.versions(entry.versions)
            if self.cache.get(wire.key, versions) is entry:
                await self._send(send, wire, entry.body or b"", started)
                return
        scope[RAW_KEY] = raw
        await self.app(scope, receive, self._observer(scope, raw, send))

    def _head(self, scope: Scope) -> tuple[bytes, ...] | None:
        """Host, Accept, Content-Type and Content-Length of a request this layer may
        answer; None when the whole stack must see it."""
        found: dict[bytes, bytes] = {}
        size = 0
        for name, value in scope["headers"]:
            size += len(name) + len(value) + 4
            if name in NOT_ANONYMOUS or name != name.lower() or name in found:
                return None
            if name in READ:
                found[name] = value
        target = len(scope.get("raw_path") or b"") + len(scope["query_string"])
        if size > HeadLimit.MAX_HEADERS or target > HeadLimit.MAX_TARGET:
            return None
        if not self._good_host(found.get(b"host")):
            return None
        if scope["method"] == "POST":
            length = found.get(b"content-length")
            if length is not None and (not length.isdigit() or int(length) > self.max_body_bytes):
                return None
            content_type = found.get(b"content-type")
            if content_type is None or not json_content(content_type.decode("latin-1")):
                return None
        return (found.get(b"host", b""), found.get(b"accept", b""), found.get(b"content-type", b""))

    def _good_host(self, host: bytes | None) -> bool:
        """Would the Host check let this Host header through (starlette's reading)?"""
        if host is None:
            return False
        if host in self._good_hosts or self._hosts.allow_any:
            return True
        parsed = parse_host_header(host.decode("latin-1"))
        if parsed is None:
            return False
        name = parsed.host.lower()
        good = any(
            name == pattern or (pattern.startswith("*") and name.endswith(pattern[1:]))
            for pattern in self._hosts.allowed_hosts
        )
        if good and len(self._good_hosts) < MAX_GOOD_HOSTS:
            self._good_hosts.add(host)
        return good

    async def _body(self, receive: Receive) -> tuple[bytes, bool]:
        """The body, and whether it is all of it within the limit (else what was read)."""
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                return b"".join(chunks), False
            chunk = message.get("body", b"")
            chunks.append(chunk)
            size += len(chunk)
            if size > self.max_body_bytes:
                return b"".join(chunks), False
            if not message.get("more_body", False):
                return b"".join(chunks), True

    async def _send(self, send: Send, wire: Wire, body: bytes, started: float) -> None:
        self._hit_counter.inc()
        await send({"type": "http.response.start", "status": 200, "headers": list(wire.headers)})
        await send({"type": "http.response.body", "body": body})
        if self.with_metrics:
            metrics.observe_request(wire.operation, 200, time.perf_counter() - started)
        self.hits.count()

    def _observer(self, scope: Scope, raw: bytes, send: Send) -> Send:
        """A send that keeps how the stack sent a stored answer, to send it again."""

        async def observe(message: Message) -> None:
            if message["type"] == "http.response.start":
                served = scope.get(SERVED)
                headers = list(message.get("headers", ()))
                if (
                    served is not None
                    and message["status"] == 200
                    and not any(name.lower() == b"set-cookie" for name, _ in headers)
                ):
                    key, entry = served
                    wire = Wire(key, weakref.ref(entry), headers, scope.get(OPERATION))
                    self.cache.remember(raw, wire)
            await send(message)

        return observe


class HitCount:
    """Hits answered ahead of the stack, logged as a count rather than a line each."""

    def __init__(self) -> None:
        self.hits = 0
        self.since = time.monotonic()

    def count(self) -> None:
        """Count one hit; log the count when HIT_LOG_SECONDS have passed."""
        self.hits += 1
        if time.monotonic() - self.since >= HIT_LOG_SECONDS:
            self.flush()

    def flush(self) -> None:
        """Log the hits counted since the last line, if any."""
        now = time.monotonic()
        if self.hits:
            seconds = round(now - self.since, 1)
            log.info("cache hits", extra={"hits": self.hits, "seconds": seconds})
        self.hits = 0
        self.since = now


def _replay(body: bytes, complete: bool, receive: Receive) -> Receive:
    """A receive that hands on the body already read, then the real channel."""
    sent = False

    async def replayed() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": not complete}
        return await receive()

    return replayed
