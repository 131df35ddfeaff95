"""Probes for load balancers and orchestrators: /healthz (alive) and /readyz (ready).

Both answer any Host header when the peer is on loopback or a private network (a
container runtime or a load balancer asks for http://10.0.0.5:8000/healthz); from
anywhere else the Host check applies as to every other path."""

from __future__ import annotations

import ipaddress
import logging
from datetime import UTC, datetime, timedelta

from starlette.middleware.trustedhost import TrustedHostMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from tortoise import connections

import models
from resolvers.mails import oldest_unsent_mail_at
from services.broker import Broker
from services.settings import Settings
from web.middleware import Receive, Scope, Send

PROBE_PATHS = frozenset({"/healthz", "/readyz", "/metrics"})
PRIVATE_NETWORKS = tuple(
    ipaddress.ip_network(network)
    for network in (
        "127.0.0.0/8", "::1/128",  # loopback
        "10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16",  # RFC 1918
        "fc00::/7",  # unique local
        "169.254.0.0/16", "fe80::/10",  # link-local
    )
)  # fmt: skip
log = logging.getLogger("forum")


def is_private_peer(host: str | None) -> bool:
    """Whether a TCP peer is on loopback, a private (RFC 1918, ULA) or link-local network."""
    try:
        address = ipaddress.ip_address(host or "")
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return any(address in network for network in PRIVATE_NETWORKS)


class HostsExceptProbes(TrustedHostMiddleware):
    """The DNS-rebinding guard, except for probes from private peers (the TCP peer itself,
    never X-Forwarded-For: a proxy cannot vouch for a client)."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Let a private peer's probe through whatever its Host; check everything else."""
        client = scope.get("client")
        if (
            scope["type"] == "http"
            and scope.get("path") in PROBE_PATHS
            and is_private_peer(client[0] if client else None)
        ):
            await self.app(scope, receive, send)
            return
        await super().__call__(scope, receive, send)


async def healthz(_: Request) -> Response:
    """200 while the process serves requests: the database is /readyz's business."""
    return JSONResponse({"status": "ok"})


class Readiness:
    """/readyz: 200 when this worker can do its work, else 503 naming what is not ready."""

    def __init__(self, settings: Settings, broker: Broker) -> None:
        self.settings = settings
        self.broker = broker
        self.migrated = False  # once current, migrations never go backwards while we run

    async def respond(self, _: Request) -> Response:
        """Check the database, migrations, the broker and the outbox, in that order."""
        try:
            problems = await self.problems()
        except Exception:  # any failure of the database means "not ready"; logged, not shown
            log.warning("readiness: the database did not answer")
            problems = ["database"]
        status = 503 if problems else 200
        return JSONResponse({"status": "unavailable" if problems else "ok",
                             "problems": problems}, status_code=status)  # fmt: skip

    async def problems(self) -> list[str]:
        """The names of the checks that fail (empty when ready)."""
        await connections.get("default").execute_query("SELECT 1")
        problems = []
        if not self.migrated:
            self.migrated = not await models.pending_migrations(self.settings.db_url)
            if not self.migrated:
                problems.append("migrations")
        if not self.broker.listening:
            problems.append("broker")
        oldest = await oldest_unsent_mail_at()
        bound = timedelta(minutes=self.settings.outbox_stuck_minutes)
        if oldest is not None and datetime.now(UTC) - oldest > bound:
            problems.append("outbox")
        return problems


def probe_routes(settings: Settings, broker: Broker) -> list[Route]:
    """The probes' routes."""
    return [
        Route("/healthz", healthz, methods=["GET"]),
        Route("/readyz", Readiness(settings, broker).respond, methods=["GET"]),
    ]
