"""What happens to a `/graphql` request before Strawberry sees it: persisted queries are
looked up, and signed-out readers' queries are answered from the response cache.

Only a request that names no session cookie (in any Cookie line, any spelling), running
a query (never a mutation or a subscription), can be served from the cache. An answer is
stored only when `_may_store` says so: the view ran the request without a viewer or a
session (its own marker in the scope) and the answer has no errors or cookies. The
entry's key is the document, the variables and the operation name; its validity is the
versions of the keys its computation read (web/cache.py, services/cachekeys.py).

Those versions are read before the computation, so that a write racing it leaves the
entry stale, never a stale answer fresh. The keys are known only afterwards: a request
reads the keys its key's last computation read (the site-wide key alone the first time)
and keeps its answer only if the computation read no other key; otherwise it keeps the
keys, and the next request for the same answer reads them first.

X-Cache tells whether the cache answered only with RESPONSE_CACHE_DEBUG, since a hit
tells a prober that someone asked for that document recently.
"""

from __future__ import annotations

import hashlib
import json
import time
from functools import lru_cache
from typing import Any
from urllib.parse import parse_qsl, urlencode

from graphql import GraphQLError, OperationDefinitionNode, OperationType, parse
from starlette.requests import cookie_parser

from schema.context import SESSION_COOKIE
from services import cachekeys, metrics
from web.cache import Entry, Flights, ResponseCache
from web.hits import RAW_KEY, SERVED
from web.middleware import ASGIApp, Message, Receive, Scope, Send, error_reply, header
from web.persisted import PersistedQueries, PersistedQueryError, names_hash
from web.requestlog import OPERATION, RAN_ANONYMOUSLY, VIEWER_ID

CACHE_HEADER = b"x-cache"
NOT_AN_OBJECT = "The request body must be a JSON object."
SUBSCRIPTIONS_ONLY_OVER_WS = "Subscriptions run over WebSocket (graphql-transport-ws) only."
CACHEABLE_QUERY_CHARS = 20_000  # longer documents are not worth a cache slot
MAX_WAITS = 3  # a request waits for other requests' computations of its key this often


class Front:
    """ASGI wrapper around the GraphQL view (HTTP only; WebSockets pass straight on)."""

    def __init__(
        self,
        app: ASGIApp,
        cache: ResponseCache | None,
        queries: PersistedQueries,
        *,
        debug: bool = False,
    ) -> None:
        self.app = app
        self.cache = cache
        self.queries = queries
        self.debug = debug  # RESPONSE_CACHE_DEBUG: say hit or miss in X-Cache
        self.flights = Flights()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Resolve a persisted query, then answer from the cache or let the view answer."""
        if scope["type"] != "http" or scope["method"] not in ("GET", "POST"):
            await self.app(scope, receive, send)
            return
        request = await _Request.read(scope, receive)
        if request.shapeless:
            await error_reply(send, 400, "BAD_USER_INPUT", NOT_AN_OBJECT)
            return
        if request.data is None:
            await self.app(scope, request.replay(receive), send)
            return
        try:
            document = self.queries.document(
                request.data.get("query"), request.data.get("extensions")
            )
        except PersistedQueryError as refused:
            await error_reply(send, refused.status, refused.code, refused.message)
            return
        if document is not request.data.get("query"):
            request.substitute(scope, document)
        if _is_subscription(request.data):
            await error_reply(send, 400, "BAD_USER_INPUT", SUBSCRIPTIONS_ONLY_OVER_WS)
            return
        key = self._key(scope, request.data)
        if key is None:
            await self.app(scope, request.replay(receive), send)
            return
        await self._answer(scope, request.replay(receive), send, key, request.data)

    async def _answer(
        self, scope: Scope, receive: Receive, send: Send, key: bytes, data: dict[str, Any]
    ) -> None:
        """Answer from the cache, or compute the answer: while one request computes a key,
        the others for it wait and look again (a few times at most)."""
        assert self.cache is not None
        for _ in range(MAX_WAITS + 1):
            known = self.cache.peek(key)
            versions = await self.cache.versions(
                known.versions if known is not None else (cachekeys.GLOBAL,)
            )
            entry = self.cache.get(key, versions)
            if entry is not None and entry.body is not None:
                await self._hit(scope, send, key, entry, data)
                return
            if not await self.flights.wait(key):
                break
        metrics.CACHE.labels("miss").inc()
        flight = self.flights.start(key)
        kept = False
        try:
            kept = await self._fill(scope, receive, send, key, versions)
        finally:
            if flight is not None:
                self.flights.finish(key, flight, kept)

    async def _hit(
        self, scope: Scope, send: Send, key: bytes, entry: Entry, data: dict[str, Any]
    ) -> None:
        """Send a stored answer; tell web/hits.py which, when it may send it again itself
        (a request naming a persisted query's hash depends on what was learned)."""
        name = data.get("operationName")
        if isinstance(name, str):
            scope[OPERATION] = name[:100]
        metrics.CACHE.labels("hit").inc()
        if RAW_KEY in scope and not names_hash(data.get("extensions")):
            scope[SERVED] = (key, entry)
        await _send(send, entry, self._cache_headers(b"hit"))

    def _key(self, scope: Scope, data: dict[str, Any]) -> bytes | None:
        """The cache key of a signed-out reader's query, or None when it must not be cached."""
        if self.cache is None or names_session_cookie(scope):
            return None
        query, name = data.get("query"), data.get("operationName")
        if not isinstance(query, str) or len(query) > CACHEABLE_QUERY_CHARS:
            return None
        if not isinstance(data.get("extensions", {}), dict):
            return None  # a malformed request: the view refuses it, never the cache
        if name is not None and not isinstance(name, str):
            return None
        if _operation_type(query, name) is not OperationType.QUERY:
            return None
        try:
            variables = json.dumps(data.get("variables"), sort_keys=True, separators=(",", ":"))
        except (TypeError, ValueError, RecursionError):
            return None
        accept = header(scope, b"accept") or ""
        material = "\x00".join((scope["method"], accept, name or "", query, variables))
        return hashlib.sha256(material.encode()).digest()

    async def _fill(
        self, scope: Scope, receive: Receive, send: Send, key: bytes, versions: dict[str, int]
    ) -> bool:
        """Run the query, pass the answer on, and keep it if it is a clean one whose
        keys all had their `versions` read before it was computed; or keep the keys it
        read. Whether anything was kept."""
        start: Message | None = None
        chunks: list[bytes] = []

        async def capture(message: Message) -> None:
            nonlocal start
            if message["type"] == "http.response.start":
                start = message
                message = {
                    **message,
                    "headers": [*message.get("headers", ()), *self._cache_headers(b"miss")],
                }
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))
            await send(message)

        with cachekeys.collecting() as reading:
            await self.app(scope, receive, capture)
        if not reading.complete:
            return False  # a statement named no keys: nothing tells when this answer changes
        if start is None or start["status"] != 200 or not _may_store(scope):
            return False
        headers = [(k, v) for k, v in start.get("headers", ()) if k.lower() != b"content-length"]
        if any(k.lower() == b"set-cookie" for k, _ in headers):
            return False
        if not any(
            k.lower() == b"content-type" and v.startswith(b"application/json") for k, v in headers
        ):
            return False
        body = b"".join(chunks)
        if _has_errors(body):
            return False
        assert self.cache is not None
        now = time.monotonic()
        if reading.keys <= versions.keys():
            read = {name: versions[name] for name in reading.keys}
            self.cache.put(key, Entry(read, now, headers, body))
        else:  # remember what to read before the next computation
            self.cache.put(key, Entry(dict.fromkeys(reading.keys, -1), now, [], None))
        return True

    def _cache_headers(self, state: bytes) -> list[tuple[bytes, bytes]]:
        """X-Cache, when the operator asked for it."""
        return [(CACHE_HEADER, state)] if self.debug else []


class _Request:
    """The GraphQL parameters of one request, and the body to hand on."""

    def __init__(self, body: bytes, data: dict[str, Any] | None, shapeless: bool = False) -> None:
        self.body = body
        self.data = data
        self.shapeless = shapeless  # JSON that is neither an object nor a (batch) list

    @classmethod
    async def read(cls, scope: Scope, receive: Receive) -> _Request:
        """Read a JSON POST body or a GET query string (anything else is left to the view)."""
        if scope["method"] == "GET":
            params = dict(parse_qsl(scope.get("query_string", b"").decode("latin-1")))
            data: dict[str, Any] = dict(params)
            for name in ("variables", "extensions"):
                if name in data:
                    try:
                        data[name] = json.loads(data[name])
                    except (ValueError, RecursionError):
                        return cls(b"", None)
            return cls(b"", data if "query" in data or "extensions" in data else None)
        body = b""
        while True:
            message = await receive()
            if message["type"] != "http.request":
                break
            body += message.get("body", b"")
            if not message.get("more_body", False):
                break
        content_type = (header(scope, b"content-type") or "").split(";")[0].strip().lower()
        if content_type != "application/json":
            return cls(body, None)
        try:
            data = json.loads(body)
        except (ValueError, RecursionError):
            return cls(body, None)
        if isinstance(data, dict):
            return cls(body, data)
        return cls(body, None, shapeless=not isinstance(data, list))

    def substitute(self, scope: Scope, document: str) -> None:
        """Put the persisted document where the view will read it."""
        assert self.data is not None
        self.data["query"] = document
        if scope["method"] == "GET":
            params = {**self.data}
            for name in ("variables", "extensions"):
                if name in params:
                    params[name] = json.dumps(params[name])
            scope["query_string"] = urlencode(params).encode()
        else:
            self.body = json.dumps(self.data).encode()

    def replay(self, receive: Receive) -> Receive:
        """A receive that hands the view the body already read, then the real channel."""
        sent = False

        async def replayed() -> Message:
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "http.request", "body": self.body, "more_body": False}
            return await receive()

        return replayed


def names_session_cookie(scope: Scope) -> bool:
    """Does the request carry a session cookie? Read as the view reads cookies (every
    Cookie line, Starlette's own parser), and in any case spelling: such a request is
    never served from the cache, whatever its cookie turns out to be worth."""
    for name, value in scope.get("headers", ()):
        if name.lower() == b"cookie":
            cookies = cookie_parser(value.decode("latin-1"))
            if any(key.lower() == SESSION_COOKIE for key in cookies):
                return True
    return False


def _may_store(scope: Scope) -> bool:
    """May the answer the view just computed be kept for every signed-out reader? Only when
    the view itself marked the request as run without a viewer and without a session, and
    the request names no session cookie (fail closed: no marker, no entry)."""
    return (
        scope.get(RAN_ANONYMOUSLY) is True
        and scope.get(VIEWER_ID) is None
        and not names_session_cookie(scope)
    )


@lru_cache(maxsize=512)
def _operation_type(query: str, name: str | None) -> OperationType | None:
    """The type of the operation a request runs; None when the view will refuse it."""
    try:
        document = parse(query, no_location=True, max_tokens=5_000)
    except GraphQLError:
        return None
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    if name is None:
        return operations[0].operation if len(operations) == 1 else None
    for operation in operations:
        if operation.name is not None and operation.name.value == name:
            return operation.operation
    return None


def _is_subscription(data: dict[str, Any]) -> bool:
    """Does the request ask for a subscription (which HTTP cannot carry here)?"""
    query, name = data.get("query"), data.get("operationName")
    if not isinstance(query, str) or (name is not None and not isinstance(name, str)):
        return False
    return _operation_type(query, name) is OperationType.SUBSCRIPTION


def _has_errors(body: bytes) -> bool:
    try:
        answer = json.loads(body)
    except ValueError:
        return True
    return not isinstance(answer, dict) or "errors" in answer


async def _send(send: Send, entry: Entry, extra: list[tuple[bytes, bytes]]) -> None:
    headers = [*entry.headers, (b"content-length", str(len(entry.body)).encode())]
    await send({"type": "http.response.start", "status": 200, "headers": [*headers, *extra]})
    await send({"type": "http.response.body", "body": entry.body})
