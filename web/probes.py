"""Probes for load balancers and orchestrators: /healthz."""

from __future__ import annotations

import logging

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from tortoise import connections

log = logging.getLogger("forum")


async def healthz(_: Request) -> Response:
    """200 when the database answers, 503 when it does not."""
    try:
        await connections.get("default").execute_query("SELECT 1")
    except Exception:  # any failure means "not healthy"; the reason stays in our logs
        log.warning("health check: database did not answer")
        return JSONResponse({"status": "unavailable"}, status_code=503)
    return JSONResponse({"status": "ok"})


def probe_routes() -> list[Route]:
    """The probes' routes."""
    return [Route("/healthz", healthz, methods=["GET"])]
