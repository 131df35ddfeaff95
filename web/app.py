"""The Starlette application: routes, middleware order and lifespan."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import gc
from collections.abc import AsyncIterator, Callable
from datetime import timedelta

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.routing import Route, WebSocketRoute
from starlette.types import ASGIApp

import models
from resolvers import notification_mail
from resolvers.keys import KeyMismatch, check_keys
from resolvers.policy import ensure_initial_policy
from resolvers.retention import Windows, purge_periodically
from schema import build_schema, plans
from services import cachekeys, metrics, passwords
from services.addresses import AddressVault
from services.broker import broker_for
from services.logs import configure_logging
from services.mail import MailSender, Transport
from services.markdown import Renderer
from services.settings import Settings
from web.cache import ResponseCache
from web.front import Front
from web.graphiql import asset_routes
from web.graphql import ForumGraphQL
from web.hits import EarlyHits, HitCount
from web.metrics import metrics_routes
from web.middleware import BodyLimit, ClientAddress, HeadLimit, SecurityHeaders, WriteGuard
from web.pages import (
    notification_unsubscribe_route,
    out_page_route,
    page_routes,
    unsubscribe_route,
)
from web.persisted import PersistedQueries, read_manifest
from web.probes import HostsExceptProbes, probe_routes
from web.requestlog import RequestLog, hide_client_addresses


def create_app(settings: Settings | None = None, *, migrate: bool = True) -> Starlette:
    """The whole site as one ASGI application."""
    settings = settings or Settings()
    # Here, not only in `serve`: every worker process builds its own app.
    configure_logging(settings.log_level)
    passwords.configure(settings.argon2_time_cost, settings.argon2_memory_kib)
    if not settings.log_client_ips:
        hide_client_addresses()
    # Old keys listed after the current ones (a rotation in progress) still read.
    vault = AddressVault(settings.address_key, settings.ip_keys[1:])
    renderer = Renderer(settings.public_url, settings.key, settings.secret_keys[1:])
    schema = build_schema(introspection=settings.graphiql_enabled)
    broker = broker_for(settings.db_url)
    # One set of persisted-query rules (and learned documents) for HTTP and WebSocket.
    queries = persisted_queries(settings)
    graphql = ForumGraphQL(schema, settings, vault, renderer, broker, queries)
    # Queries answered by plans or by graphql-core, on /metrics when it is on.
    plans.STATS.observer = metrics.count_execution if settings.metrics == "on" else None
    cache = response_cache(settings)
    front = Front(graphql, cache, queries, debug=settings.response_cache_debug)
    hits = HitCount()  # the hits EarlyHits answers, logged as a count
    sender = MailSender(
        Transport(settings.mail_target),
        settings.mail_from,
        max_backoff=timedelta(seconds=settings.mail_retry_max_seconds),
    )

    @contextlib.asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        await models.init_db(settings.db_url, migrate=migrate)
        try:
            await check_keys(settings.shared_keys)  # a host with other keys must not serve
        except KeyMismatch:
            await models.close_db()
            raise
        await ensure_initial_policy()
        if cache is not None:
            cache.open(settings.db_url)  # after the migrations: it reads, never writes
        await broker.start()
        sender.start()
        purging = retention_task(settings)
        notices = asyncio.create_task(
            notification_mail.mail_loop(settings), name="notification-mail"
        )
        # Everything built so far (schema, models, settings) lives as long as the
        # process: keep it out of the cyclic collector's generations.
        gc.collect()
        gc.freeze()
        try:
            yield
        finally:
            if purging is not None:
                purging.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await purging
            notices.cancel()
            # Bounded, as the mail sender's stop: shutdown must never hang on it.
            await asyncio.wait({notices}, timeout=5)
            await sender.stop()
            await broker.stop()
            hits.flush()
            if cache is not None:
                cache.close()
            await models.close_db()

    routes = [
        Route("/graphql", front, methods=["GET", "POST"]),
        WebSocketRoute("/graphql", graphql),
        *probe_routes(settings, broker),
        *metrics_routes(settings),
        *asset_routes(),
        *page_routes(),
        out_page_route(renderer),
        unsubscribe_route(settings, vault),
        notification_unsubscribe_route(settings),
    ]
    middleware = [
        Middleware(
            RequestLog,
            with_addresses=settings.log_client_ips,
            with_metrics=settings.metrics == "on",
        ),
        Middleware(SecurityHeaders),
        Middleware(HostsExceptProbes, allowed_hosts=settings.hosts),
        Middleware(ClientAddress, trusted=settings.trusted_proxies),
        Middleware(HeadLimit),
        Middleware(BodyLimit, max_bytes=settings.max_body_bytes),
        Middleware(
            CORSMiddleware,
            allow_origins=settings.allowed_origins,
            allow_credentials=True,
            allow_methods=["GET", "POST"],
            allow_headers=["content-type"],
            max_age=600,
        ),
        Middleware(WriteGuard, origins=settings.origins),
    ]
    app = Site(routes=routes, middleware=middleware, lifespan=lifespan)
    app.outermost = early_hits(settings, cache, hits)
    app.state.settings = settings
    app.state.broker = broker  # the subscription tests wait on its subscriber counts
    return app


class Site(Starlette):
    """Starlette, with one layer outside all of its middleware (its error pages too)."""

    outermost: Callable[[ASGIApp], ASGIApp] | None = None

    def build_middleware_stack(self) -> ASGIApp:
        """Starlette's stack (its error layers, ours, the router), inside `outermost`."""
        stack = super().build_middleware_stack()
        return stack if self.outermost is None else self.outermost(stack)


def early_hits(
    settings: Settings, cache: ResponseCache | None, hits: HitCount
) -> Callable[[ASGIApp], ASGIApp] | None:
    """The layer answering cache hits ahead of the middleware, unless it is turned off,
    there is no cache, or every request must write its own line (LOG_CLIENT_IPS)."""
    if cache is None or not settings.response_cache_early_hits or settings.log_client_ips:
        return None
    return functools.partial(
        EarlyHits,
        cache=cache,
        hosts=settings.hosts,
        max_body_bytes=settings.max_body_bytes,
        hits=hits,
        with_metrics=settings.metrics == "on",
    )


def retention_task(settings: Settings) -> asyncio.Task[None] | None:
    """The periodic purge of expired records, unless PURGE_EVERY_MINUTES=0."""
    if settings.purge_every_minutes == 0:
        return None
    windows = Windows.of(settings)
    every = timedelta(minutes=settings.purge_every_minutes)
    return asyncio.create_task(purge_periodically(windows, every))


def response_cache(settings: Settings) -> ResponseCache | None:
    """The signed-out readers' answer cache, unless RESPONSE_CACHE=false."""
    if not settings.response_cache:
        return None
    cachekeys.install()  # the cache keeps only answers whose every statement named its keys
    return ResponseCache(
        max_entries=settings.response_cache_entries,
        max_bytes=settings.response_cache_mib * 1_048_576,
        ttl=settings.response_cache_seconds,
    )


def persisted_queries(settings: Settings) -> PersistedQueries:
    """The persisted-query rules, with the manifest's documents when one is configured."""
    path = settings.persisted_queries_file
    manifest = read_manifest(path) if path is not None else {}
    return PersistedQueries(settings.persisted_queries, manifest)


UVICORN_OPTIONS: dict[str, object] = {
    # h11 bounds a request head that is still arriving (16 KiB); httptools does not.
    "http": "h11",
    "proxy_headers": False,  # X-Forwarded-For is honoured by the app, from TRUSTED_PROXIES only
    "access_log": False,  # uvicorn's access log prints client addresses
    "server_header": False,
    "ws_max_size": 1_048_576,
    "timeout_keep_alive": 5,
}
"""How `serve` runs uvicorn (the transport tests start it the same way)."""
